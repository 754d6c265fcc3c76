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
	res := e.Serve(in, false, &out, &Progress{})
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

// serveAll drives e like a server would over one connection that received
// in as a whole: Serve, write out, repeat on ServeMore. It returns the bytes
// written and the last result.
func serveAll(t *testing.T, e *Engine, in []byte, out *Output) (string, Result) {
	t.Helper()
	var sb strings.Builder
	consumed := 0
	var p Progress
	for {
		res := e.Serve(in[consumed:], false, out, &p)
		sb.WriteString(drain(t, out))
		consumed += res.Consumed
		if res.Next != ServeMore {
			res.Consumed = consumed
			return sb.String(), res
		}
	}
}

// serveInPieces drives e like a server whose client sends in split at the
// given sizes: after each piece it calls Serve (again on ServeMore), keeps
// unconsumed bytes and appends the next piece, as a read into the buffer
// would. It returns the bytes written and the last result.
func serveInPieces(t *testing.T, e *Engine, in []byte, pieceSize int) (string, Result) {
	t.Helper()
	var out Output
	var sb strings.Builder
	var buf []byte
	var res Result
	var p Progress
	for off := 0; off < len(in); {
		end := min(off+pieceSize, len(in))
		buf = append(buf, in[off:end]...)
		off = end
		for {
			res = e.Serve(buf, false, &out, &p)
			sb.WriteString(drain(t, &out))
			// Keep the unconsumed bytes in a fresh buffer, so nothing can
			// rely on the old one staying put.
			keep := len(buf) - res.Consumed
			if res.Next == ReadMore {
				keep = res.Keep
			}
			buf = append([]byte(nil), buf[res.Consumed:res.Consumed+keep]...)
			if res.Next == Close {
				return sb.String(), res
			}
			if res.Next != ServeMore {
				break
			}
		}
	}
	return sb.String(), res
}

// pipeline is a mix of requests covering every rule the engine applies on
// a healthy connection, ended by a request that closes.
var pipeline = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n" +
	"HEAD /b/../c HTTP/1.1\r\nHost: h\r\n\r\n" +
	"\r\nPOST /%70ost HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello" +
	"BREW /pot HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\ntea" +
	"GET /d HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" +
	"PUT /e HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n" +
	"GET http://h/f?x HTTP/1.1\nHost: h\n\n" +
	"GET /g HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n" +
	"GET /never HTTP/1.1\r\nHost: h\r\n\r\n"

func TestPipelineMixed(t *testing.T) {
	e := newTestEngine(helloHandler)
	var out Output
	raw, res := serveAll(t, e, []byte(pipeline), &out)
	if res.Next != Close || res.Consumed != strings.Index(pipeline, "GET /never") {
		t.Fatalf("result %+v: want Close right after the request that closes", res)
	}
	resps := readResponses(t, raw, "GET", "HEAD", "POST", "BREW", "GET", "PUT", "GET", "GET")
	wantPaths := []string{"/a", "/c", "/post", "", "/d", "/e", "/f", "/g"}
	wantStatus := []int{200, 200, 200, 501, 200, 200, 200, 200}
	for i, r := range resps {
		if r.StatusCode != wantStatus[i] || r.Header.Get("X-Path") != wantPaths[i] {
			t.Errorf("response %d: status %d path %q; want %d %q", i, r.StatusCode, r.Header.Get("X-Path"), wantStatus[i], wantPaths[i])
		}
	}
	if got := resps[1].Header.Get("Content-Length"); got != "13" {
		t.Errorf("HEAD Content-Length %q, want 13", got)
	}
	if got := resps[2].Header.Get("X-Body"); got != "hello" {
		t.Errorf("POST body %q", got)
	}
	if got := resps[4].Header.Get("Connection"); got != "keep-alive" {
		t.Errorf("HTTP/1.0 keep-alive response says Connection %q", got)
	}
	if resps[0].Header.Get("Connection") != "" {
		t.Errorf("HTTP/1.1 keep-alive response carries a Connection header")
	}
	if !resps[7].Close {
		t.Errorf("last response does not say close")
	}
}

// TestPipelineHundreds sends 300 requests in one buffer and checks that the
// responses come back complete and in order.
func TestPipelineHundreds(t *testing.T) {
	const n = 300
	var in strings.Builder
	for i := range n {
		in.WriteString("GET /r/" + strconv.Itoa(i) + " HTTP/1.1\r\nHost: h\r\n\r\n")
	}
	e := newTestEngine(helloHandler)
	var out Output
	raw, res := serveAll(t, e, []byte(in.String()), &out)
	if res.Next != KeepAlive || res.Consumed != in.Len() {
		t.Fatalf("result %+v, want KeepAlive after %d bytes", res, in.Len())
	}
	methods := make([]string, n)
	for i := range methods {
		methods[i] = "GET"
	}
	for i, r := range readResponses(t, raw, methods...) {
		if want := "/r/" + strconv.Itoa(i); r.Header.Get("X-Path") != want || bodyOf(r) != "Hello, World!" {
			t.Fatalf("response %d is for %q, want %q", i, r.Header.Get("X-Path"), want)
		}
	}
}

// TestSplitPoints feeds the mixed pipeline and a few error cases in pieces
// of every size from one byte up, and checks the output is exactly what
// feeding them whole gives.
func TestSplitPoints(t *testing.T) {
	inputs := []string{
		pipeline,
		"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789GET /y HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET /%41%2e%2e/%42 HTTP/1.1\r\nHost: h\r\n\r\nGET /z HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET /ok HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n",
		"GET /ok HTTP/1.1\r\nHost: h\r\n\r\nPOST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999\r\n\r\n",
		"GET /ok HTTP/1.1\r\nHost: h\r\n\r\nGET /" + strings.Repeat("x", 5000) + " HTTP/1.1\r\n\r\n",
	}
	for i, in := range inputs {
		want, wantRes := serveAll(t, newTestEngine(helloHandler), []byte(in), &Output{})
		for size := 1; size <= len(in); size++ {
			got, res := serveInPieces(t, newTestEngine(helloHandler), []byte(in), size)
			if got != want || res.Next != wantRes.Next {
				t.Fatalf("input %d in pieces of %d: %v\n%q\nwhole: %v\n%q", i, size, res.Next, got, wantRes.Next, want)
			}
		}
	}
}

func TestKeepAliveRules(t *testing.T) {
	cases := []struct {
		in         string
		next       Next
		connection string
	}{
		{"GET / HTTP/1.1\r\nHost: h\r\n\r\n", KeepAlive, ""},
		{"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n", KeepAlive, ""},
		{"GET / HTTP/1.1\r\nHost: h\r\nConnection: Close\r\n\r\n", Close, "close"},
		{"GET / HTTP/1.1\r\nHost: h\r\nConnection: te\r\nConnection: close\r\n\r\n", Close, "close"},
		{"GET / HTTP/1.0\r\n\r\n", Close, "close"},
		{"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", KeepAlive, "keep-alive"},
		{"GET / HTTP/1.0\r\nConnection: foo,  KEEP-ALIVE \r\n\r\n", KeepAlive, "keep-alive"},
	}
	for _, tc := range cases {
		raw, res := serveAll(t, newTestEngine(helloHandler), []byte(tc.in), &Output{})
		r := readResponses(t, raw, "GET")[0]
		connection := r.Header.Get("Connection")
		if r.Close {
			connection = "close" // net/http moves "Connection: close" into Close
		}
		if res.Next != tc.next || connection != tc.connection || strings.Count(raw, "Connection:") > 1 {
			t.Errorf("%q: Next %v Connection %q; want %v %q", tc.in, res.Next, r.Header.Get("Connection"), tc.next, tc.connection)
		}
	}
	// The handler may close a connection the client would keep.
	closer := newTestEngine(func(req *Request, resp *Response) { resp.Close = true })
	raw, res := serveAll(t, closer, []byte("GET / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"), &Output{})
	if r := readResponses(t, raw, "GET")[0]; res.Next != Close || !r.Close {
		t.Errorf("handler Close: Next %v, response close %v", res.Next, r.Close)
	}
}

func TestHeadAndBodylessStatuses(t *testing.T) {
	var closed []int
	e := newTestEngine(func(req *Request, resp *Response) {
		switch string(req.Path) {
		case "/file":
			resp.File, resp.FileOffset, resp.FileLength = 7, 100, 5000
			resp.ContentType = "application/octet-stream"
		case "/204":
			resp.Status, resp.Body = 204, []byte("ignored")
		case "/304":
			resp.Status = 304
		case "/404":
			resp.Status = 404
		default:
			helloHandler(req, resp)
		}
	})
	out := Output{CloseFile: func(fd int) { closed = append(closed, fd) }}
	in := "HEAD / HTTP/1.1\r\nHost: h\r\n\r\n" +
		"HEAD /file HTTP/1.1\r\nHost: h\r\n\r\n" +
		"HEAD /404 HTTP/1.1\r\nHost: h\r\n\r\n" +
		"GET /204 HTTP/1.1\r\nHost: h\r\n\r\n" +
		"GET /304 HTTP/1.1\r\nHost: h\r\n\r\n" +
		"GET /404 HTTP/1.1\r\nHost: h\r\n\r\n"
	raw, _ := serveAll(t, e, []byte(in), &out)
	if strings.Contains(raw, "<file") || strings.Contains(raw, "Hello") || strings.Contains(raw, "ignored") {
		t.Fatalf("a body was sent where none may be:\n%s", raw)
	}
	resps := readResponses(t, raw, "HEAD", "HEAD", "HEAD", "GET", "GET", "GET")
	if got := resps[0].Header.Get("Content-Length"); got != "13" {
		t.Errorf("HEAD / Content-Length %q, want 13", got)
	}
	if got := resps[1].Header.Get("Content-Length"); got != "5000" {
		t.Errorf("HEAD /file Content-Length %q, want 5000", got)
	}
	if got, want := resps[2].Header.Get("Content-Length"), strconv.Itoa(len(ErrorPage(404))); got != want {
		t.Errorf("HEAD /404 Content-Length %q, want %s", got, want)
	}
	for _, i := range []int{3, 4} {
		if _, ok := resps[i].Header["Content-Length"]; ok {
			t.Errorf("status %d carries Content-Length", resps[i].StatusCode)
		}
	}
	if !strings.Contains(bodyOf(resps[5]), "404 Not Found") {
		t.Errorf("404 without the error page")
	}
	if len(closed) != 1 || closed[0] != 7 {
		t.Errorf("files closed %v, want [7]: HEAD must close the handler's file", closed)
	}
}

// releases is a FileOwner that records the descriptors handed back to it.
type releases []int

func (r *releases) ReleaseFile(fd int) { *r = append(*r, fd) }

func TestFileBodies(t *testing.T) {
	var closed []int
	var released releases
	e := newTestEngine(func(req *Request, resp *Response) {
		resp.File, resp.FileOffset, resp.FileLength = 40, 10, 1000
		if string(req.Path) == "/cached" {
			resp.FileOwner = &released
		}
	})
	out := Output{CloseFile: func(fd int) { closed = append(closed, fd) }}
	in := []byte("GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /cached HTTP/1.1\r\nHost: h\r\n\r\n")
	res := e.Serve(in, false, &out, &Progress{})
	if res.Next != KeepAlive || out.Len() == 0 {
		t.Fatalf("result %+v, pending %d", res, out.Len())
	}
	// Write the first file in two short sendfiles.
	seg := out.Next()
	headers := string(seg.Bytes)
	out.Advance(int64(len(seg.Bytes)))
	if !strings.HasSuffix(headers, "Content-Length: 1000\r\n\r\n") {
		t.Fatalf("headers before the file: %q", headers)
	}
	seg = out.Next()
	if seg.File != 40 || seg.Offset != 10 || seg.Length != 1000 {
		t.Fatalf("file segment %+v", seg)
	}
	out.Advance(300)
	seg = out.Next()
	if seg.File != 40 || seg.Offset != 310 || seg.Length != 700 || len(closed) != 0 {
		t.Fatalf("after a short sendfile: %+v, closed %v", seg, closed)
	}
	out.Advance(700)
	if len(closed) != 1 {
		t.Fatalf("file not closed once sent: %v", closed)
	}
	rest := drain(t, &out)
	if !strings.HasPrefix(rest, "HTTP/1.1 200 OK\r\n") || !strings.HasSuffix(rest, "<file 40 10+1000>") {
		t.Fatalf("second response %q", rest)
	}
	if len(closed) != 1 || len(released) != 1 || released[0] != 40 {
		t.Fatalf("a file with an owner was closed (%v) or not handed back once (%v)", closed, released)
	}
	// A connection that dies with a file pending closes it.
	e.Serve([]byte("GET /a HTTP/1.1\r\nHost: h\r\n\r\n"), false, &out, &Progress{})
	if buf := out.Release(); buf == nil || len(closed) != 2 || out.Pending() {
		t.Fatalf("Release: buf nil %v, closed %v, pending %v", buf == nil, closed, out.Pending())
	}
}

func TestExpectContinue(t *testing.T) {
	head := "POST /up HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"
	e := newTestEngine(helloHandler)
	var out Output
	res := e.Serve([]byte(head), false, &out, &Progress{})
	if got := drain(t, &out); got != "HTTP/1.1 100 Continue\r\n\r\n" {
		t.Fatalf("after the head: %q", got)
	}
	if res.Next != ReadMore || res.Consumed != 0 || res.Need != len(head)+4 {
		t.Fatalf("result %+v, want ReadMore needing %d", res, len(head)+4)
	}
	// Part of the body arrived: no second 100 Continue.
	res = e.Serve([]byte(head+"da"), false, &out, &Progress{})
	if out.Pending() || res.Next != ReadMore {
		t.Fatalf("with part of the body: %+v, output %q", res, drain(t, &out))
	}
	raw, res := serveAll(t, e, []byte(head+"data"), &out)
	if r := readResponses(t, raw, "POST")[0]; r.Header.Get("X-Body") != "data" || res.Next != KeepAlive {
		t.Fatalf("final response %q, result %+v", raw, res)
	}
	// HTTP/1.0 clients never get 100 Continue (RFC 9110 §10.1.1).
	res = e.Serve([]byte("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"), false, &out, &Progress{})
	if out.Pending() || res.Next != ReadMore {
		t.Fatalf("HTTP/1.0: %+v, output %q", res, drain(t, &out))
	}
	// Too large a body: 413 and close instead of 100 Continue.
	raw, res = serveAll(t, e, []byte("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 40961\r\n\r\n"), &out)
	if r := readResponses(t, raw, "POST")[0]; r.StatusCode != 413 || res.Next != Close {
		t.Fatalf("oversized: %q, %+v", raw, res)
	}
}

func TestBodyNeedsBiggerBuffer(t *testing.T) {
	e := newTestEngine(helloHandler)
	e.MaxBodySize = 1 << 20
	head := "PUT /big HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n"
	var out Output
	res := e.Serve([]byte(head+"abc"), false, &out, &Progress{})
	if res.Next != ReadMore || res.Need != len(head)+100000 {
		t.Fatalf("result %+v, want ReadMore with Need %d", res, len(head)+100000)
	}
	raw, res := serveAll(t, e, []byte(head+strings.Repeat("x", 100000)), &out)
	if r := readResponses(t, raw, "PUT")[0]; r.StatusCode != 200 || res.Next != KeepAlive {
		t.Fatalf("status %d, result %+v", r.StatusCode, res)
	}
	e.MaxBodySize = -1
	raw, _ = serveAll(t, e, []byte("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx"), &out)
	if r := readResponses(t, raw, "POST")[0]; r.StatusCode != 413 {
		t.Fatalf("bodies refused: status %d", r.StatusCode)
	}
}

func TestServeMoreBoundsQueuedOutput(t *testing.T) {
	e := newTestEngine(func(req *Request, resp *Response) {
		resp.File, resp.FileLength = 3, 10
		resp.FileOwner = new(releases)
	})
	var in strings.Builder
	for range maxQueuedFiles + 5 {
		in.WriteString("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	}
	var out Output
	res := e.Serve([]byte(in.String()), false, &out, &Progress{})
	if res.Next != ServeMore || out.pendingFiles() != maxQueuedFiles {
		t.Fatalf("result %+v with %d files queued, want ServeMore at %d", res, out.pendingFiles(), maxQueuedFiles)
	}
	big := newTestEngine(func(req *Request, resp *Response) { resp.Body = make([]byte, 40<<10) })
	out.Discard()
	res = big.Serve([]byte(in.String()), false, &out, &Progress{})
	if res.Next != ServeMore || res.Consumed != 2*len("GET / HTTP/1.1\r\nHost: h\r\n\r\n") {
		t.Fatalf("result %+v: want ServeMore after two 40 KiB responses", res)
	}
}

func TestAppendErrorAndHeaders(t *testing.T) {
	e := newTestEngine(helloHandler)
	e.ExtraHeaders = []byte("X-Frame-Options: DENY\r\n")
	e.HTTPSHeaders = []byte("Strict-Transport-Security: max-age=31536000\r\n")
	var out Output
	e.AppendError(&out, StatusRequestTimeout, true)
	r := readResponses(t, drain(t, &out), "GET")[0]
	if r.StatusCode != 408 || !r.Close || r.Header.Get("X-Frame-Options") != "DENY" ||
		r.Header.Get("Strict-Transport-Security") == "" || r.Header.Get("Content-Type") != errorPageType {
		t.Fatalf("408: %d close %v headers %v", r.StatusCode, r.Close, r.Header)
	}
	e.Serve([]byte("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), false, &out, &Progress{})
	r = readResponses(t, drain(t, &out), "GET")[0]
	if r.Header.Get("X-Frame-Options") != "DENY" || r.Header.Get("Strict-Transport-Security") != "" {
		t.Fatalf("plain connection headers: %v", r.Header)
	}
	bad := newTestEngine(func(req *Request, resp *Response) { resp.Status = 42 })
	bad.Serve([]byte("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), false, &out, &Progress{})
	if r := readResponses(t, drain(t, &out), "GET")[0]; r.StatusCode != 500 {
		t.Fatalf("invalid handler status answered %d, want 500", r.StatusCode)
	}
}

func TestOutputStorageIsReused(t *testing.T) {
	e := newTestEngine(helloHandler)
	var out Output
	pool := make([]byte, 0, 4096)
	out.Reset(pool)
	e.Serve([]byte("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), false, &out, &Progress{})
	seg := out.Next()
	if &seg.Bytes[0] != &pool[:1][0] {
		t.Fatal("response not rendered into the buffer given to Reset")
	}
	drain(t, &out)
	back := out.Release()
	if cap(back) != 4096 || len(back) != 0 || &back[:1][0] != &pool[:1][0] {
		t.Fatalf("Release returned len %d cap %d, not the pooled buffer", len(back), cap(back))
	}
	if out.Pending() || out.Next().Bytes != nil {
		t.Fatal("released Output still holds bytes")
	}
}

// TestEmptyLinesBetweenRequests checks empty lines before a request are
// consumed and do not count against the head limit.
func TestEmptyLinesBetweenRequests(t *testing.T) {
	e := newTestEngine(helloHandler)
	head := "GET / HTTP/1.1\r\nHost: h\r\n\r\n"
	e.MaxRequestSize = len(head)
	var out Output
	raw, res := serveAll(t, e, []byte(head+"\r\n\n\r\n"), &out)
	if readResponses(t, raw, "GET")[0].StatusCode != 200 || res.Next != ReadMore || res.Consumed != len(head)+5 {
		t.Fatalf("trailing empty lines: %+v", res)
	}
	raw, res = serveAll(t, e, []byte("\r\n\r\n"+head), &out)
	if readResponses(t, raw, "GET")[0].StatusCode != 200 || res.Next != KeepAlive {
		t.Fatalf("leading empty lines: %+v\n%s", res, raw)
	}
	res = e.Serve([]byte("\r\n\r"), false, &out, &Progress{})
	if res.Consumed != 2 || res.Next != ReadMore || out.Pending() {
		t.Fatalf("lone CR: %+v", res)
	}
}

func TestDateAndServerOmittedWhenUnset(t *testing.T) {
	e := &Engine{Handler: HandlerFunc(helloHandler)}
	raw, _ := serveAll(t, e, []byte("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), &Output{})
	if strings.Contains(raw, "Date:") || strings.Contains(raw, "Server:") {
		t.Fatalf("unset Date or Server sent:\n%s", raw)
	}
	readResponses(t, raw, "GET")
}

// TestClientClose: Serve says the client asked for the close only when it
// did, on a request read whole with nothing after it.
func TestClientClose(t *testing.T) {
	for _, c := range []struct {
		in      string
		closing bool
		want    bool
	}{
		{"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", false, true},
		{"GET / HTTP/1.0\r\n\r\n", false, true},
		{"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\n", false, false},
		{"GET / HTTP/1.1\r\nHost: h\r\n\r\n", true, false},                       // the server stops
		{"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: x\r\n\r\n", false, false}, // 400
	} {
		e := newTestEngine(helloHandler)
		e.Closing = c.closing
		var out Output
		res := e.Serve([]byte(c.in), false, &out, &Progress{})
		if res.Next != Close || res.ClientClose != c.want {
			t.Errorf("%q (closing %v): %+v, want Close with ClientClose %v", c.in, c.closing, res, c.want)
		}
	}
}
