package server

import (
	"errors"
	"io"
	"log/slog"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"lwango/coro"
	"lwango/kernel"
	"lwango/tlsstate"
)

// tlsListener is what the connections of one TLS listener start with. A
// reload swaps its settings whole (see Server.Reload): connections accepted
// before keep the settings they started with.
type tlsListener struct {
	settings atomic.Pointer[tlsSettings]
}

// newTransport is the listener's Server.newTLS: a connection starts with our
// handshake, in user space, under the listener's current settings.
// bufs are the buffers of the connection's loop, open its gauges, log its
// logger (kernel TLS notices: it queues them, writing one never blocks).
func (l *tlsListener) newTransport(fd int, bufs *tlsBuffers, open *tlsGauges, log *slog.Logger) (Transport, error) {
	return newTLSConn(fd, l.settings.Load(), bufs, open, log), nil
}

// userRecords is the user-space record backend of a tlsConn: it carries
// the handshake's flights (tlsConn drives the handshake through its
// buffers) and then, unless the connection moves to kernel TLS, its
// records, sealed and opened by the session's tlsstate.Channel, over a
// non-blocking socket.
//
// Input: ciphertext is read into in (in[inStart:inEnd] not yet opened);
// opened application data waits in plain until Read takes it. Output:
// records are sealed into out and out[outStart:] is what the socket has not
// taken yet. Each buffer comes from the loop's pool and goes back when it
// empties.
//
// Writes follow the contract of non-blocking TLS writes: after
// coro.ErrWantWrite the caller calls again with the same bytes (the worker
// does: it advances its output only by what was reported written). Data
// sealed for a call is reported written only once it has left (owed), so a
// response never ends with records stuck in this buffer.
type userRecords struct {
	fd   int
	rec  *tlsstate.Channel // the channel after the handshake; nil until then
	bufs *tlsBuffers       // the loop's buffers

	in              *[]byte
	inStart, inEnd  int
	plainBuf        *[]byte
	plain           []byte // decrypted application data not yet read
	out             *[]byte
	outStart        int
	owed            int  // bytes of the current Write/Sendfile sealed into out, not yet reported
	peerClosed      bool // the client's close_notify was read
	failed          bool // a fatal alert went either way: no close_notify
	closeNotifySent bool
	// lastOutput: the output still to come is the connection's last
	// (EndOutput); close_notify is sealed behind it.
	lastOutput bool
}

// Read returns decrypted application data. It opens records already
// received before reading the socket, and returns io.EOF after the
// client's close_notify (once the data before it has been read) or when the
// client closes the TCP connection.
func (t *userRecords) Read(p []byte) (int, error) {
	for {
		if len(t.plain) > 0 {
			n := copy(p, t.plain)
			t.plain = t.plain[n:]
			if len(t.plain) == 0 {
				t.releasePlain()
			}
			return n, nil
		}
		if t.peerClosed {
			return 0, io.EOF
		}
		if t.hasRecord() {
			if len(t.input()) <= len(p) {
				// Decrypted straight into p: no buffer, no copy. A
				// record's plaintext is shorter than its ciphertext, so
				// when all the ciphertext would fit in p the plaintext
				// of the records it holds does, and the record layer
				// never has to grow p.
				plain, err := t.open(p[:0:len(p)])
				if err != nil {
					return 0, err
				}
				if len(plain) > 0 {
					return len(plain), nil
				}
				continue
			}
			if t.plainBuf == nil {
				t.plainBuf = t.bufs.input.Get()
			}
			plain, err := t.open((*t.plainBuf)[:0])
			t.plain = plain
			if len(plain) == 0 {
				t.releasePlain()
			}
			if err != nil {
				return 0, err
			}
			continue
		}
		if err := t.fill(); err != nil {
			return 0, err
		}
	}
}

// open decrypts the whole records at the front of the input into the spare
// capacity of dst, as many as fit once the first is in (the record layer
// grows dst only for the first), returns the plaintext and sends what the
// record layer answers (a KeyUpdate, an alert).
func (t *userRecords) open(dst []byte) ([]byte, error) {
	consumed, plain, reply, err := t.rec.Open(t.input(), dst, t.outputTail())
	t.consume(consumed)
	t.setOutput(reply)
	switch {
	case err == io.EOF:
		t.peerClosed = true
	case err != nil:
		t.failed = true
		t.flush()
		return plain, err
	}
	if ferr := t.flush(); ferr != nil && ferr != coro.ErrWantWrite {
		return plain, ferr
	}
	return plain, nil // a reply the socket did not take leaves with the next write
}

// Buffered reports whether Read can return something without the socket:
// decrypted data, a whole record not yet opened, or the client's
// close_notify.
func (t *userRecords) Buffered() bool {
	return len(t.plain) > 0 || t.peerClosed || t.hasRecord()
}

// Write seals p (in chunks) into records. When more output follows and
// little is buffered, the records are kept to leave with it in one send
// (response headers with the start of a file body); otherwise they are sent
// now.
func (t *userRecords) Write(p []byte, more bool) (int, error) {
	if t.owed > 0 {
		return t.settle(len(p))
	}
	if err := t.makeRoom(); err != nil {
		return 0, err
	}
	chunk := p[:min(len(p), tlsFileChunk)]
	if err := t.seal(chunk); err != nil {
		return 0, err
	}
	if more && t.unsent() <= tlsHoldLimit {
		return len(chunk), nil
	}
	if !more && t.lastOutput && len(chunk) == len(p) {
		t.endOutput() // leaves in the same send
	}
	t.owed = len(chunk)
	return t.settle(len(p))
}

// Sendfile encrypts the file in user space: it reads up to a chunk at
// offset, seals it as records of at most 16 KiB and sends them.
func (t *userRecords) Sendfile(file int, offset int64, count int) (int, error) {
	if t.owed > 0 {
		return t.settle(count)
	}
	if err := t.makeRoom(); err != nil {
		return 0, err
	}
	buf := t.bufs.fileChunk()
	n, err := pread(file, buf[:min(count, tlsFileChunk)], offset)
	if err != nil || n == 0 {
		return 0, err
	}
	if err := t.seal(buf[:n]); err != nil {
		return 0, err
	}
	t.owed = n
	return t.settle(count)
}

// Flush sends the records Write kept back and the record layer's replies
// (and close_notify, after the last output).
func (t *userRecords) Flush() error {
	if t.lastOutput {
		t.endOutput()
	}
	return t.flush()
}

// makeRoom sends the output first when more than tlsHoldLimit of it waits,
// so that it stays bounded; less is left to leave with the next records.
func (t *userRecords) makeRoom() error {
	if t.unsent() > tlsHoldLimit {
		return t.flush()
	}
	return nil
}

// unsent is how many sealed bytes the socket has not taken yet.
func (t *userRecords) unsent() int {
	if t.out == nil {
		return 0
	}
	return len(*t.out) - t.outStart
}

// seal appends data as records to the output.
func (t *userRecords) seal(data []byte) error {
	out, err := t.rec.Seal(t.outputTail(), data)
	t.setOutput(out)
	if err != nil {
		t.failed = true
	}
	return err
}

// settle sends the output and, once it has all left, reports the bytes
// sealed for the caller's current call as written. asked is how many bytes
// the caller offered this time; it cannot be less than what is owed.
func (t *userRecords) settle(asked int) (int, error) {
	if asked < t.owed {
		return 0, errors.New("tls: write retried with fewer bytes than were sealed")
	}
	if err := t.flush(); err != nil {
		return 0, err
	}
	n := t.owed
	t.owed = 0
	return n, nil
}

// endOutput seals close_notify behind the output, unless the connection
// failed or sealed it already, for the next send to carry with the rest.
func (t *userRecords) endOutput() {
	if t.rec != nil && !t.failed && !t.closeNotifySent {
		t.closeNotifySent = true
		t.setOutput(t.rec.CloseNotify(t.outputTail()))
	}
}

// Close sends close_notify unless the connection failed or sent it already
// (best effort: a socket that cannot take it now gets no more chances),
// wipes the keys and gives the buffers back.
func (t *userRecords) Close() error {
	if t.rec != nil {
		if !t.failed {
			t.endOutput()
			t.flush()
		}
		t.rec.Zero()
		t.rec = nil
	}
	t.release()
	return nil
}

// release gives the buffers back.
func (t *userRecords) release() {
	t.releaseInput()
	t.releasePlain()
	t.releaseOutput()
	t.plain, t.owed = nil, 0
}

// fill reads more ciphertext from the socket after what the input holds.
func (t *userRecords) fill() error {
	if t.in == nil {
		t.in = t.bufs.input.Get()
	}
	buf := *t.in
	if t.inStart > 0 {
		t.inEnd = copy(buf, buf[t.inStart:t.inEnd])
		t.inStart = 0
	}
	if t.inEnd == len(buf) {
		// Every record the record layer accepts fits; a full buffer
		// holds a whole one, which the caller opens before reading.
		return errors.New("tls: input buffer full without a whole record")
	}
	n, err := kernel.Read(t.fd, buf[t.inEnd:])
	switch {
	case err == kernel.EAGAIN:
		if t.inEnd == 0 {
			t.releaseInput()
		}
		return coro.ErrWantRead
	case err != nil:
		return err
	case n == 0:
		return io.EOF
	}
	t.inEnd += n
	return nil
}

// flush sends the output the socket has not taken yet, in one send when the
// socket takes it all.
func (t *userRecords) flush() error { return t.send(false) }

// send is flush, with MSG_MORE when more is set: the kernel holds a partial
// segment back for what the next send brings.
func (t *userRecords) send(more bool) error {
	if t.out == nil {
		return nil
	}
	out := *t.out
	for t.outStart < len(out) {
		n, err := kernel.Send(t.fd, out[t.outStart:], more)
		if err == kernel.EAGAIN {
			return coro.ErrWantWrite
		}
		if err != nil {
			return err
		}
		t.outStart += n
	}
	t.releaseOutput()
	return nil
}

// input is the received ciphertext not yet consumed.
func (t *userRecords) input() []byte {
	if t.in == nil {
		return nil
	}
	return (*t.in)[t.inStart:t.inEnd]
}

// consume drops n bytes from the front of the input, giving the buffer
// back once it is empty.
func (t *userRecords) consume(n int) {
	t.inStart += n
	if t.inStart == t.inEnd {
		t.releaseInput()
	}
}

// hasRecord reports whether the input starts with a whole record, or with
// a header announcing more than any record may hold (which the record layer
// refuses without waiting for the body).
func (t *userRecords) hasRecord() bool {
	in := t.input()
	if len(in) < 5 {
		return false
	}
	size := 5 + (int(in[3])<<8 | int(in[4]))
	return len(in) >= size || size > tlsInputSize
}

// outputTail is the output buffer to append records to.
func (t *userRecords) outputTail() []byte {
	if t.out == nil {
		t.out = t.bufs.output.Get()
	}
	return *t.out
}

// setOutput records what was appended to the output buffer (which the
// appender may have grown).
func (t *userRecords) setOutput(out []byte) { *t.out = out }

func (t *userRecords) releaseInput() {
	if t.in != nil {
		t.bufs.input.Put(t.in)
		t.in, t.inStart, t.inEnd = nil, 0, 0
	}
}

func (t *userRecords) releasePlain() {
	if t.plainBuf != nil {
		t.bufs.input.Put(t.plainBuf)
		t.plainBuf, t.plain = nil, nil
	}
}

func (t *userRecords) releaseOutput() {
	if t.out != nil {
		*t.out = (*t.out)[:0]
		t.bufs.output.Put(t.out)
		t.out, t.outStart = nil, 0
	}
}

// pread reads from the file at offset, retrying EINTR.
func pread(fd int, p []byte, offset int64) (int, error) {
	for {
		n, err := unix.Pread(fd, p, offset)
		if err != unix.EINTR {
			return n, err
		}
	}
}
