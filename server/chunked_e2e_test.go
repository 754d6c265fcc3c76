package server

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"lwango/internal/testenv"
)

// curl uploads with a chunked body (RFC 9112 §7.1: a server must decode
// it): within max_post_data_size (2 000 000 here) the upload is answered,
// twice on one connection, so the framing was consumed exactly; past it,
// 413.
func TestCurlChunkedUpload(t *testing.T) {
	s := startE2ESite(t)
	dir := t.TempDir()
	body := make([]byte, 1500000)
	rand.Read(body)
	small := filepath.Join(dir, "small")
	os.WriteFile(small, body, 0o644)
	url := "http://" + s.addr + "/sink"
	out, trace := curl(t, "-v", "-o", "/dev/null", "-w", "%{http_code} %{num_connects}\n",
		"-H", "Transfer-Encoding: chunked", "--data-binary", "@"+small, url, url)
	if out != "204 1\n204 0\n" || !strings.Contains(trace, "> Transfer-Encoding: chunked") {
		t.Fatalf("chunked uploads: %q (want two 204s on one connection)\n%s", out, trace)
	}
	big := filepath.Join(dir, "big")
	os.WriteFile(big, bytes.Repeat([]byte("x"), 2000001), 0o644)
	if out, trace := curl(t, "-o", "/dev/null", "-w", "%{http_code}", "-H", "Transfer-Encoding: chunked",
		"--data-binary", "@"+big, url); out != "413" {
		t.Fatalf("chunked upload over the limit: %q\n%s", out, trace)
	}
}

// Python's http.client sends a generator's output chunked, then a GET on
// the same connection.
func TestPythonChunkedUpload(t *testing.T) {
	python := testenv.Program(t, "python3")
	s := startE2ESite(t)
	host, port, _ := net.SplitHostPort(s.addr)
	script := `
import http.client, sys
c = http.client.HTTPConnection(sys.argv[1], int(sys.argv[2]), timeout=20)
def parts():
    for i in range(200):
        yield bytes([65 + i % 26]) * 997
c.request("POST", "/sink", body=parts())
r = c.getresponse(); r.read(); print(r.status)
c.request("GET", "/small.txt")
r = c.getresponse(); print(r.status, r.read().decode().strip())
`
	out, err := exec.Command(python, "-c", script, host, port).CombinedOutput()
	if err != nil || string(out) != "204\n200 small file\n" {
		t.Fatalf("python3: %v\n%s", err, out)
	}
}

// Raw requests for every HTTP/1.1 framing rule a client meets: decoded
// chunked bodies (with trailers), a POST without a length (no body), an
// unknown method (501), and the smuggling defences, each with its status
// and whether the connection stays open for the request sent after it.
func TestRawFraming(t *testing.T) {
	s := startE2ESite(t)
	const next = "GET /small.txt HTTP/1.1\r\nHost: a\r\n\r\n"
	const post = "POST /sink HTTP/1.1\r\nHost: a\r\n"
	cases := []struct {
		name, req string
		status    int
		open      bool
	}{
		{"chunked with extensions and trailers", post + "Transfer-Encoding: chunked\r\n\r\n4;x=y\r\nwiki\r\n5\r\npedia\r\n0\r\nX-Sum: 1\r\n\r\n", 204, true},
		{"chunked, empty", post + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 204, true},
		{"no length, no coding: no body", post + "\r\n", 204, true},
		{"unknown method", "BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n", 501, true},
		{"bare LF in the framing", post + "Transfer-Encoding: chunked\r\n\r\n4\nwiki\r\n0\r\n\r\n", 400, false},
		{"data longer than its size", post + "Transfer-Encoding: chunked\r\n\r\n3\r\nwiki\r\n0\r\n\r\n", 400, false},
		{"chunk size not hex", post + "Transfer-Encoding: chunked\r\n\r\nzz\r\n", 400, false},
		{"chunk size overflows", post + "Transfer-Encoding: chunked\r\n\r\nffffffffffffffffffffffff\r\n", 413, false},
		{"chunk past max_post_data_size", post + "Transfer-Encoding: chunked\r\n\r\n1E8481\r\n", 413, false},
		{"length and chunked", post + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, false},
		{"chunked not last", post + "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", 501, false},
		{"gzip not last", post + "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400, false},
		{"gzip then chunked", post + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501, false},
		{"chunked twice", post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, false},
		{"chunked in HTTP/1.0", "POST /sink HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, s.addr)
			c.SetDeadline(time.Now().Add(20 * time.Second))
			io.WriteString(c, tc.req+next)
			resp, err := http.ReadResponse(c.r, nil)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			after, err := http.ReadResponse(c.r, nil)
			switch {
			case tc.open && (err != nil || after.StatusCode != 200):
				t.Fatalf("the request after it: %v %v", after, err)
			case !tc.open && err == nil:
				t.Fatalf("the connection stayed open after %d: %d for the next request", tc.status, after.StatusCode)
			}
		})
	}
}

// A client that trickles its request a byte at a time, a chunked body and
// then a Content-Length one, is answered correctly, and the request
// pipelined after each too (the engine resumes the request at each read;
// http1.TestHeadParsedOnce counts that each head line is parsed once). The
// whole is a few hundred bytes, so it arrives well within the request
// deadline (10 s) even on a loaded machine.
func TestRawTrickle(t *testing.T) {
	s := startE2ESite(t)
	body := strings.Repeat("t", 100)
	reqs := "POST /sink HTTP/1.1\r\nHost: a\r\nX-Padding: " + strings.Repeat("p", 100) + "\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"40\r\n" + body[:64] + "\r\n24\r\n" + body[64:] + "\r\n0\r\n\r\n" +
		"POST /sink HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n" + body +
		"GET /small.txt HTTP/1.1\r\nHost: a\r\n\r\n"
	c := dialRaw(t, s.addr)
	c.Conn.(*net.TCPConn).SetNoDelay(true)
	c.SetDeadline(time.Now().Add(60 * time.Second))
	var written atomic.Int64
	go func() {
		for i := range len(reqs) {
			if _, err := c.Write([]byte{reqs[i]}); err != nil {
				return
			}
			written.Add(1)
		}
	}()
	r := bufio.NewReader(c.Conn)
	for i, want := range []int{204, 204, 200} {
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("response %d: %d, want %d (%d of %d bytes sent)", i, resp.StatusCode, want, written.Load(), len(reqs))
		}
	}
}
