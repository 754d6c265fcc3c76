package tlsstate

import (
	"errors"
	"io"
	"slices"
)

// Records is the user-space record layer of one connection after its
// handshake (TLS 1.3 here; TLS 1.2 sessions are run by records12.go): it opens incoming records into the caller's buffer, seals
// outgoing data into the caller's buffer, and runs the post-handshake
// protocol (close_notify, alerts, KeyUpdate) itself. It is sans-I/O: records
// it must send in reply are appended to a reply buffer the caller writes.
type Records struct {
	sess          *Session
	suite         *suiteInfo
	rx, tx        *recordCipher
	rekeyAfter    uint64
	maxKeyUpdates int

	// handshake holds a post-handshake message split across records; only
	// KeyUpdate (5 bytes) is acceptable, so it never grows past that.
	handshake        []byte
	keyUpdatesInARow int
	emptyInARow      int
	peerClosed       bool
	sentClose        bool
	err              error

	// v12 runs a TLS 1.2 session instead of the fields above.
	v12 *records12
}

// maxEmptyRecords bounds empty application-data records in a row, which
// carry nothing and would otherwise let a peer spin the loop for free.
const maxEmptyRecords = 16

// ErrClosed is returned by Seal after this side sent close_notify or the
// record layer failed.
var ErrClosed = errors.New("tls: record layer closed")

// ErrNoKeyUpdate is returned by RequestKeyUpdate on a TLS 1.2 connection.
var ErrNoKeyUpdate = errors.New("tls: TLS 1.2 has no KeyUpdate")

// NewRecords starts the record layer with the session's keys and sequence
// numbers. The Records takes ownership of sess and keeps it current (secrets,
// keys, IVs and sequence numbers after every record and KeyUpdate); cfg
// supplies RekeyAfterRecords and MaxKeyUpdates.
func NewRecords(sess *Session, cfg *Config) (*Records, error) {
	if sess.Version == VersionTLS12 {
		v12, err := newRecords12(sess)
		if err != nil {
			return nil, err
		}
		return &Records{sess: sess, v12: v12}, nil
	}
	suite := suiteByID(sess.CipherSuite)
	if sess.Version != VersionTLS13 || suite == nil {
		return nil, errors.New("tls: record layer supports TLS 1.3 sessions only")
	}
	r := &Records{sess: sess, suite: suite, rekeyAfter: cfg.RekeyAfterRecords, maxKeyUpdates: cfg.maxKeyUpdates()}
	if r.rekeyAfter == 0 {
		r.rekeyAfter = suite.rekeyAfter
	}
	var err error
	if r.rx, err = newRecordCipher(suite, sess.RX.Key, sess.RX.IV); err != nil {
		return nil, err
	}
	if r.tx, err = newRecordCipher(suite, sess.TX.Key, sess.TX.IV); err != nil {
		return nil, err
	}
	r.rx.seq, r.tx.seq = sess.RX.Seq, sess.TX.Seq
	return r, nil
}

// Session is the live key state: after the user-space layer has opened the
// records that arrived with the client's Finished, this is what the kernel
// hand-off installs.
func (r *Records) Session() *Session { return r.sess }

// Open consumes whole records from the front of in and appends the
// application data they carry to plain, using plain's spare capacity (it
// grows plain only if not even one record fits). Records to send in reply
// (close_notify, a KeyUpdate answer, a fatal alert) are appended to reply,
// which the caller must write even when err != nil.
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
func (r *Records) Open(in, plain, reply []byte) (consumed int, plainOut, replyOut []byte, err error) {
	if r.v12 != nil {
		return r.v12.open(in, plain, reply)
	}
	if r.peerClosed {
		return 0, plain, reply, io.EOF
	}
	if r.err != nil {
		return 0, plain, reply, r.err
	}
	produced := false
	for {
		rec, n, aerr := nextRecord(in[consumed:], maxCiphertext13)
		if aerr != nil {
			return consumed, plain, r.fail(reply, aerr), aerr
		}
		if n == 0 {
			return consumed, plain, reply, nil
		}
		if rec.typ != typeApplicationData {
			aerr = fatal(AlertUnexpectedMessage, "unprotected record after the handshake")
			return consumed, plain, r.fail(reply, aerr), aerr
		}
		if cap(plain)-len(plain) < len(rec.payload) {
			if produced {
				return consumed, plain, reply, nil
			}
			plain = slices.Grow(plain, len(rec.payload))
		}
		consumed += n
		typ, content, aerr := r.rx.open(plain, rec)
		r.sess.RX.Seq = r.rx.seq
		if aerr != nil {
			return consumed, plain, r.fail(reply, aerr), aerr
		}
		if len(r.handshake) > 0 && typ != typeHandshake {
			aerr = fatal(AlertUnexpectedMessage, "record interleaved with a fragmented handshake message")
			return consumed, plain, r.fail(reply, aerr), aerr
		}
		switch typ {
		case typeApplicationData:
			if len(content) == 0 {
				if r.emptyInARow++; r.emptyInARow > maxEmptyRecords {
					aerr = fatal(AlertUnexpectedMessage, "too many empty records")
					return consumed, plain, r.fail(reply, aerr), aerr
				}
				continue
			}
			r.emptyInARow, r.keyUpdatesInARow = 0, 0
			plain = plain[:len(plain)+len(content)]
			produced = true
		case typeAlert:
			if err := r.readAlert(content); err != nil {
				if a, ok := err.(*AlertError); ok {
					reply = r.fail(reply, a)
				}
				return consumed, plain, reply, err
			}
		case typeHandshake:
			if reply, err = r.readHandshake(content, reply); err != nil {
				return consumed, plain, reply, err
			}
		default:
			aerr = fatal(AlertUnexpectedMessage, "change_cipher_spec after the handshake")
			return consumed, plain, r.fail(reply, aerr), aerr
		}
	}
}

// readAlert handles an alert: close_notify ends the connection cleanly,
// user_canceled is ignored (a close_notify follows it), anything else is
// fatal (RFC 8446 §6).
func (r *Records) readAlert(body []byte) error {
	_, a, aerr := parseAlert(body)
	if aerr != nil {
		return aerr
	}
	switch a {
	case AlertCloseNotify:
		r.peerClosed = true
		return io.EOF
	case AlertUserCanceled:
		return nil
	}
	r.err = &PeerAlertError{Alert: a}
	return r.err
}

// readHandshake accepts only KeyUpdate after the handshake (RFC 8446 §4.6):
// a client never sends NewSessionTicket, and a ClientHello would be
// renegotiation, which TLS 1.3 forbids.
func (r *Records) readHandshake(fragment, reply []byte) ([]byte, error) {
	if len(fragment) == 0 {
		err := errEmptyHandshakeRecord()
		return r.fail(reply, err), err
	}
	for len(fragment) > 0 {
		take := min(len(fragment), 5-len(r.handshake))
		r.handshake = append(r.handshake, fragment[:take]...)
		fragment = fragment[take:]
		if r.handshake[0] != msgKeyUpdate {
			return r.failWith(reply, AlertUnexpectedMessage, "unexpected post-handshake message")
		}
		if len(r.handshake) >= 4 && (r.handshake[1] != 0 || r.handshake[2] != 0 || r.handshake[3] != 1) {
			return r.failWith(reply, AlertDecodeError, "KeyUpdate of the wrong length")
		}
		if len(r.handshake) < 5 {
			return reply, nil
		}
		request := r.handshake[4]
		r.handshake = r.handshake[:0]
		if request > 1 {
			return r.failWith(reply, AlertIllegalParameter, "KeyUpdate request_update out of range")
		}
		// §5.1: a KeyUpdate changes keys, so it must end its record.
		if len(fragment) > 0 {
			return r.failWith(reply, AlertUnexpectedMessage, "data after KeyUpdate in the same record")
		}
		if r.keyUpdatesInARow++; r.keyUpdatesInARow > r.maxKeyUpdates {
			return r.failWith(reply, AlertUnexpectedMessage, "too many KeyUpdates without application data")
		}
		if request == 1 && !r.sentClose {
			var err error
			if reply, err = r.sendKeyUpdate(reply, false); err != nil {
				return reply, err
			}
		}
		r.updateKeys(&r.sess.RX, &r.rx)
	}
	return reply, nil
}

// Seal appends data to out as application-data records of at most 16 KiB,
// sending a KeyUpdate first whenever the current key has protected
// RekeyAfterRecords records. When out has room nothing is allocated.
func (r *Records) Seal(out, data []byte) ([]byte, error) {
	if r.v12 != nil {
		return r.v12.seal(out, data)
	}
	if r.err != nil || r.sentClose {
		return out, ErrClosed
	}
	for len(data) > 0 {
		if r.tx.seq >= r.rekeyAfter {
			var err error
			if out, err = r.sendKeyUpdate(out, false); err != nil {
				return out, err
			}
		}
		n := min(len(data), maxPlaintext)
		var err error
		if out, err = r.tx.seal(out, typeApplicationData, data[:n]); err != nil {
			r.err = err
			return out, err
		}
		r.sess.TX.Seq = r.tx.seq
		data = data[n:]
	}
	return out, nil
}

// CloseNotify appends this side's close_notify; nothing may be sealed after
// it.
func (r *Records) CloseNotify(out []byte) []byte {
	if r.v12 != nil {
		return r.v12.closeNotify(out)
	}
	if r.sentClose || r.err != nil {
		return out
	}
	r.sentClose = true
	body := alertBody(AlertCloseNotify)
	out, _ = r.tx.seal(out, typeAlert, body[:])
	r.sess.TX.Seq = r.tx.seq
	return out
}

// RequestKeyUpdate appends a KeyUpdate with update_requested: this side
// moves to its next send key and asks the peer to do the same with its own
// (RFC 8446 §4.6.3), e.g. to bound how much a long-lived connection sends
// under one client key. TLS 1.2 has no KeyUpdate: ErrNoKeyUpdate.
func (r *Records) RequestKeyUpdate(out []byte) ([]byte, error) {
	if r.v12 != nil {
		return out, ErrNoKeyUpdate
	}
	if r.err != nil || r.sentClose {
		return out, ErrClosed
	}
	return r.sendKeyUpdate(out, true)
}

// sendKeyUpdate appends a KeyUpdate under the current key, then moves the
// send side to the next traffic secret.
func (r *Records) sendKeyUpdate(out []byte, requestUpdate bool) ([]byte, error) {
	msg := keyUpdateMessage(requestUpdate)
	out, err := r.tx.seal(out, typeHandshake, msg[:])
	if err != nil {
		r.err = err
		return out, err
	}
	r.updateKeys(&r.sess.TX, &r.tx)
	r.sess.TX.Seq = 0
	return out, nil
}

// updateKeys replaces one direction's secret, key and IV with the next
// generation (RFC 8446 §7.2), wiping the old ones, and restarts its
// sequence number.
func (r *Records) updateKeys(keys *TrafficKeys, c **recordCipher) {
	next := r.suite.nextTrafficSecret(keys.Secret)
	keys.Zero()
	*keys = newTrafficKeys(r.suite, next)
	fresh, err := newRecordCipher(r.suite, keys.Key, keys.IV)
	if err != nil {
		// The key length is the suite's own; construction cannot fail.
		panic("tlsstate: rebuilding the record cipher: " + err.Error())
	}
	(*c).wipe()
	*c = fresh
}

func (r *Records) failWith(reply []byte, a Alert, reason string) ([]byte, error) {
	err := fatal(a, reason)
	return r.fail(reply, err), err
}

// fail appends the fatal alert and kills the record layer.
func (r *Records) fail(reply []byte, err *AlertError) []byte {
	if r.err != nil {
		return reply
	}
	r.err = err
	body := alertBody(err.Alert)
	reply, _ = r.tx.seal(reply, typeAlert, body[:])
	r.sess.TX.Seq = r.tx.seq
	return reply
}

// Zero wipes every key the record layer holds, the Session's included.
func (r *Records) Zero() {
	if r.v12 != nil {
		r.v12.zero()
		return
	}
	r.rx.wipe()
	r.tx.wipe()
	r.sess.Zero()
	if r.err == nil {
		r.err = ErrClosed
	}
}
