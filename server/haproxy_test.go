package server

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lwango/internal/testenv"
)

// freePort returns a loopback TCP port nobody listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startHAProxy runs a real HAProxy in front of the server with one frontend
// per entry of backends (mode, and the server line's options), each on a
// free loopback port, and returns those ports. HAProxy connects to lwango
// from 127.0.0.3, so that its own address differs from the client's.
func startHAProxy(t *testing.T, backends []haproxyRoute) []int {
	t.Helper()
	haproxy := testenv.Program(t, "haproxy")
	for attempt := 0; ; attempt++ {
		ports := make([]int, len(backends))
		var conf strings.Builder
		conf.WriteString("global\n  maxconn 100\ndefaults\n  timeout connect 5s\n  timeout client 20s\n  timeout server 20s\n")
		for i, b := range backends {
			ports[i] = freePort(t)
			fmt.Fprintf(&conf, "frontend f%d\n  mode %s\n  bind 127.0.0.1:%d\n  default_backend b%d\n", i, b.mode, ports[i], i)
			fmt.Fprintf(&conf, "backend b%d\n  mode %s\n  server lwango %s source 127.0.0.3 %s\n", i, b.mode, b.server, b.options)
		}
		file := filepath.Join(t.TempDir(), "haproxy.cfg")
		if err := os.WriteFile(file, []byte(conf.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(haproxy, "-db", "-f", file)
		out := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		ready := func() bool {
			for _, p := range ports {
				c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p))
				if err != nil {
					return false
				}
				c.Close()
			}
			return true
		}
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			select {
			case err := <-exited:
				if attempt < 3 && strings.Contains(out.String(), "cannot bind") {
					goto retry // a port was taken in between: pick others
				}
				t.Fatalf("haproxy exited: %v\n%s", err, out.String())
			default:
			}
			if ready() {
				t.Cleanup(func() { cmd.Process.Kill(); <-exited })
				return ports
			}
		}
		cmd.Process.Kill()
		t.Fatalf("haproxy did not listen within 15 s:\n%s", out.String())
	retry:
	}
}

// haproxyRoute is one HAProxy frontend and backend.
type haproxyRoute struct {
	mode    string // "http" or "tcp"
	server  string // the lwango address
	options string // e.g. "send-proxy-v2"
}

// A real HAProxy in front of lwango, with send-proxy (v1) and send-proxy-v2:
// in mode http over cleartext, and in mode tcp passing TLS through to
// lwango's own handshake. curl connects to HAProxy from 127.0.0.2 and
// HAProxy to lwango from 127.0.0.3: lwango's access log names 127.0.0.2,
// the address the PROXY header carried (over HTTP/1.1 and, through TLS,
// HTTP/2).
func TestProxyProtocolHAProxy(t *testing.T) {
	curl := testenv.Program(t, "curl")
	srv, addr, log := proxyServer(t, "[tls_listener]\naddress = \"127.0.0.1:0\"\n"+certLines(t, "ecdsa-p256")+clientAddressRoute, patientDeadline)
	tlsAddr, _ := srv.TLSAddr()
	routes := []haproxyRoute{
		{"http", addr, "send-proxy"},
		{"http", addr, "send-proxy-v2"},
		{"tcp", tlsAddr.String(), "send-proxy"},
		{"tcp", tlsAddr.String(), "send-proxy-v2"},
	}
	ports := startHAProxy(t, routes)
	for i, r := range routes {
		url := fmt.Sprintf("http://127.0.0.1:%d/hello", ports[i])
		transport, proto := "plain", "1.1"
		if r.mode == "tcp" {
			// TLS passes through to lwango, which offers h2 by ALPN: curl takes it.
			url = fmt.Sprintf("https://127.0.0.1:%d/hello", ports[i])
			transport, proto = "tls", "2.0"
		}
		before := len(log.String())
		out, err := exec.Command(curl, "-sS", "-k", "--interface", "127.0.0.2", "--max-time", "20", url, url).CombinedOutput()
		if err != nil || string(out) != "Hello, World!Hello, World!" {
			t.Fatalf("%s %s: curl: %v %q", r.mode, r.options, err, out)
		}
		waitFor(t, func() bool { return strings.Count(log.String()[before:], "\n") >= 2 }, "two access log lines")
		for _, line := range strings.Split(strings.TrimSpace(log.String()[before:]), "\n") {
			if !strings.HasPrefix(line, "127.0.0.2 - - [") || !strings.Contains(line, " /hello HTTP/"+proto+"\" 200 13 ") {
				t.Errorf("%s %s: log line %q, want curl's address 127.0.0.2", r.mode, r.options, line)
			}
			if !strings.HasSuffix(line, " "+transport) && !strings.HasSuffix(line, " ktls") {
				t.Errorf("%s %s: log line %q, want transport %s", r.mode, r.options, line, transport)
			}
		}
		// A handler sees the same address: [[site.response]]'s ${remote_address}.
		ip := strings.Replace(url, "/hello", "/ip", 1)
		out, err = exec.Command(curl, "-sS", "-k", "--interface", "127.0.0.2", "--max-time", "20", "-w", "HTTP/%{http_version}", ip).CombinedOutput()
		if want := "you are 127.0.0.2\nHTTP/" + strings.TrimSuffix(proto, ".0"); err != nil || string(out) != want {
			t.Errorf("%s %s: curl %s: %v %q, want %q", r.mode, r.options, ip, err, out, want)
		}
		waitFor(t, func() bool { return strings.Count(log.String()[before:], "\n") >= 3 }, "the access log line of /ip")
	}
	if rej := proxyRejects(srv); rej != [proxyRejectKinds]uint64{} {
		t.Errorf("headers refused: %v", rej)
	}
}
