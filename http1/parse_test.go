package http1

import (
	"strings"
	"testing"
)

func TestCleanPath(t *testing.T) {
	cases := []struct{ raw, want string }{
		{"/", "/"},
		{"/index.html", "/index.html"},
		{"//a///b", "/a/b"},
		{"/a/./b/.", "/a/b/"},
		{"/a/b/", "/a/b/"},
		{"/a/../b", "/b"},
		{"/a/b/..", "/a/"},
		{"/..", "/"},
		{"/../..", "/"},
		{"/a/../../etc/passwd", "/etc/passwd"},
		{"/a/%2e%2e/%2E%2E/etc/passwd", "/etc/passwd"},
		{"/%2e%2e%2f%2e%2e%2fetc/passwd", "/etc/passwd"},
		{"/a%2fb", "/a/b"},
		{"/a%20b", "/a b"},
		{"/%41%62c", "/Abc"},
		{"/a/..%2f..%2fb", "/b"},
		{"/...", "/..."},
		{"/a/..b/.c", "/a/..b/.c"},
		{"/.hidden/./x", "/.hidden/x"},
		{"/caf%C3%A9", "/caf\xc3\xa9"},
		{"/%25", "/%"},
		{"/%2541", "/%41"},
	}
	for _, tc := range cases {
		ok, clean := checkPath([]byte(tc.raw))
		if !ok {
			t.Errorf("checkPath(%q) = false", tc.raw)
			continue
		}
		if got := string(cleanPath([]byte(tc.raw))); got != tc.want {
			t.Errorf("cleanPath(%q) = %q, want %q", tc.raw, got, tc.want)
		}
		// A path said to be clean is served as sent: cleanPath must agree.
		if clean && tc.want != tc.raw {
			t.Errorf("checkPath(%q) says clean, but it normalises to %q", tc.raw, tc.want)
		}
	}
	for _, p := range []string{"/", "/hello", "/a/b/", "/a.b/c..", "/caf\xc3\xa9"} {
		if ok, clean := checkPath([]byte(p)); !ok || !clean {
			t.Errorf("checkPath(%q) = %v, %v, want true, true", p, ok, clean)
		}
	}
	for _, bad := range []string{"/%00", "/%0d", "/%0A", "/%7f", "/%1f", "/%", "/%4", "/%g0", "/\x00", "/a\r"} {
		if ok, _ := checkPath([]byte(bad)); ok {
			t.Errorf("checkPath(%q) = true, want false", bad)
		}
	}
}

func TestParseFields(t *testing.T) {
	in := []byte("GET http://Example.com:8080/a/%2e%2e/b%20c?x=1&y=%20 HTTP/1.0\r\n" +
		"Host: ignored.example\r\n" +
		"Connection: keep-alive\r\n" +
		"Accept-Encoding: gzip, br\r\n" +
		"If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n" +
		"If-None-Match: \"abc\"\r\n" +
		"Range: bytes=0-10\r\n" +
		"Authorization: Basic dXNlcjpwYXNz\r\n" +
		"Content-Type: text/plain\r\n" +
		"Content-Length: 4\r\n" +
		"X-Custom:   spaced value \t\r\n" +
		"\r\nbody")
	var req Request
	n, status := Parse(in, &req, 4096)
	if status != 0 || n != len(in)-4 {
		t.Fatalf("Parse = %d, %d; want %d, 0", n, status, len(in)-4)
	}
	checks := []struct{ name, got, want string }{
		{"Path", string(req.Path), "/b c"},
		{"Query", string(req.Query), "x=1&y=%20"},
		{"Host", string(req.Host), "Example.com:8080"},
		{"Connection", string(req.Connection), "keep-alive"},
		{"AcceptEncoding", string(req.AcceptEncoding), "gzip, br"},
		{"IfModifiedSince", string(req.IfModifiedSince), "Sun, 06 Nov 1994 08:49:37 GMT"},
		{"IfNoneMatch", string(req.IfNoneMatch), `"abc"`},
		{"Range", string(req.Range), "bytes=0-10"},
		{"Authorization", string(req.Authorization), "Basic dXNlcjpwYXNz"},
		{"ContentType", string(req.ContentType), "text/plain"},
		{"X-Custom", string(req.Header("X-cUSTOM")), "spaced value"},
		{"Method", req.Method.String(), "GET"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if req.Minor != 0 || !req.KeepAlive || req.ContentLength != 4 || req.NumHeaders != 10 {
		t.Errorf("Minor %d KeepAlive %v ContentLength %d NumHeaders %d", req.Minor, req.KeepAlive, req.ContentLength, req.NumHeaders)
	}
	if req.Header("Missing") != nil {
		t.Errorf("Header(Missing) = %q", req.Header("Missing"))
	}
}

// TestParseReusesRequest checks that nothing from one request survives
// into the next parsed with the same Request.
func TestParseReusesRequest(t *testing.T) {
	var req Request
	first := []byte("POST /a?q HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nRange: bytes=1-\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n")
	if _, status := Parse(first, &req, 4096); status != 0 {
		t.Fatalf("first: %d", status)
	}
	second := []byte("GET /b HTTP/1.1\r\nHost: b\r\n\r\n")
	if _, status := Parse(second, &req, 4096); status != 0 {
		t.Fatalf("second: %d", status)
	}
	if req.Query != nil || req.Range != nil || req.ContentLength != -1 || req.ExpectContinue ||
		!req.KeepAlive || req.NumHeaders != 1 || string(req.Host) != "b" {
		t.Fatalf("state leaked from the first request: %+v", req)
	}
}

func TestParseIncomplete(t *testing.T) {
	full := "GET /x HTTP/1.1\r\nHost: a\r\n\r\n"
	for i := range len(full) {
		var req Request
		n, status := Parse([]byte(full[:i]), &req, 4096)
		if n != 0 || status != 0 {
			t.Fatalf("Parse(%q) = %d, %d; want incomplete", full[:i], n, status)
		}
	}
}

func TestParseLimitBoundaries(t *testing.T) {
	head := "GET /x HTTP/1.1\r\nHost: a\r\n\r\n"
	var req Request
	if n, status := Parse([]byte(head), &req, len(head)); n != len(head) || status != 0 {
		t.Fatalf("head of exactly maxHead bytes: %d, %d", n, status)
	}
	if _, status := Parse([]byte(head), &req, len(head)-1); status != StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("head one byte over: status %d, want 431", status)
	}
	line := "GET /x HTTP/1.1\r\n"
	if _, status := Parse([]byte(head), &req, len(line)-1); status != StatusURITooLong {
		t.Fatalf("request line one byte over: status %d, want 414", status)
	}
	// A partial head shorter than the limit is just incomplete.
	if n, status := Parse([]byte(strings.Repeat("a", 100)), &req, 101); n != 0 || status != 0 {
		t.Fatalf("short partial line: %d, %d", n, status)
	}
}

func TestValidFieldValue(t *testing.T) {
	for c := range 256 {
		for pos := range 19 {
			v := []byte(strings.Repeat("a", 19))
			v[pos] = byte(c)
			want := c == '\t' || (c >= 0x20 && c != 0x7f)
			if got := validFieldValue(v); got != want {
				t.Fatalf("byte %#x at %d: valid %v, want %v", c, pos, got, want)
			}
		}
	}
}
