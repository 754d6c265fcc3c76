package server

import "lwango/loop"

// Buffer sizes of the user-space TLS transport. A connection holds these
// only while it has bytes in them: an idle TLS connection keeps its record
// keys and nothing else.
const (
	// tlsInputSize holds the largest record a client may send (TLS 1.2's
	// bound, 2^14 + 2048 bytes of ciphertext, plus the header), so a whole
	// record always fits; it is also the decrypted-data buffer, which must
	// take one record's payload.
	tlsInputSize = 5 + 16384 + 2048
	// tlsFileChunk is how much of a file one Sendfile call encrypts: four
	// full records in one send.
	tlsFileChunk = 4 * 16384
	// tlsHoldLimit is how much sealed output Write keeps back, when more
	// output follows, to send it with what comes next.
	tlsHoldLimit = 16384
	// tlsOutputSize takes what may be held back plus a file chunk sealed
	// as records (header, type byte, explicit nonce and tag: well under 64
	// bytes each), so sealing never has to grow it.
	tlsOutputSize = tlsHoldLimit + 16384 + 64 + tlsFileChunk + 8*64
	// tlsPoolMax is how many free buffers of each kind a loop keeps: a
	// connection holds one only while bytes wait in it (a partial record,
	// output the socket did not take), so few are in use at once.
	tlsPoolMax = 64
)

// tlsBuffers are one loop's buffers for its user-space TLS connections,
// taken and given back without locks (a sync.Pool's Get and Put cost ~100
// instructions each, three pairs per request). A connection takes a
// buffer when it has bytes to keep and gives it back as soon as it is
// empty, so the steady state allocates nothing. The file chunk is used
// only within one Sendfile call, so a loop needs one.
type tlsBuffers struct {
	input  *loop.Pool[[]byte] // tlsInputSize: ciphertext read, or decrypted data
	output *loop.Pool[[]byte] // capacity tlsOutputSize: sealed records
	file   []byte             // tlsFileChunk, made on first use
}

func newTLSBuffers() *tlsBuffers {
	return &tlsBuffers{
		input:  loop.NewPool(tlsPoolMax, func() *[]byte { b := make([]byte, tlsInputSize); return &b }),
		output: loop.NewPool(tlsPoolMax, func() *[]byte { b := make([]byte, 0, tlsOutputSize); return &b }),
	}
}

// fileChunk returns the loop's buffer for reading a file chunk to seal.
func (b *tlsBuffers) fileChunk() []byte {
	if b.file == nil {
		b.file = make([]byte, tlsFileChunk)
	}
	return b.file
}

// trim drops the buffers not needed since the last trim and reports how
// many bytes it let go.
func (b *tlsBuffers) trim() int {
	return b.input.Trim()*tlsInputSize + b.output.Trim()*tlsOutputSize
}
