package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lwango/internal/testenv"
)

// Out of descriptors with the table full of idle keep-alive connections,
// the server closes the oldest idle ones to accept new clients (as nginx
// does) instead of keeping them waiting for keep_alive_timeout, and says so
// once, not once per accept.
func TestBinaryOutOfDescriptorsClosesOldestIdle(t *testing.T) {
	prlimit := testenv.Program(t, "prlimit")
	bin := buildBinary(t)
	conf := filepath.Join(t.TempDir(), "lwan.conf")
	os.WriteFile(conf, []byte(`listener = "127.0.0.1:0"
keep_alive_timeout = 60
threads = 1
quiet = true
[[site.hello]]
prefix = "/hello"
`), 0o644)
	// The Go runtime raises the soft limit to the hard one: set both.
	p := startServerProcess(t, prlimit, "--nofile=256:256", "--", bin, "-c", conf)

	const clients = 400 // well over the 256 descriptors the server may hold
	conns := dialClients(t, p.http, clients, func(i int, c net.Conn) {
		// Far less than keep_alive_timeout: a client that had to wait for
		// an idle connection to time out would miss it.
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("client %d (%d idle keep-alive connections before it) not answered: %v\n%s", i, i, err, p.logText(0))
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("client %d: status %d", i, resp.StatusCode)
		}
	})
	// The oldest idle connection was closed to make room.
	conns[0].SetDeadline(time.Now().Add(10 * time.Second))
	if n, err := conns[0].Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("the oldest idle connection: read %d, %v; want it closed by the server", n, err)
	}
	if n := strings.Count(p.logText(0), "accept: out of resources"); n != 1 {
		t.Errorf("out of descriptors logged %d times, want once:\n%s", n, p.logText(0))
	}
}

// dialClients opens n connections to addr one after the other, calling
// each on every one as soon as it is open (to send a request, set a
// deadline), and returns them; those still open are closed when the test
// ends.
func dialClients(t *testing.T, addr string, n int, each func(i int, c net.Conn)) []net.Conn {
	t.Helper()
	conns := make([]net.Conn, 0, n)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for i := range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		conns = append(conns, c)
		each(i, c)
	}
	return conns
}
