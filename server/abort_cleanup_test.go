package server

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// openFilesOf counts this process's descriptors open on path.
func openFilesOf(t *testing.T, path string) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if target, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && target == path {
			n++
		}
	}
	return n
}

// waitOpenFiles waits until path is open want times in this process.
func waitOpenFiles(t *testing.T, path string, want int, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := openFilesOf(t, path)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s open %d times, want %d", what, path, got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A client that resets its connection in the middle of a sendfile response
// leaves no descriptor of the file open in the server.
func TestAbortMidSendfileClosesTheFile(t *testing.T) {
	ts := newTestSite(t)
	_, addr := startServer(t, testConfig(t, ts, ""), Options{})
	big, err := filepath.EvalSymlinks(filepath.Join(ts.dir, "big.bin"))
	if err != nil {
		t.Fatal(err)
	}

	// A whole response first, so that whatever the site keeps open between
	// requests is open before the baseline is taken.
	warm := dialRaw(t, addr)
	warm.send(t, "GET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	if resp, body := warm.response(t, "GET"); resp.StatusCode != 200 || len(body) != len(ts.big) {
		t.Fatalf("warm-up: %d, %d bytes", resp.StatusCode, len(body))
	}
	warm.Close()
	baseline := openFilesOf(t, big)

	for i := range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		tc := c.(*net.TCPConn)
		tc.SetReadBuffer(4096)
		if _, err := c.Write([]byte("GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4096)
		if _, err := c.Read(buf); err != nil {
			t.Fatal(err)
		}
		// The 6 MiB response cannot fit in the socket buffers: the server
		// holds the file open, waiting to write the rest.
		waitOpenFiles(t, big, baseline+1, "during the response")
		tc.SetLinger(0) // close with RST
		c.Close()
		waitOpenFiles(t, big, baseline, fmt.Sprintf("after the client reset connection %d", i+1))
	}
}
