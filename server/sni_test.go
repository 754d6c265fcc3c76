package server

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"lwango/internal/testenv"
)

// sniServer runs a server with two certificates from one CA: the default
// for a.example.test (ECDSA) and one for *.b.example.test (RSA).
func sniServer(t *testing.T) (*tlsServer, *testCA) {
	ca := newTestCA(t)
	aCert, aKey := ca.leaf(t, "ecdsa-p256", "a.example.test")
	bCert, bKey := ca.leaf(t, "rsa-2048", "*.b.example.test")
	lines := fmt.Sprintf("[[tls_listener.cert]]\ncert = %q\nkey = %q\n[[tls_listener.cert]]\ncert = %q\nkey = %q\n", aCert, aKey, bCert, bKey)
	return startTLS(t, lines, Options{}), ca
}

var subjectCN = regexp.MustCompile(`(?m)^subject=.*CN ?= ?(\S+)`)

// openssl s_client -servername gets the certificate for each name: exact,
// wildcard, and the default for a name no certificate has; each verifies
// against the CA.
func TestSNIOpenSSL(t *testing.T) {
	s, ca := sniServer(t)
	for _, tc := range []struct{ name, wantCN string }{
		{"a.example.test", "a.example.test"},
		{"www.b.example.test", "*.b.example.test"},
		{"unknown.example.test", "a.example.test"},
		{"deep.www.b.example.test", "a.example.test"}, // a wildcard matches one label only
	} {
		for _, flag := range []string{"-tls1_3", "-tls1_2"} {
			t.Run(tc.name+flag, func(t *testing.T) {
				out := runClient(t, helloRequest, "openssl", "s_client", "-connect", s.tlsAddr, flag, "-ign_eof",
					"-servername", tc.name, "-CAfile", ca.file)
				checkHello(t, out)
				m := subjectCN.FindStringSubmatch(out)
				if m == nil || m[1] != tc.wantCN {
					t.Fatalf("certificate subject %q, want CN %s:\n%s", m, tc.wantCN, out)
				}
				if !strings.Contains(out, "Verify return code: 0 (ok)") {
					t.Fatalf("the chain does not verify against the CA:\n%s", out)
				}
			})
		}
	}
}

// curl, resolving both names to the server and trusting only the CA,
// checks each certificate against the name it asked for.
func TestSNICurl(t *testing.T) {
	s, ca := sniServer(t)
	_, port, _ := net.SplitHostPort(s.tlsAddr)
	for _, name := range []string{"a.example.test", "www.b.example.test"} {
		t.Run(name, func(t *testing.T) {
			url := fmt.Sprintf("https://%s:%s/hello", name, port)
			out := runClient(t, "", "curl", "-sS", "-v", "--resolve", name+":"+port+":127.0.0.1", "--cacert", ca.file, url)
			if !strings.HasSuffix(out, "Hello, World!") || !strings.Contains(out, "SSL certificate verify ok") {
				t.Fatalf("curl %s:\n%s", url, out)
			}
		})
	}
	// The default certificate does not name c.example.test: curl refuses it.
	name := "c.example.test"
	cmd := []string{"-sS", "--resolve", name + ":" + port + ":127.0.0.1", "--cacert", ca.file, "https://" + name + ":" + port + "/hello"}
	if out, err := runClientErr(t, "curl", cmd...); err == nil || !strings.Contains(out, "no alternative certificate subject name matches") {
		t.Fatalf("curl accepted the default certificate for %s: %v\n%s", name, err, out)
	}
}

// runClientErr runs a client program that is expected to fail and returns
// its output and error.
func runClientErr(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, testenv.Program(t, name), args...).CombinedOutput()
	return string(out), err
}
