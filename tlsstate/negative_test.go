package tlsstate

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"testing"
)

// assertDead checks that a failed server stays failed and silent.
func assertDead(t *testing.T, srv *Server) {
	t.Helper()
	c, spec := newTestClient(t)
	n, out, p := srv.Advance(c.helloRecord(spec), nil)
	if n != 0 || len(out) != 0 || p != Failed {
		t.Errorf("dead server answered: consumed %d, %d bytes out, %v", n, len(out), p)
	}
}

// expectPlainAlert feeds input to a fresh server: it must fail with exactly
// one unprotected fatal alert record.
func expectPlainAlert(t *testing.T, cfg *Config, input []byte, want Alert) {
	t.Helper()
	srv := NewServer(cfg)
	_, out, p := srv.Advance(input, nil)
	if p != Failed || !bytes.Equal(out, alertRecord(want)) {
		t.Fatalf("progress %v, output %x, want alert %v (err %v)", p, out, want, srv.Failure())
	}
	if f := srv.Failure(); !f.HasAlert || !f.Sent || f.Alert != want {
		t.Errorf("Failure() = %+v", f)
	}
	assertDead(t, srv)
}

func mutateHello(f func(h *helloSpec)) func(c *testClient, h *helloSpec) []byte {
	return func(c *testClient, h *helloSpec) []byte {
		f(h)
		return c.helloRecord(h)
	}
}

// TestClientHelloAlerts: every rule checked before the ServerHello, with the
// alert RFC 8446 assigns it.
func TestClientHelloAlerts(t *testing.T) {
	p256, _ := ecdh.P256().GenerateKey(rand.Reader)
	offCurve := bytes.Clone(p256.PublicKey().Bytes())
	offCurve[64] ^= 1
	cases := []struct {
		name  string
		input func(c *testClient, h *helloSpec) []byte
		want  Alert
	}{
		{"unknown record type", func(*testClient, *helloSpec) []byte { return []byte{0x18, 3, 3, 0, 1, 0} }, AlertUnexpectedMessage},
		{"HTTP on the TLS port", func(*testClient, *helloSpec) []byte { return []byte("GET / HTTP/1.1\r\n\r\n") }, AlertUnexpectedMessage},
		{"plaintext record over 2^14", func(*testClient, *helloSpec) []byte { return []byte{22, 3, 1, 0x40, 0x01} }, AlertRecordOverflow},
		{"protected record over 2^14+256", func(*testClient, *helloSpec) []byte { return []byte{23, 3, 3, 0x41, 0x01} }, AlertRecordOverflow},
		{"CCS before ClientHello", func(*testClient, *helloSpec) []byte { return plainRecord(typeChangeCipherSpec, []byte{1}) }, AlertUnexpectedMessage},
		{"application data before ClientHello", func(*testClient, *helloSpec) []byte { return plainRecord(typeApplicationData, make([]byte, 32)) }, AlertUnexpectedMessage},
		{"Finished instead of ClientHello", func(*testClient, *helloSpec) []byte {
			return plainRecord(typeHandshake, finishedMessage(make([]byte, 32)))
		}, AlertUnexpectedMessage},
		{"empty handshake record", func(*testClient, *helloSpec) []byte { return plainRecord(typeHandshake, nil) }, AlertUnexpectedMessage},
		{"empty alert record", func(*testClient, *helloSpec) []byte { return plainRecord(typeAlert, nil) }, AlertUnexpectedMessage},
		{"handshake message over 64 KiB", func(*testClient, *helloSpec) []byte { return plainRecord(typeHandshake, []byte{1, 1, 0, 1}) }, AlertDecodeError},
		{"alert record of 3 bytes", func(*testClient, *helloSpec) []byte { return plainRecord(typeAlert, []byte{2, 40, 0}) }, AlertDecodeError},
		{"truncated ClientHello", func(c *testClient, h *helloSpec) []byte {
			m := h.marshal()
			m = m[:len(m)-3]
			m[3] -= 3
			return plainRecord(typeHandshake, m)
		}, AlertDecodeError},
		{"session id over 32 bytes", mutateHello(func(h *helloSpec) { h.sessionID = make([]byte, 33) }), AlertDecodeError},
		{"odd cipher suite list", func(c *testClient, h *helloSpec) []byte {
			m := h.marshal()
			// suites length 6 → 5, dropping the last byte of the list.
			i := 4 + 2 + 32 + 1 + len(h.sessionID)
			m[i+1] = 5
			m = append(m[:i+2+5], m[i+2+6:]...)
			m[3]--
			return plainRecord(typeHandshake, m)
		}, AlertDecodeError},
		{"malformed supported_versions", mutateHello(func(h *helloSpec) { h.set(extSupportedVersions, []byte{3, 3, 4, 3}) }), AlertDecodeError},
		{"key share of zero length", mutateHello(func(h *helloSpec) { h.set(extKeyShare, keyShareBody(keyShare{X25519, nil})) }), AlertDecodeError},
		{"ALPN with an empty name", mutateHello(func(h *helloSpec) { h.set(extALPN, lengthPrefixed(2, []byte{0})) }), AlertDecodeError},
		{"duplicate extension", mutateHello(func(h *helloSpec) {
			h.exts = append(h.exts, extension{extALPN, lengthPrefixed(2, lengthPrefixed(1, []byte("http/1.1")))})
		}), AlertIllegalParameter},
		{"pre_shared_key not last", mutateHello(func(h *helloSpec) {
			psk := append(lengthPrefixed(2, append(lengthPrefixed(2, []byte("id")), 0, 0, 0, 0)), lengthPrefixed(2, lengthPrefixed(1, make([]byte, 32)))...)
			h.exts = append([]extension{{extPreSharedKey, psk}}, h.exts...)
		}), AlertIllegalParameter},
		// Without TLS 1.3 the hello is a TLS 1.2 one offering only TLS 1.3
		// suites (protocol_version is tested in handshake12_test.go).
		{"no supported_versions", mutateHello(func(h *helloSpec) { h.remove(extSupportedVersions) }), AlertHandshakeFailure},
		{"TLS 1.2 only", mutateHello(func(h *helloSpec) { h.set(extSupportedVersions, u16s(1, 0x0303)) }), AlertHandshakeFailure},
		{"legacy_version 0x0301", mutateHello(func(h *helloSpec) { h.legacyVersion = 0x0301 }), AlertIllegalParameter},
		// RFC 8446 Appendix D.5: SSL 3.0 or lower is protocol_version.
		{"legacy_version 0x0300", mutateHello(func(h *helloSpec) { h.legacyVersion = 0x0300 }), AlertProtocolVersion},
		{"legacy_version 0x0200", mutateHello(func(h *helloSpec) { h.legacyVersion = 0x0200 }), AlertProtocolVersion},
		{"legacy_version 0x0304", mutateHello(func(h *helloSpec) { h.legacyVersion = 0x0304 }), AlertIllegalParameter},
		{"compression [null, deflate]", mutateHello(func(h *helloSpec) { h.compression = []byte{0, 1} }), AlertIllegalParameter},
		{"compression [deflate]", mutateHello(func(h *helloSpec) { h.compression = []byte{1} }), AlertIllegalParameter},
		{"no signature_algorithms", mutateHello(func(h *helloSpec) { h.remove(extSignatureAlgorithms) }), AlertMissingExtension},
		{"no supported_groups", mutateHello(func(h *helloSpec) { h.remove(extSupportedGroups) }), AlertMissingExtension},
		{"no key_share", mutateHello(func(h *helloSpec) { h.remove(extKeyShare) }), AlertMissingExtension},
		{"pre_shared_key without modes", mutateHello(func(h *helloSpec) {
			h.remove(extPSKKeyExchangeModes)
			h.set(extPreSharedKey, append(lengthPrefixed(2, append(lengthPrefixed(2, []byte("id")), 0, 0, 0, 0)), lengthPrefixed(2, lengthPrefixed(1, make([]byte, 32)))...))
		}), AlertMissingExtension},
		{"share for a group not offered", mutateHello(func(h *helloSpec) { h.set(extSupportedGroups, u16s(2, uint16(P256))) }), AlertIllegalParameter},
		{"two shares for one group", func(c *testClient, h *helloSpec) []byte {
			pub := c.priv.PublicKey().Bytes()
			h.set(extKeyShare, keyShareBody(keyShare{X25519, pub}, keyShare{X25519, pub}))
			return c.helloRecord(h)
		}, AlertIllegalParameter},
		{"x25519 share of 31 bytes", mutateHello(func(h *helloSpec) { h.set(extKeyShare, keyShareBody(keyShare{X25519, make([]byte, 31)})) }), AlertIllegalParameter},
		{"x25519 low-order point", mutateHello(func(h *helloSpec) { h.set(extKeyShare, keyShareBody(keyShare{X25519, make([]byte, 32)})) }), AlertIllegalParameter},
		{"P-256 point off the curve", mutateHello(func(h *helloSpec) { h.set(extKeyShare, keyShareBody(keyShare{P256, offCurve})) }), AlertIllegalParameter},
		{"P-256 compressed point", mutateHello(func(h *helloSpec) {
			h.set(extKeyShare, keyShareBody(keyShare{P256, append([]byte{2}, p256.PublicKey().Bytes()[1:33]...)}))
		}), AlertIllegalParameter},
		{"X25519MLKEM768 share too short", mutateHello(func(h *helloSpec) {
			h.set(extSupportedGroups, u16s(2, uint16(X25519MLKEM768)))
			h.set(extKeyShare, keyShareBody(keyShare{X25519MLKEM768, make([]byte, 1215)}))
		}), AlertIllegalParameter},
		{"no common cipher suite", mutateHello(func(h *helloSpec) { h.suites = []uint16{0xc02f} }), AlertHandshakeFailure},
		{"no common group", mutateHello(func(h *helloSpec) {
			h.set(extSupportedGroups, u16s(2, 0x0100))
			h.set(extKeyShare, keyShareBody())
		}), AlertHandshakeFailure},
		{"no usable signature scheme", mutateHello(func(h *helloSpec) { h.set(extSignatureAlgorithms, u16s(2, 0x0401, 0x0201)) }), AlertHandshakeFailure},
		{"ALPN without http/1.1", mutateHello(func(h *helloSpec) { h.set(extALPN, lengthPrefixed(2, lengthPrefixed(1, []byte("h2")))) }), AlertNoApplicationProtocol},
		{"data after ClientHello in its record", func(c *testClient, h *helloSpec) []byte {
			return plainRecord(typeHandshake, append(h.marshal(), 20, 0, 0))
		}, AlertUnexpectedMessage},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, h := newTestClient(t)
			expectPlainAlert(t, testConfig("ecdsa-p256"), tc.input(c, h), tc.want)
		})
	}
}

// TestPeerAlertDuringHandshake: a client alert ends the handshake with
// nothing sent back.
func TestPeerAlertDuringHandshake(t *testing.T) {
	srv := NewServer(testConfig("ecdsa-p256"))
	_, out, p := srv.Advance(plainRecord(typeAlert, []byte{2, 40}), nil)
	if f := srv.Failure(); p != Failed || len(out) != 0 || !f.HasAlert || f.Sent || f.Alert != AlertHandshakeFailure {
		t.Fatalf("%v %x %v", p, out, srv.Failure())
	}
}

// TestPartialRecordsAreNotConsumed: byte-by-byte input consumes nothing until
// a record is whole, and a ClientHello fragmented over one-byte records and
// then split across reads is reassembled.
func TestPartialRecordsAreNotConsumed(t *testing.T) {
	c, h := newTestClient(t)
	c.hello = h.marshal()
	var in []byte
	for _, b := range c.hello {
		in = append(in, plainRecord(typeHandshake, []byte{b})...)
	}
	srv := NewServer(testConfig("ecdsa-p256"))
	var out []byte
	pending := []byte(nil)
	for i, b := range in {
		pending = append(pending, b)
		n, o, p := srv.Advance(pending, out)
		out = o
		pending = pending[n:]
		if p == Failed {
			t.Fatalf("failed at byte %d: %v", i, srv.Failure())
		}
		if n%6 != 0 {
			t.Fatalf("consumed %d bytes: not whole records", n)
		}
	}
	if len(pending) != 0 || len(out) == 0 {
		t.Fatalf("pending %d, out %d", len(pending), len(out))
	}
	c.readFlight(out)
}

// handshakeToFinished runs a server up to WAIT_FINISHED with a test client.
func handshakeToFinished(t *testing.T, cfg *Config, spec func(*helloSpec)) (*Server, *testClient) {
	t.Helper()
	c, h := newTestClient(t)
	if spec != nil {
		spec(h)
	}
	srv := NewServer(cfg)
	_, out, p := srv.Advance(c.helloRecord(h), nil)
	if p != NeedInput {
		t.Fatalf("ClientHello: %v %v", p, srv.Failure())
	}
	c.readFlight(out)
	return srv, c
}

// expectProtectedAlert feeds input after the server flight: the server must
// fail with exactly one alert, protected under its application traffic key
// (its Finished is out: RFC 8446 §4.4.4).
func expectProtectedAlert(t *testing.T, srv *Server, c *testClient, input []byte, want Alert) {
	t.Helper()
	_, out, p := srv.Advance(input, nil)
	if p != Failed {
		t.Fatalf("progress %v, want Failed with %v", p, want)
	}
	if got := c.alertIn(out); got != want {
		t.Fatalf("alert %v, want %v (err %v)", got, want, srv.Failure())
	}
	assertDead(t, srv)
}

// TestFinishedAlerts: every rule checked after the ServerHello.
func TestFinishedAlerts(t *testing.T) {
	cases := []struct {
		name  string
		input func(c *testClient) []byte
		want  Alert
	}{
		{"wrong Finished", func(c *testClient) []byte {
			f := bytes.Clone(c.finished)
			f[10] ^= 1
			return c.protect(typeHandshake, f)
		}, AlertDecryptError},
		{"Finished too short", func(c *testClient) []byte { return c.protect(typeHandshake, finishedMessage(c.finished[4:20])) }, AlertDecodeError},
		{"Certificate instead of Finished", func(c *testClient) []byte { return c.protect(typeHandshake, []byte{11, 0, 0, 4, 0, 0, 0, 0}) }, AlertUnexpectedMessage},
		{"ClientHello instead of Finished", func(c *testClient) []byte { return c.protect(typeHandshake, c.hello) }, AlertUnexpectedMessage},
		{"EndOfEarlyData (early data was declined)", func(c *testClient) []byte { return c.protect(typeHandshake, []byte{5, 0, 0, 0}) }, AlertUnexpectedMessage},
		{"record that does not authenticate", func(c *testClient) []byte {
			r := c.protect(typeHandshake, c.finished)
			r[10] ^= 1
			return r
		}, AlertBadRecordMAC},
		{"record shorter than a tag", func(c *testClient) []byte { return plainRecord(typeApplicationData, make([]byte, 10)) }, AlertBadRecordMAC},
		{"unprotected Finished", func(c *testClient) []byte { return plainRecord(typeHandshake, c.finished) }, AlertUnexpectedMessage},
		{"application data before Finished", func(c *testClient) []byte { return c.protect(typeApplicationData, []byte("GET /")) }, AlertUnexpectedMessage},
		{"protected change_cipher_spec", func(c *testClient) []byte { return c.protect(typeChangeCipherSpec, []byte{1}) }, AlertUnexpectedMessage},
		{"CCS of value 2", func(c *testClient) []byte { return plainRecord(typeChangeCipherSpec, []byte{2}) }, AlertUnexpectedMessage},
		{"CCS of two bytes", func(c *testClient) []byte { return plainRecord(typeChangeCipherSpec, []byte{1, 1}) }, AlertUnexpectedMessage},
		{"two CCS", func(c *testClient) []byte {
			return append(plainRecord(typeChangeCipherSpec, []byte{1}), plainRecord(typeChangeCipherSpec, []byte{1})...)
		}, AlertUnexpectedMessage},
		{"CCS inside a fragmented Finished", func(c *testClient) []byte {
			in := c.protect(typeHandshake, c.finished[:10])
			return append(in, plainRecord(typeChangeCipherSpec, []byte{1})...)
		}, AlertUnexpectedMessage},
		{"handshake data after Finished in its record", func(c *testClient) []byte {
			return c.protect(typeHandshake, append(bytes.Clone(c.finished), 24, 0, 0, 1, 0))
		}, AlertUnexpectedMessage},
		{"inner plaintext over 2^14+1", func(c *testClient) []byte { return c.protect(typeHandshake, make([]byte, maxPlaintext+1)) }, AlertRecordOverflow},
		{"inner plaintext without a type", func(c *testClient) []byte {
			r := c.protect(0, nil) // type byte 0: all padding
			return r
		}, AlertUnexpectedMessage},
		{"empty protected handshake record", func(c *testClient) []byte { return c.protect(typeHandshake, nil) }, AlertUnexpectedMessage},
		{"empty protected alert record", func(c *testClient) []byte { return c.protect(typeAlert, nil) }, AlertUnexpectedMessage},
		{"protected alert of one byte", func(c *testClient) []byte { return c.protect(typeAlert, []byte{2}) }, AlertDecodeError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, c := handshakeToFinished(t, testConfig("ecdsa-p256"), nil)
			expectProtectedAlert(t, srv, c, tc.input(c), tc.want)
		})
	}
}

// TestFinishedFragmentedAndCoalesced: a CCS, a Finished split over two
// records, and the first application record in the same read. The server
// must stop after the Finished and leave the application record unconsumed.
func TestFinishedFragmentedAndCoalesced(t *testing.T) {
	srv, c := handshakeToFinished(t, testConfig("ecdsa-p256"), nil)
	in := plainRecord(typeChangeCipherSpec, []byte{1})
	in = append(in, c.protect(typeHandshake, c.finished[:7])...)
	in = append(in, c.protect(typeHandshake, c.finished[7:])...)
	flightEnd := len(in)
	in = append(in, 23, 3, 3, 0, 20) // first bytes of an application record
	in = append(in, make([]byte, 20)...)
	n, out, p := srv.Advance(in, nil)
	if p != Complete || n != flightEnd || len(out) != 0 {
		t.Fatalf("progress %v consumed %d of %d, out %d, err %v", p, n, flightEnd, len(out), srv.Failure())
	}
	if srv.Session() == nil {
		t.Fatal("no session")
	}
}

// TestEarlyDataSkipped: 0-RTT records that do not decrypt are skipped up to
// the limit (RFC 8446 §4.2.10), not answered with an alert.
func TestEarlyDataSkipped(t *testing.T) {
	withEarlyData := func(h *helloSpec) { h.set(extEarlyData, nil) }
	junk := plainRecord(typeApplicationData, bytes.Repeat([]byte{0x5a}, 1000))

	srv, c := handshakeToFinished(t, testConfig("ecdsa-p256"), withEarlyData)
	in := bytes.Repeat(junk, 5)
	in = append(in, c.protect(typeHandshake, c.finished)...)
	if _, _, p := srv.Advance(in, nil); p != Complete {
		t.Fatalf("with skipped early data: %v %v", p, srv.Failure())
	}

	cfg := testConfig("ecdsa-p256")
	cfg.MaxEarlyData = 3000
	srv, c = handshakeToFinished(t, cfg, withEarlyData)
	expectProtectedAlert(t, srv, c, bytes.Repeat(junk, 4), AlertUnexpectedMessage)

	// Once a record has decrypted, the window is closed.
	srv, c = handshakeToFinished(t, testConfig("ecdsa-p256"), withEarlyData)
	in = append(c.protect(typeHandshake, c.finished[:5]), junk...)
	expectProtectedAlert(t, srv, c, in, AlertBadRecordMAC)

	// Without early_data in the ClientHello, nothing is skipped.
	srv, c = handshakeToFinished(t, testConfig("ecdsa-p256"), nil)
	expectProtectedAlert(t, srv, c, junk, AlertBadRecordMAC)
}
