//go:build vmguest

package server

import (
	"bufio"
	"crypto/sha256"
	"crypto/tls"
	"strings"
	"testing"
	"time"
)

// TestKTLSGuestResume: in TLS 1.3 and TLS 1.2, Go's client with a session
// cache makes a full handshake and then resumes twice; every connection
// goes to kernel TLS and serves a small response, the first resumed one a
// 6 MiB sendfile response too (checked by hash). In TLS 1.3 the server's NewSessionTickets leave in
// user space under the first application key before the TX key goes to the
// kernel with its sequence number past them: a wrong sequence number would
// make the client fail to open the responses, and a lost ticket would make
// the second connection a full handshake. The resumed TLS 1.2 connection's
// keys come from the ticket's master secret, so its records opening on
// both sides proves the kernel got the right ones.
func TestKTLSGuestResume(t *testing.T) {
	for _, v := range []struct {
		name    string
		version uint16
	}{{"TLS1.3", tls.VersionTLS13}, {"TLS1.2", tls.VersionTLS12}} {
		t.Run(v.name, func(t *testing.T) {
			g := startGuestServer(t, "")
			cache := tls.NewLRUClientSessionCache(4)
			for i, wantResumed := range []bool{false, true, true} {
				before := tlsStats(t)
				c, err := tls.Dial("tcp", g.tlsAddr, &tls.Config{InsecureSkipVerify: true, MinVersion: v.version, MaxVersion: v.version, ClientSessionCache: cache})
				if err != nil {
					t.Fatalf("connection %d: handshake: %v", i+1, err)
				}
				c.SetDeadline(time.Now().Add(2 * time.Minute))
				r := bufio.NewReader(c)
				if body := fetch(t, c, r, "/small.txt"); string(body) != "small file\n" {
					t.Fatalf("connection %d: small response %q", i+1, body)
				}
				if i == 1 { // the first resumed connection: a sendfile response through the kernel
					if body := fetch(t, c, r, "/big.bin"); sha256.Sum256(body) != sha256.Sum256(g.site.big) {
						t.Fatalf("connection %d: big response: %d bytes that differ from the %d of the file", i+1, len(body), len(g.site.big))
					}
				}
				if resumed := c.ConnectionState().DidResume; resumed != wantResumed {
					t.Fatalf("connection %d: resumed %v, want %v", i+1, resumed, wantResumed)
				}
				during := tlsStats(t)
				for _, name := range []string{"TlsTxSw", "TlsRxSw"} {
					if during[name] != before[name]+1 {
						t.Errorf("connection %d: %s went from %d to %d, want +1", i+1, name, before[name], during[name])
					}
				}
				c.Close()
			}
			waitFor(t, func() bool { return strings.Count(g.access.String(), "\n") == 4 }, "four access log lines")
			for _, line := range g.access.lines() {
				if !strings.HasSuffix(line, " ktls") {
					t.Errorf("access log line %q does not say ktls", line)
				}
			}
		})
	}
}
