package server

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lwango/internal/testenv"
)

// Real TLS clients (curl, OpenSSL, GnuTLS, Python, Chromium) against the
// real server. CI installs them all; there a missing one fails its test.

// runClient runs a client program with stdin and returns its output.
func runClient(t *testing.T, stdin string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, testenv.Program(t, name), args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

const helloRequest = "GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"

// checkHello checks a raw HTTP exchange's output: the hello response.
func checkHello(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range append([]string{"HTTP/1.1 200 OK", "Hello, World!"}, want...) {
		if !strings.Contains(out, w) {
			t.Fatalf("output lacks %q:\n%s", w, out)
		}
	}
}

func TestCurlTLS(t *testing.T) {
	s := startTLS(t, "", Options{})
	for _, tc := range []struct{ flag, version string }{{"--tlsv1.3", "TLSv1.3"}, {"--tls-max", "TLSv1.2"}} {
		args := []string{"-sS", "-k", "-v", tc.flag}
		if tc.flag == "--tls-max" {
			args = append(args, "1.2")
		}
		out := runClient(t, "", "curl", append(args, "https://"+s.tlsAddr+"/hello")...)
		if !strings.Contains(out, "SSL connection using "+tc.version) || !strings.HasSuffix(out, "Hello, World!") {
			t.Fatalf("curl %s:\n%s", tc.flag, out)
		}
	}
}

// openssl s_client for each TLS 1.3 suite and each group it knows
// (OpenSSL 3.0 has no X25519MLKEM768), and a HelloRetryRequest forced by
// offering ffdhe2048 first.
func TestOpenSSLClient(t *testing.T) {
	s := startTLS(t, "", Options{})
	sClient := func(t *testing.T, extra ...string) string {
		args := append([]string{"s_client", "-connect", s.tlsAddr, "-tls1_3", "-ign_eof", "-msg"}, extra...)
		return runClient(t, helloRequest, "openssl", args...)
	}
	for _, suite := range tls13Suites {
		t.Run(suite.name, func(t *testing.T) {
			checkHello(t, sClient(t, "-ciphersuites", suite.name), "Cipher is "+suite.name)
		})
	}
	for _, g := range []struct{ group, temp string }{{"X25519", "X25519"}, {"P-256", "ECDH, prime256v1"}, {"P-384", "ECDH, secp384r1"}, {"P-521", "ECDH, secp521r1"}} {
		t.Run(g.group, func(t *testing.T) {
			out := sClient(t, "-groups", g.group)
			checkHello(t, out, "Server Temp Key: "+g.temp)
			if n := strings.Count(out, "ClientHello"); n != 1 {
				t.Fatalf("%d ClientHellos, want 1", n)
			}
		})
	}
	t.Run("HRR", func(t *testing.T) {
		out := sClient(t, "-groups", "ffdhe2048:X25519")
		checkHello(t, out, "Server Temp Key: X25519")
		if n := strings.Count(out, "ClientHello"); n != 2 {
			t.Fatalf("%d ClientHellos, want 2 (a HelloRetryRequest between them):\n%s", n, out)
		}
	})
	// secp521r1 is last in the default order: with no key share the server
	// takes, it asks for the first default group the client supports.
	t.Run("HRR P-521 last", func(t *testing.T) {
		out := sClient(t, "-groups", "ffdhe2048:P-521:P-384")
		checkHello(t, out, "Server Temp Key: ECDH, secp384r1")
		if n := strings.Count(out, "ClientHello"); n != 2 {
			t.Fatalf("%d ClientHellos, want 2 (a HelloRetryRequest between them):\n%s", n, out)
		}
	})
	t.Run("TLS1.2", func(t *testing.T) {
		out := runClient(t, helloRequest, "openssl", "s_client", "-connect", s.tlsAddr, "-tls1_2", "-ign_eof")
		checkHello(t, out, "Protocol  : TLSv1.2")
	})
}

func TestGnuTLSClient(t *testing.T) {
	s := startTLS(t, "", Options{})
	host, port, _ := strings.Cut(s.tlsAddr, ":")
	for _, version := range []string{"TLS1.3", "TLS1.2"} {
		out := runClient(t, helloRequest, "gnutls-cli", "--insecure", "--port", port,
			"--priority", "NORMAL:-VERS-ALL:+VERS-"+version, host)
		checkHello(t, out, "Description: ("+version+"-")
	}
}

func TestPythonSSLClient(t *testing.T) {
	s := startTLS(t, "", Options{})
	host, port, _ := strings.Cut(s.tlsAddr, ":")
	script := `
import socket, ssl, sys
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
with socket.create_connection((sys.argv[1], int(sys.argv[2]))) as raw:
    with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
        print(tls.version(), tls.cipher()[0], tls.selected_alpn_protocol())
        tls.sendall(b"GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = tls.recv(4096)
            if not chunk:
                break
            data += chunk
        sys.stdout.write(data.decode())
`
	out := runClient(t, "", "python3", "-c", script, host, port)
	checkHello(t, out, "TLSv1.3 TLS_AES_128_GCM_SHA256 None")
}

// Headless Chromium loads a page over HTTPS and runs its script: the DOM it
// dumps holds what only the script writes.
func TestChromium(t *testing.T) {
	s := startTLS(t, "", Options{})
	page := `<!DOCTYPE html><html><body><p>static</p><script>` +
		`document.body.insertAdjacentHTML('beforeend','<p id="made">made by script: '+(6*7)+' over '+location.protocol+'</p>')` +
		`</script></body></html>`
	if err := os.WriteFile(filepath.Join(s.site.dir, "page.html"), []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, testenv.Program(t, "chromium"), "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
		"--disable-sync", "--user-data-dir="+t.TempDir(), "--ignore-certificate-errors",
		"--dump-dom", "https://"+s.tlsAddr+"/page.html")
	dom, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, dom)
	}
	if !strings.Contains(string(dom), `<p id="made">made by script: 42 over https:</p>`) {
		t.Fatalf("chromium did not render the page's script over HTTPS; DOM:\n%s", dom)
	}
	// Chromium negotiates h2 by ALPN.
	if !strings.Contains(s.log.String(), `"GET /page.html HTTP/2.0" 200 `) {
		t.Fatalf("access log:\n%s", s.log.String())
	}
	for _, line := range s.log.lines() {
		if !strings.HasSuffix(line, " tls") {
			t.Fatalf("a request did not come over TLS: %q", line)
		}
	}
}
