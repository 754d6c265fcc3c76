package server

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// ownDescriptors lists this process's open file descriptors.
func ownDescriptors(t testing.TB) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	fds := make([]int, 0, len(entries))
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil {
			fds = append(fds, fd)
		}
	}
	return fds
}

// openFilesOf counts this process's descriptors open on path.
func openFilesOf(t *testing.T, path string) int {
	t.Helper()
	n := 0
	for _, fd := range ownDescriptors(t) {
		if target, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd)); err == nil && target == path {
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
// leaves no descriptor of the file open in the server: the site keeps one
// descriptor of the file open across requests (its open-file cache) and
// every response hands its reference back, so once a reload retires the
// site the file is not open at all.
func TestAbortMidSendfileClosesTheFile(t *testing.T) {
	ts := newTestSite(t)
	cfg := testConfig(t, ts, "")
	srv, addr := startServer(t, cfg, Options{RequestTimeout: time.Second})
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
	if baseline != 1 {
		t.Fatalf("after one response big.bin is open %d times, want 1 (kept open by the site)", baseline)
	}

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
		// is sending the file from the descriptor the site keeps.
		if got := openFilesOf(t, big); got != baseline {
			t.Fatalf("during the response: big.bin open %d times, want %d", got, baseline)
		}
		tc.SetLinger(0) // close with RST
		c.Close()
		waitOpenFiles(t, big, baseline, fmt.Sprintf("after the client reset connection %d", i+1))
	}
	if err := srv.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	// The retired site drops its descriptor a request timeout after the
	// reload; a reference a reset response kept would keep the file open.
	waitOpenFiles(t, big, 0, "after the site holding it was retired")
}

// resetAfterFirstWrite is a client connection that resets itself instead
// of making its second write: a TLS client sends its ClientHello, reads
// the server's flight, and dies before its Finished.
type resetAfterFirstWrite struct {
	*net.TCPConn
	writes int
}

func (c *resetAfterFirstWrite) Write(p []byte) (int, error) {
	if c.writes++; c.writes > 1 {
		c.SetLinger(0)
		c.TCPConn.Close()
		return 0, net.ErrClosed
	}
	return c.TCPConn.Write(p)
}

// A client that resets the connection in the middle of the handshake,
// after the server derived its handshake keys, leaves no handshake state
// behind: the transport zeroed and dropped it when the connection closed.
func TestAbortMidHandshakeDropsHandshakeState(t *testing.T) {
	ts := newTestSite(t)
	cfg := testConfig(t, ts, "[tls_listener]\naddress = \"127.0.0.1:0\"\n")
	l, err := newTLSListener(cfg, 0)
	if err != nil {
		t.Fatal(err)
	}
	made := make(chan *tlsConn, 1)
	srv, _ := startServer(t, cfg, Options{newTLS: func(fd int) (Transport, error) {
		tr, err := l.newTransport(fd, newTLSBuffers(), &tlsGauges{}, slog.Default())
		if err == nil {
			made <- tr.(*tlsConn)
		}
		return tr, err
	}})
	tlsAddr, _ := srv.TLSAddr()
	raw, err := net.Dial("tcp", tlsAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	client := tls.Client(&resetAfterFirstWrite{TCPConn: raw.(*net.TCPConn)}, &tls.Config{InsecureSkipVerify: true})
	if err := client.Handshake(); err == nil {
		t.Fatal("the handshake completed without the client's Finished")
	}
	tr := <-made
	deadline := time.Now().Add(5 * time.Second)
	for srv.Stats().Closed == 0 { // the loop counts a close after its Closed hook ran
		if time.Now().After(deadline) {
			t.Fatal("the server did not close the reset connection")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if tr.phase != tlsClosed || tr.hs != nil || tr.user.rec != nil || tr.user.in != nil || tr.user.out != nil {
		t.Errorf("after the reset the connection is in phase %d and still holds handshake %v, records %v, input %v, output %v", tr.phase, tr.hs != nil, tr.user.rec != nil, tr.user.in != nil, tr.user.out != nil)
	}
}
