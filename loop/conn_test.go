package loop

import (
	"fmt"
	"testing"
)

// A connection's tag stays beside its flags, leaving them alone, and is
// zeroed when the connection closes: the next connection on the same
// descriptor starts without one.
func TestTagKeptUntilClose(t *testing.T) {
	g := startGroup(t, Config{Threads: 1})
	c := dial(t, g.addr)
	if got := roundTrip(t, c, "tag"); got != "OK\n" {
		t.Fatalf("tag: %q", got)
	}
	var tag, fd int
	var reading bool
	if _, err := fmt.Sscanf(roundTrip(t, c, "tag?"), "%d %d %v", &tag, &fd, &reading); err != nil || tag != 0xa5c3 || !reading {
		t.Fatalf("after SetTag(0xa5c3): tag %d, EventsRead %v (%v)", tag, reading, err)
	}
	c.Close()
	waitFor(t, func() bool { return g.closed.Load() == 1 }, "Closed")
	next := dial(t, g.addr)
	var nextFd int
	if _, err := fmt.Sscanf(roundTrip(t, next, "tag?"), "%d %d %v", &tag, &nextFd, &reading); err != nil || tag != 0 || nextFd != fd {
		t.Fatalf("the next connection: tag %d on descriptor %d (the first had %d) (%v)", tag, nextFd, fd, err)
	}
}
