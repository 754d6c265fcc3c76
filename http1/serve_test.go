package http1

import (
	"strconv"
	"strings"
	"testing"
)

// testDate is the Date value tests render; any 29-byte IMF-fixdate would do.
const testDate = "Sun, 06 Nov 1994 08:49:37 GMT"

// helloHandler answers every request with "Hello, World!" as text/plain and
// echoes the request's path and body in headers, so tests can see what the
// engine handed the handler.
func helloHandler(req *Request, resp *Response) {
	resp.ContentType = "text/plain"
	resp.Body = helloBody
	resp.Extra = append(resp.Extra, "X-Path: "...)
	resp.Extra = append(resp.Extra, req.Path...)
	resp.Extra = append(resp.Extra, "\r\n"...)
	if len(req.Body) > 0 {
		resp.Extra = append(resp.Extra, "X-Body: "...)
		resp.Extra = append(resp.Extra, req.Body...)
		resp.Extra = append(resp.Extra, "\r\n"...)
	}
}

var helloBody = []byte("Hello, World!")

func newTestEngine(h HandlerFunc) *Engine {
	return &Engine{Handler: h, Date: []byte(testDate), ServerName: "lwango"}
}

// drain writes out everything pending in out into a string, rendering file
// ranges as "<file fd off+len>".
func drain(t testing.TB, out *Output) string {
	t.Helper()
	var sb strings.Builder
	for out.Pending() {
		seg := out.Next()
		if seg.File >= 0 {
			sb.WriteString("<file ")
			sb.WriteString(itoa(int64(seg.File)))
			sb.WriteString(" ")
			sb.WriteString(itoa(seg.Offset))
			sb.WriteString("+")
			sb.WriteString(itoa(seg.Length))
			sb.WriteString(">")
			out.Advance(seg.Length)
			continue
		}
		if len(seg.Bytes) == 0 {
			t.Fatal("Pending output but Next returned an empty segment")
		}
		sb.Write(seg.Bytes)
		out.Advance(int64(len(seg.Bytes)))
	}
	return sb.String()
}

func TestServeHelloKeepAlive(t *testing.T) {
	e := newTestEngine(helloHandler)
	var out Output
	in := []byte("GET /hello HTTP/1.1\r\nHost: localhost:8080\r\n\r\n")
	res := e.Serve(in, false, &out)
	if res.Consumed != len(in) || res.Next != KeepAlive {
		t.Fatalf("Serve = %+v, want all %d bytes consumed and KeepAlive", res, len(in))
	}
	want := "HTTP/1.1 200 OK\r\nDate: " + testDate + "\r\nServer: lwango\r\nContent-Length: 13\r\n" +
		"Content-Type: text/plain\r\nX-Path: /hello\r\n\r\nHello, World!"
	if got := drain(t, &out); got != want {
		t.Fatalf("response:\n%q\nwant:\n%q", got, want)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
