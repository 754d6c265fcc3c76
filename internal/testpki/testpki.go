// Package testpki mints the certificates the tests use: keys of the kinds
// the server serves, self-signed leaves, a certificate authority and the
// leaves it signs, as DER, PEM or files. One place, so that every test
// file does not write its own x509 template.
package testpki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"time"
)

// Key makes a private key of kind: "ecdsa-p256", "ecdsa-p384", "rsa-2048"
// or "ed25519".
func Key(kind string) (crypto.Signer, error) {
	switch kind {
	case "ecdsa-p256":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ecdsa-p384":
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "rsa-2048":
		return rsa.GenerateKey(rand.Reader, 2048)
	case "ed25519":
		_, key, err := ed25519.GenerateKey(rand.Reader)
		return key, err
	}
	return nil, fmt.Errorf("testpki: no key kind %q", kind)
}

// Spec describes a certificate to mint.
type Spec struct {
	// Names are its DNS names; the first is also its common name. It is
	// valid for 127.0.0.1 too.
	Names []string
	// CA makes a certificate authority (which signs, and serves nothing).
	CA bool
	// Lifetime is how long it stays valid after an hour ago; 0 means a day.
	Lifetime time.Duration
}

// Mint makes the certificate for key, signed by parent with parentKey, or
// self-signed when parent is nil. It returns the DER and the parsed
// certificate.
func Mint(spec Spec, key crypto.Signer, parent *x509.Certificate, parentKey crypto.Signer) ([]byte, *x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return nil, nil, err
	}
	lifetime := spec.Lifetime
	if lifetime == 0 {
		lifetime = 24 * time.Hour
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(lifetime),
	}
	if len(spec.Names) > 0 {
		tmpl.Subject = pkix.Name{CommonName: spec.Names[0]}
	}
	if spec.CA {
		tmpl.KeyUsage = x509.KeyUsageCertSign
		tmpl.BasicConstraintsValid, tmpl.IsCA = true, true
	} else {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.DNSNames = spec.Names
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return der, cert, err
}

// PEM encodes a certificate and its key (PKCS #8).
func PEM(der []byte, key crypto.Signer) (certPEM, keyPEM []byte, err error) {
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), nil
}

// WriteFiles writes a certificate and its key as PEM files, readable by
// their owner only. key may be nil for a certificate alone (keyFile is
// then not written).
func WriteFiles(certFile, keyFile string, der []byte, key crypto.Signer) error {
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return err
	}
	if key == nil {
		return nil
	}
	_, keyPEM, err := PEM(der, key)
	if err != nil {
		return err
	}
	return os.WriteFile(keyFile, keyPEM, 0o600)
}
