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

// maxRecordWire is the largest record on the wire: a TLS 1.2 protected
// record (RFC 5246 §6.2.3, 2^14 + 2048) plus its header; TLS 1.3 records are
// smaller. Headers announcing more are refused by the channel before the
// body is read.
const maxRecordWire = 5 + 1<<14 + 2048

// kernelRecords is the kernel-TLS record backend of a tlsConn (its phase
// tlsKernelRecords): the kernel protects the records (kTLS). After the
// handshake, handOffToKernel gives the session's live keys and sequence
// numbers to the kernel, and the process holds no key material any more. Application data moves with plain recv, send and
// sendfile (the kernel encrypts file pages on their way out); the records
// that are not application data (alerts, post-handshake handshake
// messages) are read with their record type and judged by the channel
// (tlsstate.Channel.Control), the same rules as in user space; what the
// channel answers is sent through the kernel.
//
// TLS 1.3 KeyUpdate: by default (ktls_key_update = "close") the process
// keeps no traffic secret, so it cannot follow a peer's KeyUpdate: the
// channel closes the connection cleanly (our close_notify) with the reason
// logged. This is the only behaviour kernels before 6.14 allow, and it keeps
// "the process holds no keys" true. With "rekey" on a kernel that can, the
// traffic secrets are kept in the vault (tls_kernel_rekey.go): the channel
// judges the KeyUpdate the kernel hands up and the transport acts on its
// verdict (next receive key; our KeyUpdate and next transmit key when
// asked or after the record limit).
type kernelRecords struct {
	fd  int
	log *slog.Logger
	// ch judges control records and frames the records to send; once
	// both directions are in the kernel it holds no key.
	ch *tlsstate.Channel
	// rxInKernel: the receive keys are installed. Until then the bytes
	// read past the client's Finished end inside a record that partial
	// collects (Read reads exactly its missing bytes); once it is opened
	// in user space the RX keys go to the kernel.
	rxInKernel bool
	partial    []byte
	// plain is application data opened in user space from the records
	// that arrived with the client's Finished; Read delivers it first.
	plain []byte

	// rekey is the state of a TLS 1.3 connection that follows KeyUpdates
	// (ktls_key_update = "rekey" on a kernel that can). A connection that
	// cannot (TLS 1.2; TLS 1.3 without the secrets: a KeyUpdate closes it)
	// only counts its records in it, no secret kept, to close before its
	// key's record limit; nil for a cipher whose limit is out of reach.
	rekey *rekeyState
	// rxNoPad sets TLS_RX_EXPECT_NO_PAD on a TLS 1.3 connection once its
	// receive keys are in the kernel.
	rxNoPad bool

	cmsg  [32]byte // >= kernel.RecordTypeCmsgSpace
	small [16]byte // receives when the caller's buffer is smaller
	reply []byte   // records the channel asks to send, unprotected

	err        error // sticky: the connection failed; nothing more is sent
	peerClosed bool  // the peer sent close_notify (or a KeyUpdate we do not follow)
	// ending: the transmit key nears its record limit and there is no next
	// one (see sent); the connection finishes what it accepted and closes.
	ending bool
	closed bool
}

// handOffToKernel moves a connection whose handshake has just completed
// onto kernel TLS. ch is the session's channel (tlsstate.NewChannel right
// after the handshake); leftover is what was read past the client's
// Finished and not opened yet: whole records, and possibly the beginning
// of one more. All handshake output must have been written to the socket.
//
// The transmit keys go first: if the kernel refuses them (no tls ULP, a
// cipher or version it lacks) the error wraps errKernelRefused and nothing
// has changed, so the caller may go on in user space. After that, leftover
// records are opened in user space (their plaintext is read first) and the
// receive keys are installed with the sequence number that follows them.
// The channel zeroes its copy of each direction's keys as it hands them
// over, and the crypto_info buffers are zeroed here. A failure after the
// transmit keys are in the kernel is not returned: the transport sends the
// alert and its Read reports the error. The policy's rxNoPad sets
// TLS_RX_EXPECT_NO_PAD on a TLS 1.3 connection once RX is installed; its
// rekey keeps the TLS 1.3 traffic secrets (in the vault) so that
// KeyUpdates can be followed: the channel judges a KeyUpdate the kernel
// hands up, the transport installs the next keys.
func handOffToKernel(fd int, ch *tlsstate.Channel, leftover []byte, p kernelTLSPolicy, log *slog.Logger) (*kernelRecords, error) {
	if log == nil {
		log = slog.Default()
	}
	sess := ch.Session()
	var rekey *rekeyState
	if p.rekey && sess.Version == tlsstate.VersionTLS13 {
		// Before HandOff, which zeroes the session's copy of the secrets.
		var err error
		if rekey, err = keepSecrets(sess, p.rekeyAfter); err != nil {
			// The connection still works; a KeyUpdate will close it.
			log.Warn("tls: kernel TLS connection cannot keep its traffic secrets; a KeyUpdate will close it", "reason", err)
		}
	}
	if rekey == nil {
		// No next key (TLS 1.2; TLS 1.3 under ktls_key_update = "close"):
		// the connection ends cleanly before its key's record limit.
		rekey = countRecordsOnly(sess.CipherSuite, p.rekeyAfter)
	}
	err := ch.HandOff(tlsstate.Transmit, func(sess *tlsstate.Session, keys *tlsstate.TrafficKeys) error {
		tx, err := kernelKeys(sess, keys)
		if err != nil {
			return err
		}
		if err := kernel.EnableULP(fd); err != nil {
			return err
		}
		if err := kernel.InstallTX(fd, tx); err != nil {
			return err
		}
		tx.Zero() // TLS 1.2's explicit-nonce seed; the channel zeroes the rest
		return nil
	})
	if err != nil {
		if rekey != nil {
			rekey.release()
		}
		return nil, fmt.Errorf("%w: %v", errKernelRefused, err)
	}
	if rekey != nil {
		// The records sent under this key in user space (the handshake's
		// last flight under TLS 1.2, TLS 1.3's session tickets) count too.
		rekey.txRecords = sess.TX.Seq
	}
	t := &kernelRecords{fd: fd, log: log, ch: ch, rekey: rekey, rxNoPad: p.rxNoPad}
	if rekey != nil && rekey.slot != nil {
		ch.FollowKeyUpdatesInKernel()
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
// channel, keeps their application data for Read, acts on what else they
// carried, and returns the bytes of an incomplete record.
func (t *kernelRecords) openInUserSpace(in []byte) []byte {
	for len(in) > 0 && t.err == nil && !t.peerClosed {
		n, plain, reply, err := t.ch.Open(in, t.plain, t.reply[:0])
		t.plain = plain
		in = in[n:]
		t.reply = reply
		t.settle(err)
		if n == 0 {
			break
		}
	}
	return in
}

// installRX hands the receive keys to the kernel (unless the connection
// is over anyway): from then on the process holds no key.
func (t *kernelRecords) installRX() {
	t.partial = nil
	if t.err != nil || t.peerClosed {
		return
	}
	err := t.ch.HandOff(tlsstate.Receive, func(sess *tlsstate.Session, keys *tlsstate.TrafficKeys) error {
		rx, err := kernelKeys(sess, keys)
		if err != nil {
			return err
		}
		err = kernel.InstallRX(t.fd, rx)
		rx.Zero()
		if err == nil && t.rekey != nil {
			// A KeyUpdate opened in user space may have moved the
			// receive secret since the hand-off of TX.
			t.rekey.keepRX(keys.Secret)
		}
		return err
	})
	if err != nil {
		// TX is in the kernel already: user space cannot take over.
		t.reply = t.ch.FatalAlert(t.reply[:0], tlsstate.AlertInternalError, "kernel refused the receive keys after the transmit keys: "+err.Error())
		t.settle(t.ch.Err())
		return
	}
	if t.rxNoPad && t.ch.Version() == tlsstate.VersionTLS13 {
		// An optimisation only: a kernel that refuses it decrypts as before.
		if err := unix.SetsockoptInt(t.fd, unix.SOL_TLS, kernel.TLS_RX_EXPECT_NO_PAD, 1); err != nil {
			t.log.Debug("tls: TLS_RX_EXPECT_NO_PAD refused", "error", err)
		}
	}
	t.rxInKernel = true
}

// completeRecord reads the missing bytes of the record that the handshake
// left incomplete, exactly (never past its end, so the kernel sees the
// next record from its first byte), then opens it and installs the RX keys
// (under eraseAfter).
func (t *kernelRecords) completeRecord() error {
	need := 5
	if len(t.partial) >= 5 {
		// The channel checked the header's length when it was whole.
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
		t.partial = nil
		return t.err
	}
	t.partial = t.partial[:len(t.partial)+n]
	eraseAfter(func() {
		if rest := t.openInUserSpace(t.partial); len(rest) > 0 && t.err == nil && !t.peerClosed {
			return
		}
		t.installRX()
	})
	return nil
}

// settle sends the records the channel asked for and acts on its verdict:
// io.EOF ends the peer's side (logged when the channel closed on its own,
// e.g. on a KeyUpdate it cannot follow); an alert either way ends the
// connection.
func (t *kernelRecords) settle(err error) error {
	if len(t.reply) > 0 {
		if serr := t.sendRecords(t.reply); serr != nil && err == nil {
			err = serr
			t.err = serr
		}
		t.reply = t.reply[:0]
	}
	var alert *tlsstate.AlertError
	var peerAlert *tlsstate.PeerAlertError
	switch {
	case err == io.EOF:
		t.peerClosed = true
		if reason := t.ch.CloseReason(); reason != "" {
			t.log.Info("tls: closing a kernel TLS connection", "reason", reason)
		}
	case errors.As(err, &alert):
		t.err = err
		t.log.Info("tls: failing a kernel TLS connection", "alert", alert.Alert.String(), "reason", alert.Reason)
	case errors.As(err, &peerAlert):
		t.err = err
		t.log.Info("tls: peer sent a fatal alert", "alert", peerAlert.Alert.String())
	case err != nil:
		t.err = err
	}
	return err
}

// sendRecords has the kernel protect and send each record of recs (header
// and body, as the channel framed them), best effort: a full socket buffer
// loses them, as a closing connection may.
func (t *kernelRecords) sendRecords(recs []byte) error {
	for len(recs) >= 5 {
		n := 5 + (int(recs[3])<<8 | int(recs[4]))
		_, err := kernel.SendRecord(t.fd, recs[0], recs[5:n])
		if err != nil && !errors.Is(err, kernel.EAGAIN) {
			return err
		}
		recs = recs[n:]
	}
	return nil
}

// Read returns application data: first what was opened in user space,
// then what the kernel decrypts. Non-data records met on the way are
// handled here; io.EOF follows the peer's close_notify.
func (t *kernelRecords) Read(p []byte) (int, error) {
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
		case !t.rxInKernel:
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
func (t *kernelRecords) recv(p []byte) (int, error) {
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
		if typ == kernel.RecordApplicationData && n == 0 {
			// The peer closed TCP without close_notify. (The kernel
			// consumes an empty application-data record itself rather
			// than hand it up as a zero-length read.)
			return 0, io.EOF
		}
		if err := t.control(typ, buf[:n]); err != nil {
			return 0, err
		}
		if typ == kernel.RecordApplicationData {
			if len(p) < len(buf) {
				copied := copy(p, buf[:n])
				t.plain = append(t.plain, buf[copied:n]...)
				n = copied
			}
			return n, nil
		}
	}
}

// control has the channel judge one record the kernel handed up (or a
// piece of one, when it did not fit the buffer), and acts on what it says.
func (t *kernelRecords) control(typ uint8, data []byte) error {
	reply, err := t.ch.Control(typ, data, t.reply[:0])
	t.reply = reply
	if err := t.settle(err); err != nil {
		return err
	}
	if v := t.ch.TakeKeyUpdate(); v.Received {
		return t.keyUpdateReceived(v.UpdateRequested)
	}
	return nil
}

// recvError turns a failed receive into what Read returns, sending the
// alert the kernel's verdict calls for.
func (t *kernelRecords) recvError(err error) error {
	switch {
	case errors.Is(err, kernel.EAGAIN):
		return coro.ErrWantRead
	case errors.Is(err, unix.EBADMSG):
		return t.fail(tlsstate.AlertBadRecordMAC, "kernel could not authenticate a record")
	case errors.Is(err, unix.EMSGSIZE):
		return t.fail(tlsstate.AlertRecordOverflow, "kernel saw a record longer than allowed")
	case errors.Is(err, unix.EKEYEXPIRED):
		// Linux 6.14+: the kernel paused reception after a KeyUpdate it
		// showed us; we do not follow it (see kernelRecords).
		t.peerClosed = true
		t.log.Info("tls: closing a kernel TLS connection", "reason", "peer KeyUpdate: kernel TLS receive keys expired")
		return io.EOF
	}
	t.err = err
	return t.err
}

// closeBecause ends the connection cleanly (Close sends close_notify) for
// a reason worth a log line.
func (t *kernelRecords) closeBecause(reason string) {
	t.peerClosed = true
	t.log.Info("tls: closing a kernel TLS connection", "reason", reason)
}

// fail sends a fatal alert for an error the kernel found and makes it
// sticky; nothing else is sent.
func (t *kernelRecords) fail(a tlsstate.Alert, reason string) error {
	if t.err != nil {
		return t.err
	}
	t.reply = t.ch.FatalAlert(t.reply[:0], a, reason)
	return t.settle(t.ch.Err())
}

// Buffered reports whether Read has something to say without the socket:
// application data opened in user space and not yet read, or the end that
// the records read with the client's Finished brought (close_notify, an
// alert).
func (t *kernelRecords) Buffered() bool { return len(t.plain) > 0 || t.peerClosed || t.err != nil }

// Write sends application data; the kernel frames and encrypts it.
func (t *kernelRecords) Write(p []byte, more bool) (int, error) {
	if t.rekey != nil {
		if err := t.beforeSend(); err != nil {
			return 0, err
		}
		p = p[:t.rekey.sendBudget(len(p))]
	}
	n, err := kernel.Send(t.fd, p, more)
	if err == kernel.EAGAIN {
		return 0, coro.ErrWantWrite
	}
	t.sent(n)
	return n, err
}

// Sendfile sends file pages that the kernel encrypts on their way out: no
// byte of the file passes through the process.
func (t *kernelRecords) Sendfile(file int, offset int64, count int) (int, error) {
	if t.rekey != nil {
		if err := t.beforeSend(); err != nil {
			return 0, err
		}
		count = t.rekey.sendBudget(count)
	}
	n, err := kernel.Sendfile(t.fd, file, &offset, count)
	switch {
	case err == kernel.EAGAIN:
		return 0, coro.ErrWantWrite
	case n == 0 && err == nil && count > 0:
		return t.sendfileTookNothing(file, offset, count)
	}
	t.sent(n)
	return n, err
}

// minKernelSend is a record's worth of plaintext.
const minKernelSend = 16 << 10

// sendfileTookNothing handles a sendfile that took nothing although the
// file goes on: Linux 7.2 returns 0, not EAGAIN, from sendfile on a kernel
// TLS socket now and then, whether the socket is full or not (seen in the
// guest: the server took it for the end of a shorter file and cut the
// response). On a full socket, the step waits for epoll to report it
// writable; on a writable one, the next record's worth of the file goes
// through the process (pread, then send: the kernel encrypts it all the
// same). At the end of the file, (0, nil) says so.
func (t *kernelRecords) sendfileTookNothing(file int, offset int64, count int) (int, error) {
	var st unix.Stat_t
	if err := unix.Fstat(file, &st); err != nil || offset >= st.Size {
		return 0, err
	}
	pfd := []unix.PollFd{{Fd: int32(t.fd), Events: unix.POLLOUT}}
	if n, err := unix.Poll(pfd, 0); err == nil && (n == 0 || pfd[0].Revents&unix.POLLOUT == 0) {
		return 0, coro.ErrWantWrite
	}
	buf := make([]byte, min(int64(count), minKernelSend, st.Size-offset))
	m, err := unix.Pread(file, buf, offset)
	if m <= 0 {
		return 0, err
	}
	n, err := kernel.Send(t.fd, buf[:m], false)
	t.log.Debug("tls: kernel TLS sendfile took nothing from a writable socket; a record's worth sent from user space", "sent", n, "err", err)
	switch {
	case err == kernel.EAGAIN:
		return 0, coro.ErrWantWrite
	case n == 0 && err == nil:
		return 0, io.ErrUnexpectedEOF // never a busy loop on a socket that takes nothing
	}
	t.sent(n)
	return n, err
}

// beforeSend sends the KeyUpdate that is due, if any, before application
// data. A connection without a next key, at its record limit, cannot go
// on: the send fails and the connection is closed (with close_notify).
func (t *kernelRecords) beforeSend() error {
	if t.err != nil {
		return t.err
	}
	switch {
	case !t.rekey.sendUpdate:
		return nil
	case t.rekey.slot == nil:
		t.closeBecause("record limit of the key reached, and no KeyUpdate to send (" + noKeyUpdate + ")")
		return io.EOF
	}
	return t.sendKeyUpdate()
}

// noKeyUpdate says why a kernel TLS connection that counts its records
// only cannot move to a next key.
const noKeyUpdate = `TLS 1.2 has none; under ktls_key_update = "close", or when a connection was passed by an upgrade, the process keeps no secret`

// sent counts the records that n bytes of application data may have cost.
// A connection that cannot move to a next key, past seven eighths of its
// record limit, is Ending: it takes no new request or stream and ends
// cleanly once the responses it accepted are sent (what they cost past the
// limit, more than an eighth of it, 2^20 records of AES-GCM, is cut at the
// limit instead of passing it).
func (t *kernelRecords) sent(n int) {
	if t.rekey == nil || n <= 0 {
		return
	}
	t.rekey.countRecords(n)
	if r := t.rekey; r.slot == nil && r.txRecords >= r.limit-r.limit/8 && !t.ending && !t.peerClosed {
		t.ending = true
		t.log.Info("tls: closing a kernel TLS connection after the responses in flight",
			"reason", "connection near the record limit of its key, and no KeyUpdate to send ("+noKeyUpdate+")",
			"records", r.txRecords, "limit", r.limit)
	}
}

// Ending reports that the connection nears the record limit of a key it
// cannot move on from (see sent): it may finish the responses it accepted,
// and must take no new one. Reads go on meanwhile (an HTTP/2 client's
// WINDOW_UPDATEs let the streams in flight finish).
func (t *kernelRecords) Ending() bool { return t.ending }

// Flush has nothing to do: the kernel holds what Write and Sendfile took.
func (t *kernelRecords) Flush() error { return nil }

// Close sends close_notify unless the connection failed, and zeroes any
// key the process still holds (a record that never completed).
func (t *kernelRecords) Close() error {
	if t.closed {
		return nil
	}
	t.closed = true
	t.partial = nil
	if t.rekey != nil {
		t.rekey.release() // wipes a TLS 1.3 connection's secrets
	}
	var err error
	if t.err == nil {
		err = t.sendRecords(t.ch.CloseNotify(t.reply[:0]))
	}
	t.ch.Zero()
	return err
}

// detach lets the connection leave with its socket when nothing of it is
// left in user space (detachable): the new process needs the version, the
// suite and the records counted under the transmit key. The traffic
// secrets a connection in rekey mode keeps are wiped here: they never leave
// the process (see adoptKernelTLS).
func (t *kernelRecords) detach() (handedConn, bool) {
	if !t.detachable() {
		return handedConn{}, false
	}
	h := handedConn{kind: handedKTLS, version: t.ch.Version(), suite: t.ch.Session().CipherSuite}
	if t.rekey != nil {
		h.txRecords = t.rekey.txRecords
		t.rekey.release()
		t.rekey = nil
	}
	t.closed = true // never a close_notify from here: the connection lives on elsewhere
	return h, true
}

// detachable reports whether nothing of the connection is left in user
// space: its records are all in the kernel's hands, and no KeyUpdate of
// ours is due.
func (t *kernelRecords) detachable() bool {
	return t.rxInKernel && len(t.partial) == 0 && len(t.plain) == 0 && len(t.reply) == 0 && t.err == nil &&
		!t.peerClosed && !t.closed && t.ch.Quiescent() && (t.rekey == nil || !t.rekey.sendUpdate)
}

// adoptKernelTLS is the transport of a kernel TLS connection another
// process passed (a binary upgrade, see detach), or of one of this
// process's own that dropped its state while idle (dropIdle): its keys and
// sequence numbers are in the socket, and this process keeps no secret. A
// TLS 1.3 KeyUpdate from the client therefore ends it cleanly, as with
// ktls_key_update = "close", whatever mode it had; and as this process
// cannot send a KeyUpdate of its own, its records are counted on from the
// count passed and it ends cleanly near its key's record limit (rekeyAfter,
// or the suite's), as a TLS 1.2 connection does.
func adoptKernelTLS(fd int, h handedConn, rekeyAfter uint64, log *slog.Logger) (*kernelRecords, error) {
	ch, err := tlsstate.KernelChannel(h.version, h.suite)
	if err != nil {
		return nil, err
	}
	t := &kernelRecords{fd: fd, ch: ch, rxInKernel: true, log: log}
	t.rekey = countRecordsOnly(h.suite, rekeyAfter)
	if t.rekey != nil {
		t.rekey.txRecords = h.txRecords
		t.rekey.sendUpdate = h.txRecords >= t.rekey.limit
	}
	return t, nil
}

// dropIdle: an idle connection that is all in the kernel's hands
// (detachable) and keeps no traffic secret is its cipher suite and the
// count of records sent under its key, and nothing more. When the count is
// below maxIdleRecords, both fit in the tag (the suite's number in
// kernelSuites in the low 4 bits, the count above), which adoptKernelTLS
// rebuilds the transport from; the channel, which holds no key, is wiped
// all the same. A connection that sent more keeps its state.
func (t *kernelRecords) dropIdle() (uint16, bool) {
	suite := kernelSuiteTag(t.ch.Session().CipherSuite)
	var records uint64
	if r := t.rekey; r != nil {
		if r.slot != nil || r.sendUpdate {
			return 0, false
		}
		records = r.txRecords
	}
	if suite == 0 || records >= maxIdleRecords || !t.detachable() {
		return 0, false
	}
	t.ch.Zero()
	return uint16(records)<<4 | uint16(suite), true
}

// maxIdleRecords bounds the record count an idle kernel TLS connection
// keeps in its tag: 12 bits (a keep-alive connection that sent 4 096
// records or more, 64 MiB and up, keeps its state).
const maxIdleRecords = 1 << 12

// idleKernelTLS is what the tag of an idle kernel TLS connection that
// dropped its state (dropIdle) says: its version, suite and record count.
func idleKernelTLS(tag uint16) handedConn {
	k := kernelSuites[tag&0xf]
	return handedConn{kind: handedKTLS, version: k.version, suite: k.suite, txRecords: uint64(tag >> 4)}
}

// kernelSuites number the cipher suites of kernel TLS connections from 1
// to 9, for the tag an idle connection that dropped its state keeps in its
// loop entry (loop.Conn.SetTag; see dropIdle).
var kernelSuites = [...]struct {
	version uint16
	suite   tlsstate.CipherSuite
}{
	{}, // 0: none
	{tlsstate.VersionTLS13, tlsstate.AES128GCMSHA256},
	{tlsstate.VersionTLS13, tlsstate.AES256GCMSHA384},
	{tlsstate.VersionTLS13, tlsstate.ChaCha20Poly1305SHA256},
	{tlsstate.VersionTLS12, tlsstate.ECDHEECDSAWithAES128GCMSHA256},
	{tlsstate.VersionTLS12, tlsstate.ECDHEECDSAWithAES256GCMSHA384},
	{tlsstate.VersionTLS12, tlsstate.ECDHERSAWithAES128GCMSHA256},
	{tlsstate.VersionTLS12, tlsstate.ECDHERSAWithAES256GCMSHA384},
	{tlsstate.VersionTLS12, tlsstate.ECDHERSAWithChaCha20Poly1305SHA256},
	{tlsstate.VersionTLS12, tlsstate.ECDHEECDSAWithChaCha20Poly1305SHA256},
}

// kernelSuiteTag is suite's tag, or 0 for a suite kernel TLS never carries.
func kernelSuiteTag(suite tlsstate.CipherSuite) uint8 {
	for i, k := range kernelSuites {
		if i > 0 && k.suite == suite {
			return uint8(i)
		}
	}
	return 0
}
