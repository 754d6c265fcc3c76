package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"lwango/internal/testenv"
)

// Flight coalescing, measured: tcpdump on the loopback counts the TCP
// segments that carry data during one TLS 1.3 handshake and the first
// response, for lwango and for a Go crypto/tls server with the same
// certificate, the same client and the same request. lwango sends its
// ServerHello … Finished flight in one send; it must not need more
// server-to-client segments than Go.
func TestTLSFlightSegments(t *testing.T) {
	testenv.Program(t, "tcpdump")
	if os.Geteuid() != 0 {
		testenv.Missing(t, "tcpdump needs root (CAP_NET_RAW) to capture on the loopback (CI runs as root)")
	}
	certFile, keyFile := certFiles(t, "ecdsa-p256")
	lw := startTLS(t, certLines(t, "ecdsa-p256")+"session_tickets = 0\n", Options{})
	lwOut, lwIn := fewestSegments(t, lw.tlsAddr)

	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	// Go without session tickets does the same work as lwango with
	// session_tickets = 0; with them (its default) it sends tickets too.
	goOut, goIn := fewestSegments(t, goTLSServer(t, &tls.Config{Certificates: []tls.Certificate{pair}, SessionTicketsDisabled: true}))
	goTicketsOut, _ := fewestSegments(t, goTLSServer(t, &tls.Config{Certificates: []tls.Certificate{pair}}))

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

// fewestSegments counts the segments of three connections to addr and keeps
// the fewest each way: what the server's writes need, without the extra
// segments a loaded machine can add to either server (a delayed ACK, a send
// split by scheduling).
func fewestSegments(t *testing.T, addr string) (serverToClient, clientToServer int) {
	t.Helper()
	for i := 0; i < 3; i++ {
		out, in := countSegments(t, addr)
		if i == 0 || out < serverToClient {
			serverToClient = out
		}
		if i == 0 || in < clientToServer {
			clientToServer = in
		}
	}
	return serverToClient, clientToServer
}

// countSegments captures one handshake and GET /hello against addr and
// returns the data-carrying segments each way. Only the test connection's
// packets are counted.
func countSegments(t *testing.T, addr string) (serverToClient, clientToServer int) {
	t.Helper()
	_, port, _ := net.SplitHostPort(addr)
	capture := captureLoopback(t, addr)
	defer capture.stop()

	c := tlsDial(t, addr, &tls.Config{CurvePreferences: []tls.CurveID{tls.X25519}, MinVersion: tls.VersionTLS13})
	client := "127.0.0.1." + portOf(c.LocalAddr())
	server := "127.0.0.1." + port
	if resp, body := get(t, c, bufio.NewReader(c), "/hello"); resp.StatusCode != 200 || string(body) != "Hello, World!" {
		t.Fatalf("%s: %d %q", addr, resp.StatusCode, body)
	}
	// A marker connection ends the count: tcpdump prints packets in the
	// order it captured them, so once the marker's SYN is printed, every
	// segment of the test connection sent before it has been. The count is
	// the handshake and the exchange up to the response the client has
	// read; the close_notify exchange comes after the marker.
	marker, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer marker.Close()
	markerFrom := "127.0.0.1." + portOf(marker.LocalAddr()) + " > "
	for seen := false; !seen; {
		switch l := capture.next(t); {
		case strings.Contains(l, markerFrom):
			seen = true
		case strings.HasSuffix(l, "length 0"):
		case strings.Contains(l, server+" > "+client+":"):
			serverToClient++
		case strings.Contains(l, client+" > "+server+":"):
			clientToServer++
		}
	}
	c.Close()
	capture.complete(t)
	if serverToClient == 0 || clientToServer == 0 {
		t.Fatalf("captured no data on port %s", port)
	}
	return serverToClient, clientToServer
}

// loopbackCapture is tcpdump printing the loopback's packets to or from
// one port, a line each, as it sees them.
//
// The capture keeps only the headers (-s 128): with the default snapshot
// length of 256 KiB each slot of the kernel's capture ring is that large,
// the default 2 MiB ring holds a handful of packets, and a tcpdump the
// machine's load kept from reading lost some (2 to 34 "dropped by kernel"
// on a second run; the count then missed the response or waited for the
// marker until its keep-alive probe 15 s later). tcpdump's own count of
// drops, read when it is stopped, must be 0: a capture with holes fails
// (complete).
type loopbackCapture struct {
	dump   *exec.Cmd
	lines  chan string
	stderr *syncBuffer
	cancel context.CancelFunc
}

// captureLoopback starts tcpdump for addr's port and returns once it is
// capturing: probe connections made first, and seen, prove it. The probes'
// packets still to come are not the caller's: it counts only its own
// connection's ports.
func captureLoopback(t *testing.T, addr string) *loopbackCapture {
	t.Helper()
	_, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	c := &loopbackCapture{lines: make(chan string, 1024), stderr: &syncBuffer{}, cancel: cancel}
	c.dump = exec.CommandContext(ctx, "tcpdump", "-i", "lo", "-nn", "-l", "--immediate-mode", "-s", "128", "-B", "8192", "tcp port "+port)
	stdout, _ := c.dump.StdoutPipe()
	c.dump.Stderr = c.stderr
	if err := c.dump.Start(); err != nil {
		cancel()
		t.Fatalf("tcpdump: %v", err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	for probed := false; !probed; {
		probe, err := net.Dial("tcp", addr)
		if err != nil {
			c.stop()
			t.Fatal(err)
		}
		probe.Close()
		select {
		case _, ok := <-c.lines: // the capture has started
			if !ok {
				c.stop()
				t.Fatalf("tcpdump stopped before capturing anything: %s", c.stderr.String())
			}
			probed = true
		case <-time.After(100 * time.Millisecond):
		}
	}
	return c
}

// next returns the next packet's line.
func (c *loopbackCapture) next(t *testing.T) string {
	t.Helper()
	l, ok := <-c.lines
	if !ok {
		t.Fatalf("tcpdump stopped before the capture was complete: %s", c.stderr.String())
	}
	return l
}

// complete stops tcpdump and fails unless it says it dropped no packet.
func (c *loopbackCapture) complete(t *testing.T) {
	t.Helper()
	c.dump.Process.Signal(syscall.SIGINT) // tcpdump prints its counts and exits
	for range c.lines {
	}
	c.dump.Wait()
	if m := regexp.MustCompile(`(\d+) packets? dropped by kernel`).FindStringSubmatch(c.stderr.String()); m == nil || m[1] != "0" {
		t.Fatalf("the capture is incomplete (tcpdump dropped packets, or did not say): %s", c.stderr.String())
	}
}

// stop ends tcpdump, whatever state it is in.
func (c *loopbackCapture) stop() {
	c.dump.Process.Kill()
	c.cancel()
}

// TestTLSCloseNotifyLeavesWithTheResponse: a request that says
// Connection: close (one request per connection, as in the handshake
// benchmark) gets its response and the server's close_notify in one send,
// so the server sends two data segments in all: its handshake flight, then
// the response with close_notify behind it (three before: close_notify
// left in a send of its own when the connection closed). The client reads
// the response to the end of the stream.
func TestTLSCloseNotifyLeavesWithTheResponse(t *testing.T) {
	testenv.Program(t, "tcpdump")
	if os.Geteuid() != 0 {
		testenv.Missing(t, "tcpdump needs root (CAP_NET_RAW) to capture on the loopback (CI runs as root)")
	}
	lw := startTLS(t, certLines(t, "ecdsa-p256")+"session_tickets = 0\n", Options{})
	fewest := 0
	for i := range 3 { // the fewest of three: a loaded machine can only add segments
		if n := closingSegments(t, lw.tlsAddr); i == 0 || n < fewest {
			fewest = n
		}
	}
	if fewest != 2 {
		t.Fatalf("server sent %d data segments for a handshake and one Connection: close request, want 2 "+
			"(the flight; the response with close_notify)", fewest)
	}
}

// closingSegments makes one TLS connection to addr with one request that
// asks to close, reads the response to the end of the stream, and returns
// the data-carrying segments the server sent up to its FIN.
func closingSegments(t *testing.T, addr string) int {
	t.Helper()
	_, port, _ := net.SplitHostPort(addr)
	capture := captureLoopback(t, addr)
	defer capture.stop()
	c := tlsDial(t, addr, &tls.Config{CurvePreferences: []tls.CurveID{tls.X25519}, MinVersion: tls.VersionTLS13})
	fromServer := "127.0.0.1." + port + " > 127.0.0.1." + portOf(c.LocalAddr()) + ":"
	if _, err := io.WriteString(c, "GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	all, err := io.ReadAll(c) // to the close_notify (or the FIN)
	if err != nil || !strings.HasPrefix(string(all), "HTTP/1.1 200 ") || !strings.HasSuffix(string(all), "Hello, World!") {
		t.Fatalf("Connection: close request: %q, %v", all, err)
	}
	segments := 0
	for {
		l := capture.next(t)
		if !strings.Contains(l, fromServer) {
			continue
		}
		if !strings.HasSuffix(l, "length 0") {
			segments++
		}
		if strings.Contains(l, "Flags [F") {
			capture.complete(t)
			return segments
		}
	}
}

func portOf(a net.Addr) string {
	_, port, _ := net.SplitHostPort(a.String())
	return port
}
