package tlsstate

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"testing"
)

// retryServer sends a HelloRetryRequest for P-256 to a ClientHello that
// only has an x25519 share, and returns the second ClientHello to edit.
func retryServer(t *testing.T, first func(*helloSpec)) (*Server, *helloSpec, *ecdh.PrivateKey) {
	t.Helper()
	cfg := testConfig("ecdsa-p256")
	cfg.Groups = []Group{P256}
	c, h := newTestClient(t)
	if first != nil {
		first(h)
	}
	srv := NewServer(cfg)
	_, out, p := srv.Advance(c.helloRecord(h), nil)
	if p != NeedInput {
		t.Fatalf("first ClientHello: %v %v", p, srv.Failure())
	}
	rec, n, _ := nextRecord(out, maxCiphertext13)
	if rec.typ != typeHandshake || rec.payload[0] != msgServerHello || !bytes.Equal(rec.payload[6:38], helloRetryRequestRandom[:]) {
		t.Fatalf("not a HelloRetryRequest: %x", out)
	}
	if !bytes.Equal(out[n:], changeCipherSpecRecord) {
		t.Fatalf("HelloRetryRequest not followed by exactly one CCS: %x", out[n:])
	}
	p256, _ := ecdh.P256().GenerateKey(rand.Reader)
	second := *h
	second.exts = append([]extension(nil), h.exts...)
	second.remove(extEarlyData)
	second.set(extKeyShare, keyShareBody(keyShare{P256, p256.PublicKey().Bytes()}))
	return srv, &second, p256
}

func TestHelloRetryRequestSecondHello(t *testing.T) {
	t.Run("conforming, with CCS, cookie and padding", func(t *testing.T) {
		srv, h, _ := retryServer(t, nil)
		h.set(extPadding, make([]byte, 100))
		in := append(plainRecord(typeChangeCipherSpec, []byte{1}), plainRecord(typeHandshake, h.marshal())...)
		_, out, p := srv.Advance(in, nil)
		if p != NeedInput || !bytes.HasPrefix(out, []byte{22, 3, 3}) || bytes.Contains(out[:200], changeCipherSpecRecord) {
			t.Fatalf("%v %v: want ServerHello without a second CCS", p, srv.Failure())
		}
	})
	t.Run("early data skipped until the second ClientHello", func(t *testing.T) {
		srv, h, _ := retryServer(t, func(h *helloSpec) { h.set(extEarlyData, nil) })
		in := plainRecord(typeApplicationData, make([]byte, 500))
		in = append(in, plainRecord(typeHandshake, h.marshal())...)
		if _, _, p := srv.Advance(in, nil); p != NeedInput {
			t.Fatalf("%v %v", p, srv.Failure())
		}
	})
	cases := []struct {
		name string
		edit func(h *helloSpec, p256 *ecdh.PrivateKey) []byte
		want Alert
	}{
		{"different random", func(h *helloSpec, _ *ecdh.PrivateKey) []byte {
			h.random = bytes.Repeat([]byte{1}, 32)
			return plainRecord(typeHandshake, h.marshal())
		}, AlertIllegalParameter},
		{"different cipher suites", func(h *helloSpec, _ *ecdh.PrivateKey) []byte {
			h.suites = []uint16{0x1301}
			return plainRecord(typeHandshake, h.marshal())
		}, AlertIllegalParameter},
		{"different ALPN", func(h *helloSpec, _ *ecdh.PrivateKey) []byte {
			h.set(extALPN, lengthPrefixed(2, append(lengthPrefixed(1, []byte("http/1.1")), lengthPrefixed(1, []byte("h2"))...)))
			return plainRecord(typeHandshake, h.marshal())
		}, AlertIllegalParameter},
		{"extension dropped", func(h *helloSpec, _ *ecdh.PrivateKey) []byte {
			h.remove(extServerName)
			return plainRecord(typeHandshake, h.marshal())
		}, AlertIllegalParameter},
		{"two key shares", func(h *helloSpec, p256 *ecdh.PrivateKey) []byte {
			x, _ := ecdh.X25519().GenerateKey(rand.Reader)
			h.set(extKeyShare, keyShareBody(keyShare{P256, p256.PublicKey().Bytes()}, keyShare{X25519, x.PublicKey().Bytes()}))
			return plainRecord(typeHandshake, h.marshal())
		}, AlertIllegalParameter},
		{"share for another group", func(h *helloSpec, _ *ecdh.PrivateKey) []byte {
			x, _ := ecdh.X25519().GenerateKey(rand.Reader)
			h.set(extKeyShare, keyShareBody(keyShare{X25519, x.PublicKey().Bytes()}))
			return plainRecord(typeHandshake, h.marshal())
		}, AlertIllegalParameter},
		{"early_data in the second ClientHello", func(h *helloSpec, _ *ecdh.PrivateKey) []byte {
			h.set(extEarlyData, nil)
			return plainRecord(typeHandshake, h.marshal())
		}, AlertIllegalParameter},
		{"Finished instead of ClientHello", func(h *helloSpec, _ *ecdh.PrivateKey) []byte {
			return plainRecord(typeHandshake, finishedMessage(make([]byte, 32)))
		}, AlertUnexpectedMessage},
		{"two CCS", func(h *helloSpec, _ *ecdh.PrivateKey) []byte {
			ccs := plainRecord(typeChangeCipherSpec, []byte{1})
			return append(append(ccs, ccs...), plainRecord(typeHandshake, h.marshal())...)
		}, AlertUnexpectedMessage},
		{"application data without early_data", func(h *helloSpec, _ *ecdh.PrivateKey) []byte {
			return plainRecord(typeApplicationData, make([]byte, 40))
		}, AlertUnexpectedMessage},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, h, p256 := retryServer(t, nil)
			_, out, p := srv.Advance(tc.edit(h, p256), nil)
			if p != Failed || !bytes.Equal(out, alertRecord(tc.want)) {
				t.Fatalf("%v %x, want %v (err %v)", p, out, tc.want, srv.Failure())
			}
			assertDead(t, srv)
		})
	}
}
