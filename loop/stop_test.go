package loop

import (
	"io"
	"testing"
)

// A request read after Stop must see Stopping, even when its bytes reach
// the loop in the same epoll batch as the wake-up Stop sends (the loop acts
// on that after the batch).
func TestStoppingFromTheMomentStopIsCalled(t *testing.T) {
	for range 20 {
		g := startGroup(t, Config{Threads: 1})
		c := dial(t, g.addr)
		if got := roundTrip(t, c, "stopping?"); got != "false\n" {
			t.Fatalf("before Stop: %q", got)
		}
		io.WriteString(c, "stopp") // a request in progress: Stop leaves it open
		waitFor(t, func() bool { return g.Loops()[0].Stats().Accepted.Load() == 1 }, "the connection")
		g.Stop()
		if got := roundTrip(t, c, "ing?"); got != "true\n" {
			t.Fatalf("after Stop: %q", got)
		}
		c.Close()
	}
}
