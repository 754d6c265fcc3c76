package loop

import (
	"io"
	"net"
	"sync/atomic"
	"testing"
)

// detachingHandler lets a line connection leave the group when nothing of
// it is left in its state.
type detachingHandler struct{ lineHandler }

func (h detachingHandler) Detach(l *Loop[lineState], c *Conn[lineState]) ([]byte, bool) {
	if s := c.State; s != nil && (len(s.in) > 0 || len(s.out) > 0) {
		return nil, false
	}
	return []byte("line"), true
}

// HandOff passes an idle connection at once and a busy one once its answer
// is written; Adopt (through the loop's mailbox) makes another group serve
// both, the clients never reconnecting.
func TestHandOffPassesConnectionsAdoptServesThem(t *testing.T) {
	from := startGroupWith(t, Config{Threads: 2}, func(h lineHandler) Handler[lineState] { return detachingHandler{h} })
	to := startGroup(t, Config{Threads: 1})
	idle, busy := idleAndBusy(t, from.addr, "one")

	var passed atomic.Int64
	adopter := to.Loops()[0]
	from.HandOff(func(fd int, flags Flags, state []byte) {
		if string(state) != "line" || flags != 0 {
			t.Errorf("passed fd %d with flags %v, state %q", fd, flags, state)
		}
		passed.Add(1)
		adopter.Adopt(fd, flags, nil)
	})
	waitFor(t, func() bool { return adopter.Stats().Adopted.Load() == 1 }, "the idle connection's adoption")
	if got := roundTrip(t, idle, "two"); got != "TWO\n" {
		t.Fatalf("the idle connection after the hand-off: %q", got)
	}
	if n := passed.Load(); n != 1 {
		t.Fatalf("passed %d connections while one still had its answer to write", n)
	}
	if _, err := io.ReadFull(busy, make([]byte, bigAnswer-busyHeadRead)); err != nil {
		t.Fatalf("the busy connection's answer: %v", err)
	}
	if got := roundTrip(t, busy, "three"); got != "THREE\n" {
		t.Fatalf("the busy connection after its answer: %q", got)
	}
	from.Wait()
	if n := passed.Load(); n != 2 {
		t.Fatalf("passed %d connections, want 2", n)
	}
	if n := adopter.Stats().Adopted.Load(); n != 2 {
		t.Fatalf("adopted %d connections, want 2", n)
	}
	if o, c := from.opened.Load(), from.closed.Load(); o != 2 || c != 0 {
		t.Fatalf("the old group opened %d and closed %d connections, want 2 and none (passed)", o, c)
	}
	if _, err := net.Dial("tcp", from.addr); err == nil {
		t.Fatal("the old group's listener still accepts")
	}
	to.Stop()
	if rest := expectEOF(t, idle); rest != "" {
		t.Fatalf("the adopted connection at Stop: %q", rest)
	}
}
