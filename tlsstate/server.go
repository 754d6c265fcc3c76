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
	cfg     *Config
	state   state13
	err     error
	session *Session

	// rx opens the client's protected handshake records once the
	// ServerHello is out. tx seals what the server sends after its
	// Finished (an alert, the NewSessionTickets): the server application
	// traffic key, as RFC 8446 §4.4.4 requires.
	rx, tx *recordCipher
	// pending holds the bytes of a handshake message split across records.
	pending []byte
	// plain is scratch space for decrypted records.
	plain []byte

	// offeredVersion and offeredName are the best version and the server
	// name of the first ClientHello, for Failure.
	offeredVersion uint16
	offeredName    string

	sawClientHello bool
	sawCCS         bool
	sentCCS        bool
	earlyData      earlyDataWindow

	hs handshake13
	// hs12 runs the handshake instead of hs once TLS 1.2 is chosen.
	hs12 *handshake12
}

// NewServer starts a handshake. cfg must have passed Validate.
func NewServer(cfg *Config) *Server {
	return &Server{cfg: cfg}
}

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
		if s.hs12 != nil {
			out, rerr = s.readRecord12(rec, out)
		} else {
			out, rerr = s.readRecord(rec, out)
		}
		if rerr != nil {
			return consumed, s.fail(out, rerr), Failed
		}
		if s.state == stateConnected {
			return consumed, out, Complete
		}
	}
}

// fail records err, appends the alert (protected once the server has sent
// its Finished in TLS 1.3, or its ChangeCipherSpec in TLS 1.2), wipes all
// secrets and kills the handshake.
func (s *Server) fail(out []byte, err error) []byte {
	s.err = err
	s.state = stateFailed
	if a, ok := err.(*AlertError); ok {
		body := alertBody(a.Alert)
		switch {
		case s.tx != nil:
			out, _ = s.tx.seal(out, typeAlert, body[:])
		case s.hs12 != nil && s.hs12.tx != nil:
			out, _ = s.hs12.tx.seal(out, typeAlert, body[:])
		default:
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
	if s.hs12 != nil {
		s.hs12.zero()
	}
	if s.session != nil {
		s.session.Zero()
		s.session = nil
	}
	s.pending = nil
	s.plain = nil
}
