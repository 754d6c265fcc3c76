package main

import (
	"bufio"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"lwango/internal/testpki"
)

// serverProcess is the real binary running with its stderr (the log) kept.
type serverProcess struct {
	cmd         *exec.Cmd
	http, https string

	mu  sync.Mutex
	log []string
}

// startServerProcess runs bin with args until the test ends (then SIGTERM,
// which must exit 0) and returns once it says where it serves.
func startServerProcess(t *testing.T, bin string, args ...string) *serverProcess {
	t.Helper()
	return startServerProcessOut(t, bin, io.Discard, args...)
}

// startServerProcessOut is startServerProcess with standard output (the
// access log) going to stdout.
func startServerProcessOut(t *testing.T, bin string, stdout io.Writer, args ...string) *serverProcess {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdout = stdout
	return startServerCmd(t, cmd)
}

// startServerCmd is startServerProcess for a command prepared by the caller
// (its working directory, its standard output).
func startServerCmd(t *testing.T, cmd *exec.Cmd) *serverProcess {
	t.Helper()
	p := &serverProcess{cmd: cmd}
	stderr, _ := p.cmd.StderrPipe()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		if err := p.cmd.Wait(); err != nil {
			t.Errorf("exit after SIGTERM: %v", err)
		}
	})
	serving := regexp.MustCompile(`msg="lwango serving" http=(\S+)(?: https=(\S+))?`)
	ready := make(chan struct{})
	go func() {
		lines := bufio.NewScanner(stderr)
		for lines.Scan() {
			p.mu.Lock()
			p.log = append(p.log, lines.Text())
			if m := serving.FindStringSubmatch(lines.Text()); m != nil {
				p.http, p.https = m[1], m[2]
				close(ready)
			}
			p.mu.Unlock()
		}
	}()
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		t.Fatalf("the server never said where it listens:\n%s", p.logText(0))
	}
	return p
}

// logText is the log from line from on.
func (p *serverProcess) logText(from int) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.log[min(from, len(p.log)):], "\n")
}

// logLen is how many log lines the server has written so far.
func (p *serverProcess) logLen() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.log)
}

// hup sends SIGHUP and waits for the log line that ends the reload
// ("configuration reloaded" or "reload refused"), returning the log lines
// the reload wrote.
func (p *serverProcess) hup(t *testing.T) string {
	t.Helper()
	from := p.logLen()
	p.cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if text := p.logText(from); strings.Contains(text, `msg="configuration reloaded"`) || strings.Contains(text, `msg="reload refused`) {
			return text
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no reload outcome logged after SIGHUP:\n%s", p.logText(from))
	return ""
}

// writeCertificate writes a self-signed ECDSA certificate for localhost
// with common name cn, and its key, to certFile and keyFile.
func writeCertificate(t testing.TB, certFile, keyFile, cn string) {
	t.Helper()
	writeCertificateKey(t, certFile, keyFile, cn, "ecdsa-p256")
}

// writeCertificateKey is writeCertificate with a key of kind (see
// testpki.Key: "ecdsa-p256", "rsa-2048", ...).
func writeCertificateKey(t testing.TB, certFile, keyFile, cn, kind string) {
	t.Helper()
	key, err := testpki.Key(kind)
	if err != nil {
		t.Fatal(err)
	}
	der, _, err := testpki.Mint(testpki.Spec{Names: []string{cn, "localhost"}}, key, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := testpki.WriteFiles(certFile, keyFile, der, key); err != nil {
		t.Fatal(err)
	}
}

// keepAliveTLS is one TLS connection that serves several requests.
type keepAliveTLS struct {
	conn *tls.Conn
	r    *bufio.Reader
}

func dialTLS(t *testing.T, addr string, cfg *tls.Config) *keepAliveTLS {
	t.Helper()
	if cfg == nil {
		cfg = &tls.Config{}
	}
	cfg.InsecureSkipVerify = true
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		t.Fatalf("TLS handshake with %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	return &keepAliveTLS{conn: c, r: bufio.NewReader(c)}
}

// get sends GET path and returns the response and its body.
func (k *keepAliveTLS) get(t *testing.T, path string) (*http.Response, string) {
	t.Helper()
	if _, err := fmt.Fprintf(k.conn, "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", path); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return k.readResponse(t)
}

// readResponse reads the next response and its body.
func (k *keepAliveTLS) readResponse(t *testing.T) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(k.r, nil)
	if err != nil {
		t.Fatalf("reading a response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading a response body: %v", err)
	}
	return resp, string(body)
}

// commonName is the common name of the certificate the server sent.
func (k *keepAliveTLS) commonName() string {
	return k.conn.ConnectionState().PeerCertificates[0].Subject.CommonName
}

// SIGHUP with a new certificate on disk: a keep-alive connection opened
// before keeps working (with the certificate it started with), a new one
// sees the new certificate, and the new [headers] of the same file apply.
// A corrupt replacement is refused with the file, line and key in the
// log, and the certificate before it keeps serving. A changed setting that
// needs a restart is logged as such.
func TestBinarySIGHUPReloadsCertificate(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	root := filepath.Join(dir, "www")
	os.Mkdir(root, 0o755)
	os.WriteFile(filepath.Join(root, "index.html"), []byte("index\n"), 0o644)
	certFile, keyFile := filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	writeCertificate(t, certFile, keyFile, "first")
	conf := filepath.Join(dir, "lwan.conf")
	writeConf := func(threads int, header string) {
		text := fmt.Sprintf(`listener = "127.0.0.1:0"
quiet = true
threads = %d

[headers]
X-Generation = %q

[tls_listener]
address = "127.0.0.1:0"
cert = %q
key = %q

[[site.serve_files]]
prefix = "/"
path = %q
`, threads, header, certFile, keyFile, root)
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeConf(1, "one")
	p := startServerProcess(t, bin, "-c", conf)

	old := dialTLS(t, p.https, nil)
	if resp, body := old.get(t, "/"); resp.StatusCode != 200 || body != "index\n" || resp.Header.Get("X-Generation") != "one" {
		t.Fatalf("before the reload: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	if cn := old.commonName(); cn != "first" {
		t.Fatalf("certificate %q, want first", cn)
	}

	writeCertificate(t, certFile, keyFile, "second")
	writeConf(2, "two")
	logged := p.hup(t)
	if !strings.Contains(logged, `msg="configuration reloaded"`) {
		t.Fatalf("reload with a good certificate:\n%s", logged)
	}
	if !strings.Contains(logged, "threads changed but needs a restart") {
		t.Fatalf("the changed threads setting is not logged as needing a restart:\n%s", logged)
	}
	resp, body := old.get(t, "/")
	if resp.StatusCode != 200 || body != "index\n" || old.commonName() != "first" {
		t.Fatalf("the connection opened before the reload: %d %q, certificate %q", resp.StatusCode, body, old.commonName())
	}
	if resp.Header.Get("X-Generation") != "two" {
		t.Fatalf("a request after the reload has X-Generation %q, want two", resp.Header.Get("X-Generation"))
	}
	fresh := dialTLS(t, p.https, nil)
	if resp, body := fresh.get(t, "/"); resp.StatusCode != 200 || body != "index\n" || fresh.commonName() != "second" {
		t.Fatalf("a new connection: %d %q, certificate %q, want second", resp.StatusCode, body, fresh.commonName())
	}

	if err := os.WriteFile(certFile, []byte("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	logged = p.hup(t)
	if !strings.Contains(logged, "reload refused") || !strings.Contains(logged, conf+":10: tls_listener.cert:") {
		t.Fatalf("a corrupt certificate is not refused with file:line:key:\n%s", logged)
	}
	after := dialTLS(t, p.https, nil)
	if resp, body := after.get(t, "/"); resp.StatusCode != 200 || body != "index\n" || after.commonName() != "second" {
		t.Fatalf("after a refused reload: %d %q, certificate %q, want second", resp.StatusCode, body, after.commonName())
	}
	for _, c := range []*keepAliveTLS{old, fresh} {
		if resp, _ := c.get(t, "/"); resp.StatusCode != 200 {
			t.Fatalf("an open connection after a refused reload: %d", resp.StatusCode)
		}
	}
}

// Two server processes on different ports sharing one ticket_key_file
// resume each other's sessions (TLS 1.2 and 1.3); a third with another
// key file does not.
func TestBinarySharedTicketKeyFile(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	writeCertificate(t, certFile, keyFile, "fleet")
	start := func(keyFileName string) *serverProcess {
		keys := make([]byte, 2*80)
		rand.Read(keys)
		ticketFile := filepath.Join(dir, keyFileName)
		if _, err := os.Stat(ticketFile); err != nil {
			if err := os.WriteFile(ticketFile, keys, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		conf := filepath.Join(dir, keyFileName+".conf")
		os.WriteFile(conf, fmt.Appendf(nil, `listener = "127.0.0.1:0"
quiet = true
threads = 1
[tls_listener]
address = "127.0.0.1:0"
cert = %q
key = %q
ticket_key_file = %q
[[site.hello]]
prefix = "/"
`, certFile, keyFile, ticketFile), 0o644)
		return startServerProcess(t, bin, "-c", conf)
	}
	a, b, other := start("shared.key"), start("shared.key"), start("other.key")
	for _, v := range []struct {
		name    string
		version uint16
	}{{"TLS1.2", tls.VersionTLS12}, {"TLS1.3", tls.VersionTLS13}} {
		t.Run(v.name, func(t *testing.T) {
			cache := tls.NewLRUClientSessionCache(8)
			connect := func(addr string) bool {
				// One cache for every process: crypto/tls keys sessions by
				// server name, the same for all three.
				c := dialTLS(t, addr, &tls.Config{MinVersion: v.version, MaxVersion: v.version, ClientSessionCache: cache, ServerName: "localhost"})
				if resp, body := c.get(t, "/"); resp.StatusCode != 200 || body != "Hello, World!" {
					t.Fatalf("GET / from %s: %d %q", addr, resp.StatusCode, body)
				}
				c.conn.Close()
				return c.conn.ConnectionState().DidResume
			}
			if connect(a.https) {
				t.Fatal("the first connection resumed")
			}
			if !connect(b.https) {
				t.Fatal("a session of the first process did not resume on the second, which shares its ticket_key_file")
			}
			if connect(other.https) {
				t.Fatal("a session resumed on a process with another ticket_key_file")
			}
		})
	}
}

// lwango -t reads the certificates of [[tls_listener.cert]] and the ticket
// key file: good ones pass, a short key file fails naming the file, the
// line and the key.
func TestBinaryCheckTicketKeyFile(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "a.crt"), filepath.Join(dir, "a.key")
	writeCertificate(t, certFile, keyFile, "a")
	ticketFile := filepath.Join(dir, "ticket.key")
	conf := filepath.Join(dir, "lwan.conf")
	os.WriteFile(conf, fmt.Appendf(nil, `listener = "127.0.0.1:0"
[tls_listener]
address = "127.0.0.1:0"
ticket_key_file = %q
[[tls_listener.cert]]
cert = %q
key = %q
[[site.hello]]
prefix = "/"
`, ticketFile, certFile, keyFile), 0o644)

	keys := make([]byte, 160)
	rand.Read(keys)
	os.WriteFile(ticketFile, keys, 0o600)
	if out, err := exec.Command(bin, "-t", "-c", conf).CombinedOutput(); err != nil || !strings.Contains(string(out), "is good") {
		t.Fatalf("-t with two good keys: %v\n%s", err, out)
	}
	os.WriteFile(ticketFile, keys[:48], 0o600)
	out, err := exec.Command(bin, "-t", "-c", conf).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("-t with a 48-byte key file: exit %v, want 1\n%s", err, out)
	}
	if want := conf + ":4: tls_listener.ticket_key_file: "; !strings.Contains(string(out), want) || !strings.Contains(string(out), ticketFile) {
		t.Fatalf("-t output does not name %q and the key file:\n%s", want, out)
	}
}
