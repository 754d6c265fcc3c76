package loop

import "lwango/kernel"

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

// Adopt gives the loop an established connection that another process
// passed over (a binary upgrade): the loop serves it from now on as one of
// its own, idle between requests, with a fresh keep-alive timeout. flags
// may carry TLS and KernelTLS; state is the handler's State for it
// (nil when the handler keeps none for an idle connection). Adopt may be called from any
// goroutine; the loop takes the connection after its current batch of
// events, as a function Group.Post runs.
func (l *Loop[S]) Adopt(fd int, flags Flags, state *S) {
	l.post(func(l *Loop[S]) { l.adopt(fd, flags&(TLS|KernelTLS), state) })
}

// adopt makes fd one of the loop's connections, on its thread.
func (l *Loop[S]) adopt(fd int, flags Flags, state *S) {
	c := l.register(fd, flags)
	if c == nil {
		return
	}
	c.State = state
	l.stats.Adopted.Add(1)
	if l.stopping {
		l.retire(c) // idle: passed on when this process hands off in turn
		return
	}
	l.schedule(c)
}
