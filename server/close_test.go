package server

import (
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A client that asks for the close gets its whole response and the
// connection closed at once, without the server lingering for more input:
// bytes it sends afterwards are answered with a reset. A close the server
// decides itself (here a 400) lingers instead: bytes sent after it are read
// and dropped, and the client sees no reset.
func TestClientCloseIsNotLingered(t *testing.T) {
	ts := newTestSite(t)
	_, addr := startServer(t, testConfig(t, ts, ""), Options{})

	// afterEOF sends request, reads the response up to the server's FIN,
	// then writes a byte three times, each time waiting until the server's
	// kernel has answered it: with an ACK while the server lingers, with a
	// reset once it has closed the socket, which the next write reports.
	// Nothing is timed: the writes take milliseconds, the linger 2 s.
	afterEOF := func(request string) error {
		c := dialRaw(t, addr)
		c.send(t, request)
		if _, err := io.ReadAll(c.r); err != nil {
			t.Fatalf("reading the response to %q: %v", request, err)
		}
		for range 3 {
			if _, err := c.Write([]byte("x")); err != nil {
				return err
			}
			waitAnswered(t, c.Conn.(*net.TCPConn))
		}
		return nil
	}
	if err := afterEOF("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("after a client-requested close: %v, want a reset (no lingering)", err)
	}
	if err := afterEOF("GET /hello HTTP/1.1\r\nContent-Length: x\r\n\r\n"); err != nil {
		t.Errorf("after a server-decided close: %v, want no reset (the server lingers)", err)
	}
}

// waitAnswered waits until c has no byte in flight the peer has not
// answered, by an ACK or by a reset (which empties the send queue too).
func waitAnswered(t *testing.T, c *net.TCPConn) {
	t.Helper()
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		var info *unix.TCPInfo
		raw.Control(func(fd uintptr) { info, err = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO) })
		if err != nil {
			t.Fatal(err)
		}
		if info.Unacked == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d segments unanswered after 10 s", info.Unacked)
		}
	}
}
