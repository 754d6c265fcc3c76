package loop

import (
	"io"
	"strings"
	"testing"
	"time"
)

// A KernelTLS connection that the handler closes with megabytes still in
// its send queue is closed only once the queue is empty: Closed sees
// nothing unsent, and the client gets the whole answer, then the end.
func TestKernelTLSCloseWaitsForSendQueue(t *testing.T) {
	g := startGroup(t, Config{Threads: 1})
	c := dialSmallWindow(t, g.addr)
	if got := roundTrip(t, c, "ktls"); got != "OK\n" {
		t.Fatalf("ktls: %q", got)
	}
	io.WriteString(c, "big\nquit\n")
	got, err := io.ReadAll(c)
	if err != nil || len(got) != bigAnswer+len("bye\n") || !strings.HasSuffix(string(got), "xbye\n") {
		t.Fatalf("read %d bytes (%v), want %d then end of stream", len(got), err, bigAnswer+len("bye\n"))
	}
	waitFor(t, func() bool { return g.closed.Load() == 1 }, "Closed")
	if n := g.unsentAtClose.Load(); n != 0 {
		t.Errorf("Closed was called with %d bytes unsent", n)
	}
}

// A KernelTLS connection closed while its client reads nothing is closed
// anyway once its send queue has not moved for the keep-alive timeout: the
// loop does not wait for it forever, and serves others meanwhile.
func TestKernelTLSCloseGivesUpOnStalledQueue(t *testing.T) {
	g := startGroup(t, Config{Threads: 1, KeepAliveTimeout: 500 * time.Millisecond})
	c := dialSmallWindow(t, g.addr)
	if got := roundTrip(t, c, "ktls"); got != "OK\n" {
		t.Fatalf("ktls: %q", got)
	}
	io.WriteString(c, "fill\n") // and never read the answer
	other := dial(t, g.addr)
	if got := roundTrip(t, other, "hello"); got != "HELLO\n" {
		t.Fatalf("another connection meanwhile: %q", got)
	}
	other.Close()
	waitFor(t, func() bool { return g.closed.Load() == 1 }, "Closed for the other connection")
	waitFor(t, func() bool { return g.closed.Load() == 2 }, "Closed after the queue stalled")
	if n := g.unsentAtClose.Load(); n == 0 {
		t.Errorf("Closed saw an empty send queue although the client read nothing")
	}
	if g.expired.Load() != 0 {
		t.Errorf("the connection expired instead of being closed after its flush")
	}
}
