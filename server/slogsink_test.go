package server

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"log/slog"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// stalledPipe returns a pipe whose write end is full: the next write to it
// blocks until the read end is read, as standard error does when the
// process reading it stops. Both ends are closed when the test ends.
func stalledPipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	// Fill it without waiting: the descriptor is non-blocking (Go's
	// poller), so the writes stop at EAGAIN, whatever the machine's load.
	raw, err := w.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte("filler\n"), 512) // lines, for a reader that scans them
	raw.Write(func(fd uintptr) bool {
		for _, b := range [][]byte{chunk, []byte("\n")} { // then byte by byte: no room at all
			for {
				if _, err := unix.Write(int(fd), b); err != nil {
					break
				}
			}
		}
		return true
	})
	return r, w
}

// The server's log (standard error by default) stops draining: failed TLS
// handshakes, whose lines go to it, still get their alert at once, and the
// loop (there is one) goes on serving; once the log is read the lines are
// there. Before, the first failure's line blocked the loop in write(2).
func TestStalledServerLogBlocksNoLoop(t *testing.T) {
	logR, logW := stalledPipe(t)
	s := startTLS(t, `ciphers = ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]`+"\n", Options{Log: slog.New(slog.NewTextHandler(logW, nil))})
	const failures = 5
	for i := range failures {
		raw, err := net.Dial("tcp", s.tlsAddr)
		if err != nil {
			t.Fatal(err)
		}
		raw.SetDeadline(time.Now().Add(10 * time.Second))
		c := tls.Client(raw, &tls.Config{ServerName: "stalled.test", InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}})
		if err := c.Handshake(); err == nil || !strings.Contains(err.Error(), "handshake failure") {
			t.Fatalf("handshake %d with the log stalled: %v, want the server's handshake_failure alert", i, err)
		}
		raw.Close()
	}
	c := dialRaw(t, s.plainAddr)
	c.send(t, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
	if resp, body := c.response(t, "GET"); resp.StatusCode != 200 || string(body) != "Hello, World!" {
		t.Fatalf("GET /hello with the log stalled: %d %q", resp.StatusCode, body)
	}

	// The log drains: every failure is there.
	lines := bufio.NewScanner(logR)
	logR.SetReadDeadline(time.Now().Add(20 * time.Second))
	seen := 0
	for seen < failures && lines.Scan() {
		if strings.Contains(lines.Text(), "tls: handshake failed") && strings.Contains(lines.Text(), "sni=stalled.test") {
			seen++
		}
	}
	if seen < failures {
		t.Fatalf("%d failure lines after the log drained, want %d: %v", seen, failures, lines.Err())
	}
}

// A loop's logger never waits: with the sink stalled, records past the
// loop's share are dropped and counted, and once the sink drains the
// records kept are written, then "server log: records dropped" with the
// count; kept and dropped add up to what the loop logged.
func TestSlogWriterDropsWhenStalled(t *testing.T) {
	logR, logW := stalledPipe(t)
	sw := newSlogWriter(slog.New(slog.NewTextHandler(logW, nil)))
	log := sw.forLoop()
	sw.start()
	defer sw.close()
	// The writer may take up to a share's worth before it blocks on the
	// sink, and the share holds as much again: past that, records drop.
	const n = 2*loopSlogRecords + 100
	done := make(chan struct{})
	go func() {
		for i := range n {
			log.Info("record", "i", i)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("a loop's logger blocked on a stalled sink")
	}

	dropped := regexp.MustCompile(`msg="server log: records dropped \(the log sink did not keep up\)" count=(\d+)`)
	lines := bufio.NewScanner(logR)
	logR.SetReadDeadline(time.Now().Add(20 * time.Second))
	kept, lost := 0, 0
	for lost == 0 && lines.Scan() {
		if m := dropped.FindStringSubmatch(lines.Text()); m != nil {
			lost, _ = strconv.Atoi(m[1])
		} else if strings.Contains(lines.Text(), `msg=record i=`) {
			kept++
		}
	}
	if lost < 100 || kept+lost != n || kept < loopSlogRecords {
		t.Fatalf("%d records kept and %d reported dropped of %d (a loop keeps %d): %v", kept, lost, n, loopSlogRecords, lines.Err())
	}
	t.Logf("%d records: %d written, %d dropped", n, kept, lost)
}
