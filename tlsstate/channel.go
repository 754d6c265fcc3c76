package tlsstate

import (
	"errors"
	"fmt"
	"io"
	"slices"
)

// Channel is one connection's TLS after its handshake, TLS 1.3 and TLS 1.2
// alike: every rule of the protocol after the handshake lives here, once.
// It is sans-I/O and has two ways in:
//
//   - user-space records: Open opens records into the caller's buffer and
//     Seal seals data into records (the record protection is the version's
//     own: protect13.go, protect12.go);
//   - kernel records: after HandOff has given a direction's keys to the
//     kernel (kTLS), Control judges the records the kernel hands up with
//     their content type (alerts, post-handshake handshake messages), and
//     the records this side must send in reply come out unprotected, for
//     the kernel to protect (kernel.SendRecord).
//
// Both ways run the same judge, so they give the same answers (see
// channel_test.go): close_notify ends the peer's side; a fatal alert ends
// the connection; TLS 1.3 KeyUpdate moves to the next receive key (and
// answers update_requested), or, once the receive key is in the kernel,
// closes the connection cleanly (CloseReason says why) or gives the owner
// that follows KeyUpdates its verdict (TakeKeyUpdate); a TLS 1.2
// ClientHello asking to renegotiate is answered with a warning
// no_renegotiation; anything else is a fatal alert with the code RFC 8446
// or RFC 5246 gives it. Records that carry no application data (empty
// records, warnings, KeyUpdates, refused ClientHellos) are counted in one
// counter with one limit, MaxRecordsWithoutData, so that a peer cannot
// keep the loop busy for free.
type Channel struct {
	sess    *Session
	version uint16
	// suite13 derives the next traffic secret of a TLS 1.3 KeyUpdate.
	suite13    *suiteInfo
	rekeyAfter uint64
	// maxCiphertext bounds a protected record of this version.
	maxCiphertext int
	// rx and tx protect records in user space; nil once the direction's
	// keys belong to the kernel.
	rx, tx protection

	msg         postHandshakeMessage
	withoutData int // records in a row without application data
	peerClosed  bool
	sentClose   bool
	closeReason string
	err         error

	// kernelFollows: once the receive key is in the kernel, the owner
	// follows a KeyUpdate (installs the next keys itself) instead of the
	// channel closing on it; keyUpdate is the verdict on one.
	kernelFollows bool
	keyUpdate     KeyUpdateVerdict
}

// KeyUpdateVerdict is what the channel decided on a peer's TLS 1.3
// KeyUpdate that Control judged, for an owner that follows KeyUpdates in
// the kernel (FollowKeyUpdatesInKernel): Received, the kernel must get the
// next receive key; UpdateRequested, this side must send its own KeyUpdate
// and move to its next transmit key before more application data (RFC
// 8446 §4.6.3).
type KeyUpdateVerdict struct {
	Received        bool
	UpdateRequested bool
}

// MaxRecordsWithoutData bounds the records in a row that carry no
// application data: empty records, warning alerts, KeyUpdates, refused
// renegotiations. RFC 8446 §5.4 allows empty application-data records (a
// traffic-analysis countermeasure), so a few are fine; an endless stream
// of them would let a peer spin the loop.
const MaxRecordsWithoutData = 32

// ErrClosed is returned by Seal after this side sent close_notify or the
// channel failed.
var ErrClosed = errors.New("tls: channel closed")

// protection is one direction's record protection in user space.
type protection interface {
	// open authenticates and decrypts rec into dst's spare capacity and
	// returns the record's real content type.
	open(dst []byte, rec record) (contentType, []byte, *AlertError)
	seal(out []byte, typ contentType, data []byte) ([]byte, error)
	sequence() uint64
	wipe()
}

// NewChannel starts the channel with the session's keys and sequence
// numbers, in user space. The channel takes ownership of sess and keeps it
// current (secrets, keys, IVs and sequence numbers after every record and
// KeyUpdate); cfg supplies RekeyAfterRecords.
func NewChannel(sess *Session, cfg *Config) (*Channel, error) {
	c := &Channel{sess: sess, version: sess.Version}
	switch sess.Version {
	case VersionTLS13:
		suite := suiteByID(sess.CipherSuite)
		if suite == nil {
			return nil, errors.New("tls: TLS 1.3 session with a suite this package does not implement")
		}
		c.suite13, c.maxCiphertext = suite, maxCiphertext13
		c.rekeyAfter = cfg.RekeyAfterRecords
		if c.rekeyAfter == 0 {
			c.rekeyAfter = suite.rekeyAfter
		}
		rx, err := newRecordCipher(suite, sess.RX.Key, sess.RX.IV)
		if err != nil {
			return nil, err
		}
		tx := sess.txCipher
		sess.txCipher = nil
		if tx == nil {
			if tx, err = newRecordCipher(suite, sess.TX.Key, sess.TX.IV); err != nil {
				rx.wipe()
				return nil, err
			}
		}
		rx.seq, tx.seq = sess.RX.Seq, sess.TX.Seq
		c.rx, c.tx = rx, tx
	case VersionTLS12:
		suite := suite12ByID(sess.CipherSuite)
		if suite == nil {
			return nil, errors.New("tls: TLS 1.2 session with a suite this package does not implement")
		}
		c.maxCiphertext = maxCiphertext12
		rx, err := newRecordCipher12(suite, sess.RX.Key, sess.RX.IV)
		if err != nil {
			return nil, err
		}
		tx, err := newRecordCipher12(suite, sess.TX.Key, sess.TX.IV)
		if err != nil {
			return nil, err
		}
		rx.seq, tx.seq = sess.RX.Seq, sess.TX.Seq
		c.rx, c.tx = cipher12{rx}, cipher12{tx}
	default:
		return nil, errors.New("tls: session of a protocol version this package does not implement")
	}
	return c, nil
}

// KernelChannel is the channel of a connection whose keys are both in the
// kernel already, as when another process hands it over (after its
// Quiescent said it could): it judges what the kernel hands up and frames
// what to send, holding no key. Its Session has the version and suite
// only.
func KernelChannel(version uint16, suite CipherSuite) (*Channel, error) {
	c := &Channel{sess: &Session{Version: version, CipherSuite: suite}, version: version}
	switch {
	case version == VersionTLS13 && suiteByID(suite) != nil:
		c.maxCiphertext = maxCiphertext13
	case version == VersionTLS12 && suite12ByID(suite) != nil:
		c.maxCiphertext = maxCiphertext12
	default:
		return nil, fmt.Errorf("tls: no kernel channel for version %#04x with cipher suite %v", version, suite)
	}
	return c, nil
}

// Quiescent reports whether the channel's whole state is its version: both
// directions' keys are in the kernel, no post-handshake message is half
// read, and neither side has closed or failed. Such a connection can be
// handed to another process (KernelChannel there).
func (c *Channel) Quiescent() bool {
	return c.rx == nil && c.tx == nil && !c.msg.partial() && c.err == nil && !c.peerClosed && !c.sentClose
}

// Session is the live key state: after the user-space channel has opened
// the records that arrived with the client's Finished, this is what the
// kernel hand-off installs.
func (c *Channel) Session() *Session { return c.sess }

// Version is the session's protocol version.
func (c *Channel) Version() uint16 { return c.version }

// CloseReason says why the channel ended the connection cleanly on its own
// (a KeyUpdate it cannot follow), or "".
func (c *Channel) CloseReason() string { return c.closeReason }

// Open consumes whole records from the front of in and appends the
// application data they carry to plain, using plain's spare capacity (it
// grows plain only if not even one record fits). Records to send in reply
// (close_notify, a KeyUpdate answer, a warning no_renegotiation, a fatal
// alert) are appended to reply, which the caller must write even when
// err != nil.
//
// err is nil when in is exhausted or holds only part of a record.
//
// io.EOF means the peer sent close_notify: it will send nothing more (bytes
// after it are ignored). In TLS 1.3 that closes only the peer's write side
// (RFC 8446 §6.1, which drops TLS 1.2's immediate answer because it
// truncated responses), so the owner finishes writing what it owes (Seal
// still works), answers with CloseNotify, then closes the connection.
//
// *AlertError means this side failed the connection (reply holds the
// alert); *PeerAlertError means the peer sent a fatal alert. After either,
// close the connection without close_notify.
func (c *Channel) Open(in, plain, reply []byte) (consumed int, plainOut, replyOut []byte, err error) {
	if c.peerClosed {
		return 0, plain, reply, io.EOF
	}
	if c.err != nil {
		return 0, plain, reply, c.err
	}
	produced := false
	for {
		rec, n, aerr := nextRecord(in[consumed:], c.maxCiphertext)
		if aerr != nil {
			return consumed, plain, c.fail(reply, aerr), aerr
		}
		if n == 0 {
			return consumed, plain, reply, nil
		}
		if aerr := c.outerTypeAllowed(rec.typ); aerr != nil {
			return consumed, plain, c.fail(reply, aerr), aerr
		}
		if cap(plain)-len(plain) < len(rec.payload) {
			if produced {
				return consumed, plain, reply, nil
			}
			plain = slices.Grow(plain, len(rec.payload))
		}
		consumed += n
		typ, content, aerr := c.rx.open(plain, rec)
		c.sess.RX.Seq = c.rx.sequence()
		if aerr != nil {
			return consumed, plain, c.fail(reply, aerr), aerr
		}
		var data bool
		data, reply, err = c.judge(typ, content, reply, true)
		if data {
			plain = plain[:len(plain)+len(content)]
			produced = true
		}
		if err != nil {
			return consumed, plain, reply, err
		}
	}
}

// outerTypeAllowed checks a record's outer content type: TLS 1.3 protects
// every record as application_data (RFC 8446 §5.2); TLS 1.2 has no
// ChangeCipherSpec after the handshake.
func (c *Channel) outerTypeAllowed(typ contentType) *AlertError {
	switch {
	case c.version == VersionTLS13 && typ != typeApplicationData:
		return fatal(AlertUnexpectedMessage, "unprotected record after the handshake")
	case typ == typeChangeCipherSpec:
		return fatal(AlertUnexpectedMessage, "change_cipher_spec after the handshake")
	}
	return nil
}

// Control judges one record that the kernel received and decrypted (kTLS
// hands up its content type and content); application data with content
// is the caller's to deliver once Control has let it through (it resets
// the count of records without data). The records to send in
// reply are appended to reply unprotected, each a record header and its
// body: the caller has the kernel send them (kernel.SendRecord with the
// header's type). The errors are Open's.
func (c *Channel) Control(typ uint8, content, reply []byte) ([]byte, error) {
	if c.peerClosed {
		return reply, io.EOF
	}
	if c.err != nil {
		return reply, c.err
	}
	_, reply, err := c.judge(contentType(typ), content, reply, false)
	return reply, err
}

// judge applies the rules after the handshake to one record's content,
// opened in user space or handed up by the kernel: it reports whether the
// content is application data for the caller. wholeRecord says content is
// a whole record (the kernel may hand a long record up in pieces).
func (c *Channel) judge(typ contentType, content, reply []byte, wholeRecord bool) (data bool, replyOut []byte, err error) {
	if c.msg.partial() && typ != typeHandshake {
		reply, err = c.failWith(reply, AlertUnexpectedMessage, "record interleaved with a fragmented handshake message")
		return false, reply, err
	}
	switch typ {
	case typeApplicationData:
		if len(content) > 0 {
			c.withoutData = 0
			return true, reply, nil
		}
		reply, err = c.countWithoutData(reply)
		return false, reply, err
	case typeAlert:
		reply, err = c.readAlert(content, reply)
		return false, reply, err
	case typeHandshake:
		reply, err = c.readHandshake(content, reply, wholeRecord)
		return false, reply, err
	case typeChangeCipherSpec:
		reply, err = c.failWith(reply, AlertUnexpectedMessage, "change_cipher_spec after the handshake")
		return false, reply, err
	}
	reply, err = c.failWith(reply, AlertUnexpectedMessage, "record of an unknown content type after the handshake")
	return false, reply, err
}

// countWithoutData counts a record that carried no application data.
func (c *Channel) countWithoutData(reply []byte) ([]byte, error) {
	if c.withoutData++; c.withoutData > MaxRecordsWithoutData {
		return c.failWith(reply, AlertUnexpectedMessage, "too many records without application data")
	}
	return reply, nil
}

// readAlert handles an alert: close_notify ends the peer's sending;
// user_canceled (and, in TLS 1.2, any warning) is ignored; anything else
// is fatal (RFC 8446 §6, RFC 5246 §7.2).
func (c *Channel) readAlert(body, reply []byte) ([]byte, error) {
	level, a, aerr := parseAlert(body)
	if aerr != nil {
		return c.fail(reply, aerr), aerr
	}
	switch {
	case a == AlertCloseNotify:
		c.peerClosed = true
		return reply, io.EOF
	case a == AlertUserCanceled, c.version == VersionTLS12 && level == alertLevelWarning:
		return c.countWithoutData(reply)
	}
	c.err = &PeerAlertError{Alert: a}
	return reply, c.err
}

// postHandshakeMessage is a handshake message being read after the
// handshake, possibly across records: its 4-byte header, then its body,
// of which only a KeyUpdate's one byte is kept.
type postHandshakeMessage struct {
	header    [4]byte
	headerLen int
	left      int // body bytes still to come
	body      byte
}

func (m *postHandshakeMessage) partial() bool { return m.headerLen > 0 }

// readHandshake handles bytes of post-handshake handshake messages. TLS
// 1.3 allows only KeyUpdate from a client (RFC 8446 §4.6: a client never
// sends NewSessionTicket, and a ClientHello would be renegotiation, which
// TLS 1.3 forbids); TLS 1.2 only a ClientHello asking to renegotiate,
// refused with a warning no_renegotiation, the connection carrying on (RFC
// 5746 §4.2 leaves the choice between that and a fatal handshake_failure
// to the server). An empty handshake record is unexpected_message (RFC
// 8446 §5.4).
func (c *Channel) readHandshake(fragment, reply []byte, wholeRecord bool) ([]byte, error) {
	if len(fragment) == 0 {
		aerr := errEmptyHandshakeRecord()
		return c.fail(reply, aerr), aerr
	}
	m := &c.msg
	for len(fragment) > 0 {
		if m.headerLen < len(m.header) {
			n := copy(m.header[m.headerLen:], fragment)
			m.headerLen += n
			fragment = fragment[n:]
			if aerr := c.messageTypeAllowed(m.header[0]); aerr != nil {
				return c.fail(reply, aerr), aerr
			}
			if m.headerLen < len(m.header) {
				return reply, nil
			}
			m.left = int(m.header[1])<<16 | int(m.header[2])<<8 | int(m.header[3])
			if aerr := c.messageLengthAllowed(m.left); aerr != nil {
				return c.fail(reply, aerr), aerr
			}
		}
		if m.left > 0 && len(fragment) > 0 {
			take := min(len(fragment), m.left)
			m.body = fragment[0]
			fragment = fragment[take:]
			m.left -= take
		}
		if m.left > 0 {
			return reply, nil
		}
		msgType, body := m.header[0], m.body
		*m = postHandshakeMessage{}
		var err error
		if msgType == msgKeyUpdate {
			// §5.1: a KeyUpdate changes keys, so it must end its record.
			// The kernel hands a record up whole when it fits.
			if (wholeRecord || c.rx == nil && c.kernelFollows) && len(fragment) > 0 {
				return c.failWith(reply, AlertUnexpectedMessage, "data after KeyUpdate in the same record")
			}
			reply, err = c.readKeyUpdate(body, reply)
		} else {
			if reply, err = c.countWithoutData(reply); err == nil {
				reply = c.send(reply, typeAlert, alertBodySlice(AlertNoRenegotiation))
			}
		}
		if err != nil {
			return reply, err
		}
	}
	return reply, nil
}

// messageTypeAllowed decides on a post-handshake message by its type.
func (c *Channel) messageTypeAllowed(msgType byte) *AlertError {
	if c.version == VersionTLS13 && msgType == msgKeyUpdate || c.version == VersionTLS12 && msgType == msgClientHello {
		return nil
	}
	return fatal(AlertUnexpectedMessage, "unexpected post-handshake message")
}

// messageLengthAllowed bounds a post-handshake message by its header: a
// KeyUpdate is one byte; a ClientHello is bounded like any handshake
// message.
func (c *Channel) messageLengthAllowed(n int) *AlertError {
	switch {
	case c.version == VersionTLS13 && n != 1:
		return fatal(AlertDecodeError, "KeyUpdate of the wrong length")
	case n > maxHandshakeMessage:
		return fatal(AlertDecodeError, "handshake message too long")
	}
	return nil
}

// readKeyUpdate acts on a whole KeyUpdate (RFC 8446 §4.6.3): the peer's next
// records use its next traffic secret; with update_requested this side
// sends its own KeyUpdate first (unless it has closed). Once the receive
// key belongs to the kernel, the channel cannot follow: it ends the
// connection cleanly instead (io.EOF; CloseReason says why).
func (c *Channel) readKeyUpdate(request byte, reply []byte) ([]byte, error) {
	if request > 1 {
		return c.failWith(reply, AlertIllegalParameter, "KeyUpdate request_update out of range")
	}
	reply, err := c.countWithoutData(reply)
	if err != nil {
		return reply, err
	}
	switch {
	case c.rx == nil && c.kernelFollows:
		c.keyUpdate = KeyUpdateVerdict{Received: true, UpdateRequested: request == 1 && !c.sentClose}
		return reply, nil
	case c.rx == nil:
		return c.closeBecause(reply, "peer KeyUpdate: kernel TLS keeps no traffic secret to follow it")
	case request == 1 && c.tx == nil && !c.sentClose:
		return c.closeBecause(reply, "KeyUpdate with update_requested arrived with the client's Finished; kernel TLS cannot change keys")
	case request == 1 && !c.sentClose:
		if reply, err = c.sendKeyUpdate(reply, false); err != nil {
			return reply, err
		}
	}
	c.updateKeys(&c.sess.RX, &c.rx)
	return reply, nil
}

// closeBecause ends the connection cleanly for a reason worth a log line:
// the owner answers with CloseNotify, as after the peer's close_notify.
func (c *Channel) closeBecause(reply []byte, reason string) ([]byte, error) {
	c.peerClosed = true
	c.closeReason = reason
	return reply, io.EOF
}

// Seal appends data to out as application-data records of at most 16 KiB,
// sending a TLS 1.3 KeyUpdate first whenever the current key has protected
// RekeyAfterRecords records. When out has room nothing is allocated. Only
// while the send key is in user space.
func (c *Channel) Seal(out, data []byte) ([]byte, error) {
	if c.err != nil || c.sentClose || c.tx == nil {
		return out, ErrClosed
	}
	for len(data) > 0 {
		if c.suite13 != nil && c.tx.sequence() >= c.rekeyAfter {
			var err error
			if out, err = c.sendKeyUpdate(out, false); err != nil {
				return out, err
			}
		}
		n := min(len(data), maxPlaintext)
		var err error
		if out, err = c.tx.seal(out, typeApplicationData, data[:n]); err != nil {
			c.err = err
			return out, err
		}
		c.sess.TX.Seq = c.tx.sequence()
		data = data[n:]
	}
	return out, nil
}

// CloseNotify appends this side's close_notify (unprotected for the kernel
// to send, once the send key is there); nothing may be sealed after it.
func (c *Channel) CloseNotify(out []byte) []byte {
	if c.sentClose || c.err != nil {
		return out
	}
	out = c.send(out, typeAlert, alertBodySlice(AlertCloseNotify))
	c.sentClose = true
	return out
}

// FatalAlert appends a fatal alert record and ends the channel, for a
// failure its owner finds outside it (for example the kernel refusing the
// session's keys under ktls = "require"). Write out, then close the
// connection without close_notify.
func (c *Channel) FatalAlert(out []byte, a Alert, reason string) []byte {
	return c.fail(out, fatal(a, reason))
}

// Err is why the channel failed (an *AlertError or a *PeerAlertError), or
// nil.
func (c *Channel) Err() error { return c.err }

// sendKeyUpdate appends a KeyUpdate under the current key, then moves the
// send side to the next traffic secret.
func (c *Channel) sendKeyUpdate(out []byte, requestUpdate bool) ([]byte, error) {
	msg := keyUpdateMessage(requestUpdate)
	out, err := c.tx.seal(out, typeHandshake, msg[:])
	if err != nil {
		c.err = err
		return out, err
	}
	c.updateKeys(&c.sess.TX, &c.tx)
	return out, nil
}

// updateKeys replaces one direction's secret, key and IV with the next
// generation (RFC 8446 §7.2), wiping the old ones, and restarts its
// sequence number.
func (c *Channel) updateKeys(keys *TrafficKeys, p *protection) {
	next := c.suite13.nextTrafficSecret(keys.Secret)
	keys.Zero()
	*keys = newTrafficKeys(c.suite13, next)
	fresh, err := newRecordCipher(c.suite13, keys.Key, keys.IV)
	if err != nil {
		// The key length is the suite's own; construction cannot fail.
		panic("tlsstate: rebuilding the record cipher: " + err.Error())
	}
	(*p).wipe()
	*p = fresh
}

// send appends one record of this side's: sealed while the send key is in
// user space, else unprotected for the kernel to seal. Nothing after this
// side's close_notify.
func (c *Channel) send(out []byte, typ contentType, body []byte) []byte {
	if c.sentClose {
		return out
	}
	if c.tx == nil {
		return appendPlaintextRecords(out, typ, body)
	}
	out, _ = c.tx.seal(out, typ, body)
	c.sess.TX.Seq = c.tx.sequence()
	return out
}

func (c *Channel) failWith(reply []byte, a Alert, reason string) ([]byte, error) {
	err := fatal(a, reason)
	return c.fail(reply, err), err
}

// fail appends the fatal alert and ends the channel.
func (c *Channel) fail(reply []byte, err *AlertError) []byte {
	if c.err != nil {
		return reply
	}
	c.err = err
	return c.send(reply, typeAlert, alertBodySlice(err.Alert))
}

// FollowKeyUpdatesInKernel says that the owner keeps the traffic secrets
// and installs the next keys in the kernel itself: a KeyUpdate judged by
// Control is then not a reason to close but a verdict for TakeKeyUpdate.
func (c *Channel) FollowKeyUpdatesInKernel() { c.kernelFollows = true }

// TakeKeyUpdate returns and clears the verdict on the KeyUpdate the last
// Control call judged (the zero verdict when there was none).
func (c *Channel) TakeKeyUpdate() KeyUpdateVerdict {
	v := c.keyUpdate
	c.keyUpdate = KeyUpdateVerdict{}
	return v
}

// Direction names one direction of the channel's records.
type Direction uint8

// The directions, from this side's point of view.
const (
	Receive Direction = iota + 1
	Transmit
)

// HandOff gives one direction's live keys to the kernel, once: install
// receives the session (version, suite) and that direction's keys and
// sequence number, and must copy them into the kernel. If it fails nothing
// has changed and the channel still protects that direction in user
// space. If it succeeds, the channel's cipher for that direction and the
// session's copy of its keys are wiped: from then on the kernel protects
// those records, and the channel judges what the kernel hands up (Control)
// and gives records to send unprotected.
//
// (A TLS 1.3 KeyUpdate under kernel TLS: the channel keeps no secret once
// both directions are handed off, so it closes, unless the owner keeps the
// secrets and follows KeyUpdates itself: FollowKeyUpdatesInKernel.)
func (c *Channel) HandOff(d Direction, install func(sess *Session, keys *TrafficKeys) error) error {
	keys, p := &c.sess.RX, &c.rx
	if d == Transmit {
		keys, p = &c.sess.TX, &c.tx
	}
	if *p == nil {
		return errors.New("tls: keys already handed off")
	}
	if err := install(c.sess, keys); err != nil {
		return err
	}
	(*p).wipe()
	*p = nil
	seq := keys.Seq
	keys.Zero()
	keys.Seq = seq
	return nil
}

// Zero wipes every key the channel holds, the Session's included.
func (c *Channel) Zero() {
	if c.rx != nil {
		c.rx.wipe()
	}
	if c.tx != nil {
		c.tx.wipe()
	}
	c.rx, c.tx = nil, nil
	c.sess.Zero()
	if c.err == nil {
		c.err = ErrClosed
	}
}

// alertBodySlice is alertBody as a slice.
func alertBodySlice(a Alert) []byte {
	b := alertBody(a)
	return b[:]
}

// cipher12 adapts a TLS 1.2 record cipher to protection: a TLS 1.2 record
// keeps its real content type outside.
type cipher12 struct{ c *recordCipher12 }

func (p cipher12) open(dst []byte, rec record) (contentType, []byte, *AlertError) {
	content, err := p.c.open(dst, rec)
	return rec.typ, content, err
}

func (p cipher12) seal(out []byte, typ contentType, data []byte) ([]byte, error) {
	out, err := p.c.seal(out, typ, data)
	if err != nil {
		return out, err
	}
	return out, nil
}

func (p cipher12) sequence() uint64 { return p.c.seq }
func (p cipher12) wipe()            { p.c.wipe() }

func (c *recordCipher) sequence() uint64 { return c.seq }
