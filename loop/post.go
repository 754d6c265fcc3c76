package loop

import (
	"sync"

	"lwango/kernel"
)

// mailbox holds the functions posted to a loop, run on its thread.
type mailbox[S any] struct {
	mu  sync.Mutex
	fns []func(*Loop[S])
}

// Post runs fn on every loop's own thread, after the loop's current batch of
// events, and returns without waiting. A loop that has stopped never runs it.
func (g *Group[S]) Post(fn func(*Loop[S])) {
	for _, l := range g.loops {
		l.post(fn)
	}
}

// post runs fn on the loop's own thread, after its current batch of events.
func (l *Loop[S]) post(fn func(*Loop[S])) {
	l.mailbox.mu.Lock()
	l.mailbox.fns = append(l.mailbox.fns, fn)
	l.mailbox.mu.Unlock()
	kernel.EventfdSignal(l.wakefd)
}

// runPosted runs the functions posted to the loop since it last looked.
func (l *Loop[S]) runPosted() {
	l.mailbox.mu.Lock()
	fns := l.mailbox.fns
	l.mailbox.fns = nil
	l.mailbox.mu.Unlock()
	for _, fn := range fns {
		fn(l)
	}
}
