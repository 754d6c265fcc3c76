package tlsstate

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"io"
	"slices"
)

// Signature schemes a TLS 1.2 ServerKeyExchange may use in addition to the
// TLS 1.3 ones (RFC 8446 §4.2.3 code points, which TLS 1.2 reads as
// hash/signature pairs). SHA-1 schemes are never used.
const (
	PKCS1WithSHA256        SignatureScheme = 0x0401
	PKCS1WithSHA384        SignatureScheme = 0x0501
	PKCS1WithSHA512        SignatureScheme = 0x0601
	ECDSAWithP521AndSHA512 SignatureScheme = 0x0603
)

// auth12 is the TLS 1.2 suite family the certificate can serve.
func (c *Certificate) auth12() certAuth {
	switch c.Signer.Public().(type) {
	case *ecdsa.PublicKey, ed25519.PublicKey:
		return authECDSA
	case *rsa.PublicKey:
		return authRSA
	}
	return 0
}

// schemes12 lists what the key can sign a ServerKeyExchange with, best
// first. TLS 1.2 does not tie an ECDSA hash to the key's curve, so the
// matching hash comes first and the others follow; RSA prefers PSS
// (RFC 8446 rsa_pss_rsae_*, usable in TLS 1.2) over PKCS #1 v1.5.
func (c *Certificate) schemes12() []SignatureScheme {
	switch pub := c.Signer.Public().(type) {
	case *ecdsa.PublicKey:
		if pub.Curve == elliptic.P384() {
			return []SignatureScheme{ECDSAWithP384AndSHA384, ECDSAWithP256AndSHA256, ECDSAWithP521AndSHA512}
		}
		return []SignatureScheme{ECDSAWithP256AndSHA256, ECDSAWithP384AndSHA384, ECDSAWithP521AndSHA512}
	case *rsa.PublicKey:
		return []SignatureScheme{PSSWithSHA256, PSSWithSHA384, PSSWithSHA512, PKCS1WithSHA256, PKCS1WithSHA384, PKCS1WithSHA512}
	case ed25519.PublicKey:
		return []SignatureScheme{Ed25519}
	}
	return nil
}

// curveGroup12 is the named group of an ECDSA key's curve, 0 for other
// keys.
func (c *Certificate) curveGroup12() Group {
	if pub, ok := c.Signer.Public().(*ecdsa.PublicKey); ok {
		switch pub.Curve {
		case elliptic.P256():
			return P256
		case elliptic.P384():
			return P384
		}
	}
	return 0
}

// selectCertificate12 is selectCertificate for TLS 1.2, where the
// certificate and the cipher suite are chosen together: the certificate
// for the client's server name first (certificatesByName: exact, wildcard,
// then the default), and with it the first suite in server preference
// order that the client offers and that certificate can serve. The name
// decides before the suite: an RSA certificate named by SNI is served with
// an RSA suite even when an ECDSA suite comes first. The certificate must
// be of the suite's kind, and an ECDSA key's curve must be one the client
// lists in supported_groups (RFC 8422 §5.1), which OpenSSL enforces.
func selectCertificate12(certs []*Certificate, suites []CipherSuite, ch *clientHello) (*Certificate, *suite12Info, SignatureScheme, bool) {
	var chosen *Certificate
	var chosenSuite *suite12Info
	var scheme SignatureScheme
	ok := certificatesByName(certs, ch.serverName, func(c *Certificate) bool {
		if g := c.curveGroup12(); g != 0 && ch.hasSupportedGroups && !ch.offersGroup(g) {
			return false
		}
		for _, id := range suites {
			suite := suite12ByID(id)
			if !ch.offersSuite(uint16(id)) || c.auth12() != suite.auth {
				continue
			}
			for _, s := range c.schemes12() {
				if slices.Contains(ch.signatureAlgorithms, s) {
					chosen, chosenSuite, scheme = c, suite, s
					return true
				}
			}
		}
		return false
	})
	return chosen, chosenSuite, scheme, ok
}

// sign12 signs message (the ServerKeyExchange's client_random ||
// server_random || params) with scheme.
func (c *Certificate) sign12(rand io.Reader, scheme SignatureScheme, message []byte) ([]byte, error) {
	var h crypto.Hash
	pss := false
	switch scheme {
	case Ed25519:
		return c.Signer.Sign(rand, message, crypto.Hash(0))
	case ECDSAWithP256AndSHA256, PKCS1WithSHA256:
		h = crypto.SHA256
	case ECDSAWithP384AndSHA384, PKCS1WithSHA384:
		h = crypto.SHA384
	case ECDSAWithP521AndSHA512, PKCS1WithSHA512:
		h = crypto.SHA512
	case PSSWithSHA256:
		h, pss = crypto.SHA256, true
	case PSSWithSHA384:
		h, pss = crypto.SHA384, true
	case PSSWithSHA512:
		h, pss = crypto.SHA512, true
	default:
		return nil, errors.New("tls: unsupported signature scheme")
	}
	var opts crypto.SignerOpts = h
	if pss {
		opts = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: h}
	}
	return c.Signer.Sign(rand, hashMessage(h, message), opts)
}
