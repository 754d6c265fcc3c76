package server

import (
	"bufio"
	"crypto/tls"
	"io"
	"strings"
	"testing"
	"time"
)

// proxyServer runs a server with proxy_protocol = true, logging to a buffer,
// with the request deadline given (the PROXY header's too).
func proxyServer(t *testing.T, tlsLines string, requestTimeout time.Duration) (*Server, string, *syncBuffer) {
	t.Helper()
	ts := newTestSite(t)
	cfg := testConfig(t, ts, "proxy_protocol = true\n"+tlsLines)
	cfg.Quiet = false
	log := &syncBuffer{}
	srv, addr := startServer(t, cfg, Options{AccessLog: log, RequestTimeout: requestTimeout})
	return srv, addr, log
}

// clientAddressRoute is a [[site.response]] that answers with the client's
// address, as a handler sees it.
const clientAddressRoute = `
[[site.response]]
prefix = "/ip"
code = 200
body = "you are ${remote_address}\n"
`

// patientDeadline is the request deadline of the tests that do not test it.
// The PROXY header, a TLS handshake and the first request must all arrive
// within it: with 500 ms, curl through HAProxy on a loaded machine now and
// then got its HTTP/2 connection ended by the deadline's GOAWAY, stream 1
// still open ("HTTP/2 stream 1 was not closed cleanly").
const patientDeadline = 10 * time.Second

// proxyRejects sums the server's refused PROXY headers by kind.
func proxyRejects(srv *Server) [proxyRejectKinds]uint64 {
	var sum [proxyRejectKinds]uint64
	for _, w := range srv.workers {
		for k := range sum {
			sum[k] += w.metrics.proxyRejected[k].load()
		}
	}
	return sum
}

// A PROXY header, v1 or v2, sent whole or a byte at a time, before the
// request: the request is served and the address the header carries is the
// client's in the access log, for every request of the keep-alive
// connection (the state that holds it stays while the connection idles).
func TestProxyProtocolPlain(t *testing.T) {
	srv, addr, log := proxyServer(t, "", patientDeadline)
	for _, c := range []struct {
		name, header, client string
		bytewise             bool
	}{
		{"v1", "PROXY TCP4 192.0.2.7 127.0.0.1 56324 80\r\n", "192.0.2.7", false},
		{"v1 bytewise", "PROXY TCP6 2001:db8::7 ::1 4000 80\r\n", "2001:db8::7", true},
		{"v2", string(proxyV2(0x21, 0x11, v4Block("203.0.113.9", "127.0.0.1", 40000, 80), tlv(0x02, []byte("example.com")))), "203.0.113.9", false},
		{"v2 bytewise", string(proxyV2(0x21, 0x11, v4Block("198.51.100.4", "127.0.0.1", 1, 80), nil)), "198.51.100.4", true},
		// The balancer's own connection: the socket's address is the client's.
		{"v2 LOCAL", string(proxyV2(0x20, 0x00, nil, nil)), "127.0.0.1", false},
		{"v1 UNKNOWN", "PROXY UNKNOWN\r\n", "127.0.0.1", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := len(log.String())
			conn := dialRaw(t, addr)
			if c.bytewise {
				for i := range len(c.header) {
					conn.send(t, c.header[i:i+1])
					// The thing tested: a header arriving in pieces. The
					// pause lets the server read each byte on its own
					// (the test passes either way, so no margin matters).
					time.Sleep(time.Millisecond)
				}
				conn.send(t, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
			} else {
				conn.send(t, c.header+"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
			}
			resp, body := conn.response(t, "GET")
			if resp.StatusCode != 200 || string(body) != "Hello, World!" {
				t.Fatalf("%d %q", resp.StatusCode, body)
			}
			settle(t, srv) // the connection is idle now: its state must keep the address
			conn.send(t, "GET /nothing-here HTTP/1.1\r\nHost: x\r\n\r\n")
			if resp, _ := conn.response(t, "GET"); resp.StatusCode != 404 {
				t.Fatalf("second request: %d", resp.StatusCode)
			}
			waitFor(t, func() bool { return strings.Count(log.String()[before:], "\n") >= 2 }, "two access log lines")
			lines := strings.Split(strings.TrimSpace(log.String()[before:]), "\n")
			for _, l := range lines {
				if !strings.HasPrefix(l, c.client+" - - [") {
					t.Errorf("log line %q does not start with the client %s", l, c.client)
				}
			}
		})
	}
	if r := proxyRejects(srv); r != [proxyRejectKinds]uint64{} {
		t.Fatalf("rejected %v", r)
	}
}

// A connection without a valid PROXY header is closed without a response,
// and counted by why: missing, malformed, oversized, or not complete within
// the request deadline.
func TestProxyProtocolRefused(t *testing.T) {
	srv, addr, log := proxyServer(t, "", 500*time.Millisecond)
	for _, c := range []struct {
		name, send string
		kind       proxyReject
	}{
		{"missing", "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", proxyMissing},
		{"malformed v1", "PROXY TCP4 1.2.3.4 5.6.7.8 99999 80\r\nGET /hello HTTP/1.1\r\n\r\n", proxyMalformed},
		{"malformed v2", string(proxyV2(0x21, 0x11, v4Block("1.2.3.4", "5.6.7.8", 1, 2), []byte{1, 0, 9})), proxyMalformed},
		{"oversized v1", "PROXY TCP4 " + strings.Repeat("1", 120), proxyOversized},
		{"oversized v2", string(proxyV2(0x21, 0x11, v4Block("1.2.3.4", "5.6.7.8", 1, 2), tlv(0xe0, make([]byte, 3000)))), proxyOversized},
		{"slow", "PROXY TCP4 1.2.3.4 ", proxyTimeout},
		{"cut short", "PROXY TCP4 1.2.3.4 ", proxyMalformed},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := proxyRejects(srv)
			conn := dialRaw(t, addr)
			conn.send(t, c.send)
			if c.name == "cut short" {
				conn.Conn.(interface{ CloseWrite() error }).CloseWrite()
			}
			start := time.Now()
			rest, _ := io.ReadAll(conn.r) // a reset after unread input is a close too
			if len(rest) != 0 {
				t.Fatalf("got %q, want the connection closed without a response", rest)
			}
			if c.kind == proxyTimeout && time.Since(start) < 300*time.Millisecond {
				t.Fatalf("closed after %v, before the request deadline", time.Since(start))
			}
			waitFor(t, func() bool { return proxyRejects(srv)[c.kind] == before[c.kind]+1 }, "the refusal counted as "+proxyRejectNames[c.kind])
			after := proxyRejects(srv)
			for k := range after {
				if k != int(c.kind) && after[k] != before[k] {
					t.Errorf("counted as %s too", proxyRejectNames[k])
				}
			}
		})
	}
	if s := log.String(); s != "" {
		t.Errorf("refused connections were logged as requests: %q", s)
	}
}

// Over TLS the header comes before the handshake, which then runs as
// usual; the header's address is the client's in the access log.
func TestProxyProtocolTLS(t *testing.T) {
	srv, _, log := proxyServer(t, "[tls_listener]\naddress = \"127.0.0.1:0\"\n"+certLines(t, "ecdsa-p256"), patientDeadline)
	tlsAddr, _ := srv.TLSAddr()
	for _, header := range []string{
		"PROXY TCP4 192.0.2.99 127.0.0.1 1234 443\r\n",
		string(proxyV2(0x21, 0x21, v6Block("2001:db8::99", "::1", 1234, 443), tlv(0x20, []byte{1, 0, 0, 0, 0}))),
	} {
		before := len(log.String())
		raw := dialRaw(t, tlsAddr.String())
		raw.send(t, header)
		c := tls.Client(raw.Conn, &tls.Config{InsecureSkipVerify: true})
		if err := c.Handshake(); err != nil {
			t.Fatal(err)
		}
		resp, body := get(t, c, bufio.NewReader(c), "/hello")
		if resp.StatusCode != 200 || string(body) != "Hello, World!" {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
		c.Close()
		want := "192.0.2.99 - - ["
		if !strings.HasPrefix(header, "PROXY") {
			want = "2001:db8::99 - - ["
		}
		waitFor(t, func() bool { return strings.Contains(log.String()[before:], "\n") }, "an access log line")
		if l := log.String()[before:]; !strings.HasPrefix(l, want) || !strings.Contains(l, "\"GET /hello HTTP/1.1\" 200") {
			t.Errorf("log %q, want it to start with %q", l, want)
		}
	}
	// A TLS ClientHello without a header is refused like any missing header.
	before := proxyRejects(srv)[proxyMissing]
	raw := dialRaw(t, tlsAddr.String())
	c := tls.Client(raw.Conn, &tls.Config{InsecureSkipVerify: true})
	if err := c.Handshake(); err == nil {
		t.Fatal("handshake without a PROXY header succeeded")
	}
	waitFor(t, func() bool { return proxyRejects(srv)[proxyMissing] == before+1 }, "the missing header counted")
}
