package http1

import (
	"strconv"
	"strings"
	"testing"
)

// chunkedPost is a POST with a chunked body, its extensions and trailers,
// followed by a pipelined GET: the framing must be consumed exactly.
const chunkedPost = "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" +
	"5;name=value\r\nhello\r\n" +
	"1 ; q=\"x\"\r\n,\r\n" +
	"0006\r\n world\r\n" +
	"0\r\nX-Checksum: abc\r\nX-Other: d\r\n\r\n" +
	"GET /next HTTP/1.1\r\nHost: h\r\n\r\n"

func TestChunkedBodyDecoded(t *testing.T) {
	raw, res := serveAll(t, newTestEngine(helloHandler), []byte(chunkedPost), &Output{})
	if res.Next != KeepAlive || res.Consumed != len(chunkedPost) {
		t.Fatalf("result %+v, want KeepAlive after %d bytes", res, len(chunkedPost))
	}
	resps := readResponses(t, raw, "POST", "GET")
	if got := resps[0].Header.Get("X-Body"); resps[0].StatusCode != 200 || got != "hello, world" {
		t.Fatalf("chunked POST: %d, body %q", resps[0].StatusCode, got)
	}
	if got := resps[1].Header.Get("X-Path"); got != "/next" {
		t.Fatalf("the request after the chunked body is %q", got)
	}
}

// Byte by byte and in every piece size, the chunked request gives what it
// gives whole, the body decoded in place as it arrives.
func TestChunkedInPieces(t *testing.T) {
	want, wantRes := serveAll(t, newTestEngine(helloHandler), []byte(chunkedPost), &Output{})
	for size := 1; size <= len(chunkedPost); size++ {
		got, res := serveInPieces(t, newTestEngine(helloHandler), []byte(chunkedPost), size)
		if got != want || res.Next != wantRes.Next {
			t.Fatalf("pieces of %d: %v\n%q\nwhole: %v\n%q", size, res.Next, got, wantRes.Next, want)
		}
	}
}

// While a chunked body arrives the connection keeps the head and the
// decoded body, not the framing: 1-byte chunks take 6 bytes on the wire
// each, and Keep grows by one per chunk.
func TestChunkedKeepsNoFraming(t *testing.T) {
	e := newTestEngine(helloHandler)
	head := "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
	in := head + strings.Repeat("1\r\nx\r\n", 100)
	var p Progress
	var out Output
	res := e.Serve([]byte(in), false, &out, &p)
	if res.Next != ReadMore || res.Keep != len(head)+100 {
		t.Fatalf("result %+v, want ReadMore keeping %d bytes", res, len(head)+100)
	}
	if max := len(head) + int(DefaultMaxBodySize) + DefaultMaxRequestSize; res.Need != max {
		t.Fatalf("Need %d, want %d", res.Need, max)
	}
}

func TestChunkedRefused(t *testing.T) {
	const head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
	cases := []struct {
		name, body string
		status     int
	}{
		{"no size", "\r\n", 400},
		{"not hex", "g\r\n", 400},
		{"negative", "-1\r\n", 400},
		{"bare LF after size", "5\nhello\r\n0\r\n\r\n", 400},
		{"bare LF after data", "5\r\nhello\n0\r\n\r\n", 400},
		{"data longer than its size", "5\r\nhello!\r\n0\r\n\r\n", 400},
		{"CR then garbage after data", "5\r\nhello\rX", 400},
		{"junk after size", "5 x\r\nhello\r\n", 400},
		{"control in extension", "5;a=\x01\r\nhello\r\n", 400},
		{"size line too long", "5;" + strings.Repeat("a", maxChunkLine) + "\r\n", 400},
		{"size line too long, no end yet", "5;" + strings.Repeat("a", maxChunkLine), 400},
		{"bad trailer", "0\r\nno colon\r\n\r\n", 400},
		{"bare LF in trailers", "0\r\nX: y\n\r\n", 400},
		{"trailers too large", "0\r\nX: " + strings.Repeat("y", DefaultMaxRequestSize) + "\r\n\r\n", 431},
		{"body over the limit", "A001\r\n", 413},
		{"body over the limit in two chunks", "5000\r\n" + strings.Repeat("x", 0x5000) + "\r\n5001\r\n", 413},
		{"size overflows 64 bits", strings.Repeat("f", 40) + "\r\n", 413},
		{"size overflows with leading zeros", strings.Repeat("0", 30) + "10000000000000000\r\n", 413},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEngine(helloHandler)
			var out Output
			res := e.Serve([]byte(head+tc.body), false, &out, &Progress{})
			raw := drain(t, &out)
			if res.Next != Close || !strings.HasPrefix(raw, "HTTP/1.1 "+strconv.Itoa(tc.status)+" ") {
				t.Fatalf("%v, response %q; want %d and Close", res.Next, raw, tc.status)
			}
		})
	}
}

// Each head line is parsed once, however the request arrives: byte by
// byte, the head of a request and its body cost as many line parses as the
// whole request at once (before, every read parsed the head again).
func TestHeadParsedOnce(t *testing.T) {
	in := "POST /up HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\nContent-Length: 300\r\n\r\n" +
		strings.Repeat("b", 300) + chunkedPost
	whole := newTestEngine(helloHandler)
	wantOut, _ := serveAll(t, whole, []byte(in), &Output{})
	lines := uint64(5 + 4 + 3) // POST: 5 lines with the empty one; chunked POST: 4; GET /next: 3
	if whole.linesParsed != lines {
		t.Fatalf("whole: %d lines parsed, want %d", whole.linesParsed, lines)
	}
	trickled := newTestEngine(helloHandler)
	got, _ := serveInPieces(t, trickled, []byte(in), 1)
	if got != wantOut {
		t.Fatalf("byte by byte:\n%q\nwant\n%q", got, wantOut)
	}
	if trickled.linesParsed != lines {
		t.Fatalf("byte by byte: %d lines parsed, want %d", trickled.linesParsed, lines)
	}
}

// Resuming a request allocates nothing: a head and a chunked body arriving
// in pieces, moved to a new place between reads as a server's buffer is.
func TestResumeAllocatesNothing(t *testing.T) {
	e := newTestEngine(plainHello)
	var out Output
	out.Reset(make([]byte, 0, 16<<10))
	var p Progress
	in := []byte(chunkedPost)
	a, b := make([]byte, len(in)), make([]byte, len(in))
	allocs := testing.AllocsPerRun(50, func() {
		buf, other := a, b
		n, keep := 0, 0
		for n < len(in) {
			step := min(7, len(in)-n)
			copy(buf[keep:], in[n:n+step])
			n += step
			res := e.Serve(buf[:keep+step], false, &out, &p)
			out.Discard()
			if res.Next != ReadMore {
				keep = keep + step - res.Consumed
				copy(other, buf[res.Consumed:res.Consumed+keep])
			} else {
				copy(other, buf[res.Consumed:res.Consumed+res.Keep])
				keep = res.Keep
			}
			buf, other = other, buf
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per trickled request", allocs)
	}
}
