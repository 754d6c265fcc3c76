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
// certificates). START is the version-neutral front (server.go): it reads
// the first ClientHello and chooses TLS 1.3; newHandshake13 starts at
// RECVD_CH:
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
// returning the next state; the one that completes also returns the
// Session.
type state13 uint8

const (
	state13ExpectSecondClientHello state13 = iota + 1
	state13ExpectFinished
)

// handshake13 is a TLS 1.3 server handshake, from the ClientHello that
// chose TLS 1.3 to the client's Finished: the sibling of handshake12.
type handshake13 struct {
	cfg   *Config
	state state13

	// rx opens the client's protected handshake records once the
	// ServerHello is out. tx seals what the server sends after its
	// Finished (an alert, the NewSessionTickets): the server application
	// traffic key, as RFC 8446 §4.4.4 requires.
	rx, tx *recordCipher
	msgs   messageReader
	// plain is scratch space for decrypted records.
	plain     []byte
	sawCCS    bool
	sentCCS   bool
	earlyData earlyDataWindow

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
	// server's flight; clientAppSecret and serverApp (the server
	// application traffic secret with its key and IV, which tx was built
	// from) become the Session once it checks out.
	expectedFinished []byte
	clientAppSecret  []byte
	serverApp        TrafficKeys
	alpn, serverName string
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
	h.serverApp.Zero()
	clear(h.resumptionSecret)
	h.expectedFinished, h.clientAppSecret, h.resumptionSecret = nil, nil, nil
	h.transcript = nil
	h.firstHello = nil
	if h.rx != nil {
		h.rx.wipe()
		h.rx = nil
	}
	if h.tx != nil {
		h.tx.wipe()
		h.tx = nil
	}
	h.msgs = messageReader{}
	h.plain = nil
}

// appendAlert seals a fatal alert under the server application traffic key
// once the server's Finished is out, and sends it in plaintext before.
func (h *handshake13) appendAlert(out []byte, a Alert) []byte {
	body := alertBody(a)
	if h.tx != nil {
		out, _ = h.tx.seal(out, typeAlert, body[:])
		return out
	}
	return appendPlaintextRecords(out, typeAlert, body[:])
}

// handleMessage passes one whole handshake message to the current state.
func (h *handshake13) handleMessage(msg []byte, out []byte) ([]byte, *Session, error) {
	var next state13
	var err error
	switch h.state {
	case state13ExpectSecondClientHello:
		out, next, err = h.expectSecondClientHello(msg, out)
	case state13ExpectFinished:
		return h.expectFinished(msg, out)
	}
	if err != nil {
		return out, nil, err
	}
	h.state = next
	return out, nil, nil
}

// newHandshake13 is RECVD_CH: negotiate, then either ask for another key
// share or send the whole server flight. ch is the ClientHello for which
// the front chose TLS 1.3. The handshake is returned even with an error,
// for its alert and its zero.
func newHandshake13(cfg *Config, ch *clientHello, out []byte) (*handshake13, []byte, error) {
	h := &handshake13{cfg: cfg}
	neg, nerr := h.negotiate13(ch)
	if nerr != nil {
		return h, out, nerr
	}
	h.suite = neg.suite
	h.group = neg.group
	h.transcript = neg.suite.newHash()
	h.transcript.Write(ch.raw)
	if ch.earlyData {
		h.earlyData = earlyDataWindow{open: true, left: h.cfg.maxEarlyData()}
	}
	share, ok := ch.shareFor(neg.group)
	if !ok {
		h.state = state13ExpectSecondClientHello
		out, err := h.sendHelloRetryRequest(ch, neg, out)
		return h, out, err
	}
	psk, err := h.choosePSK13(ch, neg.suite, nil)
	if err != nil {
		return h, out, err
	}
	h.state = state13ExpectFinished
	out, err = h.sendServerFlight(ch, neg, share, psk, out)
	return h, out, err
}

// expectSecondClientHello is the answer to a HelloRetryRequest: it must be
// the first ClientHello with exactly one key share for the group asked for
// (RFC 8446 §4.1.2).
func (h *handshake13) expectSecondClientHello(msg []byte, out []byte) ([]byte, state13, error) {
	if msg[0] != msgClientHello {
		return out, 0, fatal(AlertUnexpectedMessage, "expected the second ClientHello")
	}
	ch, perr := parseClientHello(msg)
	if perr != nil {
		return out, 0, perr
	}
	first := h.firstHello
	switch {
	case len(ch.keyShares) != 1 || ch.keyShares[0].group != h.retryGroup:
		return out, 0, fatal(AlertIllegalParameter, "second ClientHello without exactly one share for the requested group")
	case ch.earlyData:
		return out, 0, fatal(AlertIllegalParameter, "early_data in the second ClientHello")
	case !sameHelloApartFromRetry(first, ch):
		return out, 0, fatal(AlertIllegalParameter, "second ClientHello changed more than RFC 8446 §4.1.2 allows")
	}
	neg, nerr := h.negotiate13(ch)
	if nerr != nil {
		return out, 0, nerr
	}
	if neg.suite != h.suite || neg.group != h.retryGroup {
		return out, 0, fatal(AlertIllegalParameter, "second ClientHello negotiates differently")
	}
	psk, err := h.choosePSK13(ch, neg.suite, h.retryPrefix)
	if err != nil {
		return out, 0, err
	}
	h.firstHello, h.retryPrefix = nil, nil
	h.earlyData.open = false
	h.transcript.Write(msg)
	out, err = h.sendServerFlight(ch, neg, ch.keyShares[0], psk, out)
	return out, state13ExpectFinished, err
}

// expectFinished is WAIT_FINISHED: the client's Finished, compared in
// constant time (RFC 8446 §4.4.4), completes the handshake; the session
// tickets follow it out.
func (h *handshake13) expectFinished(msg []byte, out []byte) ([]byte, *Session, error) {
	if msg[0] != msgFinished {
		return out, nil, fatal(AlertUnexpectedMessage, "expected Finished")
	}
	verifyData := msg[4:]
	if len(verifyData) != h.suite.hashLen {
		return out, nil, fatal(AlertDecodeError, "Finished of the wrong length")
	}
	if !hmac.Equal(verifyData, h.expectedFinished) {
		return out, nil, fatal(AlertDecryptError, "client Finished does not verify")
	}
	sess := &Session{
		Version:     VersionTLS13,
		CipherSuite: h.suite.id,
		Group:       h.group,
		ALPN:        h.alpn,
		ServerName:  h.serverName,
		Resumed:     h.resumed,
		RX:          newTrafficKeys(h.suite, h.clientAppSecret),
		TX:          h.serverApp,
	}
	out = h.appendTickets13(out, sess)
	// The secrets, and the cipher that sealed the tickets under TX, now
	// belong to the Session.
	sess.txCipher = h.tx
	h.clientAppSecret, h.serverApp, h.tx = nil, TrafficKeys{}, nil
	h.zero()
	return out, sess, nil
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
func (h *handshake13) negotiate13(ch *clientHello) (negotiated13, *AlertError) {
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
	neg.suite = h.chooseSuite(ch)
	if neg.suite == nil {
		return neg, fatal(AlertHandshakeFailure, "no cipher suite in common")
	}
	var ok bool
	if neg.group, ok = h.chooseGroup(ch); !ok {
		return neg, fatal(AlertHandshakeFailure, "no group in common")
	}
	if neg.cert, neg.scheme, ok = selectCertificate(h.cfg.Certificates, ch.serverName, ch.signatureAlgorithms); !ok {
		return neg, fatal(AlertHandshakeFailure, "no certificate for the client's signature algorithms")
	}
	// RFC 7301 §3.2: an ALPN offer without a protocol we speak. A server
	// configured with no protocols ignores the extension.
	if ch.hasALPN && len(h.cfg.nextProtos()) > 0 {
		if neg.alpn, ok = chooseProtocol(h.cfg.nextProtos(), ch.alpnProtocols); !ok {
			return neg, fatal(AlertNoApplicationProtocol, "no application protocol in common")
		}
	}
	return neg, nil
}

// chooseSuite picks the first configured suite the client offers.
func (h *handshake13) chooseSuite(ch *clientHello) *suiteInfo {
	for _, want := range h.cfg.cipherSuites() {
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
func (h *handshake13) chooseGroup(ch *clientHello) (Group, bool) {
	for _, g := range h.cfg.groups() {
		if _, ok := ch.shareFor(g); ok {
			return g, true
		}
	}
	for _, g := range h.cfg.groups() {
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
func (h *handshake13) sendHelloRetryRequest(ch *clientHello, neg negotiated13, out []byte) ([]byte, error) {
	hrr, err := marshalHelloRetryRequest(ch.sessionID, neg.suite.id, neg.group)
	if err != nil {
		return out, fatal(AlertInternalError, "cannot encode HelloRetryRequest")
	}
	firstHash := h.transcript.Sum(nil)
	prefix := append([]byte{msgMessageHash, 0, 0, byte(len(firstHash))}, firstHash...)
	prefix = append(prefix, hrr...)
	h.transcript = neg.suite.newHash()
	h.transcript.Write(prefix)
	h.retryPrefix = prefix
	h.firstHello = ch
	h.retryGroup = neg.group
	out = appendPlaintextRecords(out, typeHandshake, hrr)
	out = append(out, changeCipherSpecRecord...)
	h.sentCCS = true
	return out, nil
}

// sendServerFlight is NEGOTIATED → WAIT_FINISHED: it derives the handshake
// and application secrets and appends ServerHello, the compatibility CCS and
// the protected EncryptedExtensions, Certificate, CertificateVerify and
// Finished to out as one chunk; with an accepted PSK (psk != nil) the
// certificate messages are left out and the PSK enters the key schedule.
// Nothing is appended if any step fails.
func (h *handshake13) sendServerFlight(ch *clientHello, neg negotiated13, share keyShare, psk *resumption13, out []byte) ([]byte, error) {
	suite, rand, t := neg.suite, h.cfg.rand(), h.transcript
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
		h.resumed, h.authenticated = true, psk.state.authenticated
	} else {
		h.authenticated = h.cfg.now()
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
	// Each handshake traffic secret gives its key, IV and finished key
	// through one keyed HMAC.
	fromClientHS, fromServerHS := suite.labels(clientHS), suite.labels(serverHS)
	clear(clientHS)
	clear(serverHS)
	rx, err := cipherFromLabels(&fromClientHS)
	if err != nil {
		clear(handshakeSecret)
		return out, fatal(AlertInternalError, "cannot build the record cipher")
	}
	h.rx = rx // from here on Zero wipes it, whatever happens next
	tx, err := cipherFromLabels(&fromServerHS)
	if err != nil {
		clear(handshakeSecret)
		return out, fatal(AlertInternalError, "cannot build the record cipher")
	}
	defer tx.wipe()

	flight, ferr := h.buildProtectedFlight(neg, psk != nil, &fromServerHS, t)
	if ferr != nil {
		clear(handshakeSecret)
		return out, ferr
	}
	master := fromHandshake.nextStage(nil)
	clear(handshakeSecret)
	flightHash := t.Sum(nil)
	fromMaster := suite.labels(master)
	h.clientAppSecret = fromMaster.derive("c ap traffic", flightHash)
	h.serverApp = newTrafficKeys(suite, fromMaster.derive("s ap traffic", flightHash))
	h.expectedFinished = fromClientHS.finishedVerifyData(flightHash)
	if h.cfg.TicketKeys != nil {
		// §4.6.1: resumption_master_secret covers the client's Finished,
		// which is known now: no client certificate can come before it.
		t.Write(finishedMessage(h.expectedFinished))
		h.resumptionSecret = fromMaster.derive("res master", t.Sum(nil))
	}
	clear(master)
	h.alpn, h.serverName = neg.alpn, ch.serverName
	h.transcript = nil

	out = appendPlaintextRecords(out, typeHandshake, serverHello)
	if !h.sentCCS {
		out = append(out, changeCipherSpecRecord...)
		h.sentCCS = true
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
	// for the client's Finished, then the NewSessionTickets, then (the
	// Session takes the cipher) the application data.
	if h.tx, err = newRecordCipher(suite, h.serverApp.Key, h.serverApp.IV); err != nil {
		return out, fatal(AlertInternalError, "cannot build the record cipher")
	}
	return out, nil
}

// buildProtectedFlight marshals EncryptedExtensions, Certificate and
// CertificateVerify (unless resumed: the PSK authenticates the server) and
// Finished, adding each to the transcript.
func (h *handshake13) buildProtectedFlight(neg negotiated13, resumed bool, fromServerHS *labels, t hash.Hash) ([]byte, error) {
	ee, err := marshalEncryptedExtensions(neg.alpn)
	if err != nil {
		return nil, fatal(AlertInternalError, "cannot encode EncryptedExtensions")
	}
	t.Write(ee)
	var cert, cv []byte
	if !resumed {
		cert, err = marshalCertificate(neg.cert.Chain)
		if err != nil {
			return nil, fatal(AlertInternalError, "cannot encode Certificate")
		}
		t.Write(cert)
		signature, err := neg.cert.sign(h.cfg.rand(), neg.scheme, certificateVerifyInput(t.Sum(nil)))
		if err != nil {
			return nil, fatal(AlertInternalError, "signing CertificateVerify failed")
		}
		cv, err = marshalCertificateVerify(neg.scheme, signature)
		if err != nil {
			return nil, fatal(AlertInternalError, "cannot encode CertificateVerify")
		}
		t.Write(cv)
	}
	fin := finishedMessage(fromServerHS.finishedVerifyData(t.Sum(nil)))
	t.Write(fin)
	flight := make([]byte, 0, len(ee)+len(cert)+len(cv)+len(fin))
	return append(append(append(append(flight, ee...), cert...), cv...), fin...), nil
}

// cipherFromLabels builds a record cipher from the traffic secret the labels
// are keyed by, wiping the derived key and IV copies.
func cipherFromLabels(l *labels) (*recordCipher, error) {
	key, iv := l.trafficKey()
	defer clear(key)
	defer clear(iv)
	return newRecordCipher(l.suite, key, iv)
}
