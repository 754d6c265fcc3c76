package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"
)

// SIGINT stops the server gracefully: an idle keep-alive connection is
// closed at once, a request in flight is answered with "Connection: close"
// and the process exits 0.
func TestBinarySIGINTAnswersInFlightWithClose(t *testing.T) {
	bin := buildBinary(t)
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "index.html"), []byte("index\n"), 0o644)
	cmd := exec.Command(bin, "-l", "127.0.0.1:0", "-L", "127.0.0.1:0", "-r", root)
	stderr, _ := cmd.StderrPipe()
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	serving := regexp.MustCompile(`msg="lwango serving" http=(\S+)`)
	addr := ""
	for lines := bufio.NewScanner(stderr); addr == "" && lines.Scan(); {
		if m := serving.FindStringSubmatch(lines.Text()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		t.Fatal("the server never said where it listens")
	}
	go io.Copy(io.Discard, stderr)

	dial := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(20 * time.Second))
		t.Cleanup(func() { c.Close() })
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		r := bufio.NewReader(c)
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(resp.Body)
		if resp.Close {
			t.Fatal("a keep-alive response said close before the stop")
		}
		return c, r
	}
	busy, busyR := dial()
	idle, idleR := dial()
	// The next request's head: the 100 Continue proves the server holds it.
	io.WriteString(busy, "GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
	if line, err := busyR.ReadString('\n'); err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("interim response %q, %v", line, err)
	}
	busyR.ReadString('\n')

	cmd.Process.Signal(syscall.SIGINT)
	if rest, err := io.ReadAll(idleR); err != nil || len(rest) != 0 {
		t.Fatalf("idle connection: %q, %v; want it closed", rest, err)
	}
	idle.Close()

	io.WriteString(busy, "hello")
	resp, err := http.ReadResponse(busyR, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "index\n" || !resp.Close {
		t.Fatalf("in-flight request: %d %q, Connection: close %v", resp.StatusCode, body, resp.Close)
	}
	if rest, err := io.ReadAll(busyR); err != nil || len(rest) != 0 {
		t.Fatalf("after the last response: %q, %v; want the connection closed", rest, err)
	}
	busy.Close()

	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGINT: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still running 10 s after SIGINT")
	}
}
