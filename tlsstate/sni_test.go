package tlsstate

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"strings"
	"sync"
	"testing"

	"lwango/internal/testenv"
	"lwango/internal/testpki"
)

// SNI: several certificates per listener, chosen by the client's server
// name.

var (
	sniCertsOnce sync.Once
	sniCerts     map[string]*Certificate
)

// namedCertificate is a self-signed certificate for names, with the first
// as its common name so that clients can print which one they got.
func namedCertificate(signer crypto.Signer, names ...string) *Certificate {
	der, leaf, err := testpki.Mint(testpki.Spec{Names: names}, signer, nil, nil)
	if err != nil {
		panic(err)
	}
	return &Certificate{Chain: [][]byte{der}, Signer: signer, Leaf: leaf}
}

// namedCerts returns "default" (localhost, ECDSA), "exact" (a.example.com,
// ECDSA), "wildcard" (*.example.com, ECDSA) and "exact-rsa" (a.example.com,
// RSA).
func namedCerts() map[string]*Certificate {
	sniCertsOnce.Do(func() {
		key := func() crypto.Signer {
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			return k
		}
		rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
		sniCerts = map[string]*Certificate{
			"default":   namedCertificate(key(), "localhost"),
			"exact":     namedCertificate(key(), "a.example.com", "www.a.example.com"),
			"wildcard":  namedCertificate(key(), "*.example.com"),
			"exact-rsa": namedCertificate(rsaKey, "a.example.com"),
		}
	})
	return sniCerts
}

func TestMatchServerName(t *testing.T) {
	wildcard := namedCerts()["wildcard"]
	exact := namedCerts()["exact"]
	cases := []struct {
		cert *Certificate
		name string
		want nameMatch
	}{
		{exact, "a.example.com", matchExact},
		{exact, "A.Example.COM", matchExact},
		{exact, "www.a.example.com", matchExact},
		{exact, "b.example.com", matchNone},
		{wildcard, "a.example.com", matchWildcard},
		{wildcard, "B.EXAMPLE.com", matchWildcard},
		{wildcard, "a.b.example.com", matchNone},
		{wildcard, "example.com", matchNone},
		{wildcard, ".example.com", matchNone},
		{wildcard, "aexample.com", matchNone},
		{wildcard, "", matchNone},
	}
	for _, tc := range cases {
		if got := tc.cert.matchServerName(tc.name); got != tc.want {
			t.Errorf("%v for %q: %d, want %d", tc.cert.Leaf.DNSNames, tc.name, got, tc.want)
		}
	}
}

// TestSelectCertificateByName: exact beats wildcard beats the default (the
// first), whatever the configured order; among certificates for one name
// the key type decides, by what the client accepts.
func TestSelectCertificateByName(t *testing.T) {
	c := namedCerts()
	list := []*Certificate{c["default"], c["wildcard"], c["exact-rsa"], c["exact"]}
	ecdsaOnly := []SignatureScheme{ECDSAWithP256AndSHA256}
	both := []SignatureScheme{PSSWithSHA256, ECDSAWithP256AndSHA256}
	cases := []struct {
		name     string
		accepted []SignatureScheme
		want     *Certificate
		scheme   SignatureScheme
	}{
		{"a.example.com", both, c["exact-rsa"], PSSWithSHA256},
		{"a.example.com", ecdsaOnly, c["exact"], ECDSAWithP256AndSHA256},
		{"www.a.example.com", both, c["exact"], ECDSAWithP256AndSHA256},
		{"b.example.com", both, c["wildcard"], ECDSAWithP256AndSHA256},
		{"a.b.example.com", both, c["default"], ECDSAWithP256AndSHA256},
		{"example.com", both, c["default"], ECDSAWithP256AndSHA256},
		{"unknown.test", both, c["default"], ECDSAWithP256AndSHA256},
		{"", both, c["default"], ECDSAWithP256AndSHA256},
		// Only RSA acceptable: the RSA certificate, even for other names.
		{"b.example.com", []SignatureScheme{PSSWithSHA256}, c["exact-rsa"], PSSWithSHA256},
	}
	for _, tc := range cases {
		got, scheme, ok := selectCertificate(list, tc.name, tc.accepted)
		if !ok || got != tc.want || scheme != tc.scheme {
			t.Errorf("%q %v: got %v %v %v, want %v %v", tc.name, tc.accepted, got.Leaf.DNSNames, scheme, ok, tc.want.Leaf.DNSNames, tc.scheme)
		}
	}
}

// TestSNIGoClient: Go's client, TLS 1.3 and TLS 1.2, gets the certificate
// for the name it asks for.
func TestSNIGoClient(t *testing.T) {
	c := namedCerts()
	cfg := &Config{Certificates: []*Certificate{c["default"], c["exact"], c["wildcard"]}}
	cases := map[string]*Certificate{
		"a.example.com":   c["exact"],
		"b.example.com":   c["wildcard"],
		"a.b.example.com": c["default"],
		"unknown.test":    c["default"],
	}
	for _, version := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		for name, want := range cases {
			t.Run(versionName(version)+"/"+name, func(t *testing.T) {
				ccfg := &tls.Config{ServerName: name, InsecureSkipVerify: true, MinVersion: version, MaxVersion: version}
				_, cs, _, _ := handshakeWithGoClient(t, cfg, ccfg)
				if !bytes.Equal(cs.PeerCertificates[0].Raw, want.Chain[0]) {
					t.Errorf("got the certificate for %v, want %v", cs.PeerCertificates[0].DNSNames, want.Leaf.DNSNames)
				}
			})
		}
	}
}

// TestSNIOpenSSL: `openssl s_client -servername` for two names gets two
// different certificates, in TLS 1.3 and TLS 1.2.
func TestSNIOpenSSL(t *testing.T) {
	openssl := testenv.Program(t, "openssl")
	c := namedCerts()
	cfg := &Config{Certificates: []*Certificate{c["default"], c["exact"], c["wildcard"]}}
	for _, version := range []string{"-tls1_3", "-tls1_2"} {
		for name, subject := range map[string]string{
			"a.example.com": "CN = a.example.com",
			"z.example.com": "CN = *.example.com",
			"other.test":    "CN = localhost",
		} {
			t.Run(version+"/"+name, func(t *testing.T) {
				addr, result := serveOne(t, cfg, lineComplete, []byte("pong\n"))
				out := sClientPingPong(t, openssl, "s_client", version, "-connect", addr, "-servername", name)
				if err := <-result; err != nil {
					t.Fatalf("server: %v", err)
				}
				if !strings.Contains(out, "subject="+subject+"\n") {
					t.Errorf("want subject=%s in:\n%s", subject, out)
				}
			})
		}
	}
}
