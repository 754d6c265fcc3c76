package tlsstate

import (
	"crypto/cipher"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"strings"

	"golang.org/x/crypto/chacha20poly1305"
)

// The TLS 1.2 cipher suites this server implements: ephemeral ECDH key
// exchange signed by an ECDSA or RSA certificate, with an AEAD (RFC 5289
// for AES-GCM, RFC 7905 for ChaCha20-Poly1305). There is deliberately no
// CBC, no RSA key transport and no static or finite-field Diffie-Hellman.
const (
	ECDHEECDSAWithAES128GCMSHA256        CipherSuite = 0xc02b
	ECDHEECDSAWithAES256GCMSHA384        CipherSuite = 0xc02c
	ECDHERSAWithAES128GCMSHA256          CipherSuite = 0xc02f
	ECDHERSAWithAES256GCMSHA384          CipherSuite = 0xc030
	ECDHERSAWithChaCha20Poly1305SHA256   CipherSuite = 0xcca8
	ECDHEECDSAWithChaCha20Poly1305SHA256 CipherSuite = 0xcca9
)

// DefaultCipherSuites12 is the TLS 1.2 preference order used when a Config
// names no cipher suites.
var DefaultCipherSuites12 = []CipherSuite{
	ECDHEECDSAWithAES128GCMSHA256, ECDHERSAWithAES128GCMSHA256,
	ECDHEECDSAWithAES256GCMSHA384, ECDHERSAWithAES256GCMSHA384,
	ECDHEECDSAWithChaCha20Poly1305SHA256, ECDHERSAWithChaCha20Poly1305SHA256,
}

// certAuth is the kind of certificate key a TLS 1.2 suite authenticates
// its key exchange with.
type certAuth uint8

const (
	// authECDSA covers ECDSA keys and, by RFC 8422 §5.1, Ed25519.
	authECDSA certAuth = iota + 1
	authRSA
)

// suite12Info is what the TLS 1.2 handshake, PRF and record layer need of a
// suite.
type suite12Info struct {
	id      CipherSuite
	name    string
	auth    certAuth
	newHash func() hash.Hash
	keyLen  int
	// fixedIVLen is the key block's write IV: the 4-byte implicit nonce
	// part for AES-GCM (RFC 5288 §3), the whole 12-byte IV for
	// ChaCha20-Poly1305 (RFC 7905 §2).
	fixedIVLen int
	// explicitNonceLen is the per-record nonce sent on the wire: 8 for
	// AES-GCM, none for ChaCha20-Poly1305.
	explicitNonceLen int
	newAEAD          func(key []byte) (cipher.AEAD, error)
}

var suites12 = []suite12Info{
	{ECDHEECDSAWithAES128GCMSHA256, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", authECDSA, sha256.New, 16, 4, 8, newAESGCM},
	{ECDHERSAWithAES128GCMSHA256, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", authRSA, sha256.New, 16, 4, 8, newAESGCM},
	{ECDHEECDSAWithAES256GCMSHA384, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", authECDSA, sha512.New384, 32, 4, 8, newAESGCM},
	{ECDHERSAWithAES256GCMSHA384, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", authRSA, sha512.New384, 32, 4, 8, newAESGCM},
	{ECDHEECDSAWithChaCha20Poly1305SHA256, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", authECDSA, sha256.New, 32, 12, 0, chacha20poly1305.New},
	{ECDHERSAWithChaCha20Poly1305SHA256, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", authRSA, sha256.New, 32, 12, 0, chacha20poly1305.New},
}

// suite12ByID returns the table entry of a TLS 1.2 suite, or nil.
func suite12ByID(id CipherSuite) *suite12Info {
	for i := range suites12 {
		if suites12[i].id == id {
			return &suites12[i]
		}
	}
	return nil
}

// suite12ByName looks a TLS 1.2 suite up by its IANA name, ignoring case.
func suite12ByName(name string) (CipherSuite, bool) {
	for _, s := range suites12 {
		if strings.EqualFold(s.name, name) {
			return s.id, true
		}
	}
	return 0, false
}
