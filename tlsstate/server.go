package tlsstate

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
	// close_notify. Failure says why.
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
//
// Server is the version-neutral front, as in Go's crypto/tls and rustls: it
// reads records until the first ClientHello is whole, chooses the protocol
// version (versions.go), and hands the ClientHello to the handshake of that
// version, a *handshake13 or a *handshake12: two siblings with the same
// shape, each of which takes every later record until it completes.
type Server struct {
	cfg   *Config
	phase phase
	err   error
	// hs is the chosen version's handshake, from the ClientHello on.
	hs      versionHandshake
	session *Session
	// hello reassembles the first ClientHello.
	hello messageReader

	// offeredVersion and offeredName are the best version and the server
	// name of the first ClientHello, for Failure.
	offeredVersion uint16
	offeredName    string
}

// phase is where a Server is in the life of a handshake.
type phase uint8

const (
	// phaseClientHello: no whole ClientHello yet; the front reads records.
	phaseClientHello phase = iota
	// phaseNegotiating: a version was chosen; hs takes every record.
	phaseNegotiating
	// phaseConnected: Complete was reported; Session holds the keys.
	phaseConnected
	// phaseFailed: Failed was reported; Err says why.
	phaseFailed
)

// versionHandshake is one protocol version's server handshake after the
// ClientHello chose it: *handshake13 (RFC 8446) or *handshake12 (RFC 5246).
type versionHandshake interface {
	// readRecord takes one whole record and appends what the server sends
	// in answer to out. A non-nil sess means the handshake completed: the
	// caller owns its keys.
	readRecord(rec record, out []byte) (outNext []byte, sess *Session, err error)
	// appendAlert appends a fatal alert, protected when this version's
	// rules say the server already sends protected records.
	appendAlert(out []byte, a Alert) []byte
	// zero wipes every secret the handshake holds.
	zero()
}

// NewServer starts a handshake. cfg must have passed Validate.
func NewServer(cfg *Config) *Server {
	return &Server{cfg: cfg}
}

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
	switch s.phase {
	case phaseConnected:
		return 0, out, Complete
	case phaseFailed:
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
		var sess *Session
		var rerr error
		if s.phase == phaseClientHello {
			out, rerr = s.readRecord(rec, out)
		} else {
			out, sess, rerr = s.hs.readRecord(rec, out)
		}
		if rerr != nil {
			return consumed, s.fail(out, rerr), Failed
		}
		if sess != nil {
			s.session, s.phase = sess, phaseConnected
			s.hs.zero()
			s.hs = nil
			return consumed, out, Complete
		}
	}
}

// readRecord is the front's record layer before a version is chosen: only
// the plaintext ClientHello (possibly in fragments) or an alert from a
// client that gives up may come.
func (s *Server) readRecord(rec record, out []byte) ([]byte, error) {
	switch rec.typ {
	case typeAlert:
		return out, peerAlert(rec.payload)
	case typeChangeCipherSpec:
		if s.hello.busy() {
			return out, fatal(AlertUnexpectedMessage, "record interleaved with a fragmented handshake message")
		}
		return out, fatal(AlertUnexpectedMessage, "change_cipher_spec before ClientHello")
	case typeApplicationData:
		return out, fatal(AlertUnexpectedMessage, "application data before the handshake keys")
	}
	msg, err := s.hello.add(rec.payload)
	if msg == nil || err != nil {
		return out, err
	}
	return s.clientHello(msg, out)
}

// clientHello parses the first ClientHello, chooses the version and starts
// that version's handshake, which answers it.
func (s *Server) clientHello(msg []byte, out []byte) ([]byte, error) {
	if msg[0] != msgClientHello {
		return out, fatal(AlertUnexpectedMessage, "expected ClientHello")
	}
	ch, perr := parseClientHello(msg)
	if perr != nil {
		return out, perr
	}
	s.offeredVersion, s.offeredName = ch.clientMaxVersion(), ch.serverName
	version, verr := chooseVersion(s.cfg, ch)
	if verr != nil {
		return out, verr
	}
	s.phase = phaseNegotiating
	var err error
	if version == VersionTLS12 {
		s.hs, out, err = newHandshake12(s.cfg, ch, out)
	} else {
		s.hs, out, err = newHandshake13(s.cfg, ch, out)
	}
	return out, err
}

// fail records err, appends the alert (protected once the chosen version's
// rules say so), wipes all secrets and kills the handshake.
func (s *Server) fail(out []byte, err error) []byte {
	s.err = err
	s.phase = phaseFailed
	if a, ok := err.(*AlertError); ok {
		if s.hs != nil {
			out = s.hs.appendAlert(out, a.Alert)
		} else {
			body := alertBody(a.Alert)
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
	if s.hs != nil {
		s.hs.zero()
	}
	if s.session != nil {
		s.session.Zero()
		s.session = nil
	}
	s.hello = messageReader{}
}

// messageReader reassembles handshake messages from record fragments: one
// message across several records, or exactly one per record. Every message
// a client sends this server ends its flight and is followed by a key change
// or by our reply, so nothing may follow it in the same record (RFC 8446
// §5.1); this is checked before the message is acted on, so the alert goes
// out before any answer.
type messageReader struct {
	pending []byte
}

// busy says a message is partly read: no other record type may come now.
func (r *messageReader) busy() bool { return len(r.pending) > 0 }

// add takes one record's handshake fragment and returns the message it
// completes, or nil while more fragments are needed.
func (r *messageReader) add(fragment []byte) ([]byte, error) {
	if len(fragment) == 0 {
		return nil, errEmptyHandshakeRecord()
	}
	r.pending = append(r.pending, fragment...)
	if len(r.pending) < 4 {
		return nil, nil
	}
	n := int(r.pending[1])<<16 | int(r.pending[2])<<8 | int(r.pending[3])
	switch {
	case n > maxHandshakeMessage:
		return nil, fatal(AlertDecodeError, "handshake message too long")
	case len(r.pending) < 4+n:
		return nil, nil
	case len(r.pending) > 4+n:
		return nil, fatal(AlertUnexpectedMessage, "handshake data after a message that changes keys")
	}
	msg := r.pending
	r.pending = nil
	return msg, nil
}

// peerAlert turns an alert record's body into the error that ends the
// handshake. Any alert, even close_notify, aborts it; nothing is sent back.
func peerAlert(body []byte) error {
	_, a, err := parseAlert(body)
	if err != nil {
		return err
	}
	return &PeerAlertError{Alert: a}
}
