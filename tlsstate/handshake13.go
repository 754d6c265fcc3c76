package tlsstate

import (
	"bytes"
	"crypto/hmac"
	"hash"
	"io"
	"time"
)

// The TLS 1.3 server handshake as the state diagram of RFC 8446 §A.2
// (resumption with psk_dhe_ke only, no 0-RTT acceptance, no client
// certificates):
//
//	START ── recv ClientHello ──► RECVD_CH ── select parameters ──► NEGOTIATED
//	  │  no usable key share: send HelloRetryRequest
//	  ▼                                                               │
//	WAIT_SECOND_CH ── recv ClientHello ──► NEGOTIATED                 │
//	                                                                  ▼
//	                 send ServerHello, CCS, {EncryptedExtensions}, {Certificate}*,
//	                      {CertificateVerify}*, {Finished}  (one output chunk;
//	                      * only without an accepted PSK: psk13.go)
//	                                                                  │
//	WAIT_FINISHED ◄───────────────────────────────────────────────────┘
//	  │ recv {Finished}
//	  ▼
//	CONNECTED ── send [NewSessionTicket]s (tickets13.go)
//
// Each waiting state is one method taking one whole handshake message and
// returning the next state.
type state13 uint8

const (
	stateExpectClientHello state13 = iota
	stateExpectSecondClientHello
	stateExpectFinished
	stateConnected
	stateFailed
	// stateTLS12: TLS 1.2 was chosen; Server.hs12 runs the handshake.
	stateTLS12
)

// handshake13 is the TLS 1.3 negotiation state of a Server.
type handshake13 struct {
	suite      *suiteInfo
	group      Group // the key exchange's group
	transcript hash.Hash
	// firstHello and retryGroup are set while waiting for the second
	// ClientHello; retryPrefix is the message_hash and HelloRetryRequest
	// that start the transcript then, which PSK binders sign too.
	firstHello  *clientHello
	retryGroup  Group
	retryPrefix []byte
	// expectedFinished is the client's verify_data, computed with the
	// server's flight; clientAppSecret and serverAppSecret become the
	// Session once it checks out.
	expectedFinished                 []byte
	clientAppSecret, serverAppSecret []byte
	alpn, serverName                 string
	// resumptionSecret is resumption_master_secret, derived with the
	// server's flight when tickets will be issued; resumed says a PSK was
	// accepted; authenticated is when the full handshake this session
	// descends from ran.
	resumptionSecret []byte
	resumed          bool
	authenticated    time.Time
}

func (h *handshake13) zero() {
	clear(h.expectedFinished)
	clear(h.clientAppSecret)
	clear(h.serverAppSecret)
	clear(h.resumptionSecret)
	h.expectedFinished, h.clientAppSecret, h.serverAppSecret, h.resumptionSecret = nil, nil, nil, nil
	h.transcript = nil
	h.firstHello = nil
}

// handleMessage passes one whole handshake message to the current state.
func (s *Server) handleMessage(msg []byte, out []byte) ([]byte, error) {
	var next state13
	var err error
	switch s.state {
	case stateExpectClientHello:
		out, next, err = s.expectClientHello(msg, out)
	case stateExpectSecondClientHello:
		out, next, err = s.expectSecondClientHello(msg, out)
	case stateExpectFinished:
		out, next, err = s.expectFinished(msg, out)
	case stateTLS12:
		return s.handleMessage12(msg, out)
	default:
		err = fatal(AlertUnexpectedMessage, "handshake message after the handshake")
	}
	if err != nil {
		return out, err
	}
	s.state = next
	return out, nil
}

// expectClientHello is START: negotiate, then either ask for another key
// share or send the whole server flight.
func (s *Server) expectClientHello(msg []byte, out []byte) ([]byte, state13, error) {
	if msg[0] != msgClientHello {
		return out, 0, fatal(AlertUnexpectedMessage, "expected ClientHello")
	}
	ch, perr := parseClientHello(msg)
	if perr != nil {
		return out, 0, perr
	}
	s.sawClientHello = true
	s.offeredVersion, s.offeredName = ch.clientMaxVersion(), ch.serverName
	version, verr := s.chooseVersion(ch)
	if verr != nil {
		return out, 0, verr
	}
	if version == VersionTLS12 {
		out, err := s.startHandshake12(ch, out)
		return out, stateTLS12, err
	}
	neg, nerr := s.negotiate13(ch)
	if nerr != nil {
		return out, 0, nerr
	}
	s.hs.suite = neg.suite
	s.hs.group = neg.group
	s.hs.transcript = neg.suite.newHash()
	s.hs.transcript.Write(msg)
	if ch.earlyData {
		s.earlyData = earlyDataWindow{open: true, left: s.cfg.maxEarlyData()}
	}
	share, ok := ch.shareFor(neg.group)
	if !ok {
		out, err := s.sendHelloRetryRequest(ch, neg, out)
		return out, stateExpectSecondClientHello, err
	}
	psk, err := s.choosePSK13(ch, neg.suite, nil)
	if err != nil {
		return out, 0, err
	}
	out, err = s.sendServerFlight(ch, neg, share, psk, out)
	return out, stateExpectFinished, err
}

// expectSecondClientHello is the answer to a HelloRetryRequest: it must be
// the first ClientHello with exactly one key share for the group asked for
// (RFC 8446 §4.1.2).
func (s *Server) expectSecondClientHello(msg []byte, out []byte) ([]byte, state13, error) {
	if msg[0] != msgClientHello {
		return out, 0, fatal(AlertUnexpectedMessage, "expected the second ClientHello")
	}
	ch, perr := parseClientHello(msg)
	if perr != nil {
		return out, 0, perr
	}
	first := s.hs.firstHello
	switch {
	case len(ch.keyShares) != 1 || ch.keyShares[0].group != s.hs.retryGroup:
		return out, 0, fatal(AlertIllegalParameter, "second ClientHello without exactly one share for the requested group")
	case ch.earlyData:
		return out, 0, fatal(AlertIllegalParameter, "early_data in the second ClientHello")
	case !sameHelloApartFromRetry(first, ch):
		return out, 0, fatal(AlertIllegalParameter, "second ClientHello changed more than RFC 8446 §4.1.2 allows")
	}
	neg, nerr := s.negotiate13(ch)
	if nerr != nil {
		return out, 0, nerr
	}
	if neg.suite != s.hs.suite || neg.group != s.hs.retryGroup {
		return out, 0, fatal(AlertIllegalParameter, "second ClientHello negotiates differently")
	}
	psk, err := s.choosePSK13(ch, neg.suite, s.hs.retryPrefix)
	if err != nil {
		return out, 0, err
	}
	s.hs.firstHello, s.hs.retryPrefix = nil, nil
	s.earlyData.open = false
	s.hs.transcript.Write(msg)
	out, err = s.sendServerFlight(ch, neg, ch.keyShares[0], psk, out)
	return out, stateExpectFinished, err
}

// expectFinished is WAIT_FINISHED: the client's Finished, compared in
// constant time (RFC 8446 §4.4.4), completes the handshake; the session
// tickets follow it out.
func (s *Server) expectFinished(msg []byte, out []byte) ([]byte, state13, error) {
	if msg[0] != msgFinished {
		return out, 0, fatal(AlertUnexpectedMessage, "expected Finished")
	}
	verifyData := msg[4:]
	if len(verifyData) != s.hs.suite.hashLen {
		return out, 0, fatal(AlertDecodeError, "Finished of the wrong length")
	}
	if !hmac.Equal(verifyData, s.hs.expectedFinished) {
		return out, 0, fatal(AlertDecryptError, "client Finished does not verify")
	}
	s.session = &Session{
		Version:     VersionTLS13,
		CipherSuite: s.hs.suite.id,
		Group:       s.hs.group,
		ALPN:        s.hs.alpn,
		ServerName:  s.hs.serverName,
		Resumed:     s.hs.resumed,
		RX:          newTrafficKeys(s.hs.suite, s.hs.clientAppSecret),
		TX:          newTrafficKeys(s.hs.suite, s.hs.serverAppSecret),
	}
	out = s.appendTickets13(out, s.session)
	// The secrets now belong to the Session.
	s.hs.clientAppSecret, s.hs.serverAppSecret = nil, nil
	s.hs.zero()
	s.rx.wipe()
	s.tx.wipe()
	s.rx, s.tx = nil, nil
	s.pending, s.plain = nil, nil
	return out, stateConnected, nil
}

// negotiated13 is what the server chose for a ClientHello.
type negotiated13 struct {
	suite  *suiteInfo
	group  Group
	cert   *Certificate
	scheme SignatureScheme
	alpn   string
}

// negotiate13 checks a ClientHello against the TLS 1.3 rules and picks the
// parameters, each check with the alert RFC 8446 assigns it.
func (s *Server) negotiate13(ch *clientHello) (negotiated13, *AlertError) {
	var neg negotiated13
	// §4.2.1: versions come from supported_versions only (chooseVersion
	// sends a client without TLS 1.3 to TLS 1.2 or refuses it).
	if !ch.hasSupportedVersions || !ch.offersVersion(VersionTLS13) {
		return neg, fatal(AlertProtocolVersion, "client does not offer TLS 1.3")
	}
	// §4.1.2: legacy_version MUST be 0x0303 in a TLS 1.3 ClientHello; a
	// field set against the rules is illegal_parameter (§6.2).
	if ch.legacyVersion != VersionTLS12 {
		return neg, fatal(AlertIllegalParameter, "legacy_version is not 0x0303")
	}
	// §4.1.2: exactly the null compression method.
	if len(ch.compressionMethods) != 1 || ch.compressionMethods[0] != 0 {
		return neg, fatal(AlertIllegalParameter, "compression methods other than [null]")
	}
	// §9.2 mandatory extensions. This server resumes with psk_dhe_ke only
	// and falls back to a full handshake, so it always needs an (EC)DHE
	// exchange and a certificate signature may be needed.
	switch {
	case ch.hasPreSharedKey && !ch.hasPSKModes:
		return neg, fatal(AlertMissingExtension, "pre_shared_key without psk_key_exchange_modes")
	case !ch.hasSignatureAlgorithms:
		return neg, fatal(AlertMissingExtension, "no signature_algorithms")
	case !ch.hasSupportedGroups:
		return neg, fatal(AlertMissingExtension, "no supported_groups")
	case !ch.hasKeyShare:
		return neg, fatal(AlertMissingExtension, "no key_share")
	}
	// §4.2.8: shares only for groups the client lists.
	for _, ks := range ch.keyShares {
		if !ch.offersGroup(ks.group) {
			return neg, fatal(AlertIllegalParameter, "key share for a group not in supported_groups")
		}
	}
	neg.suite = s.chooseSuite(ch)
	if neg.suite == nil {
		return neg, fatal(AlertHandshakeFailure, "no cipher suite in common")
	}
	var ok bool
	if neg.group, ok = s.chooseGroup(ch); !ok {
		return neg, fatal(AlertHandshakeFailure, "no group in common")
	}
	if neg.cert, neg.scheme, ok = selectCertificate(s.cfg.Certificates, ch.serverName, ch.signatureAlgorithms); !ok {
		return neg, fatal(AlertHandshakeFailure, "no certificate for the client's signature algorithms")
	}
	// RFC 7301 §3.2: an ALPN offer without a protocol we speak. A server
	// configured with no protocols ignores the extension.
	if ch.hasALPN && len(s.cfg.nextProtos()) > 0 {
		if neg.alpn, ok = chooseProtocol(s.cfg.nextProtos(), ch.alpnProtocols); !ok {
			return neg, fatal(AlertNoApplicationProtocol, "no application protocol in common")
		}
	}
	return neg, nil
}

// chooseSuite picks the first configured suite the client offers.
func (s *Server) chooseSuite(ch *clientHello) *suiteInfo {
	for _, want := range s.cfg.cipherSuites() {
		for _, offered := range ch.cipherSuites {
			if uint16(want) == offered && suiteByID(want) != nil {
				return suiteByID(want)
			}
		}
	}
	return nil
}

// chooseGroup picks, in configured order, a group the client sent a share
// for; failing that, the first configured group it supports (which then
// needs a HelloRetryRequest).
func (s *Server) chooseGroup(ch *clientHello) (Group, bool) {
	for _, g := range s.cfg.groups() {
		if _, ok := ch.shareFor(g); ok {
			return g, true
		}
	}
	for _, g := range s.cfg.groups() {
		if ch.offersGroup(g) {
			return g, true
		}
	}
	return 0, false
}

func chooseProtocol(ours, theirs []string) (string, bool) {
	for _, p := range ours {
		for _, q := range theirs {
			if p == q {
				return p, true
			}
		}
	}
	return "", false
}

// sameHelloApartFromRetry compares two ClientHellos as RFC 8446 §4.1.2
// requires after a HelloRetryRequest: everything equal except key_share,
// cookie, early_data (which must go), padding and pre_shared_key.
func sameHelloApartFromRetry(a, b *clientHello) bool {
	if a.legacyVersion != b.legacyVersion || !bytes.Equal(a.random, b.random) ||
		!bytes.Equal(a.sessionID, b.sessionID) || !bytes.Equal(a.compressionMethods, b.compressionMethods) ||
		len(a.cipherSuites) != len(b.cipherSuites) {
		return false
	}
	for i := range a.cipherSuites {
		if a.cipherSuites[i] != b.cipherSuites[i] {
			return false
		}
	}
	ae, be := retryStableExtensions(a.extensions), retryStableExtensions(b.extensions)
	if len(ae) != len(be) {
		return false
	}
	for i := range ae {
		if ae[i].typ != be[i].typ || !bytes.Equal(ae[i].body, be[i].body) {
			return false
		}
	}
	return true
}

func retryStableExtensions(exts []extension) []extension {
	kept := make([]extension, 0, len(exts))
	for _, e := range exts {
		switch e.typ {
		case extKeyShare, extCookie, extEarlyData, extPadding, extPreSharedKey:
			continue
		}
		kept = append(kept, e)
	}
	return kept
}

// sendHelloRetryRequest asks for a key share for neg.group (§4.1.4). The
// first ClientHello is replaced in the transcript by its hash.
func (s *Server) sendHelloRetryRequest(ch *clientHello, neg negotiated13, out []byte) ([]byte, error) {
	hrr, err := marshalHelloRetryRequest(ch.sessionID, neg.suite.id, neg.group)
	if err != nil {
		return out, fatal(AlertInternalError, "cannot encode HelloRetryRequest")
	}
	firstHash := s.hs.transcript.Sum(nil)
	prefix := append([]byte{msgMessageHash, 0, 0, byte(len(firstHash))}, firstHash...)
	prefix = append(prefix, hrr...)
	s.hs.transcript = neg.suite.newHash()
	s.hs.transcript.Write(prefix)
	s.hs.retryPrefix = prefix
	s.hs.firstHello = ch
	s.hs.retryGroup = neg.group
	out = appendPlaintextRecords(out, typeHandshake, hrr)
	out = append(out, changeCipherSpecRecord...)
	s.sentCCS = true
	return out, nil
}

// sendServerFlight is NEGOTIATED → WAIT_FINISHED: it derives the handshake
// and application secrets and appends ServerHello, the compatibility CCS and
// the protected EncryptedExtensions, Certificate, CertificateVerify and
// Finished to out as one chunk; with an accepted PSK (psk != nil) the
// certificate messages are left out and the PSK enters the key schedule.
// Nothing is appended if any step fails.
func (s *Server) sendServerFlight(ch *clientHello, neg negotiated13, share keyShare, psk *resumption13, out []byte) ([]byte, error) {
	suite, rand, t := neg.suite, s.cfg.rand(), s.hs.transcript
	if psk != nil {
		defer psk.state.zero()
	}
	random := make([]byte, 32)
	if _, err := io.ReadFull(rand, random); err != nil {
		return out, fatal(AlertInternalError, "random source failed")
	}
	serverShare, shared, aerr := keyAgreement(neg.group, share.data, rand)
	if aerr != nil {
		return out, aerr
	}
	hello := serverHello13{random: random, sessionID: ch.sessionID, suite: suite.id, group: neg.group, share: serverShare}
	var early []byte // nil: no PSK
	if psk != nil {
		hello.pskSelected, hello.hasPSK = psk.selected, true
		early = suite.extract(nil, psk.state.secret)
		s.hs.resumed, s.hs.authenticated = true, psk.state.authenticated
	} else {
		s.hs.authenticated = s.cfg.now()
	}
	serverHello, err := hello.marshal()
	if err != nil {
		clear(shared)
		clear(early)
		return out, fatal(AlertInternalError, "cannot encode ServerHello")
	}
	t.Write(serverHello)

	handshakeSecret := suite.handshakeSecret(early, shared)
	clear(early)
	clear(shared)
	helloHash := t.Sum(nil)
	fromHandshake := suite.labels(handshakeSecret)
	clientHS := fromHandshake.derive("c hs traffic", helloHash)
	serverHS := fromHandshake.derive("s hs traffic", helloHash)
	defer clear(clientHS)
	defer clear(serverHS)
	rx, err := cipherFromSecret(suite, clientHS)
	if err != nil {
		clear(handshakeSecret)
		return out, fatal(AlertInternalError, "cannot build the record cipher")
	}
	s.rx = rx // from here on Zero wipes it, whatever happens next
	tx, err := cipherFromSecret(suite, serverHS)
	if err != nil {
		clear(handshakeSecret)
		return out, fatal(AlertInternalError, "cannot build the record cipher")
	}
	defer tx.wipe()

	flight, ferr := s.buildProtectedFlight(neg, psk != nil, serverHS, t)
	if ferr != nil {
		clear(handshakeSecret)
		return out, ferr
	}
	master := suite.nextStageSecret(handshakeSecret, nil)
	clear(handshakeSecret)
	flightHash := t.Sum(nil)
	fromMaster := suite.labels(master)
	s.hs.clientAppSecret = fromMaster.derive("c ap traffic", flightHash)
	s.hs.serverAppSecret = fromMaster.derive("s ap traffic", flightHash)
	s.hs.expectedFinished = suite.finishedVerifyData(clientHS, flightHash)
	if s.cfg.TicketKeys != nil {
		// §4.6.1: resumption_master_secret covers the client's Finished,
		// which is known now: no client certificate can come before it.
		t.Write(finishedMessage(s.hs.expectedFinished))
		s.hs.resumptionSecret = fromMaster.derive("res master", t.Sum(nil))
	}
	clear(master)
	s.hs.alpn, s.hs.serverName = neg.alpn, ch.serverName
	s.hs.transcript = nil

	out = appendPlaintextRecords(out, typeHandshake, serverHello)
	if !s.sentCCS {
		out = append(out, changeCipherSpecRecord...)
		s.sentCCS = true
	}
	for len(flight) > 0 {
		n := min(len(flight), maxPlaintext)
		if out, err = tx.seal(out, typeHandshake, flight[:n]); err != nil {
			return out, err
		}
		flight = flight[n:]
	}
	// RFC 8446 §4.4.4, Appendix A.2: once its Finished is out, the server
	// sends under its application traffic key: an alert while waiting
	// for the client's Finished, then the NewSessionTickets.
	if s.tx, err = cipherFromSecret(suite, s.hs.serverAppSecret); err != nil {
		return out, fatal(AlertInternalError, "cannot build the record cipher")
	}
	return out, nil
}

// buildProtectedFlight marshals EncryptedExtensions, Certificate and
// CertificateVerify (unless resumed: the PSK authenticates the server) and
// Finished, adding each to the transcript.
func (s *Server) buildProtectedFlight(neg negotiated13, resumed bool, serverHS []byte, t hash.Hash) ([]byte, error) {
	ee, err := marshalEncryptedExtensions(neg.alpn)
	if err != nil {
		return nil, fatal(AlertInternalError, "cannot encode EncryptedExtensions")
	}
	t.Write(ee)
	flight := ee
	if !resumed {
		cert, err := marshalCertificate(neg.cert.Chain)
		if err != nil {
			return nil, fatal(AlertInternalError, "cannot encode Certificate")
		}
		t.Write(cert)
		signature, err := neg.cert.sign(s.cfg.rand(), neg.scheme, certificateVerifyInput(t.Sum(nil)))
		if err != nil {
			return nil, fatal(AlertInternalError, "signing CertificateVerify failed")
		}
		cv, err := marshalCertificateVerify(neg.scheme, signature)
		if err != nil {
			return nil, fatal(AlertInternalError, "cannot encode CertificateVerify")
		}
		t.Write(cv)
		flight = append(append(flight, cert...), cv...)
	}
	fin := finishedMessage(neg.suite.finishedVerifyData(serverHS, t.Sum(nil)))
	t.Write(fin)
	return append(flight, fin...), nil
}

// cipherFromSecret builds a record cipher from a traffic secret, wiping the
// derived key and IV copies.
func cipherFromSecret(suite *suiteInfo, secret []byte) (*recordCipher, error) {
	key, iv := suite.trafficKey(secret)
	defer clear(key)
	defer clear(iv)
	return newRecordCipher(suite, key, iv)
}
