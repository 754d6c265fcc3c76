package server

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"lwango/internal/testenv"
)

func TestKeepAliveWithNetHTTPClient(t *testing.T) {
	ts := newTestSite(t)
	srv, addr := startServer(t, testConfig(t, ts, ""), Options{})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	defer client.CloseIdleConnections()
	for i := range 10 {
		path := []string{"/hello", "/", "/small.txt"}[i%3]
		resp, err := client.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := map[string]string{"/hello": "Hello, World!", "/": string(ts.index), "/small.txt": "small file\n"}[path]
		if resp.StatusCode != 200 || string(body) != want {
			t.Fatalf("GET %s: %d %q", path, resp.StatusCode, body)
		}
		if resp.Header.Get("Date") == "" || resp.Header.Get("Server") != "lwango" {
			t.Fatalf("GET %s: headers %v", path, resp.Header)
		}
	}
	if st := srv.Stats(); st.Accepted != 1 || st.Requests != 10 {
		t.Fatalf("stats %+v: want 10 requests on 1 connection", st)
	}
}

func TestPipelinedRequestsInOneWrite(t *testing.T) {
	ts := newTestSite(t)
	_, addr := startServer(t, testConfig(t, ts, ""), Options{})
	c := dialRaw(t, addr)
	var batch strings.Builder
	paths := make([]string, 150)
	for i := range paths {
		paths[i] = []string{"/hello", "/small.txt", "/index.html", "/missing-" + strconv.Itoa(i)}[i%4]
		fmt.Fprintf(&batch, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", paths[i])
	}
	if batch.Len() < 4096 {
		t.Fatal("the batch should span more than one read buffer")
	}
	c.send(t, batch.String())
	for i, path := range paths {
		resp, body := c.response(t, "GET")
		want, status := "", 200
		switch path {
		case "/hello":
			want = "Hello, World!"
		case "/small.txt":
			want = "small file\n"
		case "/index.html":
			want = string(ts.index)
		default:
			status = 404
		}
		if resp.StatusCode != status || (status == 200 && string(body) != want) {
			t.Fatalf("response %d (%s): %d %q", i, path, resp.StatusCode, body)
		}
	}
	// Still open for more.
	c.send(t, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, _ := c.response(t, "GET"); resp.StatusCode != 200 {
		t.Fatalf("after the batch: %d", resp.StatusCode)
	}
}

func TestHTTP10(t *testing.T) {
	ts := newTestSite(t)
	_, addr := startServer(t, testConfig(t, ts, ""), Options{})

	c := dialRaw(t, addr)
	c.send(t, "GET /hello HTTP/1.0\r\n\r\n")
	resp, body := c.response(t, "GET")
	if resp.StatusCode != 200 || string(body) != "Hello, World!" || resp.ProtoMinor != 1 && resp.ProtoMinor != 0 {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
	c.expectClosed(t)

	ka := dialRaw(t, addr)
	for range 3 {
		ka.send(t, "GET /small.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
		resp, body := ka.response(t, "GET")
		if resp.StatusCode != 200 || string(body) != "small file\n" || !strings.EqualFold(resp.Header.Get("Connection"), "keep-alive") {
			t.Fatalf("%d %q %v", resp.StatusCode, body, resp.Header)
		}
	}
}

func TestHead(t *testing.T) {
	ts := newTestSite(t)
	_, addr := startServer(t, testConfig(t, ts, ""), Options{})
	c := dialRaw(t, addr)
	for _, path := range []string{"/big.bin", "/hello", "/index.html"} {
		c.send(t, "HEAD "+path+" HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, body := c.response(t, "HEAD")
		if resp.StatusCode != 200 || len(body) != 0 {
			t.Fatalf("HEAD %s: %d with %d body bytes", path, resp.StatusCode, len(body))
		}
		if path == "/big.bin" && resp.ContentLength != int64(len(ts.big)) {
			t.Fatalf("HEAD %s: Content-Length %d", path, resp.ContentLength)
		}
	}
	// The connection is in step: no body bytes were left behind.
	c.send(t, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, body := c.response(t, "GET"); string(body) != "Hello, World!" {
		t.Fatalf("after HEADs: %d %q", resp.StatusCode, body)
	}
}

func TestLargeFileBySendfile(t *testing.T) {
	ts := newTestSite(t)
	_, addr := startServer(t, testConfig(t, ts, ""), Options{})
	c := dialRaw(t, addr)
	for range 2 {
		c.send(t, "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, body := c.response(t, "GET")
		if resp.StatusCode != 200 || !bytes.Equal(body, ts.big) {
			t.Fatalf("%d: got %d bytes, want %d identical ones", resp.StatusCode, len(body), len(ts.big))
		}
	}
}

// TestStatusCodes sends each malformed request through a real socket and
// checks the status and whether the server then closes.
func TestStatusCodes(t *testing.T) {
	ts := newTestSite(t)
	_, addr := startServer(t, testConfig(t, ts, ""), Options{})
	manyHeaders := strings.Repeat("X-H: v\r\n", 70)
	cases := []struct {
		name, raw string
		status    int
		closes    bool
	}{
		{"bare CR", "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", 400, true},
		{"bad header name", "GET / HTTP/1.1\r\nHost: a\r\nBad Header: y\r\n\r\n", 400, true},
		{"%00 in path", "GET /a%00b HTTP/1.1\r\nHost: a\r\n\r\n", 400, true},
		{"unknown method", "BREW / HTTP/1.1\r\nHost: a\r\n\r\n", 501, false},
		{"post without length: no body, the handler's answer", "POST /hello HTTP/1.1\r\nHost: a\r\n\r\n", 405, false},
		{"broken chunked framing", "POST /hello HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", 400, true},
		{"body too large", "POST /hello HTTP/1.1\r\nHost: a\r\nContent-Length: 40961\r\n\r\n", 413, true},
		{"request line too long", "GET /" + strings.Repeat("a", 5000) + " HTTP/1.1\r\nHost: a\r\n\r\n", 414, true},
		{"too many headers", "GET / HTTP/1.1\r\nHost: a\r\n" + manyHeaders + "\r\n", 431, true},
		{"unknown coding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: foo, chunked\r\n\r\n", 501, true},
		{"other expectation", "GET / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n", 417, true},
		{"HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, true},
		{"handler status", "GET /teapot HTTP/1.1\r\nHost: a\r\n\r\n", 418, false},
		{"not found", "GET /nope HTTP/1.1\r\nHost: a\r\n\r\n", 404, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, addr)
			c.send(t, tc.raw)
			resp, _ := c.response(t, "GET")
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.closes {
				c.expectClosed(t)
				return
			}
			c.send(t, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
			if resp, body := c.response(t, "GET"); string(body) != "Hello, World!" {
				t.Fatalf("next request on the connection: %d %q", resp.StatusCode, body)
			}
		})
	}
}

// A client trickling its request gets 408 at the request deadline, while
// other clients are served meanwhile.
func TestSlowlorisGets408WhileOthersAreServed(t *testing.T) {
	ts := newTestSite(t)
	srv, addr := startServer(t, testConfig(t, ts, "threads = 1"), Options{RequestTimeout: 300 * time.Millisecond})
	slow := dialRaw(t, addr)
	request := "GET /hello HTTP/1.1\r\nHost: a\r\nX-Slow: " + strings.Repeat("s", 500) + "\r\n\r\n"
	got := make(chan *http.Response, 1)
	go func() {
		resp, err := http.ReadResponse(slow.r, &http.Request{Method: "GET"})
		if err != nil {
			got <- nil
			return
		}
		io.ReadAll(resp.Body)
		got <- resp
	}()
	other := dialRaw(t, addr)
	start := time.Now()
	for i := 0; ; i++ {
		select {
		case resp := <-got:
			if resp == nil || resp.StatusCode != 408 {
				t.Fatalf("slow client got %v, want 408", resp)
			}
			if el := time.Since(start); el < 300*time.Millisecond {
				t.Fatalf("408 after %v, before the deadline", el)
			}
			// The server closes at once: the bytes the client is still
			// trickling may earn it a reset rather than an end of stream.
			if rest, _ := io.ReadAll(slow.r); len(rest) != 0 {
				t.Fatalf("bytes after the 408: %q", rest)
			}
			if srv.Stats().Expired != 1 {
				t.Fatalf("stats %+v", srv.Stats())
			}
			return
		default:
		}
		if i >= len(request)-1 || time.Since(start) > 10*time.Second {
			t.Fatal("the trickling client was never cut off")
		}
		slow.send(t, request[i:i+1])
		other.send(t, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
		if resp, body := other.response(t, "GET"); string(body) != "Hello, World!" {
			t.Fatalf("other client: %d %q", resp.StatusCode, body)
		}
		// The trickle is the thing tested, not a wait: a byte every 10 ms
		// cannot finish the request (5 s) before the 300 ms deadline.
		time.Sleep(10 * time.Millisecond)
	}
}

func TestIdleKeepAliveTimeoutCloses(t *testing.T) {
	ts := newTestSite(t)
	_, addr := startServer(t, testConfig(t, ts, ""), Options{KeepAliveTimeout: 200 * time.Millisecond})
	c := dialRaw(t, addr)
	start := time.Now() // the server's idle time starts after this
	c.send(t, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
	c.response(t, "GET")
	c.expectClosed(t)
	if el := time.Since(start); el < 200*time.Millisecond {
		t.Fatalf("closed after %v, before the keep-alive timeout", el)
	}
}

// Shutdown closes idle connections at once and lets a large file in flight
// reach the client whole.
func TestShutdownFinishesInFlightSendfile(t *testing.T) {
	ts := newTestSite(t)
	cfg := testConfig(t, ts, "")
	srv, err := New(cfg, Options{Tick: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	addr := srv.Addr().String()
	idle := dialRaw(t, addr)
	idle.send(t, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
	idle.response(t, "GET")

	busy := dialRaw(t, addr)
	busy.Conn.(interface{ SetReadBuffer(int) error }).SetReadBuffer(64 << 10)
	busy.send(t, "GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n")
	head := make([]byte, 100)
	if _, err := io.ReadFull(busy.r, head); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- srv.Shutdown(10 * time.Second) }()
	idle.expectClosed(t)
	select {
	case err := <-stopped:
		t.Fatalf("Shutdown returned (%v) while a response was in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	busy.r = bufioReaderFrom(head, busy)
	resp, body := busy.response(t, "GET")
	if resp.StatusCode != 200 || !bytes.Equal(body, ts.big) {
		t.Fatalf("%d: got %d bytes, want %d identical ones", resp.StatusCode, len(body), len(ts.big))
	}
	busy.expectClosed(t)
	busy.Close()
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}

func TestAccessLog(t *testing.T) {
	ts := newTestSite(t)
	var log syncBuffer
	cfg := testConfig(t, ts, "")
	cfg.Quiet = false
	_, addr := startServer(t, cfg, Options{AccessLog: &log})
	c := dialRaw(t, addr)
	// The target is logged as the client sent it (escapes and dot segments
	// included), not as decoded and normalised; HEAD sends no body: 0 bytes.
	c.send(t, "GET /hello?x=1 HTTP/1.1\r\nHost: a\r\n\r\nGET /x/../%68ello?y=%41 HTTP/1.1\r\nHost: a\r\n\r\n"+
		"GET http://a/hello HTTP/1.1\r\nHost: a\r\n\r\nHEAD /small.txt HTTP/1.0\r\n\r\n")
	c.response(t, "GET")
	c.response(t, "GET")
	c.response(t, "GET")
	c.response(t, "HEAD")
	c.expectClosed(t)
	waitFor(t, func() bool { return len(log.lines()) == 4 }, "four log lines")
	line := regexp.MustCompile(`^127\.0\.0\.1 - - \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000\] "(.*)" (\d+) (\d+) plain$`)
	want := [][3]string{{"GET /hello?x=1 HTTP/1.1", "200", "13"}, {"GET /x/../%68ello?y=%41 HTTP/1.1", "200", "13"},
		{"GET http://a/hello HTTP/1.1", "200", "13"}, {"HEAD /small.txt HTTP/1.0", "200", "0"}}
	for i, l := range log.lines() {
		m := line.FindStringSubmatch(l)
		if m == nil || m[1] != want[i][0] || m[2] != want[i][1] || m[3] != want[i][2] {
			t.Errorf("log line %d: %q", i, l)
		}
	}
}

func TestQuietLogsNothing(t *testing.T) {
	ts := newTestSite(t)
	var log syncBuffer
	_, addr := startServer(t, testConfig(t, ts, ""), Options{AccessLog: &log})
	c := dialRaw(t, addr)
	c.send(t, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
	c.response(t, "GET")
	if log.String() != "" {
		t.Fatalf("quiet server logged %q", log.String())
	}
}

func TestCurl(t *testing.T) {
	curl := testenv.Program(t, "curl")
	ts := newTestSite(t)
	_, addr := startServer(t, testConfig(t, ts, ""), Options{})
	out, err := exec.Command(curl, "-sS", "--fail", "http://"+addr+"/index.html").Output()
	if err != nil || !bytes.Equal(out, ts.index) {
		t.Fatalf("curl GET: %q, %v", out, err)
	}
	out, err = exec.Command(curl, "-sS", "--fail", "-o", "/dev/null", "-w", "%{size_download}", "http://"+addr+"/big.bin").Output()
	if err != nil || string(out) != strconv.Itoa(len(ts.big)) {
		t.Fatalf("curl GET big: %q, %v", out, err)
	}
	out, err = exec.Command(curl, "-sS", "--fail", "-I", "http://"+addr+"/big.bin").Output()
	if err != nil || !strings.Contains(string(out), "HTTP/1.1 200") || !strings.Contains(strings.ToLower(string(out)), "content-length: "+strconv.Itoa(len(ts.big))) {
		t.Fatalf("curl HEAD: %q, %v", out, err)
	}
}

func TestManyConcurrentClients(t *testing.T) {
	ts := newTestSite(t)
	srv, addr := startServer(t, testConfig(t, ts, ""), Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Transport: &http.Transport{}}
			defer client.CloseIdleConnections()
			for range 20 {
				resp, err := client.Get("http://" + addr + "/hello")
				if err != nil {
					errs <- err
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(body) != "Hello, World!" {
					errs <- fmt.Errorf("body %q", body)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if st := srv.Stats(); st.Requests != 1000 {
		t.Fatalf("stats %+v", st)
	}
}

// A body larger than the request buffer grows it; the connection stays in
// step for the requests after it, pipelined in the same write.
func TestLargeBodyThenPipelined(t *testing.T) {
	ts := newTestSite(t)
	_, addr := startServer(t, testConfig(t, ts, ""), Options{})
	c := dialRaw(t, addr)
	body := strings.Repeat("b", 30000)
	c.send(t, "POST /hello HTTP/1.1\r\nHost: a\r\nContent-Length: 30000\r\n\r\n"+body+"GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
	if resp, _ := c.response(t, "POST"); resp.StatusCode != 405 {
		t.Fatalf("POST to hello: %d, want 405", resp.StatusCode)
	}
	if resp, got := c.response(t, "GET"); string(got) != "Hello, World!" {
		t.Fatalf("GET after the body: %d %q", resp.StatusCode, got)
	}
}

func TestExpectContinue(t *testing.T) {
	ts := newTestSite(t)
	_, addr := startServer(t, testConfig(t, ts, ""), Options{})
	c := dialRaw(t, addr)
	c.send(t, "POST /hello HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
	line, err := c.r.ReadString('\n')
	if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("interim response %q, %v", line, err)
	}
	if blank, _ := c.r.ReadString('\n'); blank != "\r\n" {
		t.Fatalf("after 100 Continue: %q", blank)
	}
	c.send(t, "hello")
	if resp, _ := c.response(t, "POST"); resp.StatusCode != 405 {
		t.Fatalf("final response %d", resp.StatusCode)
	}
}

// More pipelined file responses than the engine queues at once (it stops
// with ServeMore): the server writes, serves the rest, and keeps order.
func TestPipelinedFileResponsesBeyondOneBatch(t *testing.T) {
	ts := newTestSite(t)
	_, addr := startServer(t, testConfig(t, ts, ""), Options{})
	c := dialRaw(t, addr)
	const n = 40
	c.send(t, strings.Repeat("GET /medium.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n", n))
	for i := range n {
		if resp, body := c.response(t, "GET"); resp.StatusCode != 200 || !bytes.Equal(body, ts.medium) {
			t.Fatalf("file response %d: %d, %d bytes", i, resp.StatusCode, len(body))
		}
		if resp, body := c.response(t, "GET"); string(body) != "Hello, World!" {
			t.Fatalf("hello response %d: %d %q", i, resp.StatusCode, body)
		}
	}
}
