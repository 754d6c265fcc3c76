package server

import (
	"errors"
	"fmt"
	"io"
	"log/slog"

	"golang.org/x/sys/unix"

	"lwango/coro"
	"lwango/kernel"
	"lwango/tlsstate"
)

// errKernelRefused wraps why the kernel did not take a session's keys. When
// handOffToKernel returns it nothing has changed: no bytes were consumed, no
// keys were installed or zeroed, and the user-space record layer still owns
// the session.
var errKernelRefused = errors.New("kernel TLS refused the session")

// Bounds on what the kernel path accepts from a peer.
const (
	// maxControlInARow bounds control records (warning alerts, refused
	// ClientHellos) in a row without application data, which would
	// otherwise let a peer keep the loop busy for free.
	maxControlInARow = 16
	// maxRenegotiationHello bounds a TLS 1.2 ClientHello that is skipped
	// before answering no_renegotiation.
	maxRenegotiationHello = 1 << 16
	// maxRecordWire is the largest record on the wire: a TLS 1.2 protected
	// record (RFC 5246 §6.2.3, 2^14 + 2048) plus its header; TLS 1.3
	// records are smaller. Headers announcing more are refused by the
	// user-space record layer before the body is read.
	maxRecordWire = 5 + 1<<14 + 2048
)

// TLS handshake message types met after the handshake (RFC 8446 §4, RFC 5246 §7.4).
const (
	msgClientHello = 1
	msgKeyUpdate   = 24
)

// ktlsTransport is a TLS connection whose records the kernel protects
// (kTLS): after the handshake, handOffToKernel installs the session's live
// keys and sequence numbers on the socket, and the process holds no key
// material any more. Application data moves with plain recv, send and
// sendfile (the kernel encrypts file pages on their way out); the records
// that are not application data (alerts, post-handshake handshake
// messages) are read with their record type and answered here.
//
// TLS 1.3 KeyUpdate: the process keeps no traffic secret, so it cannot
// follow a peer's KeyUpdate. The connection is closed cleanly (our
// close_notify) with the reason logged. This is the only behaviour the
// kernels we test on allow (Linux before 6.14 cannot install new keys on a
// socket), and on newer kernels it keeps "the process holds no keys" true.
type ktlsTransport struct {
	fd      int
	version uint16
	log     *slog.Logger

	// records is the user-space record layer, kept only while the bytes
	// read past the client's Finished end inside a record: the kernel
	// cannot take the receive keys before that record is whole. partial
	// collects it (Read reads exactly its missing bytes); once it is
	// opened in user space the RX keys go to the kernel and records is
	// zeroed and dropped.
	records *tlsstate.Records
	partial []byte
	// plain is application data opened in user space from the records
	// that arrived with the client's Finished; Read delivers it first.
	plain []byte

	// rekey is the state of a TLS 1.3 connection that follows KeyUpdates
	// (ktls_key_update = "rekey" on a kernel that can); nil: a KeyUpdate
	// closes the connection. A TLS 1.2 connection whose cipher has a
	// record limit only counts its records in it (no secret kept), to
	// close before the limit.
	rekey *rekeyState

	// The header and remaining body length of a post-handshake handshake
	// message: a TLS 1.2 renegotiation ClientHello being skipped, or a TLS
	// 1.3 KeyUpdate being read.
	hsHeader    [4]byte
	hsHeaderLen int
	hsLeft      int

	controlInARow int
	cmsg          [32]byte // >= kernel.RecordTypeCmsgSpace
	small         [16]byte // receives when the caller's buffer is smaller

	err        error // sticky: the connection failed; nothing more is sent
	peerClosed bool  // the peer sent close_notify (or a KeyUpdate we do not follow)
	closed     bool
	rxNoPad    bool // set TLS_RX_EXPECT_NO_PAD after installing TLS 1.3 RX keys
}

// handOffToKernel moves a connection whose handshake has just completed
// onto kernel TLS. records is the user-space record layer of the session
// (tlsstate.NewRecords right after the handshake); leftover is what was
// read past the client's Finished and not opened yet: whole records, and
// possibly the beginning of one more. All handshake output must have been
// written to the socket.
//
// The transmit keys go first: if the kernel refuses them (no tls ULP, a
// cipher or version it lacks) the error wraps errKernelRefused and nothing
// has changed, so the caller may go on in user space. After that, leftover
// records are opened in user space (their plaintext is read first) and the
// receive keys are installed with the sequence number that follows them;
// then every copy of key material in the process is zeroed: the session's
// keys and secrets, the record layer's ciphers and the crypto_info buffers.
// A failure after the transmit keys are in the kernel is not returned:
// the transport sends the alert and its Read reports the error. The
// policy's rxNoPad sets TLS_RX_EXPECT_NO_PAD on a TLS 1.3 connection once
// RX is installed; its rekey keeps the TLS 1.3 traffic secrets (in the
// vault) so that KeyUpdates can be followed.
func handOffToKernel(fd int, records *tlsstate.Records, leftover []byte, p kernelTLSPolicy, log *slog.Logger) (*ktlsTransport, error) {
	sess := records.Session()
	tx, err := kernelKeys(sess, &sess.TX)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errKernelRefused, err)
	}
	if err := kernel.EnableULP(fd); err != nil {
		return nil, fmt.Errorf("%w: %v", errKernelRefused, err)
	}
	if err := kernel.InstallTX(fd, tx); err != nil {
		return nil, fmt.Errorf("%w: %v", errKernelRefused, err)
	}
	tx.Zero() // the session's TX key and IV, and TLS 1.2's explicit-nonce seed
	if log == nil {
		log = slog.Default()
	}
	t := &ktlsTransport{fd: fd, version: sess.Version, log: log, records: records, rxNoPad: p.rxNoPad}
	switch {
	case p.rekey && sess.Version == tlsstate.VersionTLS13:
		if t.rekey, err = keepSecrets(sess, p.rekeyAfter); err != nil {
			// The connection still works; a KeyUpdate will close it.
			log.Warn("tls: kernel TLS connection cannot keep its traffic secrets; a KeyUpdate will close it", "reason", err)
		}
	case sess.Version == tlsstate.VersionTLS12:
		t.rekey = countRecordsOnly(sess.CipherSuite, p.rekeyAfter)
	}
	rest := t.openInUserSpace(leftover)
	if len(rest) > 0 && t.err == nil && !t.peerClosed {
		t.partial = append(make([]byte, 0, maxRecordWire), rest...)
		return t, nil
	}
	t.installRX()
	return t, nil
}

// openInUserSpace opens the whole records at the front of in with the
// user-space record layer, keeps their application data for Read, acts on
// what else they carried, and returns the bytes of an incomplete record.
func (t *ktlsTransport) openInUserSpace(in []byte) []byte {
	for len(in) > 0 && t.err == nil && !t.peerClosed {
		n, plain, reply, err := t.records.Open(in, t.plain, nil)
		t.plain = plain
		in = in[n:]
		var alert *tlsstate.AlertError
		var peerAlert *tlsstate.PeerAlertError
		switch {
		case err == io.EOF:
			t.peerClosed = true
		case errors.As(err, &alert):
			t.fail(alert.Alert, alert.Reason)
		case errors.As(err, &peerAlert):
			t.err = peerAlert
			t.log.Info("tls: peer sent a fatal alert", "alert", peerAlert.Alert.String())
		case err != nil:
			t.err = err
		case len(reply) > 0 && t.version == tlsstate.VersionTLS12:
			// The only reply TLS 1.2 makes without failing is a warning
			// no_renegotiation; the kernel now sends it.
			t.sendAlert(1, tlsstate.AlertNoRenegotiation)
		case len(reply) > 0:
			// A TLS 1.3 KeyUpdate with update_requested: answering it would
			// need new transmit keys in the kernel.
			t.closeBecause("KeyUpdate with update_requested arrived with the client's Finished; kernel TLS cannot change keys")
		}
		clear(reply)
		if n == 0 {
			break
		}
	}
	return in
}

// installRX hands the receive keys to the kernel (unless the connection
// is over anyway) and zeroes every key the process still holds.
func (t *ktlsTransport) installRX() {
	defer t.dropRecords()
	if t.err != nil || t.peerClosed {
		return
	}
	sess := t.records.Session()
	rx, err := kernelKeys(sess, &sess.RX)
	if err == nil {
		err = kernel.InstallRX(t.fd, rx)
		rx.Zero()
	}
	if err != nil {
		// TX is in the kernel already: user space cannot take over.
		t.fail(tlsstate.AlertInternalError, "kernel refused the receive keys after the transmit keys: "+err.Error())
		return
	}
	if t.rxNoPad && t.version == tlsstate.VersionTLS13 {
		// An optimisation only: a kernel that refuses it decrypts as before.
		if err := unix.SetsockoptInt(t.fd, unix.SOL_TLS, kernel.TLS_RX_EXPECT_NO_PAD, 1); err != nil {
			t.log.Debug("tls: TLS_RX_EXPECT_NO_PAD refused", "error", err)
		}
	}
}

// dropRecords zeroes the user-space record layer and its session, and lets go of them.
func (t *ktlsTransport) dropRecords() {
	if t.records != nil {
		t.records.Zero()
		t.records = nil
	}
	t.partial = nil
}

// completeRecord reads the missing bytes of the record that the handshake
// left incomplete, exactly (never past its end, so the kernel sees the
// next record from its first byte), then opens it and installs the RX keys.
func (t *ktlsTransport) completeRecord() error {
	need := 5
	if len(t.partial) >= 5 {
		// The record layer checked the header's length when it was whole.
		need += int(t.partial[3])<<8 | int(t.partial[4])
	}
	n, err := kernel.Read(t.fd, t.partial[len(t.partial):need])
	switch {
	case errors.Is(err, kernel.EAGAIN):
		return coro.ErrWantRead
	case err != nil:
		t.err = err
	case n == 0:
		t.err = io.ErrUnexpectedEOF
	}
	if t.err != nil {
		t.dropRecords()
		return t.err
	}
	t.partial = t.partial[:len(t.partial)+n]
	if rest := t.openInUserSpace(t.partial); len(rest) > 0 && t.err == nil && !t.peerClosed {
		return nil
	}
	t.installRX()
	return nil
}

// Handshake is done before a kTLS transport exists.
func (t *ktlsTransport) Handshake() error { return nil }

// Read returns application data: first what was opened in user space,
// then what the kernel decrypts. Non-data records met on the way are
// handled here; io.EOF follows the peer's close_notify.
func (t *ktlsTransport) Read(p []byte) (int, error) {
	for {
		if len(t.plain) > 0 {
			n := copy(p, t.plain)
			t.plain = t.plain[n:]
			if len(t.plain) == 0 {
				t.plain = nil
			}
			return n, nil
		}
		switch {
		case t.err != nil:
			return 0, t.err
		case t.peerClosed:
			return 0, io.EOF
		case t.records != nil:
			if err := t.completeRecord(); err != nil {
				return 0, err
			}
			continue
		}
		return t.recv(p)
	}
}

// recv reads from the kernel until it returns application data or the
// connection must wait or end.
func (t *ktlsTransport) recv(p []byte) (int, error) {
	buf := p
	if len(buf) < len(t.small) {
		buf = t.small[:]
	}
	for {
		n, typ, err := kernel.RecvRecord(t.fd, buf, t.cmsg[:kernel.RecordTypeCmsgSpace])
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return 0, t.recvError(err)
		}
		if typ == kernel.RecordApplicationData {
			if n == 0 {
				return 0, io.EOF // the peer closed TCP without close_notify
			}
			t.controlInARow = 0
			if len(p) < len(buf) {
				copied := copy(p, buf[:n])
				t.plain = append(t.plain, buf[copied:n]...)
				n = copied
			}
			return n, nil
		}
		if err := t.control(typ, buf[:n]); err != nil {
			return 0, err
		}
	}
}

// recvError turns a failed receive into what Read returns, sending the
// alert the kernel's verdict calls for.
func (t *ktlsTransport) recvError(err error) error {
	switch {
	case errors.Is(err, kernel.EAGAIN):
		return coro.ErrWantRead
	case errors.Is(err, unix.EBADMSG):
		t.fail(tlsstate.AlertBadRecordMAC, "kernel could not authenticate a record")
	case errors.Is(err, unix.EMSGSIZE):
		t.fail(tlsstate.AlertRecordOverflow, "kernel saw a record longer than allowed")
	case errors.Is(err, unix.EKEYEXPIRED):
		// Linux 6.14+: the kernel paused reception after a KeyUpdate it
		// showed us; we do not follow it (see ktlsTransport).
		t.closeBecause("peer KeyUpdate: kernel TLS receive keys expired")
		return io.EOF
	default:
		t.err = err
	}
	return t.err
}

// control acts on one non-application-data record (or a piece of one,
// when it did not fit the buffer).
func (t *ktlsTransport) control(typ uint8, data []byte) error {
	if t.controlInARow++; t.controlInARow > maxControlInARow {
		return t.fail(tlsstate.AlertUnexpectedMessage, "too many records without application data")
	}
	switch typ {
	case kernel.RecordAlert:
		return t.alert(data)
	case kernel.RecordHandshake:
		return t.handshakeMessage(data)
	}
	return t.fail(tlsstate.AlertUnexpectedMessage, fmt.Sprintf("record of content type %d after the handshake", typ))
}

// alert handles an alert record: close_notify ends the peer's side;
// user_canceled (and, in TLS 1.2, any warning) is ignored; anything else
// is fatal (RFC 8446 §6, RFC 5246 §7.2).
func (t *ktlsTransport) alert(body []byte) error {
	switch {
	case len(body) == 0: // RFC 8446 §5.4
		return t.fail(tlsstate.AlertUnexpectedMessage, "empty alert record")
	case len(body) != 2:
		return t.fail(tlsstate.AlertDecodeError, "alert record of the wrong length")
	}
	level, desc := body[0], tlsstate.Alert(body[1])
	switch {
	case desc == tlsstate.AlertCloseNotify:
		t.peerClosed = true
		return io.EOF
	case desc == tlsstate.AlertUserCanceled,
		t.version == tlsstate.VersionTLS12 && level == 1:
		return nil
	}
	t.err = &tlsstate.PeerAlertError{Alert: desc}
	t.log.Info("tls: peer sent a fatal alert", "alert", desc.String())
	return t.err
}

// handshakeMessage handles bytes of a post-handshake handshake message. In
// TLS 1.3 only KeyUpdate may come, and we close on it; in TLS 1.2 only a
// ClientHello asking to renegotiate, which is skipped and refused with a
// warning no_renegotiation (RFC 5746 §4.2), the connection carrying on.
func (t *ktlsTransport) handshakeMessage(data []byte) error {
	if len(data) == 0 {
		return t.fail(tlsstate.AlertUnexpectedMessage, "empty handshake record") // RFC 8446 §5.4
	}
	for len(data) > 0 {
		if t.hsLeft == 0 {
			if t.hsHeaderLen == 0 {
				if err := t.firstHandshakeByte(data[0]); err != nil {
					return err
				}
			}
			n := copy(t.hsHeader[t.hsHeaderLen:], data)
			t.hsHeaderLen += n
			data = data[n:]
			if t.hsHeaderLen < len(t.hsHeader) {
				return nil
			}
			t.hsLeft = int(t.hsHeader[1])<<16 | int(t.hsHeader[2])<<8 | int(t.hsHeader[3])
			if t.hsLeft > maxRenegotiationHello {
				return t.fail(tlsstate.AlertDecodeError, "handshake message too long")
			}
			if t.version == tlsstate.VersionTLS13 && t.hsLeft != 1 {
				return t.fail(tlsstate.AlertDecodeError, "KeyUpdate of the wrong length")
			}
		}
		if t.version == tlsstate.VersionTLS13 && len(data) == 0 {
			return nil // the KeyUpdate's byte comes in the next record
		}
		if t.version == tlsstate.VersionTLS13 {
			// The KeyUpdate's one byte (firstHandshakeByte let only a KeyUpdate
			// through, and only with t.rekey).
			t.hsLeft, t.hsHeaderLen = 0, 0
			requestUpdate := data[0]
			data = data[1:]
			if err := t.keyUpdateReceived(requestUpdate); err != nil {
				return err
			}
			continue
		}
		skip := min(len(data), t.hsLeft)
		data = data[skip:]
		t.hsLeft -= skip
		if t.hsLeft == 0 {
			t.hsHeaderLen = 0
			if err := t.sendAlert(1, tlsstate.AlertNoRenegotiation); err != nil {
				return err
			}
		}
	}
	return nil
}

// firstHandshakeByte decides on a post-handshake message by its type.
func (t *ktlsTransport) firstHandshakeByte(msgType byte) error {
	switch {
	case t.version == tlsstate.VersionTLS13 && msgType == msgKeyUpdate && t.rekey != nil:
		return nil
	case t.version == tlsstate.VersionTLS13 && msgType == msgKeyUpdate:
		t.closeBecause("peer KeyUpdate: kernel TLS keeps no traffic secret to follow it")
		return io.EOF
	case t.version == tlsstate.VersionTLS12 && msgType == msgClientHello:
		return nil
	}
	return t.fail(tlsstate.AlertUnexpectedMessage, fmt.Sprintf("handshake message type %d after the handshake", msgType))
}

// closeBecause ends the connection cleanly (Close sends close_notify) for
// a reason worth a log line.
func (t *ktlsTransport) closeBecause(reason string) {
	t.peerClosed = true
	t.log.Info("tls: closing a kernel TLS connection", "reason", reason)
}

// fail sends a fatal alert and makes err sticky; nothing else is sent.
func (t *ktlsTransport) fail(a tlsstate.Alert, reason string) error {
	if t.err != nil {
		return t.err
	}
	t.sendAlert(2, a)
	t.err = &tlsstate.AlertError{Alert: a, Reason: reason}
	t.log.Info("tls: failing a kernel TLS connection", "alert", a.String(), "reason", reason)
	return t.err
}

// sendAlert sends an alert record through the kernel, best effort: a full
// socket buffer loses it, as a closing connection may.
func (t *ktlsTransport) sendAlert(level byte, a tlsstate.Alert) error {
	_, err := kernel.SendRecord(t.fd, kernel.RecordAlert, []byte{level, byte(a)})
	if errors.Is(err, kernel.EAGAIN) {
		return nil
	}
	return err
}

// Buffered reports application data opened in user space and not yet read.
func (t *ktlsTransport) Buffered() bool { return len(t.plain) > 0 }

// Write sends application data; the kernel frames and encrypts it.
func (t *ktlsTransport) Write(p []byte, more bool) (int, error) {
	if t.rekey != nil {
		if err := t.beforeSend(); err != nil {
			return 0, err
		}
		p = p[:t.rekey.sendBudget(len(p))]
	}
	n, err := kernel.Send(t.fd, p, more)
	if errors.Is(err, kernel.EAGAIN) {
		return 0, coro.ErrWantWrite
	}
	t.sent(n)
	return n, err
}

// Sendfile sends file pages that the kernel encrypts on their way out: no
// byte of the file passes through the process.
func (t *ktlsTransport) Sendfile(file int, offset int64, count int) (int, error) {
	if t.rekey != nil {
		if err := t.beforeSend(); err != nil {
			return 0, err
		}
		count = t.rekey.sendBudget(count)
	}
	n, err := kernel.Sendfile(t.fd, file, &offset, count)
	if errors.Is(err, kernel.EAGAIN) {
		return 0, coro.ErrWantWrite
	}
	t.sent(n)
	return n, err
}

// beforeSend sends the KeyUpdate that is due, if any, before application
// data. A TLS 1.2 connection at its record limit cannot go on: the send
// fails and the connection is closed (with close_notify).
func (t *ktlsTransport) beforeSend() error {
	if t.err != nil {
		return t.err
	}
	switch {
	case !t.rekey.sendUpdate:
		return nil
	case t.rekey.slot == nil:
		t.closeBecause("TLS 1.2 record limit of the key reached (TLS 1.2 has no KeyUpdate)")
		return io.EOF
	}
	return t.sendKeyUpdate()
}

// sent counts the records that n bytes of application data may have cost.
// A TLS 1.2 connection past seven eighths of its record limit takes no
// new request: it ends cleanly after the response in flight.
func (t *ktlsTransport) sent(n int) {
	if t.rekey == nil || n <= 0 {
		return
	}
	t.rekey.countRecords(n)
	if r := t.rekey; r.slot == nil && r.txRecords >= r.limit-r.limit/8 && !t.peerClosed {
		t.closeBecause("TLS 1.2 connection near the record limit of its key (TLS 1.2 has no KeyUpdate): closing after the response in flight")
	}
}

// Flush has nothing to do: the kernel holds what Write and Sendfile took.
func (t *ktlsTransport) Flush() error { return nil }

// Close sends close_notify unless the connection failed, and zeroes any
// key the process still holds (a record that never completed).
func (t *ktlsTransport) Close() error {
	if t.closed {
		return nil
	}
	t.closed = true
	t.dropRecords()
	if t.rekey != nil {
		t.rekey.release() // wipes a TLS 1.3 connection's secrets
	}
	if t.err != nil {
		return nil
	}
	return t.sendAlert(1, tlsstate.AlertCloseNotify)
}

// Name is "ktls" in the access log.
func (t *ktlsTransport) Name() string { return "ktls" }
