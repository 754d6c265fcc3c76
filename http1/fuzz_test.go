package http1

import (
	"bytes"
	"strings"
	"testing"
)

// fuzzSeeds are requests that reach every branch of the parser.
var fuzzSeeds = []string{
	"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET /a/../../etc/passwd?x=1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
	"GET /%2e%2e/%2E%2e/a%2fb HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET http://h:80/x HTTP/1.1\r\nHost: h\r\n\r\n",
	"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\nExpect: 100-continue\r\n\r\nabc",
	"POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
	"\r\nHEAD / HTTP/1.1\nHost: a\nConnection: close\n\n",
	"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n",
	"GET /%00 HTTP/1.1\r\n\r\n",
	"BREW / HTTP/1.1\r\nHost: a\r\n\r\n" + pipeline,
}

// FuzzParse checks Parse never panics, never claims more than it was given
// and always yields a clean path.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		const maxHead = 512
		var req Request
		n, status := Parse(in, &req, maxHead)
		switch {
		case status != 0:
			if n != 0 || status < 400 || status > 599 || StatusText(status) == "" {
				t.Fatalf("refusal (%d, %d)", n, status)
			}
			return
		case n == 0:
			if len(in) >= maxHead {
				t.Fatalf("incomplete with %d bytes, the limit being %d", len(in), maxHead)
			}
			return
		}
		if n > len(in) || n > maxHead {
			t.Fatalf("head of %d bytes from %d given (limit %d)", n, len(in), maxHead)
		}
		p := req.Path
		if len(p) == 0 || p[0] != '/' || bytes.Contains(p, []byte("//")) {
			t.Fatalf("path %q", p)
		}
		for seg := range strings.SplitSeq(string(p), "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("path %q has a dot segment", p)
			}
		}
		for _, c := range p {
			if c < 0x20 || c == 0x7f {
				t.Fatalf("path %q has a control byte", p)
			}
		}
		if req.Minor == 1 && req.Host == nil {
			t.Fatal("HTTP/1.1 request accepted without Host")
		}
		// A request without Content-Length or Transfer-Encoding has no body
		// (RFC 9112 §6.3); one with both is a smuggling attempt (§6.1).
		if req.facts.sawContentLength && req.facts.sawTransferEncoding {
			t.Fatal("request accepted with both Content-Length and Transfer-Encoding")
		}
		for i, c := range in[:n] {
			if c == '\r' && (i+1 == n || in[i+1] != '\n') {
				t.Fatalf("head with a bare CR accepted: %q", in[:n])
			}
			if c == 0 {
				t.Fatalf("head with a NUL accepted: %q", in[:n])
			}
		}
	})
}

// FuzzServe checks the engine answers any input with well-formed,
// in-order responses, the same whether the input arrives whole or split.
func FuzzServe(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), uint8(7))
	}
	f.Fuzz(func(t *testing.T, in []byte, piece uint8) {
		e := newTestEngine(helloHandler)
		e.MaxRequestSize = 512
		e.MaxBodySize = 256
		// Serve decodes paths in place: keep the input for the split run.
		whole, res := serveAll(t, e, bytes.Clone(in), &Output{})
		if res.Consumed > len(in) {
			t.Fatalf("consumed %d of %d", res.Consumed, len(in))
		}
		if len(whole) > 0 && !strings.HasPrefix(whole, "HTTP/1.1 ") {
			t.Fatalf("output does not start with a status line: %q", whole)
		}
		if strings.Contains(string(in), "100-continue") {
			return // 100 Continue depends on where the input splits
		}
		e = newTestEngine(helloHandler)
		e.MaxRequestSize = 512
		e.MaxBodySize = 256
		split, splitRes := serveInPieces(t, e, in, int(piece)+1)
		if split != whole || (len(in) > 0 && splitRes.Next != res.Next) {
			t.Fatalf("in pieces of %d:\n%q %v\nwhole:\n%q %v", int(piece)+1, split, splitRes.Next, whole, res.Next)
		}
	})
}
