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
func (h *handshake13) readRecord(rec record, out []byte) ([]byte, *Session, error) {
	switch rec.typ {
	case typeChangeCipherSpec:
		// §5: one unprotected change_cipher_spec of value 0x01 may arrive
		// after the ClientHello and before the client's Finished.
		switch {
		case h.msgs.busy():
			return out, nil, fatal(AlertUnexpectedMessage, "record interleaved with a fragmented handshake message")
		case h.sawCCS:
			return out, nil, fatal(AlertUnexpectedMessage, "second change_cipher_spec")
		case len(rec.payload) != 1 || rec.payload[0] != 1:
			return out, nil, fatal(AlertUnexpectedMessage, "change_cipher_spec other than 0x01")
		}
		h.sawCCS = true
		return out, nil, nil
	case typeAlert:
		// The client may abort before it has our handshake keys.
		return out, nil, peerAlert(rec.payload)
	case typeHandshake:
		if h.rx != nil {
			return out, nil, fatal(AlertUnexpectedMessage, "unprotected handshake record after ServerHello")
		}
		return h.readHandshake(rec.payload, out)
	}
	// application_data: protected.
	if h.rx == nil {
		if h.earlyData.open {
			return out, nil, h.earlyData.skip(len(rec.payload))
		}
		return out, nil, fatal(AlertUnexpectedMessage, "application data before the handshake keys")
	}
	if cap(h.plain) < len(rec.payload) {
		h.plain = make([]byte, 0, len(rec.payload))
	}
	typ, content, err := h.rx.open(h.plain[:0], rec)
	if err != nil {
		if err.Alert == AlertBadRecordMAC && h.earlyData.open {
			return out, nil, h.earlyData.skip(len(rec.payload))
		}
		return out, nil, err
	}
	h.earlyData.open = false
	switch typ {
	case typeHandshake:
		return h.readHandshake(content, out)
	case typeAlert:
		return out, nil, peerAlert(content)
	}
	return out, nil, fatal(AlertUnexpectedMessage, "protected non-handshake record during the handshake")
}

// skip accounts for one undecryptable 0-RTT record.
func (w *earlyDataWindow) skip(n int) error {
	w.left -= n
	if w.left < 0 {
		return fatal(AlertUnexpectedMessage, "more early data than the server skips")
	}
	return nil
}

// readHandshake hands each whole handshake message to the current state.
func (h *handshake13) readHandshake(fragment []byte, out []byte) ([]byte, *Session, error) {
	msg, err := h.msgs.add(fragment)
	if msg == nil || err != nil {
		return out, nil, err
	}
	return h.handleMessage(msg, out)
}
