package tlsstate

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"strings"
	"time"
)

// SignatureScheme is a TLS signature scheme number as on the wire.
type SignatureScheme uint16

// The signature schemes a server certificate may sign with in TLS 1.3
// (RFC 8446 §4.2.3). RSA signs with PSS only.
const (
	ECDSAWithP256AndSHA256 SignatureScheme = 0x0403
	ECDSAWithP384AndSHA384 SignatureScheme = 0x0503
	PSSWithSHA256          SignatureScheme = 0x0804
	PSSWithSHA384          SignatureScheme = 0x0805
	PSSWithSHA512          SignatureScheme = 0x0806
	Ed25519                SignatureScheme = 0x0807
)

// Certificate is a server certificate chain with the key that signs for it.
type Certificate struct {
	// Chain is the DER chain, leaf first, as sent in the Certificate message.
	Chain [][]byte
	// Signer is the leaf's private key.
	Signer crypto.Signer
	// Leaf is the parsed leaf certificate.
	Leaf *x509.Certificate
}

// LoadCertificate parses a PEM certificate chain and its PEM private key with
// tls.X509KeyPair, which also fails when the key does not match the leaf. The
// key must be ECDSA P-256 or P-384, RSA of at least 2048 bits, or Ed25519.
func LoadCertificate(certPEM, keyPEM []byte) (*Certificate, error) {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	signer, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, errors.New("tls: private key cannot sign")
	}
	c := &Certificate{Chain: pair.Certificate, Signer: signer, Leaf: pair.Leaf}
	if err := c.check(); err != nil {
		return nil, err
	}
	return c, nil
}

// LoadCertificateFiles is LoadCertificate on two PEM files; errors name the
// file at fault.
func LoadCertificateFiles(certFile, keyFile string) (*Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, err
	}
	c, err := LoadCertificate(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s, %s: %w", certFile, keyFile, err)
	}
	return c, nil
}

// SelfSignedCertificate makes an in-memory ECDSA P-256 certificate for
// "localhost", 127.0.0.1 and ::1 (plus any extra hosts), valid from an hour
// before now for 30 days. It is what the server uses when no certificate is
// configured.
func SelfSignedCertificate(rand io.Reader, now time.Time, hosts ...string) (*Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand)
	if err != nil {
		return nil, err
	}
	serial := make([]byte, 16)
	if _, err := io.ReadFull(rand, serial); err != nil {
		return nil, err
	}
	template := &x509.Certificate{
		SerialNumber:          new(big.Int).SetBytes(serial),
		Subject:               pkix.Name{CommonName: "localhost", Organization: []string{"lwango self-signed"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(30 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			template.IPAddresses = append(template.IPAddresses, ip)
		} else {
			template.DNSNames = append(template.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand, template, template, key.Public(), key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &Certificate{Chain: [][]byte{der}, Signer: key, Leaf: leaf}, nil
}

// check verifies that the key matches the leaf and is of a supported kind.
func (c *Certificate) check() error {
	if len(c.Chain) == 0 || c.Leaf == nil || c.Signer == nil {
		return errors.New("tls: certificate without chain, leaf or key")
	}
	pub, ok := c.Signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(c.Leaf.PublicKey) {
		return errors.New("tls: private key does not match the certificate")
	}
	if len(c.schemes()) == 0 {
		return errors.New("tls: unsupported key type (want ECDSA P-256/P-384, RSA >= 2048 bits or Ed25519)")
	}
	return nil
}

// schemes lists what the key can sign with in TLS 1.3, best first.
func (c *Certificate) schemes() []SignatureScheme {
	switch pub := c.Signer.Public().(type) {
	case *ecdsa.PublicKey:
		switch pub.Curve {
		case elliptic.P256():
			return []SignatureScheme{ECDSAWithP256AndSHA256}
		case elliptic.P384():
			return []SignatureScheme{ECDSAWithP384AndSHA384}
		}
	case *rsa.PublicKey:
		if pub.N.BitLen() >= 2048 {
			return []SignatureScheme{PSSWithSHA256, PSSWithSHA384, PSSWithSHA512}
		}
	case ed25519.PublicKey:
		return []SignatureScheme{Ed25519}
	}
	return nil
}

// selectCertificate picks the certificate for the client's server name
// (see certificatesByName) that can sign with a scheme the client accepts,
// and that scheme: the certificate's key type decides. It returns ok ==
// false (handshake_failure) when none can.
func selectCertificate(certs []*Certificate, serverName string, accepted []SignatureScheme) (*Certificate, SignatureScheme, bool) {
	var chosen *Certificate
	var scheme SignatureScheme
	ok := certificatesByName(certs, serverName, func(c *Certificate) bool {
		for _, s := range c.schemes() {
			for _, a := range accepted {
				if s == a {
					chosen, scheme = c, s
					return true
				}
			}
		}
		return false
	})
	return chosen, scheme, ok
}

// nameMatch is how well a certificate's DNS names match a server name.
type nameMatch uint8

const (
	matchNone nameMatch = iota
	matchWildcard
	matchExact
)

// matchServerName compares the leaf's DNS names with the client's server
// name, ignoring case: an equal name is an exact match; "*.example.com" is
// a wildcard match for one more label and only one ("a.example.com", not
// "a.b.example.com" nor "example.com"), as RFC 6125 §6.4.3 allows.
func (c *Certificate) matchServerName(serverName string) nameMatch {
	if serverName == "" {
		return matchNone
	}
	best := matchNone
	for _, dnsName := range c.Leaf.DNSNames {
		if strings.EqualFold(dnsName, serverName) {
			return matchExact
		}
		if suffix, ok := strings.CutPrefix(dnsName, "*."); ok {
			if dot := strings.IndexByte(serverName, '.'); dot > 0 && strings.EqualFold(serverName[dot+1:], suffix) {
				best = matchWildcard
			}
		}
	}
	return best
}

// certificatesByName offers the certificates to try in the order SNI
// prefers them: those whose names match the client's server name exactly,
// then those that match it with a wildcard, then every certificate in the
// configured order, so that an unknown name (or none) gets the first one,
// the default. It stops at, and reports, the first that try accepts.
func certificatesByName(certs []*Certificate, serverName string, try func(*Certificate) bool) bool {
	for _, want := range []nameMatch{matchExact, matchWildcard} {
		for _, c := range certs {
			if c.matchServerName(serverName) == want && try(c) {
				return true
			}
		}
	}
	for _, c := range certs {
		if try(c) {
			return true
		}
	}
	return false
}

// sign signs message with scheme.
func (c *Certificate) sign(rand io.Reader, scheme SignatureScheme, message []byte) ([]byte, error) {
	var h crypto.Hash
	switch scheme {
	case ECDSAWithP256AndSHA256, PSSWithSHA256:
		h = crypto.SHA256
	case ECDSAWithP384AndSHA384, PSSWithSHA384:
		h = crypto.SHA384
	case PSSWithSHA512:
		h = crypto.SHA512
	case Ed25519:
		return c.Signer.Sign(rand, message, crypto.Hash(0))
	default:
		return nil, errors.New("tls: unsupported signature scheme")
	}
	digest := hashMessage(h, message)
	var opts crypto.SignerOpts = h
	if scheme == PSSWithSHA256 || scheme == PSSWithSHA384 || scheme == PSSWithSHA512 {
		opts = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: h}
	}
	return c.Signer.Sign(rand, digest, opts)
}

func hashMessage(h crypto.Hash, message []byte) []byte {
	switch h {
	case crypto.SHA256:
		d := sha256.Sum256(message)
		return d[:]
	case crypto.SHA384:
		d := sha512.Sum384(message)
		return d[:]
	default:
		d := sha512.Sum512(message)
		return d[:]
	}
}
