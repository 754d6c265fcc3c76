package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startWithLogPipe runs the binary with its standard output (the access
// log) a pipe whose read end the test holds, serving a small root.
func startWithLogPipe(t *testing.T) (*serverProcess, *os.File) {
	t.Helper()
	bin := buildBinary(t)
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "index.html"), []byte("index\n"), 0o644)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p := startServerProcessOut(t, bin, w, "-l", "127.0.0.1:0", "-L", "127.0.0.1:0", "-r", root)
	w.Close() // the server holds the only write end
	return p, r
}

// getIndex sends one keep-alive GET / on c and reads the whole response.
func getIndex(t *testing.T, c net.Conn, r *bufio.Reader) {
	t.Helper()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("no response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 || string(body) != "index\n" {
		t.Fatalf("response %d %q, %v", resp.StatusCode, body, err)
	}
}

func dialServer(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, bufio.NewReader(c)
}

// TestBinaryLogReaderGone: `lwango | head -c 1`. The reader of the access
// log takes one byte and goes away; every request after that is still
// answered (before the fix the next one got an empty reply and the
// process died of SIGPIPE, status 141), and the server exits 0 on SIGTERM
// (checked by the cleanup of startServerProcessOut).
func TestBinaryLogReaderGone(t *testing.T) {
	p, logR := startWithLogPipe(t)
	c, r := dialServer(t, p.http)
	getIndex(t, c, r)
	one := make([]byte, 1)
	logR.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.ReadFull(logR, one); err != nil {
		t.Fatalf("no access log line: %v", err)
	}
	logR.Close() // head -c 1 exits
	for i := 0; i < 20; i++ {
		getIndex(t, c, r)
		c2, r2 := dialServer(t, p.http) // new connections too
		getIndex(t, c2, r2)
		c2.Close()
	}
	if err := p.cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("server gone: %v", err)
	}
}

// TestBinaryStalledLogDropsLines: standard output is a pipe nobody reads
// (it fills after a few hundred lines). Thousands of requests on several
// connections are still answered; lines that did not fit were dropped, and
// once the pipe drains the log says how many ("access log: N lines
// dropped") and logs new requests again.
func TestBinaryStalledLogDropsLines(t *testing.T) {
	p, logR := startWithLogPipe(t)
	const conns, perConn = 4, 1500
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", p.http)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			r := bufio.NewReader(c)
			for j := 0; j < perConn; j++ {
				c.SetDeadline(time.Now().Add(20 * time.Second))
				io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
				resp, err := http.ReadResponse(r, nil)
				if err != nil {
					errs <- fmt.Errorf("request %d: %v", j, err)
					return
				}
				io.Copy(io.Discard, resp.Body)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("with the log stalled: %v", err)
	}

	// Drain the pipe: the lines that fitted, then the report of the rest.
	dropped := regexp.MustCompile(`^access log: (\d+) lines dropped`)
	lines := bufio.NewScanner(logR)
	logR.SetReadDeadline(time.Now().Add(30 * time.Second))
	logged, lost := 0, 0
	for lost == 0 && lines.Scan() {
		if m := dropped.FindStringSubmatch(lines.Text()); m != nil {
			lost, _ = strconv.Atoi(m[1])
		} else {
			logged++
		}
	}
	if lost == 0 {
		t.Fatalf("no dropped-lines report after %d lines: %v", logged, lines.Err())
	}
	if logged >= conns*perConn || logged+lost > conns*perConn {
		t.Fatalf("%d lines logged and %d dropped for %d requests", logged, lost, conns*perConn)
	}
	t.Logf("%d requests: %d lines logged before the report, %d dropped", conns*perConn, logged, lost)

	// The sink drains again: a new request is logged.
	c, err := net.Dial("tcp", p.http)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /index.html?after-drain HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	io.Copy(io.Discard, c)
	for lines.Scan() {
		if strings.Contains(lines.Text(), `"GET /index.html?after-drain HTTP/1.1" 200 6 plain`) {
			return
		}
	}
	t.Fatalf("no line for a request made after the drain: %v", lines.Err())
}
