package tlsstate

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"io"
	"testing"
)

// startHandshake12 sends spec to a fresh server and reads its first flight.
func startHandshake12(t *testing.T, cfg *Config, spec *helloSpec) (*Server, *testClient12) {
	t.Helper()
	c := &testClient12{t: t}
	srv := NewServer(cfg)
	n, out, p := srv.Advance(c.helloRecord(spec), nil)
	if p != NeedInput || n == 0 {
		t.Fatalf("ClientHello: progress %v (err %v)", p, srv.Failure())
	}
	c.readServerFlight(out, cfg.Certificates[0])
	return srv, c
}

// fullHandshake12 runs a whole TLS 1.2 handshake against the scripted
// client and returns the server's Session.
func fullHandshake12(t *testing.T, cfg *Config, spec *helloSpec) (*Session, *testClient12, []byte) {
	t.Helper()
	srv, c := startHandshake12(t, cfg, spec)
	n, out, p := srv.Advance(c.finalFlight(), nil)
	if p != Complete || n == 0 {
		t.Fatalf("final flight: progress %v (err %v)", p, srv.Failure())
	}
	c.readServerFinish(out)
	return srv.Session(), c, out
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// TestHandshake12Deterministic: with the server's randomness and the
// client's random and key fixed (and an Ed25519 certificate, whose
// signatures are deterministic), the whole exchange is byte-for-byte
// reproducible; the scripted client verifies the signature and the
// server's Finished, and the Session holds the client's key block.
func TestHandshake12Deterministic(t *testing.T) {
	run := func() ([]byte, *Session, *testClient12) {
		cfg := testConfig("ed25519")
		cfg.Rand = constantReader(0x42)
		spec := newHello12(bytes.Repeat([]byte{7}, 32))
		srv := NewServer(cfg)
		c := &testClient12{t: t}
		_, flight, p := srv.Advance(c.helloRecord(spec), nil)
		if p != NeedInput {
			t.Fatalf("%v %v", p, srv.Failure())
		}
		c.readServerFlight(flight, cfg.Certificates[0])
		_, finish, p := srv.Advance(c.finalFlight(), nil)
		if p != Complete {
			t.Fatalf("%v %v", p, srv.Failure())
		}
		c.readServerFinish(finish)
		return append(bytes.Clone(flight), finish...), srv.Session(), c
	}
	out1, sess1, c := run()
	out2, sess2, _ := run()
	if !bytes.Equal(out1, out2) {
		t.Error("same inputs, different server output")
	}
	if !bytes.Equal(sess1.RX.Key, sess2.RX.Key) || !bytes.Equal(sess1.TX.IV, sess2.TX.IV) {
		t.Error("same inputs, different keys")
	}
	if !bytes.Equal(c.serverRandom[:24], bytes.Repeat([]byte{0x42}, 24)) || !bytes.Equal(c.serverRandom[24:], []byte("DOWNGRD\x01")) {
		t.Errorf("server random %x: want the injected bytes and the TLS 1.2 downgrade sentinel", c.serverRandom)
	}
	if c.group != X25519 || c.suite.id != ECDHEECDSAWithAES128GCMSHA256 {
		t.Errorf("negotiated %v %v", c.group, c.suite.id)
	}
	wantExts := map[uint16][]byte{
		extRenegotiationInfo: {0},
		extExtendedMasterSec: {},
		extECPointFormats:    {1, 0},
		extALPN:              lengthPrefixed(2, lengthPrefixed(1, []byte("http/1.1"))),
	}
	if len(c.serverExts) != len(wantExts) {
		t.Errorf("ServerHello extensions %v", c.serverExts)
	}
	for typ, body := range wantExts {
		if got, ok := c.serverExts[typ]; !ok || !bytes.Equal(got, body) {
			t.Errorf("ServerHello extension %d = %x, want %x", typ, got, body)
		}
	}
	kb := c.suite.keyBlock(c.master, c.random, c.serverRandom)
	if sess1.Version != VersionTLS12 || !bytes.Equal(sess1.RX.Key, kb.clientKey) || !bytes.Equal(sess1.RX.IV, kb.clientIV) ||
		!bytes.Equal(sess1.TX.Key, kb.serverKey) || !bytes.Equal(sess1.TX.IV, kb.serverIV) || sess1.RX.Seq != 1 || sess1.TX.Seq != 1 {
		t.Errorf("session does not hold the client's key block at sequence 1: %+v", sess1)
	}
}

// TestHandshake12Variants: every suite with the certificate kind it needs,
// every group, with and without EMS, renegotiation signalled by SCSV only,
// and a server with TLS 1.3 disabled (no downgrade sentinel).
func TestHandshake12Variants(t *testing.T) {
	for _, id := range DefaultCipherSuites12 {
		for _, certName := range []string{"ecdsa-p256", "ecdsa-p384", "rsa-2048", "ed25519"} {
			cfg := testConfig(certName)
			if certs()[certName].auth12() != suite12ByID(id).auth {
				continue
			}
			cfg.CipherSuites = []CipherSuite{id}
			t.Run(id.String()+"/"+certName, func(t *testing.T) {
				sess, c, _ := fullHandshake12(t, cfg, newHello12(randomBytes(32)))
				if sess.CipherSuite != id || c.suite.id != id {
					t.Errorf("suite %v", sess.CipherSuite)
				}
				// CipherSuites lists no TLS 1.3 suite: no sentinel.
				if bytes.Equal(c.serverRandom[24:], []byte("DOWNGRD\x01")) {
					t.Error("downgrade sentinel from a server without TLS 1.3")
				}
			})
		}
	}
	for _, g := range []Group{P256, P384, P521} {
		// The hybrid group is never used in TLS 1.2, even if configured
		// first and offered.
		cfg := testConfig("ecdsa-p256")
		cfg.Groups = []Group{X25519MLKEM768, g}
		spec := newHello12(randomBytes(32))
		spec.set(extSupportedGroups, u16s(2, uint16(X25519MLKEM768), uint16(g), uint16(P256)))
		_, c, _ := fullHandshake12(t, cfg, spec)
		if c.group != g {
			t.Errorf("group %v, want %v", c.group, g)
		}
	}
	t.Run("ECDSA certificate on a curve the client lists", func(t *testing.T) {
		cfg := testConfig("ecdsa-p256")
		cfg.Certificates = append(cfg.Certificates, certs()["ecdsa-p384"])
		spec := newHello12(randomBytes(32))
		spec.set(extSupportedGroups, u16s(2, uint16(X25519), uint16(P384)))
		srv := NewServer(cfg)
		c := &testClient12{t: t}
		_, out, p := srv.Advance(c.helloRecord(spec), nil)
		if p != NeedInput {
			t.Fatalf("%v %v", p, srv.Failure())
		}
		c.readServerFlight(out, certs()["ecdsa-p384"])
	})
	t.Run("no ALPN protocols configured", func(t *testing.T) {
		cfg := testConfig("ecdsa-p256")
		cfg.NextProtos = []string{}
		spec := newHello12(randomBytes(32))
		spec.set(extALPN, lengthPrefixed(2, lengthPrefixed(1, []byte("h2"))))
		sess, c, _ := fullHandshake12(t, cfg, spec)
		if _, ok := c.serverExts[extALPN]; ok || sess.ALPN != "" {
			t.Errorf("ALPN answered: %q", sess.ALPN)
		}
	})
	t.Run("no EMS", func(t *testing.T) {
		spec := newHello12(randomBytes(32)).remove(extExtendedMasterSec)
		_, c, _ := fullHandshake12(t, testConfig("ecdsa-p256"), spec)
		if _, ok := c.serverExts[extExtendedMasterSec]; ok {
			t.Error("EMS echoed without an offer")
		}
	})
	t.Run("SCSV only", func(t *testing.T) {
		spec := newHello12(randomBytes(32)).remove(extRenegotiationInfo).remove(extECPointFormats).remove(extALPN)
		_, c, _ := fullHandshake12(t, testConfig("ecdsa-p256"), spec)
		if len(c.serverExts) != 2 || c.serverExts[extRenegotiationInfo] == nil {
			t.Errorf("extensions %v", c.serverExts)
		}
	})
	t.Run("no renegotiation signal", func(t *testing.T) {
		spec := newHello12(randomBytes(32)).remove(extRenegotiationInfo)
		spec.suites = spec.suites[1:]
		_, c, _ := fullHandshake12(t, testConfig("ecdsa-p256"), spec)
		if _, ok := c.serverExts[extRenegotiationInfo]; ok {
			t.Error("renegotiation_info without a signal from the client")
		}
	})
	t.Run("MaxVersion TLS 1.2", func(t *testing.T) {
		cfg := testConfig("ecdsa-p256")
		cfg.MaxVersion = VersionTLS12
		spec := newHello12(randomBytes(32))
		// A TLS 1.3 offer too: the server must still pick TLS 1.2, and
		// the fallback signal is no error since 1.2 is our best.
		spec.set(extSupportedVersions, u16s(1, 0x0304, 0x0303))
		spec.suites = append(spec.suites, 0x1301, scsvFallback)
		_, c, _ := fullHandshake12(t, cfg, spec)
		if bytes.Equal(c.serverRandom[24:], []byte("DOWNGRD\x01")) {
			t.Error("downgrade sentinel with TLS 1.3 disabled")
		}
	})
	t.Run("TLS 1.2 in supported_versions", func(t *testing.T) {
		spec := newHello12(randomBytes(32))
		spec.set(extSupportedVersions, u16s(1, 0x0a0a, 0x0303))
		_, c, _ := fullHandshake12(t, testConfig("rsa-2048"), spec)
		if !bytes.Equal(c.serverRandom[24:], []byte("DOWNGRD\x01")) {
			t.Error("no downgrade sentinel")
		}
	})
}

// TestClientHello12Alerts: every TLS 1.2 rule checked before the server's
// flight, with the alert RFC 5246 and its extensions assign.
func TestClientHello12Alerts(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(h *helloSpec)
		config func(c *Config)
		want   Alert
	}{
		{"CBC suites only", func(h *helloSpec) { h.suites = []uint16{0xc013, 0xc014, 0xc027, 0xc028, 0x002f, 0x0035} }, nil, AlertHandshakeFailure},
		{"RSA key transport only", func(h *helloSpec) { h.suites = []uint16{0x009c, 0x009d, 0x003c} }, nil, AlertHandshakeFailure},
		{"finite-field DHE only", func(h *helloSpec) { h.suites = []uint16{0x009e, 0x009f, 0xccaa} }, nil, AlertHandshakeFailure},
		{"static ECDH only", func(h *helloSpec) { h.suites = []uint16{0xc02d, 0xc031} }, nil, AlertHandshakeFailure},
		{"TLS 1.1", func(h *helloSpec) { h.legacyVersion = 0x0302 }, nil, AlertProtocolVersion},
		{"TLS 1.0", func(h *helloSpec) { h.legacyVersion = 0x0301 }, nil, AlertProtocolVersion},
		{"SSL 3.0", func(h *helloSpec) { h.legacyVersion = 0x0300 }, nil, AlertProtocolVersion},
		{"TLS 1.1 in supported_versions", func(h *helloSpec) { h.set(extSupportedVersions, u16s(1, 0x0302, 0x0301)) }, nil, AlertProtocolVersion},
		{"TLS 1.2 to a TLS 1.3-only listener", nil, func(c *Config) { c.MinVersion = VersionTLS13 }, AlertProtocolVersion},
		{"TLS 1.2 without TLS 1.2 suites configured", nil, func(c *Config) { c.CipherSuites = []CipherSuite{AES128GCMSHA256} }, AlertProtocolVersion},
		{"fallback SCSV below our TLS 1.3", func(h *helloSpec) { h.suites = append(h.suites, scsvFallback) }, nil, AlertInappropriateFallback},
		{"fallback SCSV from TLS 1.1", func(h *helloSpec) { h.legacyVersion = 0x0302; h.suites = append(h.suites, scsvFallback) }, func(c *Config) { c.MaxVersion = VersionTLS12 }, AlertInappropriateFallback},
		{"non-empty renegotiation_info", func(h *helloSpec) { h.set(extRenegotiationInfo, append([]byte{12}, make([]byte, 12)...)) }, nil, AlertHandshakeFailure},
		{"malformed renegotiation_info", func(h *helloSpec) { h.set(extRenegotiationInfo, []byte{1}) }, nil, AlertDecodeError},
		{"EMS with a body", func(h *helloSpec) { h.set(extExtendedMasterSec, []byte{0}) }, nil, AlertDecodeError},
		{"EMS required, not offered", func(h *helloSpec) { h.remove(extExtendedMasterSec) }, func(c *Config) { c.RequireExtendedMasterSecret = true }, AlertHandshakeFailure},
		{"SHA-1 signatures only", func(h *helloSpec) { h.set(extSignatureAlgorithms, u16s(2, 0x0201, 0x0203)) }, nil, AlertHandshakeFailure},
		{"no signature_algorithms (SHA-1 implied)", func(h *helloSpec) { h.remove(extSignatureAlgorithms) }, nil, AlertHandshakeFailure},
		{"RSA signatures for an ECDSA certificate", func(h *helloSpec) { h.set(extSignatureAlgorithms, u16s(2, 0x0804, 0x0401)) }, nil, AlertHandshakeFailure},
		{"RSA suites for an ECDSA certificate", func(h *helloSpec) { h.suites = []uint16{0xc02f, 0xc030, 0xcca8} }, nil, AlertHandshakeFailure},
		{"ECDSA P-256 certificate, client without P-256", func(h *helloSpec) { h.set(extSupportedGroups, u16s(2, uint16(X25519), uint16(P384))) }, nil, AlertHandshakeFailure},
		{"post-quantum group only", func(h *helloSpec) { h.set(extSupportedGroups, u16s(2, uint16(X25519MLKEM768))) }, nil, AlertHandshakeFailure},
		{"unknown groups only", func(h *helloSpec) { h.set(extSupportedGroups, u16s(2, 0x0019, 0x0100)) }, nil, AlertHandshakeFailure},
		{"point formats without uncompressed", func(h *helloSpec) { h.set(extECPointFormats, []byte{1, 1}) }, nil, AlertIllegalParameter},
		{"malformed point formats", func(h *helloSpec) { h.set(extECPointFormats, []byte{2, 0}) }, nil, AlertDecodeError},
		{"compression without null", func(h *helloSpec) { h.compression = []byte{1} }, nil, AlertIllegalParameter},
		{"ALPN without http/1.1", func(h *helloSpec) { h.set(extALPN, lengthPrefixed(2, lengthPrefixed(1, []byte("h2")))) }, nil, AlertNoApplicationProtocol},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("ecdsa-p256")
			if tc.config != nil {
				tc.config(cfg)
			}
			spec := newHello12(randomBytes(32))
			if tc.mutate != nil {
				tc.mutate(spec)
			}
			c := &testClient12{t: t}
			expectPlainAlert(t, cfg, c.helloRecord(spec), tc.want)
		})
	}
}

// TestClientFlight12Alerts: the rules after the server's flight. The server
// has not sent ChangeCipherSpec yet, so its alerts are in plaintext.
func TestClientFlight12Alerts(t *testing.T) {
	p256, _ := ecdh.P256().GenerateKey(rand.Reader)
	offCurve := bytes.Clone(p256.PublicKey().Bytes())
	offCurve[64] ^= 1
	cke := func(point []byte) []byte {
		return plainRecord(typeHandshake, append([]byte{msgClientKeyExchange, 0, 0, byte(1 + len(point)), byte(len(point))}, point...))
	}
	ccs := plainRecord(typeChangeCipherSpec, []byte{1})
	cases := []struct {
		name   string
		groups []Group
		input  func(c *testClient12) []byte
		want   Alert
	}{
		{"x25519 point of 31 bytes", nil, func(*testClient12) []byte { return cke(make([]byte, 31)) }, AlertDecodeError},
		{"x25519 low-order point", nil, func(*testClient12) []byte { return cke(make([]byte, 32)) }, AlertIllegalParameter},
		{"P-256 point off the curve", []Group{P256}, func(*testClient12) []byte { return cke(offCurve) }, AlertIllegalParameter},
		{"P-256 point of 64 bytes", []Group{P256}, func(*testClient12) []byte { return cke(offCurve[:64]) }, AlertDecodeError},
		{"P-256 compressed point", []Group{P256}, func(*testClient12) []byte {
			return cke(append([]byte{2}, p256.PublicKey().Bytes()[1:33]...))
		}, AlertIllegalParameter},
		{"P-256 point at infinity", []Group{P256}, func(*testClient12) []byte { return cke([]byte{0}) }, AlertIllegalParameter},
		{"point length beyond the message", nil, func(*testClient12) []byte {
			return plainRecord(typeHandshake, append([]byte{msgClientKeyExchange, 0, 0, 33, 40}, make([]byte, 32)...))
		}, AlertDecodeError},
		{"empty ClientKeyExchange", nil, func(*testClient12) []byte { return plainRecord(typeHandshake, []byte{msgClientKeyExchange, 0, 0, 0}) }, AlertDecodeError},
		{"CCS before ClientKeyExchange", nil, func(*testClient12) []byte { return ccs }, AlertUnexpectedMessage},
		{"Finished before ClientKeyExchange", nil, func(*testClient12) []byte {
			return plainRecord(typeHandshake, finishedMessage(make([]byte, 12)))
		}, AlertUnexpectedMessage},
		{"second ClientHello", nil, func(c *testClient12) []byte { return plainRecord(typeHandshake, c.hello) }, AlertUnexpectedMessage},
		{"application data before Finished", nil, func(c *testClient12) []byte {
			return append(append(plainRecord(typeHandshake, c.clientKeyExchange()), ccs...), c.protect(typeApplicationData, []byte("GET /"))...)
		}, AlertUnexpectedMessage},
		{"Finished without CCS", nil, func(c *testClient12) []byte {
			in := plainRecord(typeHandshake, c.clientKeyExchange())
			return append(in, plainRecord(typeHandshake, c.finished())...)
		}, AlertUnexpectedMessage},
		{"two CCS", nil, func(c *testClient12) []byte {
			return append(append(plainRecord(typeHandshake, c.clientKeyExchange()), ccs...), ccs...)
		}, AlertUnexpectedMessage},
		{"CCS of value 2", nil, func(c *testClient12) []byte {
			return append(plainRecord(typeHandshake, c.clientKeyExchange()), plainRecord(typeChangeCipherSpec, []byte{2})...)
		}, AlertUnexpectedMessage},
		{"tampered Finished", nil, func(c *testClient12) []byte {
			in := append(plainRecord(typeHandshake, c.clientKeyExchange()), ccs...)
			fin := c.finished()
			fin[4] ^= 1
			return append(in, c.protect(typeHandshake, fin)...)
		}, AlertDecryptError},
		{"Finished of 13 bytes", nil, func(c *testClient12) []byte {
			in := append(plainRecord(typeHandshake, c.clientKeyExchange()), ccs...)
			return append(in, c.protect(typeHandshake, finishedMessage(make([]byte, 13)))...)
		}, AlertDecodeError},
		{"Finished record with a bad tag", nil, func(c *testClient12) []byte {
			in := append(plainRecord(typeHandshake, c.clientKeyExchange()), ccs...)
			rec := c.protect(typeHandshake, c.finished())
			rec[len(rec)-1] ^= 1
			return append(in, rec...)
		}, AlertBadRecordMAC},
		{"Finished in plaintext after CCS", nil, func(c *testClient12) []byte {
			in := append(plainRecord(typeHandshake, c.clientKeyExchange()), ccs...)
			return append(in, plainRecord(typeHandshake, c.finished())...)
		}, AlertBadRecordMAC},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("ecdsa-p256")
			spec := newHello12(randomBytes(32))
			if tc.groups != nil {
				cfg.Groups = tc.groups
			}
			srv, c := startHandshake12(t, cfg, spec)
			_, out, p := srv.Advance(tc.input(c), nil)
			if p != Failed || !bytes.Equal(out, alertRecord(tc.want)) {
				t.Fatalf("progress %v, output %x, want %v (err %v)", p, out, tc.want, srv.Failure())
			}
			if f := srv.Failure(); !f.HasAlert || !f.Sent || f.Alert != tc.want {
				t.Errorf("Failure() = %+v", f)
			}
			assertDead(t, srv)
		})
	}
}

// TestHandshake12Fragmented: the client's flight one byte at a time, and
// its request in the same segment as its Finished.
func TestHandshake12Fragmented(t *testing.T) {
	cfg := testConfig("rsa-2048")
	srv, c := startHandshake12(t, cfg, newHello12(randomBytes(32)))
	in := c.finalFlight()
	request := c.protect(typeApplicationData, []byte("GET / HTTP/1.1\r\n\r\n"))
	in = append(in, request...)
	var buf, out []byte
	for i := 0; i < len(in); i++ {
		buf = append(buf, in[i])
		n, o, p := srv.Advance(buf, out)
		out = o
		buf = buf[n:]
		if p == Complete {
			if !bytes.Equal(append(buf, in[i+1:]...), request) {
				t.Fatalf("bytes after Finished: %x", buf)
			}
			c.readServerFinish(out)
			return
		}
		if p != NeedInput {
			t.Fatalf("byte %d: %v %v", i, p, srv.Failure())
		}
	}
	t.Fatal("never completed")
}

// TestPeerAlertDuringHandshake12: a client alert ends the handshake
// silently.
func TestPeerAlertDuringHandshake12(t *testing.T) {
	srv, _ := startHandshake12(t, testConfig("ecdsa-p256"), newHello12(randomBytes(32)))
	_, out, p := srv.Advance(plainRecord(typeAlert, []byte{2, byte(AlertBadCertificate)}), nil)
	if f := srv.Failure(); p != Failed || len(out) != 0 || !f.HasAlert || f.Sent || f.Alert != AlertBadCertificate {
		t.Fatalf("%v %x %v", p, out, srv.Failure())
	}
}

// recordsAfterHandshake12 completes a handshake and starts the record
// layer on its Session.
func recordsAfterHandshake12(t *testing.T) (*Channel, *testClient12) {
	t.Helper()
	cfg := testConfig("ecdsa-p256")
	sess, c, _ := fullHandshake12(t, cfg, newHello12(randomBytes(32)))
	r, err := NewChannel(sess, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Zero)
	return r, c
}

// TestRecords12Renegotiation: a ClientHello on the established connection
// (split over two records) is answered with a warning no_renegotiation,
// and data keeps flowing both ways.
func TestRecords12Renegotiation(t *testing.T) {
	r, c := recordsAfterHandshake12(t)
	hello := newHello12(randomBytes(32)).marshal()
	in := append(c.protect(typeHandshake, hello[:10]), c.protect(typeHandshake, hello[10:])...)
	in = append(in, c.protect(typeApplicationData, []byte("still here"))...)
	n, plain, reply, err := r.Open(in, nil, nil)
	if err != nil || n != len(in) || string(plain) != "still here" {
		t.Fatalf("Open: %d of %d, %q, %v", n, len(in), plain, err)
	}
	level, a, rest := c.openAlert(reply)
	if level != alertLevelWarning || a != AlertNoRenegotiation || len(rest) != 0 {
		t.Fatalf("reply: level %d %v, %d bytes more", level, a, len(rest))
	}
	out, err := r.Seal(nil, []byte("response"))
	if err != nil {
		t.Fatal(err)
	}
	rec, _, _ := nextRecord(out, maxCiphertext12)
	if got, aerr := c.rx.open(nil, rec); aerr != nil || string(got) != "response" {
		t.Fatalf("client read %q %v", got, aerr)
	}
	if s := r.Session(); s.RX.Seq != 4 || s.TX.Seq != 3 {
		t.Errorf("sequence numbers rx %d tx %d, want 4 and 3", s.RX.Seq, s.TX.Seq)
	}
}

// TestRecords12Alerts: the record layer's fatal errors, each answered with
// a protected fatal alert, after which nothing more is read or sealed.
func TestRecords12Alerts(t *testing.T) {
	cases := []struct {
		name  string
		input func(c *testClient12) []byte
		want  Alert
	}{
		{"bad tag", func(c *testClient12) []byte {
			rec := c.protect(typeApplicationData, []byte("GET /"))
			rec[len(rec)-3] ^= 0x10
			return rec
		}, AlertBadRecordMAC},
		{"replayed record", func(c *testClient12) []byte {
			rec := c.protect(typeApplicationData, []byte("GET /"))
			return append(rec, rec...)
		}, AlertBadRecordMAC},
		{"plaintext record", func(c *testClient12) []byte { return plainRecord(typeApplicationData, []byte("GET /")) }, AlertBadRecordMAC},
		{"change_cipher_spec", func(c *testClient12) []byte { return plainRecord(typeChangeCipherSpec, []byte{1}) }, AlertUnexpectedMessage},
		{"HelloRequest from the client", func(c *testClient12) []byte {
			return c.protect(typeHandshake, []byte{msgHelloRequest, 0, 0, 0})
		}, AlertUnexpectedMessage},
		{"Finished after the handshake", func(c *testClient12) []byte {
			return c.protect(typeHandshake, finishedMessage(make([]byte, 12)))
		}, AlertUnexpectedMessage},
		{"data inside a fragmented ClientHello", func(c *testClient12) []byte {
			return append(c.protect(typeHandshake, []byte{msgClientHello, 0}), c.protect(typeApplicationData, []byte("x"))...)
		}, AlertUnexpectedMessage},
		{"alert of 3 bytes", func(c *testClient12) []byte { return c.protect(typeAlert, []byte{2, 0, 0}) }, AlertDecodeError},
		{"empty alert record", func(c *testClient12) []byte { return c.protect(typeAlert, nil) }, AlertUnexpectedMessage},
		{"empty handshake record", func(c *testClient12) []byte { return c.protect(typeHandshake, nil) }, AlertUnexpectedMessage},
		{"too many empty records", func(c *testClient12) []byte {
			var in []byte
			for range MaxRecordsWithoutData + 1 {
				in = append(in, c.protect(typeApplicationData, nil)...)
			}
			return in
		}, AlertUnexpectedMessage},
		{"record over 2^14 bytes", func(c *testClient12) []byte {
			return c.protect(typeApplicationData, make([]byte, maxPlaintext+1))
		}, AlertRecordOverflow},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, c := recordsAfterHandshake12(t)
			_, _, reply, err := r.Open(tc.input(c), make([]byte, 0, 1<<15), nil)
			var aerr *AlertError
			if !errors.As(err, &aerr) || aerr.Alert != tc.want {
				t.Fatalf("Open: %v, want %v", err, tc.want)
			}
			level, a, rest := c.openAlert(reply)
			if level != alertLevelFatal || a != tc.want || len(rest) != 0 {
				t.Fatalf("reply: level %d %v", level, a)
			}
			if _, err := r.Seal(nil, []byte("x")); !errors.Is(err, ErrClosed) && err != aerr {
				t.Errorf("Seal after failure: %v", err)
			}
			if n, _, reply, err := r.Open(c.protect(typeApplicationData, []byte("x")), nil, nil); n != 0 || len(reply) != 0 || err == nil {
				t.Errorf("Open after failure: %d %x %v", n, reply, err)
			}
		})
	}
}

// TestRecords12CloseAndWarnings: warnings are ignored, a fatal alert from
// the peer ends the connection without a reply, close_notify is io.EOF and
// the owner then answers with its own close_notify.
func TestRecords12CloseAndWarnings(t *testing.T) {
	r, c := recordsAfterHandshake12(t)
	in := c.protect(typeAlert, []byte{alertLevelWarning, byte(AlertUserCanceled)})
	in = append(in, c.protect(typeApplicationData, []byte("data"))...)
	in = append(in, c.protect(typeAlert, []byte{alertLevelWarning, byte(AlertCloseNotify)})...)
	n, plain, reply, err := r.Open(in, nil, nil)
	if err != io.EOF || string(plain) != "data" || len(reply) != 0 || n != len(in) {
		t.Fatalf("Open: %d %q %x %v", n, plain, reply, err)
	}
	out, err := r.Seal(nil, []byte("last words"))
	if err != nil {
		t.Fatal(err)
	}
	out = r.CloseNotify(out)
	rec, used, _ := nextRecord(out, maxCiphertext12)
	if got, aerr := c.rx.open(nil, rec); aerr != nil || string(got) != "last words" {
		t.Fatalf("client read %q %v", got, aerr)
	}
	if level, a, rest := c.openAlert(out[used:]); level != alertLevelWarning || a != AlertCloseNotify || len(rest) != 0 {
		t.Fatalf("close: %d %v", level, a)
	}
	if _, err := r.Seal(nil, []byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Seal after close_notify: %v", err)
	}

	r, c = recordsAfterHandshake12(t)
	_, _, reply, err = r.Open(c.protect(typeAlert, []byte{alertLevelFatal, byte(AlertInternalError)}), nil, nil)
	var perr *PeerAlertError
	if !errors.As(err, &perr) || perr.Alert != AlertInternalError || len(reply) != 0 {
		t.Fatalf("fatal peer alert: %v %x", err, reply)
	}
}

// TestHandshake12SecretsWiped: a failed handshake wipes the master secret
// and key block it derived; Records.Zero wipes a handed-over Session.
func TestHandshake12SecretsWiped(t *testing.T) {
	srv, c := startHandshake12(t, testConfig("ecdsa-p256"), newHello12(randomBytes(32)))
	in := append(plainRecord(typeHandshake, c.clientKeyExchange()), plainRecord(typeChangeCipherSpec, []byte{1})...)
	if _, _, p := srv.Advance(in, nil); p != NeedInput {
		t.Fatalf("%v %v", p, srv.Failure())
	}
	h := srv.hs.(*handshake12)
	secrets := [][]byte{h.master, h.keys.clientKey, h.keys.serverKey, h.keys.clientIV, h.keys.serverIV}
	fin := c.finished()
	fin[5] ^= 1
	if _, _, p := srv.Advance(c.protect(typeHandshake, fin), nil); p != Failed {
		t.Fatalf("tampered Finished: %v", p)
	}
	for i, s := range secrets {
		if len(s) == 0 || !bytes.Equal(s, make([]byte, len(s))) {
			t.Errorf("secret %d not wiped: %x", i, s)
		}
	}

	r, _ := recordsAfterHandshake12(t)
	sess := r.Session()
	keys := [][]byte{sess.RX.Key, sess.RX.IV, sess.TX.Key, sess.TX.IV}
	r.Zero()
	for i, k := range keys {
		if !bytes.Equal(k, make([]byte, len(k))) {
			t.Errorf("session key %d not wiped", i)
		}
	}
}
