package server

import (
	"errors"
	"io"
	"syscall"
	"testing"
	"time"
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
	// then keeps writing for up to wait: once the server has closed the
	// socket rather than lingering, the write after the reset fails.
	afterEOF := func(request string, wait time.Duration) error {
		c := dialRaw(t, addr)
		c.send(t, request)
		if _, err := io.ReadAll(c.r); err != nil {
			t.Fatalf("reading the response to %q: %v", request, err)
		}
		deadline := time.Now().Add(wait)
		for time.Now().Before(deadline) {
			if _, err := c.Write([]byte("x")); err != nil {
				return err
			}
			time.Sleep(10 * time.Millisecond)
		}
		return nil
	}
	if err := afterEOF("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", time.Second); !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("after a client-requested close: %v, want a reset (no lingering)", err)
	}
	// The loop lingers up to 2 s (the client-requested case above had 1 s
	// to see its reset); half a second of writes must all succeed.
	if err := afterEOF("GET /hello HTTP/1.1\r\nContent-Length: x\r\n\r\n", 500*time.Millisecond); err != nil {
		t.Errorf("after a server-decided close: %v, want no reset (the server lingers)", err)
	}
}
