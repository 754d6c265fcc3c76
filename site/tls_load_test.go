package site

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"lwango/internal/testpki"
)

// writeCertPair writes a self-signed ECDSA certificate for name and its key
// as PEM files in dir and returns their paths.
func writeCertPair(t *testing.T, dir, name string) (certFile, keyFile string) {
	t.Helper()
	key, err := testpki.Key("ecdsa-p256")
	if err != nil {
		t.Fatal(err)
	}
	der, _, err := testpki.Mint(testpki.Spec{Names: []string{name}}, key, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
	if err := testpki.WriteFiles(certFile, keyFile, der, key); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestParseCertificateTables(t *testing.T) {
	cfg, err := Parse("c.conf", []byte(`[tls_listener]
address = "*:8443"
session_tickets = 0

[[tls_listener.cert]]
cert = "a.pem"
key = "a.key"

[[tls_listener.cert]]
cert = "b.pem"
key = "b.key"
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []CertFiles{
		{Cert: "a.pem", Key: "a.key", ConfigKey: "tls_listener.cert[0]", Line: 5},
		{Cert: "b.pem", Key: "b.key", ConfigKey: "tls_listener.cert[1]", Line: 9},
	}
	if !reflect.DeepEqual(cfg.TLS.Certs, want) || cfg.TLS.Cert != "a.pem" || cfg.TLS.Key != "a.key" || cfg.TLS.SessionTickets != 0 {
		t.Errorf("got %+v", cfg.TLS)
	}
	cfg, err = Parse("c.conf", []byte("[tls_listener]\naddress = \"*:1\"\ncert = [{ cert = \"x.pem\", key = \"x.key\" }]\n"))
	if err != nil || len(cfg.TLS.Certs) != 1 || cfg.TLS.Certs[0].Line != 3 || cfg.TLS.SessionTickets != 2 {
		t.Errorf("inline table: %v %+v", err, cfg)
	}
}

func TestParseTLSResumptionErrors(t *testing.T) {
	head := "[tls_listener]\naddress = \"*:1\"\n"
	cases := []struct{ conf, want string }{
		{head + "[[tls_listener.cert]]\ncert = \"a.pem\"\n", "c.conf:3: tls_listener.cert[0].key: missing; the private key's PEM file"},
		{head + "[[tls_listener.cert]]\nkey = \"a.key\"\n", "c.conf:3: tls_listener.cert[0].cert: missing; the certificate chain's PEM file"},
		{head + "[[tls_listener.cert]]\ncert = \"a\"\nkey = \"b\"\n[[tls_listener.cert]]\ncert = \"c\"\nkey = \"d\"\nchain = \"e\"\n", "c.conf:9: tls_listener.cert[1].chain: unknown key (a certificate has cert and key)"},
		{head + "[[tls_listener.cert]]\ncert = \"a\"\nkey = 3\n", "c.conf:5: tls_listener.cert[0].key: wrong type: want a string, the name of a PEM file"},
		{head + "key = \"k\"\n[[tls_listener.cert]]\ncert = \"a\"\nkey = \"b\"\n", "c.conf:3: tls_listener.key: a key belongs in each [[tls_listener.cert]] table beside its cert"},
		{head + "cert = 5\n", "c.conf:3: tls_listener.cert: must be a PEM file name (with key beside it) or [[tls_listener.cert]] tables of cert and key"},
		{head + "cert = []\n", "c.conf:3: tls_listener.cert: empty list; leave it out for a self-signed certificate"},
		{head + "session_tickets = 17\n", "c.conf:3: tls_listener.session_tickets: must be 0 (no session resumption) to 16, got 17"},
		{head + "session_tickets = -1\n", "c.conf:3: tls_listener.session_tickets: must be 0 (no session resumption) to 16, got -1"},
		{head + "session_tickets = 0\nticket_key_file = \"t.key\"\n", "c.conf:4: tls_listener.ticket_key_file: set, but session_tickets = 0 disables session tickets; remove one of them"},
	}
	for _, tc := range cases {
		_, err := Parse("c.conf", []byte(tc.conf))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%q:\n got %v\nwant %s", tc.conf, err, tc.want)
		}
	}
}

// TestLoadTicketKeys: a good key file loads; a short one, or one others
// may read, is an error naming the configuration file, the line and key,
// and the key file.
func TestLoadTicketKeys(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, size int, mode os.FileMode) string {
		path := filepath.Join(dir, name)
		b := make([]byte, size)
		rand.Read(b)
		os.WriteFile(path, b, mode)
		os.Chmod(path, mode)
		return path
	}
	load := func(keyFile string) error {
		cfg, err := Parse("c.conf", []byte("[tls_listener]\naddress = \"*:1\"\n\nticket_key_file = \""+keyFile+"\"\n"))
		if err != nil {
			t.Fatal(err)
		}
		keys, err := cfg.LoadTicketKeys()
		if (keys == nil) == (err == nil) {
			t.Fatalf("keys %v with error %v", keys, err)
		}
		return err
	}
	if err := load(write("good.key", 160, 0o600)); err != nil {
		t.Fatal(err)
	}
	short := write("short.key", 48, 0o600)
	if err := load(short); err == nil || !strings.HasPrefix(err.Error(), "c.conf:4: tls_listener.ticket_key_file: ticket key file "+short+": 48 bytes is not a multiple of 80") {
		t.Errorf("short file: %v", err)
	}
	open := write("open.key", 80, 0o644)
	if err := load(open); err == nil || !strings.HasPrefix(err.Error(), "c.conf:4: tls_listener.ticket_key_file: ticket key file "+open+": mode 0644") {
		t.Errorf("world-readable file: %v", err)
	}
	missing := filepath.Join(dir, "missing.key")
	if err := load(missing); err == nil || !strings.Contains(err.Error(), "c.conf:4: tls_listener.ticket_key_file: ") || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: %v", err)
	}
	cfg, _ := Parse("c.conf", []byte("[tls_listener]\naddress = \"*:1\"\n"))
	if keys, err := cfg.LoadTicketKeys(); keys != nil || err != nil {
		t.Errorf("no key file: %v %v", keys, err)
	}
}

// TestLoadCertificates: every certificate loads, the default first; a
// broken pair names the table it comes from, and flags that replace the
// default name themselves.
func TestLoadCertificates(t *testing.T) {
	dir := t.TempDir()
	aCert, aKey := writeCertPair(t, dir, "a.example.com")
	bCert, bKey := writeCertPair(t, dir, "b.example.com")
	conf := "[tls_listener]\naddress = \"*:1\"\n[[tls_listener.cert]]\ncert = \"" + aCert + "\"\nkey = \"" + aKey +
		"\"\n[[tls_listener.cert]]\ncert = \"" + bCert + "\"\nkey = \"%s\"\n"
	cfg, err := Parse("c.conf", []byte(strings.Replace(conf, "%s", bKey, 1)))
	if err != nil {
		t.Fatal(err)
	}
	certs, err := cfg.LoadCertificates()
	if err != nil || len(certs) != 2 || certs[0].Leaf.DNSNames[0] != "a.example.com" || certs[1].Leaf.DNSNames[0] != "b.example.com" {
		t.Fatalf("%v %v", certs, err)
	}
	cfg, _ = Parse("c.conf", []byte(strings.Replace(conf, "%s", aKey, 1))) // b's certificate with a's key
	if _, err := cfg.LoadCertificates(); err == nil || !strings.HasPrefix(err.Error(), "c.conf:6: tls_listener.cert[1]: "+bCert+", "+aKey+": ") {
		t.Errorf("mismatched pair: %v", err)
	}
	if err := cfg.Apply(Overrides{Cert: bCert, Key: aKey}); err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.LoadCertificates(); err == nil || !strings.HasPrefix(err.Error(), "command line: -P/-K: ") {
		t.Errorf("flags: %v", err)
	}
}
