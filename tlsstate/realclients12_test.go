package tlsstate

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"lwango/internal/testenv"
)

// Real TLS 1.2 clients (OpenSSL, GnuTLS, curl) against our TLS 1.2
// handshake and record layer through a loopback socket.

// openSSLNames12 are OpenSSL's names for the six suites.
var openSSLNames12 = map[CipherSuite]string{
	ECDHEECDSAWithAES128GCMSHA256:        "ECDHE-ECDSA-AES128-GCM-SHA256",
	ECDHERSAWithAES128GCMSHA256:          "ECDHE-RSA-AES128-GCM-SHA256",
	ECDHEECDSAWithAES256GCMSHA384:        "ECDHE-ECDSA-AES256-GCM-SHA384",
	ECDHERSAWithAES256GCMSHA384:          "ECDHE-RSA-AES256-GCM-SHA384",
	ECDHEECDSAWithChaCha20Poly1305SHA256: "ECDHE-ECDSA-CHACHA20-POLY1305",
	ECDHERSAWithChaCha20Poly1305SHA256:   "ECDHE-RSA-CHACHA20-POLY1305",
}

// TestOpenSSLClient12: `openssl s_client -tls1_2 -cipher ...` for each of
// the six suites, over x25519, P-256, P-384 and P-521 in turn. In TLS 1.2 an ECDSA
// certificate's curve must be among the client's groups too.
func TestOpenSSLClient12(t *testing.T) {
	openssl := testenv.Program(t, "openssl")
	cases := []struct {
		suite        CipherSuite
		groups, cert string
	}{
		{ECDHEECDSAWithAES128GCMSHA256, "X25519:P-256", "ecdsa-p256"},
		{ECDHERSAWithAES128GCMSHA256, "P-256", "rsa-2048"},
		{ECDHEECDSAWithAES256GCMSHA384, "P-384", "ecdsa-p384"},
		{ECDHERSAWithAES256GCMSHA384, "X25519", "rsa-2048"},
		{ECDHEECDSAWithChaCha20Poly1305SHA256, "P-256", "ecdsa-p256"},
		{ECDHERSAWithChaCha20Poly1305SHA256, "P-384", "rsa-2048"},
		{ECDHERSAWithAES128GCMSHA256, "P-521", "rsa-2048"},
	}
	for _, c := range cases {
		t.Run(c.suite.String()+"/"+c.groups, func(t *testing.T) {
			addr, result := serveOne(t, testConfig(c.cert), lineComplete, []byte("pong\n"))
			stderr := runInteractive(t, openssl, "s_client", "-connect", addr, "-tls1_2", "-servername", "localhost",
				"-cipher", openSSLNames12[c.suite], "-groups", c.groups, "-quiet", "-alpn", "http/1.1")
			if err := <-result; err != nil {
				t.Fatalf("server: %v (client said %s)", err, stderr)
			}
		})
	}
}

// TestOpenSSLClient12Renegotiation: pressing R in s_client sends a
// ClientHello on the established connection. We answer with a warning
// no_renegotiation; OpenSSL 3 treats the refusal of a renegotiation it
// asked for as fatal, sends handshake_failure and says why. What each side
// reports is checked: the server saw the client's alert, the client saw
// our refusal.
func TestOpenSSLClient12Renegotiation(t *testing.T) {
	openssl := testenv.Program(t, "openssl")
	addr, result := serveOne(t, testConfig("ecdsa-p256"), func([]byte) bool { return false }, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, openssl, "s_client", "-connect", addr, "-tls1_2", "-servername", "localhost")
	cmd.Stdin = strings.NewReader("R\n")
	out, _ := cmd.CombinedOutput()
	err := <-result
	var perr *PeerAlertError
	if !errors.As(err, &perr) || perr.Alert != AlertHandshakeFailure {
		t.Fatalf("server: %v, want the client's handshake_failure (client said %s)", err, out)
	}
	if !bytes.Contains(out, []byte("RENEGOTIATING")) || !bytes.Contains(out, []byte("no renegotiation")) {
		t.Errorf("client output does not report the refused renegotiation:\n%s", out)
	}
}

// TestGnuTLSClient12: gnutls-cli restricted to TLS 1.2 with each AEAD.
func TestGnuTLSClient12(t *testing.T) {
	gnutls := testenv.Program(t, "gnutls-cli")
	for _, c := range []struct{ cipher, cert string }{
		{"AES-128-GCM", "ecdsa-p256"}, {"AES-256-GCM", "rsa-2048"}, {"CHACHA20-POLY1305", "ecdsa-p256"}, {"CHACHA20-POLY1305", "rsa-2048"},
	} {
		t.Run(c.cipher+"/"+c.cert, func(t *testing.T) {
			addr, result := serveOne(t, testConfig(c.cert), lineComplete, []byte("pong\n"))
			host, port, _ := net.SplitHostPort(addr)
			priority := "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+" + c.cipher
			stderr := runInteractive(t, gnutls, "--insecure", "--port", port, "--priority", priority, "--alpn", "http/1.1", host)
			if err := <-result; err != nil {
				t.Fatalf("server: %v (client said %s)", err, stderr)
			}
		})
	}
}

// TestCurlClient12: an HTTPS request with curl --tls-max 1.2.
func TestCurlClient12(t *testing.T) {
	curl := testenv.Program(t, "curl")
	body := strings.Repeat("lwango ", 5000)
	response := []byte("HTTP/1.1 200 OK\r\nContent-Length: 35000\r\nConnection: close\r\n\r\n" + body)
	addr, result := serveOne(t, testConfig("rsa-2048"), func(b []byte) bool { return bytes.Contains(b, []byte("\r\n\r\n")) }, response)
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(curl, "-sS", "--tlsv1.2", "--tls-max", "1.2", "-k", "-w", "%{ssl_verify_result}",
		"--resolve", "localhost:"+port+":127.0.0.1", "https://localhost:"+port+"/")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("curl: %v: %s", err, stderr.String())
	}
	if !strings.HasPrefix(string(stdout), body) {
		t.Errorf("curl got %d bytes", len(stdout))
	}
	if err := <-result; err != nil && !errors.Is(err, io.EOF) {
		t.Fatalf("server: %v", err)
	}
}
