package tlsstate

import (
	"errors"
	"io"
	"slices"
)

// records12 is the user-space TLS 1.2 record layer behind Records: the same
// contract as TLS 1.3 (see Records.Open), with TLS 1.2's rules. There is no
// KeyUpdate; renegotiation is refused: a ClientHello gets a warning
// no_renegotiation and the connection carries on (RFC 5746 §4.2 leaves the
// choice between that and a fatal handshake_failure to the server).
type records12 struct {
	sess   *Session
	rx, tx *recordCipher12

	// hsHeader collects the 4-byte header of a post-handshake handshake
	// message; hsLeft counts its body bytes still to skip.
	hsHeader []byte
	hsLeft   int
	// idleInARow counts records in a row that carried no application data
	// (empty records, warning alerts, refused ClientHellos).
	idleInARow int
	peerClosed bool
	sentClose  bool
	err        error
}

func newRecords12(sess *Session) (*records12, error) {
	suite := suite12ByID(sess.CipherSuite)
	if suite == nil {
		return nil, errors.New("tls: TLS 1.2 session with a suite this package does not implement")
	}
	r := &records12{sess: sess, hsHeader: make([]byte, 0, 4)}
	var err error
	if r.rx, err = newRecordCipher12(suite, sess.RX.Key, sess.RX.IV); err != nil {
		return nil, err
	}
	if r.tx, err = newRecordCipher12(suite, sess.TX.Key, sess.TX.IV); err != nil {
		return nil, err
	}
	r.rx.seq, r.tx.seq = sess.RX.Seq, sess.TX.Seq
	return r, nil
}

// open is Records.Open for TLS 1.2: every record is protected and keeps its
// real content type on the outside.
func (r *records12) open(in, plain, reply []byte) (consumed int, plainOut, replyOut []byte, err error) {
	if r.peerClosed {
		return 0, plain, reply, io.EOF
	}
	if r.err != nil {
		return 0, plain, reply, r.err
	}
	produced := false
	for {
		rec, n, aerr := nextRecord(in[consumed:], maxCiphertext12)
		if aerr != nil {
			return consumed, plain, r.fail(reply, aerr), aerr
		}
		if n == 0 {
			return consumed, plain, reply, nil
		}
		if rec.typ == typeChangeCipherSpec {
			aerr = fatal(AlertUnexpectedMessage, "change_cipher_spec after the handshake")
			return consumed + n, plain, r.fail(reply, aerr), aerr
		}
		if (r.hsLeft > 0 || len(r.hsHeader) > 0) && rec.typ != typeHandshake {
			aerr = fatal(AlertUnexpectedMessage, "record interleaved with a fragmented handshake message")
			return consumed + n, plain, r.fail(reply, aerr), aerr
		}
		if cap(plain)-len(plain) < len(rec.payload) {
			if produced {
				return consumed, plain, reply, nil
			}
			plain = slices.Grow(plain, len(rec.payload))
		}
		consumed += n
		content, aerr := r.rx.open(plain, rec)
		r.sess.RX.Seq = r.rx.seq
		if aerr != nil {
			return consumed, plain, r.fail(reply, aerr), aerr
		}
		if rec.typ == typeApplicationData && len(content) > 0 {
			r.idleInARow = 0
			plain = plain[:len(plain)+len(content)]
			produced = true
			continue
		}
		if r.idleInARow++; r.idleInARow > maxEmptyRecords {
			aerr = fatal(AlertUnexpectedMessage, "too many records without application data")
			return consumed, plain, r.fail(reply, aerr), aerr
		}
		switch rec.typ {
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
		}
	}
}

// readAlert handles an alert (RFC 5246 §7.2): close_notify ends the peer's
// sending, other warnings are ignored, a fatal alert ends the connection.
func (r *records12) readAlert(body []byte) error {
	level, a, aerr := parseAlert(body)
	if aerr != nil {
		return aerr
	}
	switch {
	case a == AlertCloseNotify:
		r.peerClosed = true
		return io.EOF
	case level == alertLevelWarning:
		return nil
	}
	r.err = &PeerAlertError{Alert: a}
	return r.err
}

// readHandshake skips each post-handshake handshake message, which may only
// be a ClientHello asking to renegotiate, and answers it with a warning
// no_renegotiation once it is whole.
func (r *records12) readHandshake(fragment, reply []byte) ([]byte, error) {
	if len(fragment) == 0 {
		err := errEmptyHandshakeRecord()
		return r.fail(reply, err), err
	}
	for len(fragment) > 0 {
		if r.hsLeft == 0 {
			take := min(len(fragment), 4-len(r.hsHeader))
			r.hsHeader = append(r.hsHeader, fragment[:take]...)
			fragment = fragment[take:]
			if r.hsHeader[0] != msgClientHello {
				return r.failWith(reply, AlertUnexpectedMessage, "unexpected post-handshake message")
			}
			if len(r.hsHeader) < 4 {
				return reply, nil
			}
			r.hsLeft = int(r.hsHeader[1])<<16 | int(r.hsHeader[2])<<8 | int(r.hsHeader[3])
			if r.hsLeft > maxHandshakeMessage {
				return r.failWith(reply, AlertDecodeError, "handshake message too long")
			}
		}
		skip := min(len(fragment), r.hsLeft)
		fragment = fragment[skip:]
		r.hsLeft -= skip
		if r.hsLeft == 0 {
			r.hsHeader = r.hsHeader[:0]
			reply = r.sendAlert(reply, AlertNoRenegotiation)
		}
	}
	return reply, nil
}

// sendAlert appends a protected alert record, unless this side has closed.
func (r *records12) sendAlert(out []byte, a Alert) []byte {
	if r.sentClose {
		return out
	}
	body := alertBody(a)
	out, _ = r.tx.seal(out, typeAlert, body[:])
	r.sess.TX.Seq = r.tx.seq
	return out
}

// seal is Records.Seal for TLS 1.2.
func (r *records12) seal(out, data []byte) ([]byte, error) {
	if r.err != nil || r.sentClose {
		return out, ErrClosed
	}
	for len(data) > 0 {
		n := min(len(data), maxPlaintext)
		var err *AlertError
		if out, err = r.tx.seal(out, typeApplicationData, data[:n]); err != nil {
			r.err = err
			return out, err
		}
		r.sess.TX.Seq = r.tx.seq
		data = data[n:]
	}
	return out, nil
}

// closeNotify is Records.CloseNotify for TLS 1.2.
func (r *records12) closeNotify(out []byte) []byte {
	if r.sentClose || r.err != nil {
		return out
	}
	out = r.sendAlert(out, AlertCloseNotify)
	r.sentClose = true
	return out
}

func (r *records12) failWith(reply []byte, a Alert, reason string) ([]byte, error) {
	err := fatal(a, reason)
	return r.fail(reply, err), err
}

// fail appends the fatal alert and kills the record layer.
func (r *records12) fail(reply []byte, err *AlertError) []byte {
	if r.err != nil {
		return reply
	}
	r.err = err
	reply = r.sendAlert(reply, err.Alert)
	return reply
}

// zero wipes every key the record layer holds, the Session's included.
func (r *records12) zero() {
	r.rx.wipe()
	r.tx.wipe()
	r.sess.Zero()
	if r.err == nil {
		r.err = ErrClosed
	}
}
