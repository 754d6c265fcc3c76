package server

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// slowReader reads at most 16 KiB at a time and pauses after each read:
// a client that never stops reading but takes its time, so that the
// server's send queue stays full to the end of a large response.
type slowReader struct {
	r     io.Reader
	pause time.Duration
}

func (s slowReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p[:min(len(p), 16<<10)])
	time.Sleep(s.pause)
	return n, err
}

// dialSmallWindow connects to addr over a socket whose receive buffer is
// 32 KiB (set before the connection, so the window is small from the
// start): the server's kernel holds most of a large response, and a
// server that waits to be told its socket is writable again waits long.
func dialSmallWindow(t testing.TB, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 30 * time.Second, Control: func(_, _ string, raw syscall.RawConn) error {
		var err error
		raw.Control(func(fd uintptr) { err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 32<<10) })
		return err
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// slowEndings are the two ways a slow download's connection ends on the
// server's side: the client asked for Connection: close (the server
// closes right after handing the last bytes to its kernel), or it keeps
// the connection alive and reads for longer than the keep-alive timeout
// after the server has handed everything over.
var slowEndings = []struct{ name, header string }{
	{"Connection close", "Connection: close\r\n"},
	{"keep-alive timeout", ""},
}

// slowDownload asks for path on c (a fresh connection from dialSmallWindow,
// wrapped in TLS or not) and reads the response through a slowReader
// pausing pause per 16 KiB: the body must be want, byte for byte, and the
// server must then end the connection cleanly (Go's TLS client reports
// io.EOF after close_notify, or when TCP ends at a record boundary; an end
// inside a record is an error).
func slowDownload(t *testing.T, c net.Conn, path, header string, want []byte, pause time.Duration) {
	t.Helper()
	// Generous: the download takes len(want)/16 KiB pauses, and the
	// machine may be loaded.
	c.SetDeadline(time.Now().Add(5 * time.Minute))
	start := time.Now()
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: localhost\r\n%s\r\n", path, header)
	r := bufio.NewReader(slowReader{c, pause})
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("response head: %v", err)
	}
	if resp.StatusCode != 200 || resp.ContentLength != int64(len(want)) {
		t.Fatalf("status %d, length %d, want 200 and %d", resp.StatusCode, resp.ContentLength, len(want))
	}
	got := make([]byte, 0, len(want))
	buf := make([]byte, 64<<10)
	for len(got) < len(want) {
		var n int
		n, err = resp.Body.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			break
		}
	}
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && got[i] == want[i] {
			i++
		}
		t.Fatalf("received %d of %d bytes in %v (%v), equal to the file for the first %d: the download was cut",
			len(got), len(want), time.Since(start).Round(time.Millisecond), err, i)
	}
	if rest, err := io.ReadAll(r); err != nil || len(rest) != 0 {
		t.Fatalf("after the response: %d more bytes, %v; want the end of the stream", len(rest), err)
	}
	t.Logf("%d bytes in %v, then the end of the stream", len(got), time.Since(start).Round(time.Millisecond))
}

// slowPace is how a slow download test goes: the server's keep-alive
// timeout, and the reader's pause per 16 KiB. The pause makes a third of
// the server's send buffer (megabytes: what the server waits for to be
// told that its socket is writable again) take well over the timeout to
// drain, while the reader never pauses for anywhere near the timeout,
// unless the machine stalls it that long.
type slowPace struct{ keepAlive, pause time.Duration }

// hostPace: about 400 KiB/s, at which a third of a 4 MiB send buffer (what
// Linux autotunes a loopback connection's to, with the default tcp_wmem)
// drains in 3.4 s.
var hostPace = slowPace{keepAlive: 2 * time.Second, pause: 40 * time.Millisecond}

// slowDownloads downloads path (whose content is want) through a
// connection from dial with each of slowEndings, in parallel, and checks
// each byte for byte (slowDownload).
func slowDownloads(t *testing.T, dial func(t *testing.T) net.Conn, path string, want []byte, pace slowPace) {
	for _, end := range slowEndings {
		t.Run(end.name, func(t *testing.T) {
			t.Parallel()
			slowDownload(t, dial(t), path, end.header, want, pace.pause)
		})
	}
}

// tlsSmallWindow is Go's TLS client over dialSmallWindow, handshake done.
func tlsSmallWindow(t *testing.T, addr string, cfg *tls.Config) net.Conn {
	t.Helper()
	c := tls.Client(dialSmallWindow(t, addr), cfg)
	c.SetDeadline(time.Now().Add(time.Minute))
	if err := c.Handshake(); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSlowReaderDownloadIsNotCut: a large file to a client that reads it
// slowly through a small receive window, but never stops for as long as
// the keep-alive timeout, arrives whole, over plain HTTP and user-space
// TLS, whether the connection then ends with Connection: close or with
// the keep-alive timeout. The server's socket is full most of the time
// and it is told only now and then that it is writable again (once a
// third of its send buffer, megabytes, has drained): those waits are
// longer than the keep-alive timeout, and the client is progressing all
// along, so the timeout must count from the last byte the kernel sent,
// not from the last time the server wrote. (Before, the server cut such
// downloads at the keep-alive timeout in the middle of the file.) The
// kernel TLS version is TestKTLSGuestSlowReaderDownloadIsNotCut.
func TestSlowReaderDownloadIsNotCut(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: a slow download takes seconds")
	}
	s := startTLS(t, certLines(t, "ecdsa-p256"), Options{KeepAliveTimeout: hostPace.keepAlive})
	t.Run("plain", func(t *testing.T) {
		t.Parallel()
		slowDownloads(t, func(t *testing.T) net.Conn { return dialSmallWindow(t, s.plainAddr) }, "/big.bin", s.site.big, hostPace)
	})
	t.Run("tls", func(t *testing.T) {
		t.Parallel()
		slowDownloads(t, func(t *testing.T) net.Conn {
			return tlsSmallWindow(t, s.tlsAddr, &tls.Config{InsecureSkipVerify: true})
		}, "/big.bin", s.site.big, hostPace)
	})
}
