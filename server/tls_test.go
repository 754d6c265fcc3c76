package server

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lwango/site"
)

// Go's crypto/tls client (the test peer) against the real server: event
// loops, our handshake and the user-space record layer, over loopback.

var tls13Suites = []struct {
	name string
	id   uint16
}{
	{"TLS_AES_128_GCM_SHA256", tls.TLS_AES_128_GCM_SHA256},
	{"TLS_AES_256_GCM_SHA384", tls.TLS_AES_256_GCM_SHA384},
	{"TLS_CHACHA20_POLY1305_SHA256", tls.TLS_CHACHA20_POLY1305_SHA256},
}

var tlsGroups = []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256, tls.CurveP384}

// Every TLS 1.3 suite × group × certificate kind: one server per suite and
// certificate (the suite is chosen by the server's ciphers list, as Go's
// client offers all three), one connection per group.
func TestTLS13Matrix(t *testing.T) {
	for _, kind := range certKinds {
		for _, suite := range tls13Suites {
			t.Run(kind+"/"+suite.name, func(t *testing.T) {
				s := startTLS(t, certLines(t, kind)+fmt.Sprintf("ciphers = [%q]\n", suite.name), Options{})
				for _, group := range tlsGroups {
					c := tlsDial(t, s.tlsAddr, &tls.Config{MinVersion: tls.VersionTLS13, CurvePreferences: []tls.CurveID{group}})
					st := c.ConnectionState()
					if st.Version != tls.VersionTLS13 || st.CipherSuite != suite.id || st.CurveID != group || st.NegotiatedProtocol != "" {
						t.Fatalf("%v: negotiated version %x suite %x group %v ALPN %q", group, st.Version, st.CipherSuite, st.CurveID, st.NegotiatedProtocol)
					}
					checkLeafKind(t, st.PeerCertificates[0].PublicKey, kind)
					resp, body := get(t, c, bufio.NewReader(c), "/hello")
					if resp.StatusCode != 200 || string(body) != "Hello, World!" {
						t.Fatalf("%v: %d %q", group, resp.StatusCode, body)
					}
				}
			})
		}
	}
}

func checkLeafKind(t *testing.T, pub any, kind string) {
	t.Helper()
	var ok bool
	switch kind {
	case "ecdsa-p256":
		_, ok = pub.(*ecdsa.PublicKey)
	case "rsa-2048":
		_, ok = pub.(*rsa.PublicKey)
	case "ed25519":
		_, ok = pub.(ed25519.PublicKey)
	}
	if !ok {
		t.Fatalf("server certificate key %T, want %s", pub, kind)
	}
}

// ALPN: h2 is preferred when offered; a client offering only http/1.1
// gets it; with http2 = false h2 is not offered.
func TestTLSALPN(t *testing.T) {
	for _, tc := range []struct {
		lines  string
		offer  []string
		chosen string
	}{
		{"", []string{"http/1.1", "h2"}, "h2"},
		{"", []string{"http/1.1"}, "http/1.1"},
		{"http2 = false\n", []string{"h2", "http/1.1"}, "http/1.1"},
	} {
		s := startTLS(t, tc.lines, Options{})
		for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			c := tlsDial(t, s.tlsAddr, &tls.Config{NextProtos: tc.offer, MinVersion: v, MaxVersion: v})
			if p := c.ConnectionState().NegotiatedProtocol; p != tc.chosen {
				t.Fatalf("%q, offer %v, TLS %x: ALPN %q, want %q", tc.lines, tc.offer, v, p, tc.chosen)
			}
		}
	}
}

// hrrRandom is the ServerHello.random that marks a HelloRetryRequest
// (RFC 8446 §4.1.3).
var hrrRandom = []byte{
	0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
	0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
}

// recordingConn keeps the first bytes the server sent.
type recordingConn struct {
	net.Conn
	got []byte
}

func (r *recordingConn) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	if len(r.got) < 64 {
		r.got = append(r.got, p[:min(n, 64-len(r.got))]...)
	}
	return n, err
}

// The client's key share is for a group the server does not accept: the
// server asks again with a HelloRetryRequest and the handshake completes.
func TestTLSHelloRetryRequest(t *testing.T) {
	s := startTLS(t, "groups = [\"secp384r1\"]\n", Options{})
	raw, err := net.Dial("tcp", s.tlsAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(10 * time.Second))
	rec := &recordingConn{Conn: raw}
	c := tls.Client(rec, &tls.Config{InsecureSkipVerify: true, CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP384}})
	if err := c.Handshake(); err != nil {
		t.Fatal(err)
	}
	if len(rec.got) < 43 || rec.got[0] != 22 || rec.got[5] != 2 || !bytes.Equal(rec.got[11:43], hrrRandom) {
		t.Fatalf("first server message is not a HelloRetryRequest: % x", rec.got)
	}
	if g := c.ConnectionState().CurveID; g != tls.CurveP384 {
		t.Fatalf("group %v after HRR", g)
	}
	if resp, body := get(t, c, bufio.NewReader(c), "/hello"); resp.StatusCode != 200 || string(body) != "Hello, World!" {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
}

// TLS 1.2 with every ECDHE suite the certificate kind allows. An ECDSA
// certificate is only used with a client that lists its curve (RFC 8422
// §5.1), so there the client lists P-256 after the group under test.
func TestTLS12(t *testing.T) {
	groups := map[string][]tls.CurveID{
		"ecdsa-p256": {tls.X25519, tls.CurveP256},
		"rsa-2048":   {tls.X25519, tls.CurveP256, tls.CurveP384},
	}
	suites := map[string][]uint16{
		"ecdsa-p256": {tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256},
		"rsa-2048":   {tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256},
	}
	for _, kind := range []string{"ecdsa-p256", "rsa-2048"} {
		t.Run(kind, func(t *testing.T) {
			s := startTLS(t, certLines(t, kind), Options{})
			for _, suite := range suites[kind] {
				for _, group := range groups[kind] {
					curves := []tls.CurveID{group}
					if kind == "ecdsa-p256" && group != tls.CurveP256 {
						curves = append(curves, tls.CurveP256)
					}
					c := tlsDial(t, s.tlsAddr, &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{suite}, CurvePreferences: curves})
					st := c.ConnectionState()
					if st.Version != tls.VersionTLS12 || st.CipherSuite != suite || st.CurveID != group {
						t.Fatalf("negotiated %x %x %v, want TLS 1.2 %x %v", st.Version, st.CipherSuite, st.CurveID, suite, group)
					}
					r := bufio.NewReader(c)
					for range 2 {
						if resp, body := get(t, c, r, "/hello"); resp.StatusCode != 200 || string(body) != "Hello, World!" {
							t.Fatalf("%d %q", resp.StatusCode, body)
						}
					}
				}
			}
		})
	}
}

// Several requests on one connection, one of them pipelined behind
// another in the same record, and the connection is the only one accepted.
func TestTLSKeepAlive(t *testing.T) {
	s := startTLS(t, "", Options{})
	c := tlsDial(t, s.tlsAddr, nil)
	r := bufio.NewReader(c)
	for i := range 5 {
		resp, body := get(t, c, r, "/small.txt")
		if resp.StatusCode != 200 || string(body) != "small file\n" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
		}
	}
	io.WriteString(c, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\nGET /index.html HTTP/1.1\r\nHost: a\r\n\r\n")
	for _, want := range []string{"Hello, World!", string(s.site.index)} {
		resp, err := http.ReadResponse(r, &http.Request{Method: "GET"})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if string(body) != want {
			t.Fatalf("pipelined: %q, want %q", body, want)
		}
	}
	if st := s.srv.Stats(); st.Accepted != 1 || st.Requests != 7 {
		t.Fatalf("stats %+v: want one connection, seven requests", st)
	}
}

// A 10 MiB file goes through user-space sendfile (pread, seal, send) and
// arrives byte for byte, over TLS 1.3 and TLS 1.2, twice on one connection.
// Under the race detector at load ~20 the test took up to 35 s for its two
// connections of 20 MiB each: a connection's deadline is 2 minutes, not
// tlsDial's 30 s.
func TestTLSLargeFile(t *testing.T) {
	s := startTLS(t, "", Options{})
	big := make([]byte, 10<<20)
	rand.Read(big)
	if err := os.WriteFile(filepath.Join(s.site.dir, "10m.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, v := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		c := tlsDial(t, s.tlsAddr, &tls.Config{MaxVersion: v})
		c.SetDeadline(time.Now().Add(2 * time.Minute))
		r := bufio.NewReader(c)
		for range 2 {
			resp, body := get(t, c, r, "/10m.bin")
			if resp.StatusCode != 200 || !bytes.Equal(body, big) {
				t.Fatalf("TLS %x: %d, %d bytes, equal %v", v, resp.StatusCode, len(body), bytes.Equal(body, big))
			}
		}
	}
}

// HSTS goes on HTTPS responses only, and only when configured.
func TestTLSHSTS(t *testing.T) {
	const hsts = "max-age=31536000; includeSubDomains"
	for _, on := range []bool{true, false} {
		s := startTLS(t, fmt.Sprintf("hsts = %v\n", on), Options{})
		c := tlsDial(t, s.tlsAddr, nil)
		resp, _ := get(t, c, bufio.NewReader(c), "/hello")
		if got := resp.Header.Get("Strict-Transport-Security"); (got == hsts) != on || (!on && got != "") {
			t.Fatalf("hsts = %v: HTTPS header %q", on, got)
		}
		plain := dialRaw(t, s.plainAddr)
		plain.send(t, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
		if resp, _ := plain.response(t, "GET"); resp.Header.Get("Strict-Transport-Security") != "" {
			t.Fatalf("hsts = %v: HSTS over cleartext", on)
		}
	}
}

// redirect_http: a browser-like client on the cleartext port is sent to
// HTTPS and gets the page there.
func TestTLSRedirectHTTP(t *testing.T) {
	s := startTLS(t, "redirect_http = true\nhsts = true\n", Options{})
	var hops []string
	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			hops = append(hops, req.URL.String())
			return nil
		},
	}
	resp, err := client.Get("http://" + s.plainAddr + "/small.txt?x=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := "https://" + s.tlsAddr + "/small.txt?x=1"
	if len(hops) != 1 || hops[0] != want || resp.TLS == nil || string(body) != "small file\n" {
		t.Fatalf("hops %q (want %q), TLS %v, body %q", hops, want, resp.TLS != nil, body)
	}
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Fatal("no HSTS on the HTTPS answer")
	}
}

// readAlert reads what the server sends until it closes: exactly one
// plaintext fatal alert record.
func readAlert(t *testing.T, c net.Conn) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading until close: %v (got % x)", err, got)
	}
	return got
}

// Bad handshakes get their alert and a close; the server keeps serving.
func TestTLSBadHandshake(t *testing.T) {
	s := startTLS(t, "", Options{})
	cases := []struct {
		name  string
		send  []byte
		alert byte
	}{
		{"plain HTTP", []byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), 10},         // unexpected_message
		{"TLS 1.1 ClientHello", clientHello11(), 70},                            // protocol_version
		{"ClientHello cut short", []byte{22, 3, 1, 0, 6, 1, 0, 0, 2, 3, 3}, 50}, // decode_error
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", s.tlsAddr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write(tc.send)
			got := readAlert(t, c)
			if want := []byte{21, 3, 3, 0, 2, 2, tc.alert}; !bytes.Equal(got, want) {
				t.Fatalf("server sent % x, want the alert % x then close", got, want)
			}
			ok := tlsDial(t, s.tlsAddr, nil)
			if resp, body := get(t, ok, bufio.NewReader(ok), "/hello"); string(body) != "Hello, World!" {
				t.Fatalf("after a bad handshake: %d %q", resp.StatusCode, body)
			}
		})
	}
}

// clientHello11 is a TLS 1.1 ClientHello: no supported_versions, so the
// client's best version is 1.1, which the server does not speak.
func clientHello11() []byte {
	body := []byte{3, 2}                     // legacy_version TLS 1.1
	body = append(body, make([]byte, 32)...) // random
	body = append(body, 0)                   // session id
	body = append(body, 0, 4, 0xc0, 0x13, 0x00, 0x2f)
	body = append(body, 1, 0) // null compression
	msg := append([]byte{1, 0, byte(len(body) >> 8), byte(len(body))}, body...)
	return append([]byte{22, 3, 1, byte(len(msg) >> 8), byte(len(msg))}, msg...)
}

// A handshake that stalls is closed at the deadline, without an alert.
func TestTLSHandshakeDeadline(t *testing.T) {
	s := startTLS(t, "", Options{RequestTimeout: 300 * time.Millisecond})
	c, err := net.Dial("tcp", s.tlsAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	c.Write(clientHello11()[:20]) // part of a record
	got := readAlert(t, c)
	el := time.Since(start)
	if len(got) != 0 || el < 300*time.Millisecond || el > 3*time.Second {
		t.Fatalf("after %v got % x; want a silent close after the 300ms deadline", el, got)
	}
	if st := s.srv.Stats(); st.Expired != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// A client that stalls after its ClientHello (the server's whole flight is
// out, the server waits for the client's Finished) is cut off at the same
// deadline: the request-read deadline is the one handshake deadline.
func TestTLSHandshakeDeadlineAfterServerFlight(t *testing.T) {
	s := startTLS(t, "", Options{RequestTimeout: 300 * time.Millisecond})
	hello := goClientHello(t)
	c, err := net.Dial("tcp", s.tlsAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	if _, err := c.Write(hello); err != nil {
		t.Fatal(err)
	}
	got := readAlert(t, c) // the flight, then the close
	el := time.Since(start)
	if len(got) < 5 || got[0] != 22 || el < 300*time.Millisecond {
		t.Fatalf("after %v got % x...; want the server flight, then a close after the 300ms deadline", el, got[:min(len(got), 8)])
	}
	if bytes.Contains(got, []byte{21, 3, 3, 0, 2}) {
		t.Fatal("an alert in plaintext after the ServerHello")
	}
	waitFor(t, func() bool { return s.srv.Stats().Expired == 1 }, "the expiry counted")
}

// goClientHello is the ClientHello record crypto/tls sends first.
func goClientHello(t *testing.T) []byte {
	t.Helper()
	client, peer := net.Pipe()
	defer peer.Close()
	go tls.Client(client, &tls.Config{ServerName: "localhost", InsecureSkipVerify: true}).Handshake()
	defer client.Close()
	head := make([]byte, 5)
	if _, err := io.ReadFull(peer, head); err != nil {
		t.Fatal(err)
	}
	rec := make([]byte, 5+(int(head[3])<<8|int(head[4])))
	copy(rec, head)
	if _, err := io.ReadFull(peer, rec[5:]); err != nil {
		t.Fatal(err)
	}
	return rec
}

// The client's close_notify is answered with ours after the response.
func TestTLSCloseNotify(t *testing.T) {
	s := startTLS(t, "", Options{})
	c := tlsDial(t, s.tlsAddr, nil)
	io.WriteString(c, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
	if err := c.CloseWrite(); err != nil { // close_notify
		t.Fatal(err)
	}
	all, err := io.ReadAll(c) // io.EOF only after the server's close_notify
	if err != nil || !strings.HasSuffix(string(all), "\r\n\r\nHello, World!") {
		t.Fatalf("%q, %v", all, err)
	}
}

// A key that does not match its certificate stops the server from
// starting, and the error names both files.
func TestTLSKeyMismatch(t *testing.T) {
	certFile, _ := certFiles(t, "ecdsa-p256")
	_, otherKey := certFiles(t, "rsa-2048")
	ts := newTestSite(t)
	cfg := testConfig(t, ts, fmt.Sprintf("[tls_listener]\naddress = \"127.0.0.1:0\"\ncert = %q\nkey = %q\n", certFile, otherKey))
	for name, err := range map[string]error{"New": newErr(cfg), "Check": Check(cfg)} {
		if err == nil || !strings.Contains(err.Error(), certFile) || !strings.Contains(err.Error(), otherKey) || !strings.Contains(err.Error(), "test.conf") {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

func newErr(cfg *site.Config) error {
	srv, err := New(cfg, Options{})
	if err == nil {
		srv.Shutdown(time.Second)
	}
	return err
}

// tapConn keeps every byte the server sent.
type tapConn struct {
	net.Conn
	got []byte
}

func (c *tapConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.got = append(c.got, p[:n]...)
	return n, err
}

// lastRecordLength walks the records in stream and returns the length of
// the last one.
func lastRecordLength(t *testing.T, stream []byte) int {
	t.Helper()
	last := -1
	for len(stream) >= 5 {
		n := int(stream[3])<<8 | int(stream[4])
		if len(stream) < 5+n {
			t.Fatalf("truncated record in % x", stream)
		}
		last, stream = n, stream[5+n:]
	}
	return last
}

// A connection the server closes (here: idle past keep_alive_timeout) ends
// with our close_notify: the last record is a protected two-byte alert.
func TestTLSServerCloseNotify(t *testing.T) {
	s := startTLS(t, "", Options{KeepAliveTimeout: 300 * time.Millisecond})
	raw, err := net.Dial("tcp", s.tlsAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(10 * time.Second))
	tap := &tapConn{Conn: raw}
	c := tls.Client(tap, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13})
	r := bufio.NewReader(c)
	if resp, body := get(t, c, r, "/hello"); string(body) != "Hello, World!" {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
	if rest, err := io.ReadAll(r); err != nil || len(rest) != 0 {
		t.Fatalf("after the idle timeout: %q, %v", rest, err)
	}
	if n := lastRecordLength(t, tap.got); n != 2+1+16 {
		t.Fatalf("last record %d bytes long, want a protected close_notify (19)", n)
	}
}

// Records larger than the request buffer are decrypted into the
// transport's own buffer and read from it in pieces; small ones straight
// into the request buffer. A 30 000-byte body (two full 16 KiB records
// from Go's client, the first larger than the 4 KiB request buffer) and a
// pipelined GET behind it in the same records are answered in order on one
// connection, so every byte of both arrived where it belongs.
func TestTLSRecordsLargerThanRequestBuffer(t *testing.T) {
	s := startTLS(t, "", Options{})
	c := tlsDial(t, s.tlsAddr, nil)
	r := bufio.NewReader(c)
	body := strings.Repeat("b", 30000)
	io.WriteString(c, "POST /teapot HTTP/1.1\r\nHost: a\r\nContent-Length: 30000\r\n\r\n"+body+"GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
	for _, want := range []int{418, 200} {
		resp, err := http.ReadResponse(r, &http.Request{Method: "GET"})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want || want == 200 && string(got) != "Hello, World!" {
			t.Fatalf("got %d %q, want %d", resp.StatusCode, got, want)
		}
	}
	resp, body2 := get(t, c, r, "/small.txt")
	if resp.StatusCode != 200 || string(body2) != "small file\n" {
		t.Fatalf("after the upload: %d %q", resp.StatusCode, body2)
	}
}
