package server

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"lwango/coro"
)

// greetingTransport stands in for TLS behind the Transport seam: its
// "handshake" reads "HELLO\n" (in as many pieces as the client likes) and
// answers "OK\n"; after that it is the plain transport. It counts Close,
// and tells reads what each read of the greeting gave.
type greetingTransport struct {
	plainTransport
	got    []byte
	done   bool
	closes *atomic.Int32
	reads  chan<- string
}

func (g *greetingTransport) Handshake() error {
	if g.done {
		return nil
	}
	for len(g.got) < len("HELLO\n") {
		var b [6]byte
		n, err := g.plainTransport.Read(b[:len("HELLO\n")-len(g.got)])
		if err != nil {
			return err
		}
		g.got = append(g.got, b[:n]...)
		select {
		case g.reads <- string(b[:n]):
		default:
		}
	}
	if string(g.got) != "HELLO\n" {
		return io.ErrUnexpectedEOF
	}
	if _, err := g.plainTransport.Write([]byte("OK\n"), false); err != nil {
		return err
	}
	g.done = true
	return nil
}

func (g *greetingTransport) Close() error {
	g.closes.Add(1)
	return nil
}

func (g *greetingTransport) Name() string { return "greeting" }

func (g *greetingTransport) detach() (handedConn, bool) { return handedConn{}, false }

func (g *greetingTransport) dropIdle() (uint16, bool) { return 0, false }

// greetingServer is a server whose TLS listener runs greetingTransport.
type greetingServer struct {
	srv                *Server
	plainAddr, tlsAddr string
	closes             *atomic.Int32
	log                *syncBuffer
	// reads has what each read of a greeting gave.
	reads <-chan string
}

func startWithGreetingTLS(t *testing.T, redirect bool) *greetingServer {
	t.Helper()
	ts := newTestSite(t)
	cfg := testConfig(t, ts, fmt.Sprintf(`
[tls_listener]
address = "127.0.0.1:0"
hsts = true
redirect_http = %v
`, redirect))
	cfg.Quiet = false
	var closes atomic.Int32
	var log syncBuffer
	reads := make(chan string, 64)
	srv, addr := startServer(t, cfg, Options{
		AccessLog:      &log,
		RequestTimeout: 300 * time.Millisecond,
		newTLS: func(fd int) (Transport, error) {
			return &greetingTransport{plainTransport: plainTransport{fd: fd}, closes: &closes, reads: reads}, nil
		},
	})
	tlsAddr, ok := srv.TLSAddr()
	if !ok {
		t.Fatal("no TLS listener bound")
	}
	return &greetingServer{srv: srv, plainAddr: addr, tlsAddr: tlsAddr.String(), closes: &closes, log: &log, reads: reads}
}

func TestTransportSeam(t *testing.T) {
	g := startWithGreetingTLS(t, false)
	plainAddr, tlsAddr, closes, log := g.plainAddr, g.tlsAddr, g.closes, g.log

	c := dialRaw(t, tlsAddr)
	c.send(t, "HEL")
	if got := <-g.reads; got != "HEL" { // the handshake has read a part and waits for the rest
		t.Fatalf("the handshake's first read gave %q", got)
	}
	c.send(t, "LO\nGET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
	ok := make([]byte, 3)
	if _, err := io.ReadFull(c.r, ok); err != nil || string(ok) != "OK\n" {
		t.Fatalf("handshake answer %q, %v", ok, err)
	}
	resp, body := c.response(t, "GET")
	if string(body) != "Hello, World!" || resp.Header.Get("Strict-Transport-Security") == "" {
		t.Fatalf("over the transport: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	c.Close()

	plain := dialRaw(t, plainAddr)
	plain.send(t, "GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	if resp, _ := plain.response(t, "GET"); resp.Header.Get("Strict-Transport-Security") != "" {
		t.Fatal("HSTS sent over cleartext")
	}

	waitFor(t, func() bool { return closes.Load() == 1 }, "the transport's Close")
	waitFor(t, func() bool { return strings.Count(log.String(), "\n") == 2 }, "two log lines")
	// Each loop flushes its own log buffer: the two lines may come in
	// either order.
	lines := log.lines()
	var names []string
	for _, l := range lines {
		names = append(names, l[strings.LastIndexByte(l, ' ')+1:])
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"greeting", "plain"}) {
		t.Fatalf("log lines do not name the transports: %q", lines)
	}
}

// A handshake that does not finish is cut off at the request deadline,
// without an HTTP answer, and its transport is closed.
func TestHandshakeDeadline(t *testing.T) {
	g := startWithGreetingTLS(t, false)
	srv, closes := g.srv, g.closes
	c := dialRaw(t, g.tlsAddr)
	start := time.Now()
	c.send(t, "HE")
	c.expectClosed(t)
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Fatalf("cut off after %v, before the deadline", el)
	}
	waitFor(t, func() bool { return closes.Load() == 1 }, "the transport's Close")
	if srv.Stats().Expired != 1 {
		t.Fatalf("stats %+v", srv.Stats())
	}
}

func TestFailedHandshakeAborts(t *testing.T) {
	g := startWithGreetingTLS(t, false)
	closes := g.closes
	c := dialRaw(t, g.tlsAddr)
	c.send(t, "HOWDY\n")
	// The connection is closed at once (a reset or an end of stream),
	// not left to time out, and nothing HTTP is said on it.
	rest, _ := io.ReadAll(c.r)
	if len(rest) != 0 {
		t.Fatalf("got %q after a failed handshake", rest)
	}
	waitFor(t, func() bool { return closes.Load() == 1 }, "the transport's Close")
}

func TestRedirectHTTPToHTTPS(t *testing.T) {
	g := startWithGreetingTLS(t, true)
	srv, plainAddr, tlsAddr := g.srv, g.plainAddr, g.tlsAddr
	tlsPort, _ := srv.TLSAddr()
	c := dialRaw(t, plainAddr)
	c.send(t, "GET /a%20b/../c%3F?x=1&y=%22 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n")
	resp, _ := c.response(t, "GET")
	want := fmt.Sprintf("https://example.com:%d/c%%3F?x=1&y=%%22", tlsPort.Port())
	if resp.StatusCode != 301 || resp.Header.Get("Location") != want {
		t.Fatalf("%d Location %q, want 301 %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	c.send(t, "GET / HTTP/1.0\r\n\r\n")
	if resp, _ := c.response(t, "GET"); resp.StatusCode != 400 {
		t.Fatalf("HTTP/1.0 without Host: %d, want 400", resp.StatusCode)
	}

	// The TLS listener itself serves the site.
	tc := dialRaw(t, tlsAddr)
	tc.send(t, "HELLO\nGET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
	io.ReadFull(tc.r, make([]byte, 3))
	if resp, body := tc.response(t, "GET"); string(body) != "Hello, World!" {
		t.Fatalf("over TLS: %d %q", resp.StatusCode, body)
	}
}

// holdingTransport takes every write into memory and puts it on the wire
// only in Flush, whose first call in each step pretends the socket is full:
// the step must come back and flush, or the client never sees a byte.
type holdingTransport struct {
	plainTransport
	held    []byte
	refused bool
}

func (h *holdingTransport) Write(p []byte, more bool) (int, error) {
	h.held = append(h.held, p...)
	return len(p), nil
}

func (h *holdingTransport) Flush() error {
	if !h.refused {
		h.refused = true
		return coro.ErrWantWrite
	}
	for len(h.held) > 0 {
		n, err := h.plainTransport.Write(h.held, false)
		if err != nil {
			return err
		}
		h.held = h.held[n:]
	}
	h.refused = false
	return nil
}

func (h *holdingTransport) Name() string { return "holding" }

func (h *holdingTransport) detach() (handedConn, bool) { return handedConn{}, false }

func (h *holdingTransport) dropIdle() (uint16, bool) { return 0, false }

func TestStepFlushesTheTransport(t *testing.T) {
	ts := newTestSite(t)
	cfg := testConfig(t, ts, `
[tls_listener]
address = "127.0.0.1:0"
`)
	srv, _ := startServer(t, cfg, Options{newTLS: func(fd int) (Transport, error) {
		return &holdingTransport{plainTransport: plainTransport{fd: fd}}, nil
	}})
	tlsAddr, _ := srv.TLSAddr()
	c := dialRaw(t, tlsAddr.String())
	for range 3 {
		c.send(t, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
		if resp, body := c.response(t, "GET"); string(body) != "Hello, World!" {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
	}
}
