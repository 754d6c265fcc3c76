package tlsstate

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func pemPair(t *testing.T, c *Certificate) (certPEM, keyPEM []byte) {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(c.Signer)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Chain[0]}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func TestLoadCertificate(t *testing.T) {
	for name, c := range certs() {
		certPEM, keyPEM := pemPair(t, c)
		loaded, err := LoadCertificate(certPEM, keyPEM)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(loaded.Chain[0], c.Chain[0]) || len(loaded.schemes()) == 0 {
			t.Errorf("%s: loaded %d schemes", name, len(loaded.schemes()))
		}
	}
}

// TestKeyCertificateMismatch: a key that is not the certificate's is a
// startup error, from files and from a hand-made Certificate alike.
func TestKeyCertificateMismatch(t *testing.T) {
	certPEM, _ := pemPair(t, certs()["ecdsa-p256"])
	_, otherKeyPEM := pemPair(t, certs()["ecdsa-p384"])
	if _, err := LoadCertificate(certPEM, otherKeyPEM); err == nil {
		t.Fatal("mismatched PEM pair accepted")
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, certPEM, 0o600)
	os.WriteFile(keyFile, otherKeyPEM, 0o600)
	if _, err := LoadCertificateFiles(certFile, keyFile); err == nil || !strings.Contains(err.Error(), certFile) {
		t.Fatalf("error does not name the file: %v", err)
	}
	mixed := *certs()["ecdsa-p256"]
	mixed.Signer = certs()["ed25519"].Signer
	if err := (&Config{Certificates: []*Certificate{&mixed}}).Validate(); err == nil {
		t.Fatal("Validate accepted a key that does not match its certificate")
	}
}

func TestUnsupportedKeyRejected(t *testing.T) {
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	if err := makeTestCertificate(p521).check(); err == nil {
		t.Fatal("P-521 key accepted")
	}
	if err := (&Config{}).Validate(); err == nil {
		t.Fatal("config without certificates accepted")
	}
	cfg := testConfig("ecdsa-p256")
	cfg.CipherSuites = []CipherSuite{0x1304} // TLS_AES_128_CCM_SHA256
	if err := cfg.Validate(); err == nil {
		t.Fatal("unsupported suite accepted")
	}
}

func TestSelfSignedCertificate(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	c, err := SelfSignedCertificate(rand.Reader, now, "example.test")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.check(); err != nil {
		t.Fatal(err)
	}
	if c.Leaf.VerifyHostname("localhost") != nil || c.Leaf.VerifyHostname("127.0.0.1") != nil || c.Leaf.VerifyHostname("example.test") != nil {
		t.Error("names missing")
	}
	if !c.Leaf.NotBefore.Before(now) || !c.Leaf.NotAfter.After(now) {
		t.Error("not valid at the injected time")
	}
	if k, ok := c.Signer.Public().(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
		t.Error("not ECDSA P-256")
	}
}

// TestCertificateSelection: SNI picks the certificate valid for the name;
// otherwise the first one whose key the client can verify.
func TestCertificateSelection(t *testing.T) {
	other, _ := SelfSignedCertificate(rand.Reader, time.Now(), "other.test")
	ed := certs()["ed25519"]
	list := []*Certificate{ed, other}
	if c, s, ok := selectCertificate(list, "other.test", []SignatureScheme{Ed25519, ECDSAWithP256AndSHA256}); !ok || c != other || s != ECDSAWithP256AndSHA256 {
		t.Error("SNI did not choose other.test")
	}
	if c, _, ok := selectCertificate(list, "unknown.test", []SignatureScheme{Ed25519, ECDSAWithP256AndSHA256}); !ok || c != ed {
		t.Error("fallback is not the first certificate")
	}
	if c, _, ok := selectCertificate(list, "", []SignatureScheme{ECDSAWithP256AndSHA256}); !ok || c != other {
		t.Error("signature scheme not honoured")
	}
	rsaCert := certs()["rsa-2048"]
	if _, s, ok := selectCertificate([]*Certificate{rsaCert}, "", []SignatureScheme{0x0401, PSSWithSHA384}); !ok || s != PSSWithSHA384 {
		t.Error("RSA must sign with PSS")
	}
	if _, _, ok := selectCertificate([]*Certificate{rsaCert}, "", []SignatureScheme{0x0401, 0x0501}); ok {
		t.Error("RSA PKCS#1 v1.5 accepted in TLS 1.3")
	}
}

func TestNames(t *testing.T) {
	for _, name := range []string{"TLS_AES_128_GCM_SHA256", "tls_aes_256_gcm_sha384", "TLS_CHACHA20_POLY1305_SHA256"} {
		if s, ok := CipherSuiteByName(name); !ok || !strings.EqualFold(s.String(), name) {
			t.Errorf("%s → %v", name, s)
		}
	}
	for _, name := range []string{"X25519MLKEM768", "x25519", "secp256r1", "SECP384R1"} {
		if g, ok := GroupByName(name); !ok || !strings.EqualFold(g.String(), name) {
			t.Errorf("%s → %v", name, g)
		}
	}
	if _, ok := GroupByName("ffdhe2048"); ok {
		t.Error("unknown group accepted")
	}
}

// TestSecretsZeroed: the handshake keeps no secret once it hands the
// Session over, and Session.Zero wipes the very bytes it exposed.
func TestSecretsZeroed(t *testing.T) {
	cfg := testConfig("ecdsa-p384")
	var kl keyLog
	sess, cs, _, _ := handshakeWithGoClient(t, cfg, clientConfig(cfg.Certificates[0], &kl))
	if cs.Version != tls.VersionTLS13 {
		t.Fatal("not TLS 1.3")
	}
	exposed := [][]byte{sess.RX.Secret, sess.RX.Key, sess.RX.IV, sess.TX.Secret, sess.TX.Key, sess.TX.IV}
	if sess.txCipher == nil {
		t.Fatal("the Session does not carry the handshake's TX cipher")
	}
	txAEAD := objectBytes(sess.txCipher.aead)
	sess.Zero()
	exposed = append(exposed, txAEAD)
	for i, b := range exposed {
		if !bytes.Equal(b, make([]byte, len(b))) || len(b) == 0 {
			t.Errorf("secret %d not wiped: %x", i, b)
		}
	}

	srv, c := handshakeToFinished(t, testConfig("ecdsa-p256"), nil)
	h := srv.hs.(*handshake13)
	secrets := [][]byte{h.expectedFinished, h.clientAppSecret, h.serverApp.Secret, h.serverApp.Key}
	tx := h.tx
	srv.Advance(c.protect(typeHandshake, c.finished), nil)
	sess = srv.Session()
	if srv.hs != nil || h.expectedFinished != nil || h.transcript != nil || h.rx != nil || h.tx != nil || h.serverApp.Secret != nil {
		t.Error("server still holds handshake state after Complete")
	}
	if !bytes.Equal(secrets[0], make([]byte, len(secrets[0]))) {
		t.Error("expected Finished not wiped")
	}
	if !bytes.Equal(secrets[1], sess.RX.Secret) || !bytes.Equal(secrets[2], sess.TX.Secret) || !bytes.Equal(secrets[3], sess.TX.Key) {
		t.Error("application secrets were copied instead of handed over")
	}
	if sess.txCipher != tx {
		t.Error("the TX cipher that sealed after the server's Finished was not handed over")
	}
	// The channel takes it over: the Session no longer holds it.
	ch, err := NewChannel(sess, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sess.txCipher != nil || ch.tx != tx {
		t.Error("NewChannel built a second TX cipher instead of taking the handshake's")
	}
	ch.Zero()
}
