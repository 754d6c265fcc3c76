package tlsstate

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"hash"
	"testing"

	"golang.org/x/crypto/cryptobyte"
)

// newHello12 is a TLS 1.2 ClientHello as a modern browser sends it without
// TLS 1.3: the six ECDHE AEAD suites and the renegotiation SCSV, x25519,
// P-256 and P-384, ECDSA/PSS/PKCS#1/Ed25519 signatures, the extended master
// secret, an empty renegotiation_info, uncompressed points and ALPN.
func newHello12(random []byte) *helloSpec {
	suites := []uint16{scsvRenegotiation}
	for _, s := range DefaultCipherSuites12 {
		suites = append(suites, uint16(s))
	}
	return &helloSpec{
		legacyVersion: VersionTLS12,
		random:        random,
		sessionID:     nil,
		suites:        suites,
		compression:   []byte{0},
		exts: []extension{
			{extServerName, lengthPrefixed(2, append([]byte{0}, lengthPrefixed(2, []byte("localhost"))...))},
			{extSupportedGroups, u16s(2, uint16(X25519), uint16(P256), uint16(P384))},
			{extECPointFormats, []byte{1, 0}},
			{extSignatureAlgorithms, u16s(2, 0x0403, 0x0503, 0x0804, 0x0805, 0x0401, 0x0807)},
			{extExtendedMasterSec, nil},
			{extRenegotiationInfo, []byte{0}},
			{extALPN, lengthPrefixed(2, lengthPrefixed(1, []byte("http/1.1")))},
		},
	}
}

// testClient12 is the client half of a TLS 1.2 handshake, written from the
// RFCs with the package's PRF (itself checked against published vectors):
// it checks everything the server sends and can break anything it sends.
type testClient12 struct {
	t          testing.TB
	hello      []byte
	random     []byte
	transcript hash.Hash
	suite      *suite12Info

	serverRandom []byte
	serverExts   map[uint16][]byte
	group        Group
	serverPublic []byte
	// scalar is the client's ECDH private key bytes.
	scalar []byte

	master []byte
	tx, rx *recordCipher12
}

// helloRecord marshals spec and remembers it for the transcript.
func (c *testClient12) helloRecord(spec *helloSpec) []byte {
	c.hello = spec.marshal()
	c.random = spec.random
	return plainRecord(typeHandshake, c.hello)
}

// readServerFlight parses ServerHello, Certificate, ServerKeyExchange and
// ServerHelloDone from out (exactly those, in plaintext records) and checks
// the ServerKeyExchange signature against cert.
func (c *testClient12) readServerFlight(out []byte, cert *Certificate) {
	t := c.t
	t.Helper()
	var flight []byte
	for len(out) > 0 {
		rec, n, err := nextRecord(out, maxCiphertext12)
		if err != nil || n == 0 || rec.typ != typeHandshake {
			t.Fatalf("not a handshake record: %x", out)
		}
		flight = append(flight, rec.payload...)
		out = out[n:]
	}
	var msgs [][]byte
	for len(flight) > 0 {
		n := 4 + (int(flight[1])<<16 | int(flight[2])<<8 | int(flight[3]))
		msgs = append(msgs, flight[:n])
		flight = flight[n:]
	}
	if len(msgs) != 4 || msgs[0][0] != msgServerHello || msgs[1][0] != msgCertificate ||
		msgs[2][0] != msgServerKeyExchange || !bytes.Equal(msgs[3], serverHelloDone) {
		t.Fatalf("server flight is not SH, Certificate, SKE, SHD: %d messages", len(msgs))
	}
	c.parseServerHello(msgs[0])
	c.transcript = c.suite.newHash()
	for _, m := range append([][]byte{c.hello}, msgs...) {
		c.transcript.Write(m)
	}
	var chain cryptobyte.String
	s := cryptobyte.String(msgs[1][4:])
	var leaf cryptobyte.String
	if !s.ReadUint24LengthPrefixed(&chain) || !s.Empty() || !chain.ReadUint24LengthPrefixed(&leaf) ||
		!bytes.Equal(leaf, cert.Chain[0]) {
		t.Fatal("Certificate does not carry the configured leaf")
	}
	c.checkServerKeyExchange(msgs[2][4:], cert)
}

func (c *testClient12) parseServerHello(msg []byte) {
	t := c.t
	s := cryptobyte.String(msg[4:])
	var vers, suite uint16
	var random, sid, exts cryptobyte.String
	var comp uint8
	if !s.ReadUint16(&vers) || !s.ReadBytes((*[]byte)(&random), 32) || !s.ReadUint8LengthPrefixed(&sid) ||
		!s.ReadUint16(&suite) || !s.ReadUint8(&comp) || !s.ReadUint16LengthPrefixed(&exts) || !s.Empty() {
		t.Fatal("bad ServerHello")
	}
	if vers != VersionTLS12 || comp != 0 || len(sid) != 0 {
		t.Fatalf("ServerHello version %x compression %d session id %x", vers, comp, sid)
	}
	c.serverRandom = random
	c.suite = suite12ByID(CipherSuite(suite))
	if c.suite == nil {
		t.Fatalf("server chose suite %x", suite)
	}
	c.serverExts = map[uint16][]byte{}
	for !exts.Empty() {
		var typ uint16
		var body cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&body) {
			t.Fatal("bad ServerHello extensions")
		}
		if _, dup := c.serverExts[typ]; dup {
			t.Fatalf("duplicate extension %d", typ)
		}
		c.serverExts[typ] = body
	}
}

// checkServerKeyExchange verifies the signed ECDHE parameters.
func (c *testClient12) checkServerKeyExchange(body []byte, cert *Certificate) {
	t := c.t
	s := cryptobyte.String(body)
	var curveType uint8
	var group, scheme uint16
	var public, sig cryptobyte.String
	if !s.ReadUint8(&curveType) || curveType != namedCurveType || !s.ReadUint16(&group) ||
		!s.ReadUint8LengthPrefixed(&public) || !s.ReadUint16(&scheme) || !s.ReadUint16LengthPrefixed(&sig) || !s.Empty() {
		t.Fatal("bad ServerKeyExchange")
	}
	c.group, c.serverPublic = Group(group), public
	signed := append(append(bytes.Clone(c.random), c.serverRandom...), body[:4+len(public)]...)
	var ok bool
	switch pub := cert.Signer.Public().(type) {
	case *ecdsa.PublicKey:
		h := map[uint16]crypto.Hash{0x0403: crypto.SHA256, 0x0503: crypto.SHA384, 0x0603: crypto.SHA512}[scheme]
		ok = h != 0 && ecdsa.VerifyASN1(pub, hashMessage(h, signed), sig)
	case *rsa.PublicKey:
		switch scheme {
		case 0x0804, 0x0805, 0x0806:
			h := map[uint16]crypto.Hash{0x0804: crypto.SHA256, 0x0805: crypto.SHA384, 0x0806: crypto.SHA512}[scheme]
			ok = rsa.VerifyPSS(pub, h, hashMessage(h, signed), sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
		case 0x0401, 0x0501, 0x0601:
			h := map[uint16]crypto.Hash{0x0401: crypto.SHA256, 0x0501: crypto.SHA384, 0x0601: crypto.SHA512}[scheme]
			ok = rsa.VerifyPKCS1v15(pub, h, hashMessage(h, signed), sig) == nil
		}
	case ed25519.PublicKey:
		ok = scheme == 0x0807 && ed25519.Verify(pub, signed, sig)
	}
	if !ok {
		t.Fatalf("ServerKeyExchange signature (scheme %#04x) does not verify", scheme)
	}
}

// clientKeyExchange is the ClientKeyExchange for the client's key (from
// c.scalar, or a fresh one), which it also runs the key schedule with.
func (c *testClient12) clientKeyExchange() []byte {
	t := c.t
	t.Helper()
	ec, _ := curveOf(c.group)
	curve := ec.curve
	if c.scalar == nil {
		c.scalar = bytes.Repeat([]byte{0x11}, ec.scalarLen)
		c.scalar[0] &= ec.topMask
	}
	priv, err := curve.NewPrivateKey(c.scalar)
	if err != nil {
		t.Fatal(err)
	}
	peer, err := curve.NewPublicKey(c.serverPublic)
	if err != nil {
		t.Fatalf("server ECDHE key: %v", err)
	}
	preMaster, err := priv.ECDH(peer)
	if err != nil {
		t.Fatal(err)
	}
	point := priv.PublicKey().Bytes()
	cke := append([]byte{msgClientKeyExchange, 0, 0, byte(1 + len(point)), byte(len(point))}, point...)
	c.transcript.Write(cke)
	if _, ems := c.serverExts[extExtendedMasterSec]; ems {
		c.master = c.suite.extendedMasterSecret(preMaster, c.transcript.Sum(nil))
	} else {
		c.master = c.suite.masterSecret(preMaster, c.random, c.serverRandom)
	}
	kb := c.suite.keyBlock(c.master, c.random, c.serverRandom)
	c.tx, _ = newRecordCipher12(c.suite, kb.clientKey, kb.clientIV)
	c.rx, _ = newRecordCipher12(c.suite, kb.serverKey, kb.serverIV)
	return cke
}

// finished is the client's Finished message for the transcript so far.
func (c *testClient12) finished() []byte {
	return finishedMessage(c.suite.finishedVerifyData(c.master, clientFinishedLabel, c.transcript.Sum(nil)))
}

// protect seals content as one record under the client's key.
func (c *testClient12) protect(typ contentType, content []byte) []byte {
	out, err := c.tx.seal(nil, typ, content)
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}

// finalFlight is ClientKeyExchange, ChangeCipherSpec and Finished.
func (c *testClient12) finalFlight() []byte {
	in := plainRecord(typeHandshake, c.clientKeyExchange())
	in = append(in, plainRecord(typeChangeCipherSpec, []byte{1})...)
	fin := c.finished()
	c.transcript.Write(fin)
	return append(in, c.protect(typeHandshake, fin)...)
}

// readServerFinish checks the server's ChangeCipherSpec and Finished.
func (c *testClient12) readServerFinish(out []byte) {
	t := c.t
	t.Helper()
	if !bytes.HasPrefix(out, changeCipherSpecRecord) {
		t.Fatalf("no ChangeCipherSpec: %x", out)
	}
	rec, n, err := nextRecord(out[len(changeCipherSpecRecord):], maxCiphertext12)
	if err != nil || n != len(out)-len(changeCipherSpecRecord) || rec.typ != typeHandshake {
		t.Fatalf("not one Finished record after CCS: %x", out)
	}
	if c.suite.explicitNonceLen == 8 && !bytes.Equal(rec.payload[:8], make([]byte, 8)) {
		t.Errorf("explicit nonce of the server Finished is %x, want sequence number 0", rec.payload[:8])
	}
	fin, aerr := c.rx.open(nil, rec)
	want := finishedMessage(c.suite.finishedVerifyData(c.master, serverFinishedLabel, c.transcript.Sum(nil)))
	if aerr != nil || !bytes.Equal(fin, want) {
		t.Fatalf("server Finished does not verify: %v", aerr)
	}
}

// openAlert opens one protected alert record from the server.
func (c *testClient12) openAlert(out []byte) (level uint8, a Alert, rest []byte) {
	c.t.Helper()
	rec, n, err := nextRecord(out, maxCiphertext12)
	if err != nil || n == 0 || rec.typ != typeAlert {
		c.t.Fatalf("expected an alert record, got %x", out)
	}
	body, aerr := c.rx.open(nil, rec)
	if aerr != nil || len(body) != 2 {
		c.t.Fatalf("alert record: %v %x", aerr, body)
	}
	return body[0], Alert(body[1]), out[n:]
}
