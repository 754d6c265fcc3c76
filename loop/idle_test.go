package loop

import (
	"io"
	"testing"
	"time"
)

// A client that reads a large answer slowly through a small window, never
// pausing for as long as the keep-alive timeout, gets all of it and its
// connection stays open: the loop is told that the socket is writable
// again only once a third of its send buffer (up to megabytes) has
// drained, which takes longer than the timeout, but the kernel sends all
// along, and that is not idleness.
func TestSlowReaderIsNotIdle(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: a slow download takes seconds")
	}
	g := startGroup(t, Config{Threads: 1, KeepAliveTimeout: 500 * time.Millisecond})
	c := dialSmallWindow(t, g.addr)
	io.WriteString(c, "big\n")
	buf := make([]byte, 64<<10)
	got := 0
	for got < bigAnswer {
		n, err := c.Read(buf[:min(len(buf), bigAnswer-got)])
		got += n
		if err != nil {
			t.Fatalf("read %d of %d bytes, then %v: the answer was cut", got, bigAnswer, err)
		}
		time.Sleep(40 * time.Millisecond) // about 1.6 MB/s
	}
	if got := roundTrip(t, c, "after"); got != "AFTER\n" {
		t.Fatalf("after the answer: %q", got)
	}
}

// A client that asks for a large answer and stops reading is closed at the
// keep-alive timeout although its send queue is full: a window that stays
// shut is no progress. (The kernel may go on sending for a moment while
// the client's kernel makes room in its receive buffer: the deadline is
// generous.)
func TestStalledReaderIsClosed(t *testing.T) {
	g := startGroup(t, Config{Threads: 1, KeepAliveTimeout: 300 * time.Millisecond})
	c := dialSmallWindow(t, g.addr)
	io.WriteString(c, "big\n") // and never read the answer
	start := time.Now()
	for g.closed.Load() == 0 {
		if time.Since(start) > 30*time.Second {
			t.Fatal("a connection whose reader stopped was not closed in 30 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("closed after %v", time.Since(start).Round(time.Millisecond))
}
