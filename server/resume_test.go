package server

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// versions are the protocol versions resumption is tested with.
var versions = []struct {
	name    string
	version uint16
	flag    string // openssl s_client's flag
}{{"TLS1.2", tls.VersionTLS12, "-tls1_2"}, {"TLS1.3", tls.VersionTLS13, "-tls1_3"}}

// resumeKinds are the certificate key types resumption is tested with.
var resumeKinds = []string{"ecdsa-p256", "rsa-2048"}

// getHello runs one connection with cfg: a handshake, GET /hello answered
// correctly, and reports whether the session was resumed.
func getHello(t *testing.T, addr string, cfg *tls.Config) bool {
	t.Helper()
	c := tlsDial(t, addr, cfg)
	resp, body := get(t, c, bufio.NewReader(c), "/hello")
	if resp.StatusCode != 200 || string(body) != "Hello, World!" {
		t.Fatalf("GET /hello: %d %q", resp.StatusCode, body)
	}
	// TLS 1.3 tickets arrive after the handshake: reading the response
	// has read them into the cache.
	resumed := c.ConnectionState().DidResume
	c.Close()
	return resumed
}

// Go's client with a session cache resumes on its second connection, in
// TLS 1.2 and TLS 1.3, with ECDSA and RSA certificates, and the resumed
// connection serves its request; session_tickets = 0 turns resumption off.
func TestGoClientResumes(t *testing.T) {
	for _, kind := range resumeKinds {
		s := startTLS(t, certLines(t, kind), Options{})
		for _, v := range versions {
			t.Run(kind+"/"+v.name, func(t *testing.T) {
				cfg := &tls.Config{MinVersion: v.version, MaxVersion: v.version, ClientSessionCache: tls.NewLRUClientSessionCache(8)}
				if getHello(t, s.tlsAddr, cfg) {
					t.Fatal("the first connection resumed")
				}
				for i := range 3 {
					if !getHello(t, s.tlsAddr, cfg) {
						t.Fatalf("connection %d did not resume", i+2)
					}
				}
			})
		}
	}
	t.Run("session_tickets=0", func(t *testing.T) {
		s := startTLS(t, certLines(t, "ecdsa-p256")+"session_tickets = 0\n", Options{})
		for _, v := range versions {
			cfg := &tls.Config{MinVersion: v.version, MaxVersion: v.version, ClientSessionCache: tls.NewLRUClientSessionCache(8)}
			getHello(t, s.tlsAddr, cfg)
			if getHello(t, s.tlsAddr, cfg) {
				t.Fatalf("%s resumed with session_tickets = 0", v.name)
			}
		}
	})
}

// openssl s_client saves its session with -sess_out and reports it
// "Reused" with -sess_in, in TLS 1.2 and TLS 1.3, with ECDSA and RSA
// certificates; the resumed connection serves the request.
func TestOpenSSLResumes(t *testing.T) {
	for _, kind := range resumeKinds {
		s := startTLS(t, certLines(t, kind), Options{})
		for _, v := range versions {
			t.Run(kind+"/"+v.name, func(t *testing.T) {
				sess := filepath.Join(t.TempDir(), "session.pem")
				first := runClient(t, helloRequest, "openssl", "s_client", "-connect", s.tlsAddr, v.flag, "-ign_eof", "-sess_out", sess)
				checkHello(t, first, "New, ")
				second := runClient(t, helloRequest, "openssl", "s_client", "-connect", s.tlsAddr, v.flag, "-ign_eof", "-sess_in", sess)
				checkHello(t, second, "Reused, ")
				if kind == "rsa-2048" && v.version == tls.VersionTLS12 && !strings.Contains(second, "ECDHE-RSA-") {
					t.Fatalf("resumed TLS 1.2 cipher is not the RSA suite:\n%s", second)
				}
			})
		}
	}
}

// Two servers sharing one ticket_key_file resume each other's sessions;
// with different key files they do not (a full handshake follows).
func TestSharedTicketKeyFile(t *testing.T) {
	shared := ticketKeyFile(t, 2)
	lines := certLines(t, "ecdsa-p256")
	a := startTLS(t, lines+fmt.Sprintf("ticket_key_file = %q\n", shared), Options{})
	b := startTLS(t, lines+fmt.Sprintf("ticket_key_file = %q\n", shared), Options{})
	c := startTLS(t, lines+fmt.Sprintf("ticket_key_file = %q\n", ticketKeyFile(t, 1)), Options{})
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			cache := tls.NewLRUClientSessionCache(8)
			cfg := func() *tls.Config {
				// One cache for every address: crypto/tls keys sessions by
				// server name, which is the same for all three.
				return &tls.Config{MinVersion: v.version, MaxVersion: v.version, ClientSessionCache: cache, ServerName: "localhost"}
			}
			getHello(t, a.tlsAddr, cfg())
			if !getHello(t, b.tlsAddr, cfg()) {
				t.Fatal("a session from the first server did not resume on the second, which shares its key file")
			}
			if getHello(t, c.tlsAddr, cfg()) {
				t.Fatal("a session resumed on a server with another key file")
			}
		})
	}
}
