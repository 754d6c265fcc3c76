package server

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"lwango/http1"
)

// logLine is a common-log-format line as the access log writes it.
var logLine = regexp.MustCompile(`^127\.0\.0\.1 - - \[[^\]]+\] "(.*)" (\d+) (\d+) plain$`)

// Requests the engine refuses itself reach the access log and the request
// count like the handler's: with their request line when the head was
// complete, "-" when it was not.
func TestAccessLogEngineErrors(t *testing.T) {
	ts := newTestSite(t)
	var log syncBuffer
	cfg := testConfig(t, ts, "")
	cfg.Quiet = false
	srv, addr := startServer(t, cfg, Options{AccessLog: &log})
	cases := []struct {
		raw, line string
		status    int
		closes    bool
	}{
		{"GET /a%00b HTTP/1.1\r\nHost: a\r\n\r\n", "-", 400, true},
		{"GET /" + strings.Repeat("a", 5000) + " HTTP/1.1\r\nHost: a\r\n\r\n", "-", 414, true},
		{"GET / HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X-H: v\r\n", 70) + "\r\n", "-", 431, true},
		{"GET / HTTP/2.0\r\nHost: a\r\n\r\n", "-", 505, true},
		{"POST /up%6coad?q=1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "POST /up%6coad?q=1 HTTP/1.1", 400, true},
		{"POST /hello HTTP/1.1\r\nHost: a\r\nContent-Length: 40961\r\n\r\n", "POST /hello HTTP/1.1", 413, true},
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: foo, chunked\r\n\r\n", "POST / HTTP/1.1", 501, true},
		{"GET / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n", "GET / HTTP/1.1", 417, true},
		{"BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n", "BREW /pot HTTP/1.1", 501, false},
		{"get /pot HTTP/1.1\r\nHost: a\r\n\r\n", "get /pot HTTP/1.1", 501, false},
		{strings.Repeat("M", 200) + " /pot HTTP/1.1\r\nHost: a\r\n\r\n", strings.Repeat("M", 32) + "... /pot HTTP/1.1", 501, false},
	}
	for i, tc := range cases {
		c := dialRaw(t, addr)
		c.send(t, tc.raw)
		resp, body := c.response(t, "GET")
		if resp.StatusCode != tc.status {
			t.Fatalf("case %d: status %d, want %d", i, resp.StatusCode, tc.status)
		}
		if tc.closes {
			c.expectClosed(t)
		}
		c.Close()
		// One line per response, in order: wait for this one before the next.
		waitFor(t, func() bool { return len(log.lines()) == i+1 && log.String() != "" }, "log line "+strconv.Itoa(i))
		m := logLine.FindStringSubmatch(log.lines()[i])
		if m == nil || m[1] != tc.line || m[2] != strconv.Itoa(tc.status) || m[3] != strconv.Itoa(len(body)) {
			t.Errorf("case %d: log line %q, want %q %d %d", i, log.lines()[i], tc.line, tc.status, len(body))
		}
	}
	if st := srv.Stats(); st.Requests != uint64(len(cases)) {
		t.Fatalf("stats %+v: want %d requests", st, len(cases))
	}
}

// The 408 sent to a client too slow to send its request is logged with the
// size of its body.
func TestAccessLogRequestTimeout(t *testing.T) {
	ts := newTestSite(t)
	var log syncBuffer
	cfg := testConfig(t, ts, "")
	cfg.Quiet = false
	_, addr := startServer(t, cfg, Options{AccessLog: &log, RequestTimeout: 100 * time.Millisecond})
	c := dialRaw(t, addr)
	c.send(t, "GET /hel")
	resp, body := c.response(t, "GET")
	if resp.StatusCode != 408 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	waitFor(t, func() bool { return log.String() != "" }, "the log line")
	m := logLine.FindStringSubmatch(log.lines()[0])
	if m == nil || m[1] != "-" || m[2] != "408" || m[3] != strconv.Itoa(len(body)) || len(body) != len(http1.ErrorPage(408)) {
		t.Fatalf("log line %q", log.lines()[0])
	}
}

// A method the server does not know is logged as the client sent it, over
// HTTP/2 too, where :method may hold bytes HTTP/1.1's token rule refuses:
// quotes, spaces, backslashes, DEL and non-ASCII are escaped and a long
// one is cut, so the line keeps its fields and a client cannot forge one.
func TestAccessLogUnknownMethodH2(t *testing.T) {
	_, addr, log := startH2C(t, "")
	r := dialH2(t, addr)
	methods := []struct{ sent, logged string }{
		{"BREW", "BREW"},
		{"B\"R E\\W\x7f\xff", `B\x22R\x20E\x5cW\x7f\xff`},
		{strings.Repeat("Q", 40), strings.Repeat("Q", 32) + "..."},
	}
	for i, m := range methods {
		id := uint32(2*i + 1)
		r.headers(id, true, ":method", m.sent, ":scheme", "http", ":path", "/pot", ":authority", "localhost")
		if status, _ := r.response(id); status != "501" {
			t.Fatalf("%q: status %s, want 501", m.sent, status)
		}
		want := `"` + m.logged + ` /pot HTTP/2.0" 501 `
		waitFor(t, func() bool { return strings.Contains(log.String(), want) }, "the log line of "+strconv.Quote(m.sent))
	}
	if lines := log.lines(); len(lines) != len(methods) {
		t.Fatalf("%d log lines for %d requests:\n%s", len(lines), len(methods), log.String())
	}
}
