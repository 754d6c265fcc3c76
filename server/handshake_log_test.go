package server

import (
	"crypto/tls"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"lwango/internal/testenv"
	"lwango/tlsstate"
)

// startTLSLogged is startTLS with the server's own log kept in hsLog.
func startTLSLogged(t *testing.T, tlsLines string, quiet bool) (*tlsServer, *syncBuffer) {
	t.Helper()
	hsLog := &syncBuffer{}
	opts := Options{Log: testLogger(hsLog)}
	var s *tlsServer
	if quiet {
		s = startTLSServer(t, tlsLines, opts)
	} else {
		s = startTLS(t, tlsLines, opts)
	}
	return s, hsLog
}

// failureLines are the handshake-failure lines logged so far.
func failureLines(log *syncBuffer) []string {
	var lines []string
	for _, l := range log.lines() {
		if strings.Contains(l, "tls: handshake failed") {
			lines = append(lines, l)
		}
	}
	return lines
}

// oneFailureLine waits for a failure line, shuts the server down (which
// has the log's writer write everything queued) and checks that it was
// the only one, with every field in want. The client must have closed.
func oneFailureLine(t *testing.T, s *tlsServer, log *syncBuffer, want ...string) {
	t.Helper()
	waitFor(t, func() bool { return len(failureLines(log)) > 0 }, "the handshake failure line")
	if err := s.srv.Shutdown(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	lines := failureLines(log)
	if len(lines) != 1 {
		t.Fatalf("%d failure lines, want 1:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for _, w := range want {
		if !strings.Contains(lines[0], w) {
			t.Errorf("line %q lacks %q", lines[0], w)
		}
	}
}

// Go's client offering only a TLS 1.2 suite the server does not have: the
// server sends handshake_failure and logs it once, with the peer, the
// direction, the reason, the version offered and the SNI.
func TestHandshakeFailureLoggedGoClient(t *testing.T) {
	s, log := startTLSLogged(t, `ciphers = ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]`+"\n", false)
	raw, err := net.Dial("tcp", s.tlsAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	c := tls.Client(raw, &tls.Config{ServerName: "example.test", InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}})
	if err := c.Handshake(); err == nil || !strings.Contains(err.Error(), "handshake failure") {
		t.Fatalf("client: %v, want the server's handshake_failure alert", err)
	}
	raw.Close()
	oneFailureLine(t, s, log, "peer=127.0.0.1 ", "alert=handshake_failure", "direction=sent",
		`reason="no TLS 1.2 cipher suite`, `version="TLS 1.2"`, "sni=example.test")
}

// openssl s_client offering only a TLS 1.3 suite the server does not have.
func TestHandshakeFailureLoggedOpenSSL(t *testing.T) {
	openssl := testenv.Program(t, "openssl")
	s, log := startTLSLogged(t, `ciphers = ["TLS_AES_128_GCM_SHA256"]`+"\n", false)
	out, _ := exec.Command(openssl, "s_client", "-connect", s.tlsAddr, "-tls1_3", "-servername", "openssl.test",
		"-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256").CombinedOutput()
	if !strings.Contains(string(out), "handshake failure") {
		t.Fatalf("openssl did not report the alert:\n%s", out)
	}
	oneFailureLine(t, s, log, "alert=handshake_failure", "direction=sent", `reason="no cipher suite in common"`,
		`version="TLS 1.3"`, "sni=openssl.test")
}

// A client that refuses the server's certificate sends bad_certificate
// (encrypted under its handshake key): logged as received.
func TestHandshakeFailureLoggedReceived(t *testing.T) {
	s, log := startTLSLogged(t, "", false)
	raw, err := net.Dial("tcp", s.tlsAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	c := tls.Client(raw, &tls.Config{ServerName: "localhost"}) // the self-signed certificate is not trusted
	if err := c.Handshake(); err == nil {
		t.Fatal("client trusted a self-signed certificate")
	}
	raw.Close()
	oneFailureLine(t, s, log, "alert=bad_certificate", "direction=received", `version="TLS 1.3"`, "sni=localhost")
}

// quiet silences the handshake-failure lines like the access log.
func TestHandshakeFailureQuiet(t *testing.T) {
	s, log := startTLSLogged(t, "", true)
	c, err := net.Dial("tcp", s.tlsAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
	// The server's unexpected_message, then its close: a line, had there
	// been one, was queued before the close; the shutdown has the log's
	// writer write everything queued.
	readAlert(t, c)
	c.Close()
	if err := s.srv.Shutdown(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if lines := failureLines(log); len(lines) != 0 {
		t.Fatalf("quiet server logged %q", lines)
	}
}

// The token bucket: a burst of lines, then one per interval; what it drops
// is counted and reported with the next line it lets through.
func TestHandshakeLogRateLimit(t *testing.T) {
	buf := &syncBuffer{}
	h := newHandshakeLog(testLogger(buf))
	f := &handshakeFailure{tlsstate.Failure{Alert: tlsstate.AlertUnexpectedMessage, HasAlert: true, Sent: true, Reason: "scan"}}
	now := time.Unix(1e9, 0)
	for range 1000 {
		h.failed(netip.AddrPort{}, f, now)
	}
	if n := len(failureLines(buf)); n != handshakeLogBurst {
		t.Fatalf("%d lines for 1000 failures at one instant, want the burst of %d", n, handshakeLogBurst)
	}
	h.failed(netip.AddrPort{}, f, now.Add(handshakeLogEvery))
	lines := buf.lines()
	if len(lines) != handshakeLogBurst+2 || !strings.Contains(lines[len(lines)-2], `suppressed" count=980`) {
		t.Fatalf("after one interval: %d lines, last two %q", len(lines), lines[len(lines)-2:])
	}
	for range 10 {
		h.failed(netip.AddrPort{}, f, now.Add(handshakeLogEvery))
	}
	if n := len(failureLines(buf)); n != handshakeLogBurst+1 {
		t.Fatalf("%d lines: the bucket refilled by more than one token in one interval", n)
	}
}
