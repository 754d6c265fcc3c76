package tlsstate

import (
	"time"
)

// Progress is what a handshake step reports to the event loop.
type Progress uint8

const (
	// NeedInput: write what was appended to the output (if anything), then
	// call Advance again with the unconsumed bytes plus whatever arrives.
	NeedInput Progress = iota + 1
	// Complete: the handshake is done. Write the output; Session holds the
	// keys; the input bytes after the consumed ones are application records
	// for the record layer (a client's request often shares a segment with
	// its Finished).
	Complete
	// Failed: write the output (a fatal alert when this side detected the
	// error; nothing when the peer aborted), then close without
	// close_notify. Err says why.
	Failed
)

// String names the value, for logs and test failures.
func (p Progress) String() string {
	switch p {
	case NeedInput:
		return "NeedInput"
	case Complete:
		return "Complete"
	case Failed:
		return "Failed"
	}
	return "Progress(?)"
}

// maxHandshakeMessage bounds any handshake message this server accepts: the
// client only sends ClientHello (post-quantum ones are ~1.8 KB) and Finished.
const maxHandshakeMessage = 1 << 16

// Server runs one connection's server-side handshake. It is a resumable,
// sans-I/O step function: feed it bytes with Advance, write what it appends
// to the output buffer, act on the Progress it returns.
type Server struct {
	cfg      *Config
	deadline time.Time
	state    state13
	err      error
	session  *Session

	// rx and tx protect handshake records once the ServerHello is out.
	rx, tx *recordCipher
	// pending holds the bytes of a handshake message split across records.
	pending []byte
	// plain is scratch space for decrypted records.
	plain []byte

	sawClientHello bool
	sawCCS         bool
	sentCCS        bool
	earlyData      earlyDataWindow

	hs handshake13
}

// earlyDataWindow tracks 0-RTT records being skipped (RFC 8446 §4.2.10):
// open from a ClientHello offering early_data until the first record that
// decrypts under the handshake key (or the second ClientHello).
type earlyDataWindow struct {
	open bool
	left int
}

// NewServer starts a handshake. cfg must have passed Validate.
func NewServer(cfg *Config) *Server {
	return &Server{cfg: cfg, deadline: cfg.now().Add(cfg.handshakeTimeout())}
}

// Deadline is when the handshake must be complete; the event loop closes the
// connection (without an alert) if it is not.
func (s *Server) Deadline() time.Time { return s.deadline }

// Err is the reason for Failed: an *AlertError for an alert this side sent,
// a *PeerAlertError for one it received.
func (s *Server) Err() error { return s.err }

// Session returns the negotiated keys after Complete and hands them over:
// the caller owns them from then on (and must Zero them), and a second call
// returns nil.
func (s *Server) Session() *Session {
	sess := s.session
	s.session = nil
	return sess
}

// Advance consumes whole records from the front of in (never a partial
// one), appends the records to send to out, and reports what the connection
// needs next. consumed counts the bytes of in that were used; the caller
// keeps in[consumed:] for the next call or, after Complete, for the record
// layer. After Complete or Failed, Advance consumes nothing.
func (s *Server) Advance(in, out []byte) (consumed int, outNext []byte, p Progress) {
	switch s.state {
	case stateConnected:
		return 0, out, Complete
	case stateFailed:
		return 0, out, Failed
	}
	for {
		rec, n, err := nextRecord(in[consumed:], maxCiphertext13)
		if err != nil {
			return consumed, s.fail(out, err), Failed
		}
		if n == 0 {
			return consumed, out, NeedInput
		}
		consumed += n
		var rerr error
		out, rerr = s.readRecord(rec, out)
		if rerr != nil {
			return consumed, s.fail(out, rerr), Failed
		}
		if s.state == stateConnected {
			return consumed, out, Complete
		}
	}
}

// readRecord dispatches one record by its outer type (RFC 8446 §5).
func (s *Server) readRecord(rec record, out []byte) ([]byte, error) {
	switch rec.typ {
	case typeChangeCipherSpec:
		// §5: one unprotected change_cipher_spec of value 0x01 may arrive
		// after the ClientHello and before the client's Finished.
		switch {
		case len(s.pending) > 0:
			return out, fatal(AlertUnexpectedMessage, "record interleaved with a fragmented handshake message")
		case !s.sawClientHello:
			return out, fatal(AlertUnexpectedMessage, "change_cipher_spec before ClientHello")
		case s.sawCCS:
			return out, fatal(AlertUnexpectedMessage, "second change_cipher_spec")
		case len(rec.payload) != 1 || rec.payload[0] != 1:
			return out, fatal(AlertUnexpectedMessage, "change_cipher_spec other than 0x01")
		}
		s.sawCCS = true
		return out, nil
	case typeAlert:
		// The client may abort before it has our handshake keys.
		return out, peerAlert(rec.payload)
	case typeHandshake:
		if s.rx != nil {
			return out, fatal(AlertUnexpectedMessage, "unprotected handshake record after ServerHello")
		}
		return s.readHandshake(rec.payload, out)
	}
	// application_data: protected.
	if s.rx == nil {
		if s.earlyData.open {
			return out, s.earlyData.skip(len(rec.payload))
		}
		return out, fatal(AlertUnexpectedMessage, "application data before the handshake keys")
	}
	if cap(s.plain) < len(rec.payload) {
		s.plain = make([]byte, 0, len(rec.payload))
	}
	typ, content, err := s.rx.open(s.plain[:0], rec)
	if err != nil {
		if err.Alert == AlertBadRecordMAC && s.earlyData.open {
			return out, s.earlyData.skip(len(rec.payload))
		}
		return out, err
	}
	s.earlyData.open = false
	switch typ {
	case typeHandshake:
		return s.readHandshake(content, out)
	case typeAlert:
		return out, peerAlert(content)
	}
	return out, fatal(AlertUnexpectedMessage, "protected non-handshake record during the handshake")
}

// skip accounts for one undecryptable 0-RTT record.
func (w *earlyDataWindow) skip(n int) error {
	w.left -= n
	if w.left < 0 {
		return fatal(AlertUnexpectedMessage, "more early data than the server skips")
	}
	return nil
}

// peerAlert turns an alert record's body into the error that ends the
// handshake. Any alert, even close_notify, aborts it; nothing is sent back.
func peerAlert(body []byte) error {
	if len(body) != 2 {
		return fatal(AlertDecodeError, "alert record of the wrong length")
	}
	return &PeerAlertError{Alert: Alert(body[1])}
}

// readHandshake reassembles handshake messages from record fragments
// (several per record, or one across records) and hands each whole message
// to the current state.
func (s *Server) readHandshake(fragment []byte, out []byte) ([]byte, error) {
	if len(fragment) == 0 {
		return out, fatal(AlertDecodeError, "empty handshake record")
	}
	s.pending = append(s.pending, fragment...)
	for len(s.pending) >= 4 {
		n := int(s.pending[1])<<16 | int(s.pending[2])<<8 | int(s.pending[3])
		if n > maxHandshakeMessage {
			return out, fatal(AlertDecodeError, "handshake message too long")
		}
		if len(s.pending) < 4+n {
			break
		}
		// Every message a client sends this server ends its flight and is
		// followed by a key change or by our reply, so nothing may follow
		// it in the same record (RFC 8446 §5.1). Checked before the message
		// is acted on, so the alert goes out before any ServerHello.
		if len(s.pending) > 4+n {
			return out, fatal(AlertUnexpectedMessage, "handshake data after a message that changes keys")
		}
		msg := s.pending
		s.pending = nil
		var err error
		if out, err = s.handleMessage(msg, out); err != nil {
			return out, err
		}
	}
	return out, nil
}

// fail records err, appends the alert (protected if the client has our
// handshake keys), wipes all secrets and kills the handshake.
func (s *Server) fail(out []byte, err error) []byte {
	s.err = err
	s.state = stateFailed
	if a, ok := err.(*AlertError); ok {
		body := alertBody(a.Alert)
		if s.tx != nil {
			out, _ = s.tx.seal(out, typeAlert, body[:])
		} else {
			out = appendPlaintextRecords(out, typeAlert, body[:])
		}
	}
	s.Zero()
	return out
}

// Zero wipes every secret the handshake still holds (a Session already
// handed out is the caller's). Call it when abandoning a handshake, e.g. on
// timeout.
func (s *Server) Zero() {
	if s.rx != nil {
		s.rx.wipe()
		s.rx = nil
	}
	if s.tx != nil {
		s.tx.wipe()
		s.tx = nil
	}
	s.hs.zero()
	if s.session != nil {
		s.session.Zero()
		s.session = nil
	}
	s.pending = nil
	s.plain = nil
}
