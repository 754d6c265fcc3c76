package site

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"lwango/http1"
)

// newTestSite parses doc (with every "ROOT" replaced by root) and builds
// its site with a fixed clock.
func newTestSite(t testing.TB, root, doc string) *Site {
	t.Helper()
	cfg, err := Parse("test.conf", []byte(strings.ReplaceAll(doc, "ROOT", root)))
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSite(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.now = func() time.Time { return testNow }
	return s
}

// testNow is the test clock's time.
var testNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// request builds a request the way the parser leaves one: path split from
// the query, known headers in their fields and every header in Headers.
func request(method http1.Method, target string, headers ...string) *http1.Request {
	req := &http1.Request{Method: method, Minor: 1, ContentLength: -1, KeepAlive: true}
	path, query, _ := strings.Cut(target, "?")
	req.Path, req.Query = []byte(path), []byte(query)
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ": ")
		req.Headers[req.NumHeaders] = http1.Header{Name: []byte(name), Value: []byte(value)}
		req.NumHeaders++
		switch strings.ToLower(name) {
		case "accept-encoding":
			req.AcceptEncoding = []byte(value)
		case "if-modified-since":
			req.IfModifiedSince = []byte(value)
		case "if-none-match":
			req.IfNoneMatch = []byte(value)
		case "range":
			req.Range = []byte(value)
		case "authorization":
			req.Authorization = []byte(value)
		}
	}
	return req
}

// result is a response with its body read and its descriptor closed (or
// handed back to its owner, as the engine does).
type result struct {
	*http1.Response
	body    []byte
	headers map[string]string
}

func (r result) header(name string) string { return r.headers[strings.ToLower(name)] }

// serve runs req through s and reads the response's body, from its
// descriptor if it has one.
func serve(t testing.TB, s *Site, req *http1.Request) result {
	t.Helper()
	resp := &http1.Response{}
	resp.Reset()
	s.ServeHTTP1(req, resp)
	r := result{Response: resp, body: resp.Body, headers: map[string]string{}}
	if resp.File >= 0 {
		r.body = make([]byte, resp.FileLength)
		n, err := unix.Pread(resp.File, r.body, resp.FileOffset)
		if resp.FileOwner != nil {
			resp.FileOwner.ReleaseFile(resp.File)
		} else {
			unix.Close(resp.File)
		}
		if err != nil || int64(n) != resp.FileLength {
			t.Fatalf("reading the response's file: %d bytes, %v", n, err)
		}
	}
	for _, line := range strings.Split(string(resp.Extra), "\r\n") {
		if line == "" {
			continue
		}
		name, value, ok := strings.Cut(line, ": ")
		if !ok {
			t.Fatalf("malformed header line %q in %q", line, resp.Extra)
		}
		if _, dup := r.headers[strings.ToLower(name)]; dup {
			t.Fatalf("header %s sent twice in %q", name, resp.Extra)
		}
		r.headers[strings.ToLower(name)] = value
	}
	return r
}

func get(t testing.TB, s *Site, target string, headers ...string) result {
	t.Helper()
	return serve(t, s, request(http1.MethodGet, target, headers...))
}

// writeFile creates dir/name with data and the given modification time.
func writeFile(t testing.TB, dir, name string, data []byte, mtime time.Time) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func expect(t testing.TB, what string, got, want any) {
	t.Helper()
	if b, ok := got.([]byte); ok {
		got = string(b)
	}
	if got != want {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

// bigData returns n bytes of a repeating pattern.
func bigData(n int) []byte {
	return bytes.Repeat([]byte("0123456789abcdef"), n/16+1)[:n]
}
