package server

import "sync"

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
)

// Pools shared by every loop's TLS connections. A buffer is taken when a
// connection has bytes to keep and given back as soon as it is empty, so the
// steady state allocates nothing.
var (
	tlsInputPool  = sync.Pool{New: func() any { b := make([]byte, tlsInputSize); return &b }}
	tlsOutputPool = sync.Pool{New: func() any { b := make([]byte, 0, tlsOutputSize); return &b }}
	tlsFilePool   = sync.Pool{New: func() any { b := make([]byte, tlsFileChunk); return &b }}
)
