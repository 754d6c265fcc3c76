package tlsstate

// The record-level half of the TLS 1.3 handshake: which records may arrive
// in which state (RFC 8446 §5), handshake-message reassembly, and the
// skipping of declined 0-RTT data.

// earlyDataWindow tracks 0-RTT records being skipped (RFC 8446 §4.2.10):
// open from a ClientHello offering early_data until the first record that
// decrypts under the handshake key (or the second ClientHello).
type earlyDataWindow struct {
	open bool
	left int
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
	_, a, err := parseAlert(body)
	if err != nil {
		return err
	}
	return &PeerAlertError{Alert: a}
}

// readHandshake reassembles handshake messages from record fragments
// (several per record, or one across records) and hands each whole message
// to the current state.
func (s *Server) readHandshake(fragment []byte, out []byte) ([]byte, error) {
	if len(fragment) == 0 {
		return out, errEmptyHandshakeRecord()
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
