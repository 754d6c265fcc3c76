package tlsstate

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"hash"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// seqBytes is bytes lo, lo+1, ..., hi-1.
func seqBytes(lo, hi int) []byte {
	b := make([]byte, 0, hi-lo)
	for i := lo; i < hi; i++ {
		b = append(b, byte(i))
	}
	return b
}

// TestPRF12Vectors checks P_SHA256 and P_SHA384 against the TLS 1.2 PRF
// vectors published on the IETF TLS list
// (https://www.ietf.org/mail-archive/web/tls/current/msg03416.html), which
// `openssl kdf ... TLS1-PRF` reproduces.
func TestPRF12Vectors(t *testing.T) {
	cases := []struct {
		name                 string
		newHash              func() hash.Hash
		secret, seed, output string
	}{
		{"SHA-256", sha256.New, "9bbe436ba940f017b17652849a71db35", "a0ba9f936cda311827a6f796ffd5198c",
			"e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66"},
		{"SHA-384", sha512.New384, "b80b733d6ceefcdc71566ea48e5567df", "cd665cf6a8447dd6ff8b27555edb7465",
			"7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cde9ca0faa60be9fe34f82b1233c9146a0e534cb400fed2700884f9dc236f80edd8bfa961144c9e8d792eca722a7b32fc3d416d473ebc2c5fd4abfdad05d9184259b5bf8cd4d90fa0d31e2dec479e4f1a26066f2eea9a69236a3e52655c9e9aee691c8f3a26854308d5eaa3be85e0990703d73e56f"},
	}
	for _, tc := range cases {
		want := unhex(t, tc.output)
		// Every prefix length, so block boundaries and partial blocks are
		// all exercised: P_hash is a stream.
		for n := 0; n <= len(want); n++ {
			out := make([]byte, n)
			prf12(tc.newHash, unhex(t, tc.secret), "test label", unhex(t, tc.seed), out)
			if !bytes.Equal(out, want[:n]) {
				t.Fatalf("%s, %d bytes: got %x", tc.name, n, out)
			}
		}
	}
}

// The derivation vectors below were computed independently with OpenSSL
// 3.0's TLS1-PRF KDF, with pre_master = 00..1f, client_random = 20..3f,
// server_random = 40..5f, session/transcript hash = 60.. (32 or 48 bytes)
// and master = 80..af, e.g.:
//
//	openssl kdf -keylen 48 -kdfopt digest:SHA256 -kdfopt hexsecret:<pre_master> \
//	  -kdfopt seed:"master secret" -kdfopt hexseed:<client_random><server_random> TLS1-PRF
var (
	testPreMaster    = seqBytes(0x00, 0x20)
	testClientRandom = seqBytes(0x20, 0x40)
	testServerRandom = seqBytes(0x40, 0x60)
	testHash32       = seqBytes(0x60, 0x80)
	testHash48       = seqBytes(0x60, 0x90)
	testMaster       = seqBytes(0x80, 0xb0)
)

func TestMasterSecret12(t *testing.T) {
	cases := []struct {
		suite CipherSuite
		want  string
	}{
		{ECDHEECDSAWithAES128GCMSHA256, "518bc65fd30dabe86349152f98435c94d907b50c92a931c5a2f9e3a4d90f3439f2726c763fb1a40aec90b8bc60173f7c"},
		{ECDHERSAWithAES256GCMSHA384, "909490f0f47aee91bd8a00a8f1371a0f419ed788896cfaed9fb726fe7b9bce56af69b2924aebce67f95f8068856cc870"},
	}
	for _, tc := range cases {
		got := suite12ByID(tc.suite).masterSecret(testPreMaster, testClientRandom, testServerRandom)
		if !bytes.Equal(got, unhex(t, tc.want)) {
			t.Errorf("%v: master secret %x", tc.suite, got)
		}
	}
}

func TestExtendedMasterSecret12(t *testing.T) {
	cases := []struct {
		suite       CipherSuite
		sessionHash []byte
		want        string
	}{
		{ECDHERSAWithChaCha20Poly1305SHA256, testHash32, "8cdbae5b0bf6a6020c5ec3c46534625817ab9100f71ac2cdf7e32146052853dad37661bc893e6220930227e0f7009053"},
		{ECDHEECDSAWithAES256GCMSHA384, testHash48, "ab12c23220ee2af7bb6c8cd12bf0a0c4a41442d97c96cdce1b5be830f22f928862d738856834c8eb0b89d47166b5bef1"},
	}
	for _, tc := range cases {
		got := suite12ByID(tc.suite).extendedMasterSecret(testPreMaster, tc.sessionHash)
		if !bytes.Equal(got, unhex(t, tc.want)) {
			t.Errorf("%v: extended master secret %x", tc.suite, got)
		}
	}
}

// TestKeyBlock12 checks the split of the key block: client key, server key,
// client IV, server IV, with 4-byte IVs for AES-GCM and 12-byte IVs for
// ChaCha20-Poly1305.
func TestKeyBlock12(t *testing.T) {
	cases := []struct {
		suite CipherSuite
		block string // PRF(master, "key expansion", server_random + client_random)
	}{
		{ECDHEECDSAWithAES128GCMSHA256, "716d6465cd59179dcde7a1497ae0cebca2db1cc78f778fdb092510ea92b61569568d30958b11e9b5"},
		{ECDHERSAWithAES256GCMSHA384, "ecb7493e0cb2235d37e6581eb4030cd8894fd681dc64ddf5a6e99954016d3b9df50a7111de79fcf32f45df93147889b5b5b0349f0110d474418313a94176f3af8060e8e3a794d8a2"},
		{ECDHEECDSAWithChaCha20Poly1305SHA256, "716d6465cd59179dcde7a1497ae0cebca2db1cc78f778fdb092510ea92b61569568d30958b11e9b55bdf8bd642420b48364cc713200741f6e5a4653ccfccc50ee32f0a62602ba3d3e10e2cc536aff37e608d8aa44a756370"},
	}
	for _, tc := range cases {
		s := suite12ByID(tc.suite)
		block := unhex(t, tc.block)
		kb := s.keyBlock(testMaster, testClientRandom, testServerRandom)
		k, iv := s.keyLen, s.fixedIVLen
		want := keyBlock12{block[:k], block[k : 2*k], block[2*k : 2*k+iv], block[2*k+iv:]}
		if !bytes.Equal(kb.clientKey, want.clientKey) || !bytes.Equal(kb.serverKey, want.serverKey) ||
			!bytes.Equal(kb.clientIV, want.clientIV) || !bytes.Equal(kb.serverIV, want.serverIV) {
			t.Errorf("%v: key block %x %x %x %x", tc.suite, kb.clientKey, kb.serverKey, kb.clientIV, kb.serverIV)
		}
		if len(kb.serverIV) != map[int]int{8: 4, 0: 12}[s.explicitNonceLen] {
			t.Errorf("%v: IV of %d bytes", tc.suite, len(kb.serverIV))
		}
		parts := [][]byte{kb.clientKey, kb.serverKey, kb.clientIV, kb.serverIV}
		kb.zero()
		for _, p := range parts {
			if kb.clientKey != nil || !bytes.Equal(p, make([]byte, len(p))) {
				t.Errorf("%v: key block not wiped", tc.suite)
			}
		}
	}
}

func TestFinishedVerifyData12(t *testing.T) {
	client := suite12ByID(ECDHERSAWithAES128GCMSHA256).finishedVerifyData(testMaster, clientFinishedLabel, testHash32)
	if want := unhex(t, "7700d435ce9a4d17881bff95"); !bytes.Equal(client, want) {
		t.Errorf("client verify_data %x", client)
	}
	server := suite12ByID(ECDHEECDSAWithAES256GCMSHA384).finishedVerifyData(testMaster, serverFinishedLabel, testHash48)
	if want := unhex(t, "87b5232c79f3f2558b24ca6e"); !bytes.Equal(server, want) {
		t.Errorf("server verify_data %x", server)
	}
}

func BenchmarkKeyBlock12(b *testing.B) {
	s := suite12ByID(ECDHERSAWithAES256GCMSHA384)
	b.ReportAllocs()
	for b.Loop() {
		master := s.extendedMasterSecret(testPreMaster, testHash48)
		kb := s.keyBlock(master, testClientRandom, testServerRandom)
		kb.zero()
	}
}
