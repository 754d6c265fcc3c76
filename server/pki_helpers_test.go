package server

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"lwango/internal/testpki"
)

// testCA is a certificate authority made for one test: clients that trust
// its PEM file (curl --cacert, openssl -CAfile) verify the leaves it signs.
type testCA struct {
	cert *x509.Certificate
	key  crypto.Signer
	file string // the CA certificate's PEM file
	dir  string
}

// newTestCA makes an ECDSA P-256 authority in a temporary directory.
func newTestCA(t testing.TB) *testCA {
	t.Helper()
	key, err := testpki.Key("ecdsa-p256")
	if err != nil {
		t.Fatal(err)
	}
	der, cert, err := testpki.Mint(testpki.Spec{Names: []string{"lwango test CA"}, CA: true}, key, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ca := &testCA{cert: cert, key: key, dir: t.TempDir()}
	ca.file = filepath.Join(ca.dir, "ca.crt")
	writePEM(t, ca.file, "CERTIFICATE", der)
	return ca
}

// leaf issues a certificate for names (the first is also its common name)
// with a key of kind ("ecdsa-p256" or "rsa-2048"), writes the certificate
// and key as PEM files and returns their paths.
func (ca *testCA) leaf(t testing.TB, kind string, names ...string) (certFile, keyFile string) {
	t.Helper()
	key, err := testpki.Key(kind)
	if err != nil {
		t.Fatal(err)
	}
	der, cert, err := testpki.Mint(testpki.Spec{Names: names}, key, ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	certFile = filepath.Join(ca.dir, cert.SerialNumber.String()+".crt")
	keyFile = filepath.Join(ca.dir, cert.SerialNumber.String()+".key")
	if err := testpki.WriteFiles(certFile, keyFile, der, key); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func writePEM(t testing.TB, file, blockType string, der []byte) {
	t.Helper()
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// ticketKeyFile writes a ticket key file of n random 80-byte keys, mode 0600.
func ticketKeyFile(t testing.TB, n int) string {
	t.Helper()
	raw := make([]byte, 80*n)
	rand.Read(raw)
	file := filepath.Join(t.TempDir(), "ticket.key")
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}
