package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Flight coalescing, measured: tcpdump on the loopback counts the TCP
// segments that carry data during one TLS 1.3 handshake and the first
// response, for lwango and for a Go crypto/tls server with the same
// certificate, the same client and the same request. lwango sends its
// ServerHello … Finished flight in one send; it must not need more
// server-to-client segments than Go.
func TestTLSFlightSegments(t *testing.T) {
	needClient(t, "tcpdump")
	certFile, keyFile := certFiles(t, "ecdsa-p256")
	lw := startTLS(t, certLines(t, "ecdsa-p256"), Options{})
	lwOut, lwIn := countSegments(t, lw.tlsAddr)

	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	// Go without session tickets does the same work as lwango (which
	// issues none); with them (its default) it sends the tickets too.
	goOut, goIn := countSegments(t, goTLSServer(t, &tls.Config{Certificates: []tls.Certificate{pair}, SessionTicketsDisabled: true}))
	goTicketsOut, _ := countSegments(t, goTLSServer(t, &tls.Config{Certificates: []tls.Certificate{pair}}))

	t.Logf("data segments for one TLS 1.3 handshake + GET /hello: lwango %d server->client, %d client->server; "+
		"Go crypto/tls %d server->client, %d client->server (%d server->client with its default session tickets)",
		lwOut, lwIn, goOut, goIn, goTicketsOut)
	if lwOut > goOut {
		t.Fatalf("lwango sent %d segments, Go %d", lwOut, goOut)
	}
}

// goTLSServer serves /hello with net/http over crypto/tls until the test
// ends and returns its address.
func goTLSServer(t *testing.T, cfg *tls.Config) string {
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "Hello, World!")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// countSegments captures one handshake and GET /hello against addr and
// returns the data-carrying segments each way.
func countSegments(t *testing.T, addr string) (serverToClient, clientToServer int) {
	t.Helper()
	_, port, _ := net.SplitHostPort(addr)
	pcap := filepath.Join(t.TempDir(), "capture.pcap")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dump := exec.CommandContext(ctx, "tcpdump", "-i", "lo", "-nn", "-U", "--immediate-mode", "-w", pcap, "tcp port "+port)
	stderr, _ := dump.StderrPipe()
	if err := dump.Start(); err != nil {
		t.Fatalf("tcpdump: %v", err)
	}
	lines := bufio.NewScanner(stderr)
	for lines.Scan() && !strings.Contains(lines.Text(), "listening on") {
	}
	done := make(chan struct{})
	go func() { io.Copy(io.Discard, stderr); close(done) }()

	c := tlsDial(t, addr, &tls.Config{CurvePreferences: []tls.CurveID{tls.X25519}, MinVersion: tls.VersionTLS13})
	if resp, body := get(t, c, bufio.NewReader(c), "/hello"); resp.StatusCode != 200 || string(body) != "Hello, World!" {
		t.Fatalf("%s: %d %q", addr, resp.StatusCode, body)
	}
	time.Sleep(200 * time.Millisecond) // anything else the server sends unasked
	dump.Process.Signal(syscall.SIGINT)
	<-done
	if err := dump.Wait(); err != nil {
		t.Fatalf("tcpdump: %v", err)
	}

	c.Close()

	count := func(filter string) int {
		out, err := exec.Command("tcpdump", "-r", pcap, "-nn", filter+" and port "+port+
			" and (((ip[2:2] - ((ip[0]&0xf)<<2)) - ((tcp[12]&0xf0)>>2)) != 0)").Output()
		if err != nil {
			t.Fatalf("tcpdump -r: %v", err)
		}
		return strings.Count(string(out), "\n")
	}
	serverToClient, clientToServer = count("src port "+port), count("dst port "+port)
	if serverToClient == 0 || clientToServer == 0 {
		all, _ := exec.Command("tcpdump", "-r", pcap, "-nn").CombinedOutput()
		t.Fatalf("captured nothing on port %s:\n%s", strconv.Quote(port), all)
	}
	return serverToClient, clientToServer
}
