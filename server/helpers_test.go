package server

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"lwango/loop"
	"lwango/site"
)

// testSite is a served directory with known files.
type testSite struct {
	dir    string
	index  []byte
	big    []byte // several MiB: served with sendfile
	medium []byte // 100 KiB: a file range per response, too
}

func newTestSite(t testing.TB) *testSite {
	t.Helper()
	ts := &testSite{dir: t.TempDir(), index: []byte("<!DOCTYPE html><h1>index</h1>\n"), big: make([]byte, 6<<20+123)}
	rand.Read(ts.big)
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(ts.dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("index.html", ts.index)
	write("big.bin", ts.big)
	write("small.txt", []byte("small file\n"))
	ts.medium = ts.big[:100<<10]
	write("medium.bin", ts.medium)
	return ts
}

// testConfig is a configuration serving ts on a kernel-chosen loopback port.
func testConfig(t testing.TB, ts *testSite, extra string) *site.Config {
	t.Helper()
	text := fmt.Sprintf(`listener = "127.0.0.1:0"
quiet = true
%s
[[site.hello]]
prefix = "/hello"

[[site.response]]
prefix = "/teapot"
code = 418

[[site.serve_files]]
prefix = "/"
path = %q
`, extra, ts.dir)
	cfg, err := site.Parse("test.conf", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(extra, "threads") {
		cfg.Threads = 2
	}
	return cfg
}

// startServer runs a server on cfg until the test ends.
func startServer(t testing.TB, cfg *site.Config, opts Options) (*Server, string) {
	t.Helper()
	if opts.Tick == 0 {
		opts.Tick = 10 * time.Millisecond
	}
	srv, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() {
		if err := srv.Shutdown(10 * time.Second); err != nil {
			t.Error(err)
		}
	})
	return srv, srv.Addr().String()
}

// rawConn is a client connection for hand-written requests.
type rawConn struct {
	net.Conn
	r *bufio.Reader
}

func dialRaw(t testing.TB, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return &rawConn{Conn: c, r: bufio.NewReader(c)}
}

func (c *rawConn) send(t testing.TB, raw string) {
	t.Helper()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
}

// response reads one response to a request with the given method, body
// included.
func (c *rawConn) response(t testing.TB, method string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.ReadResponse(c.r, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("reading response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return resp, body
}

// expectClosed checks that the server closed the connection with nothing
// more to say.
func (c *rawConn) expectClosed(t testing.TB) {
	t.Helper()
	rest, err := io.ReadAll(c.r)
	if err != nil {
		t.Fatalf("expected the server to close, got %v", err)
	}
	if len(rest) != 0 {
		t.Fatalf("unexpected bytes before close: %q", rest)
	}
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) lines() []string {
	return strings.Split(strings.TrimSuffix(s.String(), "\n"), "\n")
}

func waitFor(t testing.TB, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// settle waits until every loop of srv has finished the batch of events it
// was in: what a loop does in the same step as a response the client has
// read (going idle after it, say) is then done.
func settle(t testing.TB, srv *Server) {
	t.Helper()
	done := make(chan struct{}, len(srv.workers))
	srv.group.Post(func(*loop.Loop[conn]) { done <- struct{}{} })
	for range srv.workers {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("a loop did not run posted work within 10 s")
		}
	}
}

// bufioReaderFrom returns a reader that yields head, then the rest of c.
func bufioReaderFrom(head []byte, c *rawConn) *bufio.Reader {
	return bufio.NewReader(io.MultiReader(bytes.NewReader(head), c.r))
}
