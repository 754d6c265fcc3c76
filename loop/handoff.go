package loop

import (
	"sync"

	"lwango/kernel"
)

// Detacher is implemented by a Handler whose idle connections can leave the
// process (a binary upgrade hands them to the new process, see
// Group.HandOff).
type Detacher[S any] interface {
	// Detach is called for a connection idle between requests while the
	// group hands its connections off. It returns the little state the
	// connection needs elsewhere and true, having released what State held
	// without touching the socket (no close_notify, no shutdown); or false
	// when the connection cannot leave (its keys live in this process): the
	// loop then closes it as Stop would, calling Closed.
	Detach(l *Loop[S], c *Conn[S]) (state []byte, ok bool)
}

// PassFunc takes a detached connection: its descriptor (now the caller's
// to close), its flags (TLS) and the handler's state. It is called on the
// loop's thread and must not block.
type PassFunc func(fd int, flags Flags, state []byte)

// HandOff is Stop for a binary upgrade: every loop closes its listeners
// (the new process holds the same sockets and accepts on them), lets the
// requests in flight finish, and passes each connection idle between
// requests to pass (see Detacher) instead of closing it. Responses in
// flight keep their connection alive (Stopping stays false). Wait returns
// once no connection is left.
func (g *Group[S]) HandOff(pass PassFunc) {
	g.pass = pass // published by the store below
	g.Stop()
}

// retire ends an idle connection of a stopping loop: handed off during an
// upgrade when the handler can detach it, closed otherwise.
func (l *Loop[S]) retire(c *Conn[S]) {
	d, ok := l.handler.(Detacher[S])
	if l.group.pass == nil || !ok {
		l.close(c, false)
		return
	}
	l.unschedule(c)
	state, ok := d.Detach(l, c)
	if !ok {
		l.close(c, false)
		return
	}
	fd, flags := int(c.fd), c.flags&TLS
	c.State = nil
	c.flags = 0
	c.prev, c.next = -1, -1
	kernel.EpollDelete(l.epfd, fd)
	c.owner.Store(0) // the descriptor stays open until pass's taker closes it
	l.live--
	l.stats.Closed.Add(1)
	l.group.pass(fd, flags, state)
}

// adoption is a connection passed from another process, waiting for its
// loop.
type adoption[S any] struct {
	fd    int
	flags Flags
	state *S
}

// inbox holds the connections handed to a loop from outside its thread.
type inbox[S any] struct {
	mu      sync.Mutex
	pending []adoption[S]
}

// Adopt gives the loop an established connection that another process
// passed over (a binary upgrade): the loop serves it from now on as one of
// its own, idle between requests, with a fresh keep-alive timeout. flags
// may carry TLS; state is the handler's State for it (nil when the handler
// keeps none for an idle connection). Adopt may be called from any
// goroutine; the loop takes the connection at its next wake-up.
func (l *Loop[S]) Adopt(fd int, flags Flags, state *S) {
	l.inbox.mu.Lock()
	l.inbox.pending = append(l.inbox.pending, adoption[S]{fd: fd, flags: flags & TLS, state: state})
	l.inbox.mu.Unlock()
	kernel.EventfdSignal(l.wakefd)
}

// adoptPending takes the connections Adopt queued.
func (l *Loop[S]) adoptPending() {
	l.inbox.mu.Lock()
	pending := l.inbox.pending
	l.inbox.pending = nil
	l.inbox.mu.Unlock()
	for _, a := range pending {
		if a.fd >= len(l.table) {
			kernel.Close(a.fd)
			l.stats.Refused.Add(1)
			continue
		}
		c := &l.table[a.fd]
		if !c.owner.CompareAndSwap(0, int32(l.id+1)) {
			kernel.Close(a.fd) // cannot happen: the descriptor is new to this process
			continue
		}
		c.fd = int32(a.fd)
		c.flags = a.flags | EventsRead | watchHangup
		c.prev, c.next = -1, -1
		c.State = a.state
		if err := kernel.EpollAdd(l.epfd, a.fd, kernel.EventIn|kernel.EventRDHup); err != nil {
			c.owner.Store(0)
			c.State = nil
			kernel.Close(a.fd)
			continue
		}
		l.live++
		l.stats.Adopted.Add(1)
		if l.stopping {
			l.close(c, false)
			continue
		}
		l.schedule(c)
	}
}
