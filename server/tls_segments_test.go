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
// returns the data-carrying segments each way. tcpdump prints each packet
// as it sees it; a probe connection made first, and seen, proves the
// capture has started. Only the test connection's packets are counted.
//
// The capture keeps only the headers (-s 128): with the default snapshot
// length of 256 KiB each slot of the kernel's capture ring is that large,
// the default 2 MiB ring holds a handful of packets, and a tcpdump the
// machine's load kept from reading lost some (2 to 34 "dropped by kernel"
// on a second run; the count then missed the response or waited for the
// marker until its keep-alive probe 15 s later). tcpdump's own count of
// drops, read when it is stopped, must be 0: a capture with holes fails.
func countSegments(t *testing.T, addr string) (serverToClient, clientToServer int) {
	t.Helper()
	_, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dump := exec.CommandContext(ctx, "tcpdump", "-i", "lo", "-nn", "-l", "--immediate-mode", "-s", "128", "-B", "8192", "tcp port "+port)
	stdout, _ := dump.StdoutPipe()
	var stderr syncBuffer
	dump.Stderr = &stderr
	if err := dump.Start(); err != nil {
		t.Fatalf("tcpdump: %v", err)
	}
	defer dump.Process.Kill()
	lines := make(chan string, 1024)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	for probed := false; !probed; {
		probe, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		probe.Close()
		select {
		case _, ok := <-lines: // the capture has started
			if !ok {
				t.Fatalf("tcpdump stopped before capturing anything: %s", stderr.String())
			}
			probed = true
		case <-time.After(100 * time.Millisecond):
		}
	}
	// The probes' packets still to come are not counted: only the test
	// connection's ports are.

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
		l, ok := <-lines
		if !ok {
			t.Fatalf("tcpdump stopped before the capture was complete: %s", stderr.String())
		}
		switch {
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
	dump.Process.Signal(syscall.SIGINT) // tcpdump prints its counts and exits
	for range lines {
	}
	dump.Wait()
	if m := regexp.MustCompile(`(\d+) packets? dropped by kernel`).FindStringSubmatch(stderr.String()); m == nil || m[1] != "0" {
		t.Fatalf("the capture is incomplete (tcpdump dropped packets, or did not say): %s", stderr.String())
	}
	if serverToClient == 0 || clientToServer == 0 {
		t.Fatalf("captured no data on port %s", port)
	}
	return serverToClient, clientToServer
}

func portOf(a net.Addr) string {
	_, port, _ := net.SplitHostPort(a.String())
	return port
}
