package tlsstate

import (
	"crypto/ecdh"
	"crypto/hmac"
	"hash"
	"io"
	"time"
)

// The TLS 1.2 server handshake (RFC 5246 §7.3), ECDHE only, no client
// certificates, no renegotiation; resumption from session tickets (RFC 5077,
// resume12.go) bound to the extended master secret:
//
//	ClientHello ──► ServerHello, Certificate, ServerKeyExchange,
//	                ServerHelloDone  (one output chunk)
//	WAIT_CKE ── recv ClientKeyExchange ──► WAIT_CCS ── recv ChangeCipherSpec
//	  ──► WAIT_FINISHED ── recv {Finished} ──► send [NewSessionTicket],
//	                           ChangeCipherSpec, {Finished} ──► CONNECTED
//
// or, resuming from a ticket (the abbreviated handshake):
//
//	ClientHello ──► ServerHello, [NewSessionTicket], ChangeCipherSpec,
//	                {Finished}  (one output chunk)
//	WAIT_CCS ── recv ChangeCipherSpec ──► WAIT_FINISHED ── recv {Finished}
//	  ──► CONNECTED
//
// The ClientHello arrives through the version-neutral front (server.go
// picks the version); newHandshake12 answers it, and every later record goes
// to readRecord and every handshake message to handleMessage, as in
// handshake13, its sibling.
type state12 uint8

const (
	state12ExpectClientKeyExchange state12 = iota + 1
	state12ExpectChangeCipherSpec
	state12ExpectFinished
)

// handshake12 is a TLS 1.2 server handshake, from the ClientHello that
// chose TLS 1.2 to the client's Finished: the sibling of handshake13.
type handshake12 struct {
	cfg        *Config
	state      state12
	msgs       messageReader
	suite      *suite12Info
	group      Group
	transcript hash.Hash
	// clientRandom and serverRandom are copies (the ClientHello's buffer
	// is not kept).
	clientRandom, serverRandom []byte
	ecdheKey                   *ecdh.PrivateKey
	ems                        bool
	master                     []byte
	keys                       keyBlock12
	// pendingRX is the client's cipher, installed by its ChangeCipherSpec.
	// tx is the server's, from its own ChangeCipherSpec on: in the
	// abbreviated handshake an alert after it is protected (RFC 5246
	// §7.1).
	pendingRX, rx, tx *recordCipher12
	alpn, serverName  string
	// issueTicket: a NewSessionTicket was promised in the ServerHello.
	// resumed: the abbreviated handshake, whose server Finished went out
	// first; serverSeq is the server's next record number after it.
	// authenticated is when the full handshake this session descends
	// from ran.
	issueTicket   bool
	resumed       bool
	serverSeq     uint64
	authenticated time.Time
}

func (h *handshake12) zero() {
	clear(h.master)
	h.master = nil
	h.keys.zero()
	for _, c := range []*recordCipher12{h.pendingRX, h.rx, h.tx} {
		if c != nil {
			c.wipe()
		}
	}
	h.pendingRX, h.rx, h.tx = nil, nil, nil
	h.ecdheKey = nil
	h.transcript = nil
	h.msgs = messageReader{}
}

// appendAlert protects a fatal alert once the server's ChangeCipherSpec is
// out (RFC 5246 §7.1: in the abbreviated handshake, before the client's),
// and sends it in plaintext before.
func (h *handshake12) appendAlert(out []byte, a Alert) []byte {
	body := alertBody(a)
	if h.tx != nil {
		out, _ = h.tx.seal(out, typeAlert, body[:])
		return out
	}
	return appendPlaintextRecords(out, typeAlert, body[:])
}

// negotiated12 is what the server chose for a TLS 1.2 ClientHello.
type negotiated12 struct {
	suite       *suite12Info
	group       Group
	cert        *Certificate
	scheme      SignatureScheme
	alpn        string
	ems         bool
	secureReneg bool
	pointFormat bool
}

// negotiate12 checks a ClientHello against the TLS 1.2 rules and picks the
// parameters, each check with the alert RFC 5246 and its extensions assign.
func (h *handshake12) negotiate12(ch *clientHello) (negotiated12, *AlertError) {
	var neg negotiated12
	// RFC 5246 §7.4.1.2: the list MUST contain null, which is all we use.
	if !contains(ch.compressionMethods, 0) {
		return neg, fatal(AlertIllegalParameter, "compression methods without null")
	}
	neg.secureReneg = ch.offersSuite(scsvRenegotiation)
	for _, e := range ch.extensions {
		switch e.typ {
		case extRenegotiationInfo:
			// RFC 5746 §3.6: on an initial handshake the extension holds
			// an empty renegotiated_connection, or the handshake fails.
			if len(e.body) == 0 || int(e.body[0]) != len(e.body)-1 {
				return neg, fatal(AlertDecodeError, "malformed renegotiation_info")
			}
			if e.body[0] != 0 {
				return neg, fatal(AlertHandshakeFailure, "non-empty renegotiation_info on an initial handshake")
			}
			neg.secureReneg = true
		case extExtendedMasterSec:
			if len(e.body) != 0 {
				return neg, fatal(AlertDecodeError, "extended_master_secret with a body")
			}
			neg.ems = true
		case extECPointFormats:
			// RFC 8422 §5.1.2: the uncompressed format must be there.
			if len(e.body) < 2 || int(e.body[0]) != len(e.body)-1 {
				return neg, fatal(AlertDecodeError, "malformed ec_point_formats")
			}
			if !contains(e.body[1:], 0) {
				return neg, fatal(AlertIllegalParameter, "ec_point_formats without uncompressed")
			}
			neg.pointFormat = true
		}
	}
	if h.cfg.RequireExtendedMasterSecret && !neg.ems {
		return neg, fatal(AlertHandshakeFailure, "client does not offer the extended master secret")
	}
	var ok bool
	if neg.group, ok = h.chooseGroup12(ch); !ok {
		return neg, fatal(AlertHandshakeFailure, "no ECDHE group in common")
	}
	// RFC 5246 §7.4.1.4.1: without signature_algorithms the client accepts
	// SHA-1 only, which this server never signs with.
	if neg.cert, neg.suite, neg.scheme, ok = selectCertificate12(h.cfg.Certificates, h.cfg.cipherSuites12(), ch); !ok {
		return neg, fatal(AlertHandshakeFailure, "no TLS 1.2 cipher suite, certificate and signature scheme in common")
	}
	// RFC 7301 §3.2, as in TLS 1.3: a server configured with no protocols
	// ignores the offer.
	if ch.hasALPN && len(h.cfg.nextProtos()) > 0 {
		if neg.alpn, ok = chooseProtocol(h.cfg.nextProtos(), ch.alpnProtocols); !ok {
			return neg, fatal(AlertNoApplicationProtocol, "no application protocol in common")
		}
	}
	return neg, nil
}

// chooseGroup12 picks the first configured elliptic-curve group the client
// supports; post-quantum hybrids exist only in TLS 1.3. A client without
// supported_groups leaves the choice to the server (RFC 8422 §4).
func (h *handshake12) chooseGroup12(ch *clientHello) (Group, bool) {
	for _, g := range h.cfg.groups() {
		if _, ok := curveOf(g); ok && (!ch.hasSupportedGroups || ch.offersGroup(g)) {
			return g, true
		}
	}
	return 0, false
}

// newHandshake12 answers a ClientHello for which the front chose TLS 1.2:
// it negotiates and appends the server's first flight to out. The
// handshake is returned even with an error, for its alert and its zero.
func newHandshake12(cfg *Config, ch *clientHello, out []byte) (*handshake12, []byte, error) {
	h := &handshake12{cfg: cfg}
	neg, nerr := h.negotiate12(ch)
	if nerr != nil {
		return h, out, nerr
	}
	out, err := h.start(ch, neg, out)
	return h, out, err
}

// start sends the first flight: a full handshake, or the abbreviated one
// when the client's ticket resumes a session.
func (h *handshake12) start(ch *clientHello, neg negotiated12, out []byte) ([]byte, error) {
	rand := h.cfg.rand()
	h.state = state12ExpectClientKeyExchange
	h.suite = neg.suite
	h.group = neg.group
	h.transcript = neg.suite.newHash()
	h.clientRandom = append([]byte(nil), ch.random...)
	h.serverRandom = make([]byte, 32)
	h.ems = neg.ems
	h.alpn = neg.alpn
	h.serverName = ch.serverName
	if _, err := io.ReadFull(rand, h.serverRandom); err != nil {
		return out, fatal(AlertInternalError, "random source failed")
	}
	// RFC 8446 §4.1.3: a server that could have done TLS 1.3 says so, so
	// that a TLS 1.3 client detects a downgrade.
	if h.cfg.tls13Enabled() {
		copy(h.serverRandom[24:], downgradeSentinel12[:])
	}
	if st := h.resumable12(ch, neg); st != nil {
		return h.sendResumedFlight12(ch, neg, st, out)
	}
	h.transcript.Write(ch.raw)
	h.authenticated = h.cfg.now()
	// Only sessions with the extended master secret get a ticket: a
	// resumed session must stay bound to its handshake (RFC 7627 §5.3).
	h.issueTicket = ch.hasSessionTicket && neg.ems && h.cfg.ticketLifetime() > 0
	var kerr *AlertError
	if h.ecdheKey, kerr = newEphemeralKey12(neg.group, rand); kerr != nil {
		return out, kerr
	}
	flight, ferr := h.buildFlight12(neg)
	if ferr != nil {
		return out, ferr
	}
	return appendPlaintextRecords(out, typeHandshake, flight), nil
}

// newEphemeralKey12 draws the server's ECDHE private key from rand.
func newEphemeralKey12(g Group, rand io.Reader) (*ecdh.PrivateKey, *AlertError) {
	c, _ := curveOf(g) // chooseGroup12 chose a curve
	return c.newPrivateKey(rand)
}

// buildFlight12 marshals ServerHello, Certificate, ServerKeyExchange and
// ServerHelloDone, adding each to the transcript.
func (h *handshake12) buildFlight12(neg negotiated12) ([]byte, *AlertError) {
	hello, err := marshalServerHello12(serverHello12{
		random: h.serverRandom, suite: neg.suite.id, secureReneg: neg.secureReneg,
		ems: neg.ems, pointFormat: neg.pointFormat, alpn: neg.alpn, ticket: h.issueTicket,
	})
	if err != nil {
		return nil, fatal(AlertInternalError, "cannot encode ServerHello")
	}
	cert, err := marshalCertificate12(neg.cert.Chain)
	if err != nil {
		return nil, fatal(AlertInternalError, "cannot encode Certificate")
	}
	params := ecdheParams(neg.group, h.ecdheKey.PublicKey().Bytes())
	signed := make([]byte, 0, 64+len(params))
	signed = append(append(append(signed, h.clientRandom...), h.serverRandom...), params...)
	signature, err := neg.cert.sign12(h.cfg.rand(), neg.scheme, signed)
	if err != nil {
		return nil, fatal(AlertInternalError, "signing ServerKeyExchange failed")
	}
	ske, err := marshalServerKeyExchange12(params, neg.scheme, signature)
	if err != nil {
		return nil, fatal(AlertInternalError, "cannot encode ServerKeyExchange")
	}
	flight := make([]byte, 0, len(hello)+len(cert)+len(ske)+len(serverHelloDone))
	for _, m := range [][]byte{hello, cert, ske, serverHelloDone} {
		h.transcript.Write(m)
		flight = append(flight, m...)
	}
	return flight, nil
}

// readRecord dispatches one record during a TLS 1.2 handshake: plaintext
// until the client's ChangeCipherSpec, protected after it.
func (h *handshake12) readRecord(rec record, out []byte) ([]byte, *Session, error) {
	if rec.typ == typeChangeCipherSpec {
		switch {
		case h.rx != nil:
			return out, nil, fatal(AlertUnexpectedMessage, "second change_cipher_spec")
		case h.state != state12ExpectChangeCipherSpec || h.msgs.busy():
			return out, nil, fatal(AlertUnexpectedMessage, "change_cipher_spec out of order")
		case len(rec.payload) != 1 || rec.payload[0] != 1:
			return out, nil, fatal(AlertUnexpectedMessage, "change_cipher_spec other than 0x01")
		}
		h.rx, h.pendingRX = h.pendingRX, nil
		h.state = state12ExpectFinished
		return out, nil, nil
	}
	content := rec.payload
	if h.rx != nil {
		var err *AlertError
		if content, err = h.rx.open(nil, rec); err != nil {
			return out, nil, err
		}
	}
	switch rec.typ {
	case typeAlert:
		return out, nil, peerAlert(content)
	case typeHandshake:
		msg, err := h.msgs.add(content)
		if msg == nil || err != nil {
			return out, nil, err
		}
		return h.handleMessage(msg, out)
	}
	return out, nil, fatal(AlertUnexpectedMessage, "application data before the handshake is complete")
}

// handleMessage passes one whole handshake message to the current state.
func (h *handshake12) handleMessage(msg []byte, out []byte) ([]byte, *Session, error) {
	switch {
	case h.state == state12ExpectClientKeyExchange && msg[0] == msgClientKeyExchange:
		return out, nil, h.readClientKeyExchange12(msg)
	case h.state == state12ExpectFinished && msg[0] == msgFinished:
		return h.readFinished12(msg, out)
	}
	return out, nil, fatal(AlertUnexpectedMessage, "unexpected handshake message")
}

// readClientKeyExchange12 completes the ECDH exchange and derives the
// master secret (extended when negotiated) and the key block.
func (h *handshake12) readClientKeyExchange12(msg []byte) error {
	point, err := parseClientKeyExchange12(msg)
	if err != nil {
		return err
	}
	// A NIST point in any format but uncompressed is not the length we
	// expect either, but it is a point we refuse, not a framing error.
	uncompressedOrX25519 := h.group == X25519 || point[0] == 4
	if c, _ := curveOf(h.group); uncompressedOrX25519 && len(point) != c.publicLen {
		return fatal(AlertDecodeError, "ClientKeyExchange point of the wrong length")
	}
	peer, perr := h.ecdheKey.Curve().NewPublicKey(point)
	if perr != nil {
		return fatal(AlertIllegalParameter, "ClientKeyExchange point is not on the curve")
	}
	preMaster, perr := h.ecdheKey.ECDH(peer)
	h.ecdheKey = nil
	if perr != nil {
		return fatal(AlertIllegalParameter, "ClientKeyExchange point gives a degenerate shared secret")
	}
	defer clear(preMaster)
	h.transcript.Write(msg)
	if h.ems {
		h.master = h.suite.extendedMasterSecret(preMaster, h.transcript.Sum(nil))
	} else {
		h.master = h.suite.masterSecret(preMaster, h.clientRandom, h.serverRandom)
	}
	h.keys = h.suite.keyBlock(h.master, h.clientRandom, h.serverRandom)
	rx, cerr := newRecordCipher12(h.suite, h.keys.clientKey, h.keys.clientIV)
	if cerr != nil {
		return fatal(AlertInternalError, "cannot build the record cipher")
	}
	h.pendingRX = rx
	h.state = state12ExpectChangeCipherSpec
	return nil
}

// readFinished12 checks the client's Finished in constant time. On a full
// handshake the server answers with its ticket (if promised),
// ChangeCipherSpec and Finished; on a resumed one its Finished went out
// first. The handshake is then complete, with both directions' next record
// at sequence number 1.
func (h *handshake12) readFinished12(msg []byte, out []byte) ([]byte, *Session, error) {
	if len(msg) != 4+verifyDataLen12 {
		return out, nil, fatal(AlertDecodeError, "Finished of the wrong length")
	}
	expected := h.suite.finishedVerifyData(h.master, clientFinishedLabel, h.transcript.Sum(nil))
	ok := hmac.Equal(msg[4:], expected)
	clear(expected)
	if !ok {
		return out, nil, fatal(AlertDecryptError, "client Finished does not verify")
	}
	if !h.resumed {
		h.transcript.Write(msg)
		if h.issueTicket {
			nst := h.newSessionTicket12()
			h.transcript.Write(nst)
			out = appendPlaintextRecords(out, typeHandshake, nst)
		}
		var err error
		if out, err = h.sendServerFinished12(out); err != nil {
			return out, nil, err
		}
	}
	sess := &Session{
		Version:     VersionTLS12,
		CipherSuite: h.suite.id,
		Group:       h.group,
		ALPN:        h.alpn,
		ServerName:  h.serverName,
		Resumed:     h.resumed,
		RX:          TrafficKeys{Key: h.keys.clientKey, IV: h.keys.clientIV, Seq: h.rx.seq},
		TX:          TrafficKeys{Key: h.keys.serverKey, IV: h.keys.serverIV, Seq: h.serverSeq},
	}
	// The keys now belong to the Session.
	h.keys = keyBlock12{}
	h.zero()
	return out, sess, nil
}

// sendServerFinished12 appends ChangeCipherSpec and the server's Finished
// over the transcript so far, and adds the Finished to the transcript.
func (h *handshake12) sendServerFinished12(out []byte) ([]byte, error) {
	fin := finishedMessage(h.suite.finishedVerifyData(h.master, serverFinishedLabel, h.transcript.Sum(nil)))
	h.transcript.Write(fin)
	tx, err := newRecordCipher12(h.suite, h.keys.serverKey, h.keys.serverIV)
	if err != nil {
		return out, fatal(AlertInternalError, "cannot build the record cipher")
	}
	h.tx = tx
	out = append(out, changeCipherSpecRecord...)
	out, aerr := tx.seal(out, typeHandshake, fin)
	if aerr != nil {
		return out, aerr
	}
	h.serverSeq = tx.seq
	return out, nil
}

func contains(list []byte, b byte) bool {
	for _, x := range list {
		if x == b {
			return true
		}
	}
	return false
}
