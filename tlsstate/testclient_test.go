package tlsstate

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/binary"
	"hash"
	"testing"

	"golang.org/x/crypto/cryptobyte"
)

// helloSpec is a hand-built ClientHello whose every field a negative test
// can break.
type helloSpec struct {
	legacyVersion uint16
	random        []byte
	sessionID     []byte
	suites        []uint16
	compression   []byte
	exts          []extension
}

func u16s(lengthBytes int, vals ...uint16) []byte {
	body := make([]byte, 0, 2*len(vals))
	for _, v := range vals {
		body = binary.BigEndian.AppendUint16(body, v)
	}
	return lengthPrefixed(lengthBytes, body)
}

func lengthPrefixed(lengthBytes int, body []byte) []byte {
	var p []byte
	if lengthBytes == 1 {
		p = []byte{byte(len(body))}
	} else {
		p = []byte{byte(len(body) >> 8), byte(len(body))}
	}
	return append(p, body...)
}

func keyShareBody(shares ...keyShare) []byte {
	var list []byte
	for _, ks := range shares {
		list = binary.BigEndian.AppendUint16(list, uint16(ks.group))
		list = append(list, lengthPrefixed(2, ks.data)...)
	}
	return lengthPrefixed(2, list)
}

// newHello is a valid TLS 1.3 ClientHello offering all suites, x25519 and
// P-256 (share for x25519 from priv), ECDSA/Ed25519/PSS and ALPN http/1.1.
func newHello(priv *ecdh.PrivateKey) *helloSpec {
	random := make([]byte, 32)
	rand.Read(random)
	return &helloSpec{
		legacyVersion: 0x0303,
		random:        random,
		sessionID:     bytes.Repeat([]byte{0xab}, 32),
		suites:        []uint16{0x1301, 0x1302, 0x1303},
		compression:   []byte{0},
		exts: []extension{
			{extServerName, lengthPrefixed(2, append([]byte{0}, lengthPrefixed(2, []byte("localhost"))...))},
			{extSupportedVersions, u16s(1, 0x0304)},
			{extSupportedGroups, u16s(2, uint16(X25519), uint16(P256))},
			{extSignatureAlgorithms, u16s(2, 0x0403, 0x0807, 0x0804)},
			{extKeyShare, keyShareBody(keyShare{X25519, priv.PublicKey().Bytes()})},
			{extALPN, lengthPrefixed(2, lengthPrefixed(1, []byte("http/1.1")))},
			{extPSKKeyExchangeModes, []byte{1, 1}},
		},
	}
}

func (h *helloSpec) set(typ uint16, body []byte) *helloSpec {
	for i := range h.exts {
		if h.exts[i].typ == typ {
			h.exts[i].body = body
			return h
		}
	}
	h.exts = append(h.exts, extension{typ, body})
	return h
}

func (h *helloSpec) remove(typ uint16) *helloSpec {
	kept := h.exts[:0]
	for _, e := range h.exts {
		if e.typ != typ {
			kept = append(kept, e)
		}
	}
	h.exts = kept
	return h
}

func (h *helloSpec) marshal() []byte {
	var b cryptobyte.Builder
	b.AddUint8(msgClientHello)
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddUint16(h.legacyVersion)
		b.AddBytes(h.random)
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(h.sessionID) })
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, s := range h.suites {
				b.AddUint16(s)
			}
		})
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(h.compression) })
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, e := range h.exts {
				b.AddUint16(e.typ)
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(e.body) })
			}
		})
	})
	return b.BytesOrPanic()
}

// plainRecord frames body as one unprotected record.
func plainRecord(typ contentType, body []byte) []byte {
	return append(appendRecordHeader(nil, typ, len(body)), body...)
}

// testClient is the client half of the key schedule, enough to read the
// server's flight and to write protected records at it.
type testClient struct {
	t          testing.TB
	priv       *ecdh.PrivateKey
	hello      []byte
	suite      *suiteInfo
	transcript hash.Hash
	rx, tx     *recordCipher
	finished   []byte
	// psk is offered by a ClientHello built with helloWithPSK;
	// pskAccepted says the ServerHello took it.
	psk         []byte
	pskAccepted bool
	// flightTypes are the message types of the server's protected flight.
	flightTypes []uint8
	// serverAppSecret and resumptionSecret are derived with the client's
	// Finished, to read the tickets that follow the handshake.
	serverAppSecret, resumptionSecret []byte
}

func newTestClient(t testing.TB) (*testClient, *helloSpec) {
	priv, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &testClient{t: t, priv: priv}, newHello(priv)
}

// helloRecord marshals spec and remembers it for the transcript.
func (c *testClient) helloRecord(spec *helloSpec) []byte {
	c.hello = spec.marshal()
	return plainRecord(typeHandshake, c.hello)
}

// readFlight processes ServerHello, CCS and the protected flight in out,
// checking the server's Finished, and prepares the client's Finished.
func (c *testClient) readFlight(out []byte) {
	t := c.t
	t.Helper()
	rec, n, err := nextRecord(out, maxCiphertext13)
	if err != nil || n == 0 || rec.typ != typeHandshake {
		t.Fatalf("no ServerHello record in %x", out)
	}
	sh := rec.payload
	out = out[n:]
	s := cryptobyte.String(sh[4:])
	var vers, suite uint16
	var random, sid, exts cryptobyte.String
	var comp uint8
	if !s.ReadUint16(&vers) || !s.ReadBytes((*[]byte)(&random), 32) || !s.ReadUint8LengthPrefixed(&sid) ||
		!s.ReadUint16(&suite) || !s.ReadUint8(&comp) || !s.ReadUint16LengthPrefixed(&exts) {
		t.Fatal("bad ServerHello")
	}
	var serverShare []byte
	for !exts.Empty() {
		var typ uint16
		var body cryptobyte.String
		exts.ReadUint16(&typ)
		exts.ReadUint16LengthPrefixed(&body)
		if typ == extPreSharedKey {
			c.pskAccepted = true
		}
		if typ == extKeyShare {
			var g uint16
			var data cryptobyte.String
			body.ReadUint16(&g)
			body.ReadUint16LengthPrefixed(&data)
			serverShare = data
		}
	}
	c.suite = suiteByID(CipherSuite(suite))
	pub, err2 := ecdh.X25519().NewPublicKey(serverShare)
	if err2 != nil {
		t.Fatal(err2)
	}
	shared, _ := c.priv.ECDH(pub)
	c.transcript = c.suite.newHash()
	c.transcript.Write(c.hello)
	c.transcript.Write(sh)
	early := c.suite.earlySecret()
	if c.pskAccepted {
		early = c.suite.extract(nil, c.psk)
	}
	hs := c.suite.nextStageSecret(early, shared)
	h := c.transcript.Sum(nil)
	clientHS := c.suite.deriveSecret(hs, "c hs traffic", h)
	serverHS := c.suite.deriveSecret(hs, "s hs traffic", h)
	c.rx, _ = cipherFromSecret(c.suite, serverHS)
	c.tx, _ = cipherFromSecret(c.suite, clientHS)
	if !bytes.HasPrefix(out, changeCipherSpecRecord) {
		t.Fatal("no CCS after ServerHello")
	}
	out = out[len(changeCipherSpecRecord):]
	// Records after the server's Finished (crypto/tls sends its tickets
	// there, under the application key) are not the flight's.
	var flight []byte
	sawFinished := false
	for len(out) > 0 && !sawFinished {
		rec, n, _ := nextRecord(out, maxCiphertext13)
		typ, content, err := c.rx.open(make([]byte, 0, len(rec.payload)), rec)
		if err != nil || typ != typeHandshake {
			t.Fatalf("flight record: %v", err)
		}
		flight = append(flight, content...)
		out = out[n:]
		for len(flight) >= 4 {
			n := 4 + (int(flight[1])<<16 | int(flight[2])<<8 | int(flight[3]))
			if len(flight) < n {
				break
			}
			msg := flight[:n]
			if msg[0] == msgFinished {
				want := c.suite.finishedVerifyData(serverHS, c.transcript.Sum(nil))
				if !bytes.Equal(msg[4:], want) {
					t.Fatal("server Finished does not verify")
				}
				sawFinished = true
			}
			c.transcript.Write(msg)
			c.flightTypes = append(c.flightTypes, msg[0])
			flight = flight[n:]
		}
	}
	if !sawFinished {
		t.Fatal("flight without the server's Finished")
	}
	flightHash := c.transcript.Sum(nil)
	c.finished = finishedMessage(c.suite.finishedVerifyData(clientHS, flightHash))
	master := c.suite.nextStageSecret(hs, nil)
	c.serverAppSecret = c.suite.deriveSecret(master, "s ap traffic", flightHash)
	c.transcript.Write(c.finished)
	c.resumptionSecret = c.suite.deriveSecret(master, "res master", c.transcript.Sum(nil))
}

// protect seals content as one record under the client handshake key.
func (c *testClient) protect(typ contentType, content []byte) []byte {
	out, err := c.tx.seal(nil, typ, content)
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}

// alertIn opens the protected alert the server appended after its
// Finished: it must be the first record under the server application
// traffic key (RFC 8446 §4.4.4, Appendix A.2), not under the handshake key.
func (c *testClient) alertIn(out []byte) Alert {
	c.t.Helper()
	rec, n, err := nextRecord(out, maxCiphertext13)
	if err != nil || n != len(out) {
		c.t.Fatalf("expected exactly one alert record, got %x", out)
	}
	app, cerr := cipherFromSecret(c.suite, c.serverAppSecret)
	if cerr != nil {
		c.t.Fatal(cerr)
	}
	typ, content, err := app.open(nil, rec)
	if err != nil || typ != typeAlert || len(content) != 2 || content[0] != alertLevelFatal {
		c.t.Fatalf("not a fatal alert: %v %d %x", err, typ, content)
	}
	return Alert(content[1])
}

// cipherFromSecret builds a record cipher from a traffic secret, as the
// server does (cipherFromLabels).
func cipherFromSecret(suite *suiteInfo, secret []byte) (*recordCipher, error) {
	l := suite.labels(secret)
	return cipherFromLabels(&l)
}
