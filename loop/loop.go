// Package loop runs one single-threaded epoll event loop per CPU, after
// Lwan's lwan-thread.c. Each loop owns a thread pinned to its CPU, its own
// epoll descriptor and its own SO_REUSEPORT listening sockets, and drives
// the connections it accepts through a Handler: no goroutine per
// connection. Connections live in one table indexed by descriptor, shared by
// the loops of a Group (a descriptor belongs to one loop at a time).
//
// Client sockets are level-triggered: a step may stop before it has read or
// written everything (a pipelined request waiting behind a response that
// cannot be written yet, a handler yielding for fairness) and the readiness
// is reported again, so no step has to drain a socket to EAGAIN and nothing
// is lost when one does not.
package loop

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"lwango/coro"
	"lwango/kernel"
)

// Loop is one event loop. Its methods, other than Stats, are for the
// Handler, on the loop's own thread.
type Loop[S any] struct {
	id      int
	cpu     int // -1: not pinned
	group   *Group[S]
	handler Handler[S]
	table   []Conn[S]

	epfd, wakefd int
	listeners    []int    // listening descriptors; -1 once closed
	listenEvents []uint32 // the epoll events each listener is registered with
	paused       bool     // listeners out of epoll after EMFILE, until the next tick
	shortage     shortage
	mailbox      mailbox[S]   // functions Group.Post and Adopt ask the loop to run
	log          *slog.Logger // Config.Log

	events  []kernel.Event
	idle    timeoutQueue // keep-alive and response writing: pushed back on activity
	request timeoutQueue // request-read deadline: fixed
	linger  timeoutQueue // lingering close: fixed, short
	start   time.Time
	tick    time.Duration
	now     uint32 // ticks since start
	clock   clock
	scratch []byte // where lingering connections' input is discarded
	// flushing are the kernel TLS connections being closed that wait for
	// their send queues to empty (flush.go); stallTimeout bounds how long
	// a queue may stand still.
	flushing     []flushingConn
	stallTimeout time.Duration

	live     int // open client connections, lingering ones included
	stopping bool
	stats    Stats
}

// ID is the loop's index in its group, from 0.
func (l *Loop[S]) ID() int { return l.id }

// CPU is the CPU the loop's thread is pinned to, or -1.
func (l *Loop[S]) CPU() int { return l.cpu }

// Stats are the loop's counters.
func (l *Loop[S]) Stats() *Stats { return &l.stats }

// Date is the current time as an HTTP Date header value (RFC 1123, GMT),
// refreshed at most once a second. The slice is overwritten in place and
// keeps its length, so a holder of it always sees the current value.
func (l *Loop[S]) Date() []byte { return l.clock.date }

// CommonLogTime is the current time as a common log format timestamp
// ("02/Jan/2006:15:04:05 +0000"), refreshed with Date.
func (l *Loop[S]) CommonLogTime() []byte { return l.clock.common }

// Stopping reports whether the group is stopping: a handler should not keep
// the connection alive after the response in flight. It is true from the
// moment Stop is called, before the loop itself has acted on it (another
// loop may already have closed its idle connections). It stays false during
// a HandOff, whose connections live on in another process.
func (l *Loop[S]) Stopping() bool {
	return (l.stopping || l.group.stopping.Load()) && l.group.pass == nil
}

// Draining reports whether the group is stopping or handing its
// connections off (HandOff): a connection that cannot leave the process
// should finish what is in flight and end (an HTTP/2 GOAWAY).
func (l *Loop[S]) Draining() bool { return l.stopping || l.group.stopping.Load() }

// Live reports how many client connections the loop holds open.
func (l *Loop[S]) Live() int { return l.live }

func (l *Loop[S]) run() {
	runtime.LockOSThread() // never unlocked: a pinned thread dies with its goroutine
	if l.cpu >= 0 {
		if err := kernel.PinThread(l.cpu); err != nil {
			l.log.Warn("cannot pin event loop to its CPU", "loop", l.id, "cpu", l.cpu, "err", err)
		}
	}
	defer l.closeLoop()
	var busy time.Time // when the loop last had events
	hold := 0          // how long the next wait holds the P
	for {
		n, err := kernel.EpollWait(l.epfd, l.events, l.waitMillis(), hold)
		if err != nil {
			panic(fmt.Sprintf("loop %d: epoll_wait: %v", l.id, err))
		}
		now := l.advanceClock()
		if n > 0 {
			busy = now
		}
		hold = holdMillis(now.Sub(busy))
		wake := false
		for _, ev := range l.events[:n] {
			if int(ev.Fd) == l.wakefd {
				wake = true // acted on after the batch, whose events may name connections Stop closes
				continue
			}
			l.dispatch(int(ev.Fd), ev.Events)
		}
		if wake {
			kernel.EventfdDrain(l.wakefd)
			if l.group.stopping.Load() && !l.stopping {
				l.beginStop()
			}
			l.runPosted()
		}
		l.expire()
		l.checkFlushing()
		if l.stopping && l.live == 0 {
			return
		}
	}
}

// holdTime is how long after its last events a loop goes on waiting for
// more while holding its P (see kernel.EpollWait; Start leaves a P to
// spare). The runtime sees a loop as one goroutine that never yields: every
// 10 ms sysmon either preempts it (a signal, then the locked thread hands
// its P to another thread and back: ~100 µs on the bench VM) or, when it
// finds it in a syscall through the runtime's path, takes its P, and then
// polls every 20 µs for a millisecond or more and sleeps deeply when all Ps
// are idle, to be woken and poll again when the loop comes back (~600 µs
// per return, 50 context switches). Holding the P costs a preemption every
// 10 ms; giving it up costs the polling once: holding for 50 ms, near where
// the two meet, bounds the waste either way (bench/README.md, "Idle gaps").
const holdTime = 50 * time.Millisecond

// holdMillis is the rest of holdTime, in whole milliseconds, idle after
// the loop's last events: counted from those events, not from the last
// wait, because a signal (the runtime preempting the loop every 10 ms)
// ends a raw wait early with no events, and the loop must not give its P
// up for that.
func holdMillis(idle time.Duration) int {
	if idle >= holdTime {
		return 0
	}
	return int((holdTime - idle + time.Millisecond - 1) / time.Millisecond)
}

// waitMillis is how long epoll_wait may sleep: until the next tick while
// any timeout is pending, forever otherwise; at most flushPoll while a
// kernel TLS connection waits for its send queue to empty.
func (l *Loop[S]) waitMillis() int {
	poll := -1
	if len(l.flushing) > 0 {
		poll = int(flushPoll / time.Millisecond)
	}
	if l.idle.empty() && l.request.empty() && l.linger.empty() && !l.paused {
		return poll
	}
	next := l.start.Add(time.Duration(l.now+1) * l.tick)
	ms := max(int((time.Until(next)+time.Millisecond-1)/time.Millisecond), 0)
	if poll >= 0 {
		return min(ms, poll)
	}
	return ms
}

// advanceClock reads the time once per wake-up, for the loop's clock and
// ticks, and returns it.
func (l *Loop[S]) advanceClock() time.Time {
	now := time.Now()
	l.clock.update(now)
	tick := uint32(now.Sub(l.start) / l.tick)
	if tick != l.now {
		l.now = tick
		if l.paused {
			l.resumeListeners()
		}
	}
	return now
}

func (l *Loop[S]) dispatch(fd int, events uint32) {
	c := &l.table[fd]
	switch {
	case c.flags&listenerFlags != 0:
		l.accept(c)
	case c.flags&lingering != 0:
		l.drain(c)
	case c.flags&flushing != 0:
		if events&(kernel.EventErr|kernel.EventHup) != 0 {
			l.dropFlushing(c)
		}
	case events&(kernel.EventErr|kernel.EventHup) != 0:
		l.close(c, false)
	default:
		if events&kernel.EventRDHup != 0 {
			c.flags |= PeerClosed
		}
		l.resume(c)
	}
}

// accept takes every waiting connection from a listener (until EAGAIN) and
// serves each at once: with TCP_DEFER_ACCEPT its first bytes are already in.
func (l *Loop[S]) accept(listener *Conn[S]) {
	clientFlags := Flags(0)
	if listener.flags&ListenerHTTPS != 0 {
		clientFlags = TLS
	}
	for {
		fd, err := kernel.Accept(int(listener.fd))
		switch {
		case err == nil:
		case errors.Is(err, unix.EAGAIN):
			return
		case errors.Is(err, unix.EMFILE), errors.Is(err, unix.ENFILE):
			// Out of descriptors: make room by closing the oldest idle
			// connections, as nginx does, rather than keep new clients
			// waiting for a keep-alive timeout.
			if n := l.reclaimIdle(); n > 0 {
				l.logShortage(err, n, false)
				continue
			}
			l.logShortage(err, 0, true)
			l.pauseListeners()
			return
		case errors.Is(err, unix.ENOBUFS), errors.Is(err, unix.ENOMEM):
			l.logShortage(err, 0, true)
			l.pauseListeners()
			return
		default: // ECONNABORTED and the errors accept(2) passes on from the new socket
			continue
		}
		c := l.register(fd, clientFlags)
		if c == nil {
			continue
		}
		l.stats.Accepted.Add(1)
		l.resume(c)
	}
}

// register makes fd, a descriptor new to this process (accepted or
// adopted), one of the loop's connections with flags, watched for
// reading. When the table cannot hold it or epoll refuses it, fd is closed
// and register returns nil.
func (l *Loop[S]) register(fd int, flags Flags) *Conn[S] {
	if fd >= len(l.table) {
		kernel.Close(fd)
		l.stats.Refused.Add(1)
		return nil
	}
	c := &l.table[fd]
	if !c.owner.CompareAndSwap(0, int32(l.id+1)) {
		panic(fmt.Sprintf("loop %d: new descriptor %d is still owned by loop %d", l.id, fd, c.owner.Load()-1))
	}
	c.fd = int32(fd)
	c.flags = flags | EventsRead | watchHangup
	c.prev, c.next = -1, -1
	if err := kernel.EpollAdd(l.epfd, fd, kernel.EventIn|kernel.EventRDHup); err != nil {
		c.owner.Store(0)
		kernel.Close(fd)
		return nil
	}
	l.live++
	return c
}

// resume runs one step of the handler and applies what it wants.
func (l *Loop[S]) resume(c *Conn[S]) {
	switch want := l.handler.Serve(l, c); want {
	case coro.WantRead:
		l.setInterest(c, EventsRead)
	case coro.WantWrite:
		l.setInterest(c, EventsWrite)
	case coro.Done:
		l.close(c, true)
		return
	case coro.Abort, coro.Finished:
		l.close(c, false)
		return
	default:
		panic(fmt.Sprintf("loop: handler returned %v", want))
	}
	if l.stopping && l.isIdle(c) {
		l.retire(c)
		return
	}
	l.schedule(c)
}

// isIdle reports whether c waits for a request that has not started.
func (l *Loop[S]) isIdle(c *Conn[S]) bool {
	return c.flags&(EventsRead|EventsWrite|RequestPending|lingering) == EventsRead
}

// setInterest points c's epoll interest at reading or writing, with
// EPOLLRDHUP until the peer has hung up (after that, level-triggered RDHUP
// would be reported forever).
func (l *Loop[S]) setInterest(c *Conn[S], events Flags) {
	mask := uint32(kernel.EventIn)
	if events == EventsWrite {
		mask = kernel.EventOut
	}
	if c.flags&PeerClosed == 0 {
		events |= watchHangup
		mask |= kernel.EventRDHup
	}
	if c.flags&(EventsRead|EventsWrite|watchHangup) == events {
		return
	}
	c.flags = c.flags&^(EventsRead|EventsWrite|watchHangup) | events
	if err := kernel.EpollModify(l.epfd, int(c.fd), mask); err != nil {
		panic(fmt.Sprintf("loop %d: epoll mod %d: %v", l.id, c.fd, err))
	}
}

// schedule files c under the timeout its state calls for. A pending request
// keeps the deadline it got when it started; anything else is pushed to the
// back of the keep-alive queue.
func (l *Loop[S]) schedule(c *Conn[S]) {
	if c.flags&RequestPending != 0 {
		if c.flags&inRequestQueue == 0 {
			l.unschedule(c)
			pushBack(l.table, &l.request, c, l.now)
		}
		return
	}
	l.unschedule(c)
	pushBack(l.table, &l.idle, c, l.now)
}

func (l *Loop[S]) unschedule(c *Conn[S]) {
	switch {
	case c.flags&inIdleQueue != 0:
		remove(l.table, &l.idle, c)
	case c.flags&inRequestQueue != 0:
		remove(l.table, &l.request, c)
	case c.flags&inLingerQueue != 0:
		remove(l.table, &l.linger, c)
	}
}

// close ends the handler's part of c (calling Closed) and closes the socket.
// A graceful close sends FIN first and keeps reading until the peer closes
// too, so that input the peer is still sending does not make the kernel
// reset the connection and destroy the response in flight.
func (l *Loop[S]) close(c *Conn[S], graceful bool) {
	l.unschedule(c)
	if l.flushFirst(c, graceful) {
		return
	}
	l.closeNow(c, graceful)
}

// closeNow is close without waiting for a kernel TLS send queue.
func (l *Loop[S]) closeNow(c *Conn[S], graceful bool) {
	c.flags &^= RequestPending | KeepAlive
	l.handler.Closed(l, c)
	c.State = nil
	if graceful && kernel.ShutdownWrite(int(c.fd)) == nil {
		c.flags |= lingering
		// A peer that has not hung up yet cannot have answered the FIN
		// just sent: wait for epoll rather than try a read that would fail.
		if c.flags&PeerClosed != 0 && l.drain(c) {
			return
		}
		l.setInterest(c, EventsRead)
		pushBack(l.table, &l.linger, c, l.now)
		return
	}
	l.release(c)
}

// drain discards a lingering connection's input and reports whether the
// connection is closed (the peer closed or failed).
func (l *Loop[S]) drain(c *Conn[S]) bool {
	for range 16 { // bounded: level-triggered epoll reports the rest
		n, err := kernel.Read(int(c.fd), l.scratch)
		if errors.Is(err, unix.EAGAIN) {
			return false
		}
		if n == 0 || err != nil {
			l.unschedule(c)
			l.release(c)
			return true
		}
	}
	return false
}

// release closes c's descriptor and frees its table entry.
func (l *Loop[S]) release(c *Conn[S]) {
	fd := int(c.fd)
	c.State = nil
	c.flags = 0
	c.prev, c.next = -1, -1
	c.owner.Store(0) // before close: the descriptor may be reused at once
	// Out of epoll before close: a child forked at this moment holds the
	// socket until it execs, and while it does, close alone would leave the
	// registration behind, reporting events for a descriptor that is free.
	kernel.EpollDelete(l.epfd, fd)
	kernel.Close(fd)
	l.live--
	l.stats.Closed.Add(1)
}

// RestartDeadline gives c's next request a fresh request-read deadline: a
// handler calls it when a request is complete, so that one still pending
// after it (pipelined, half read) is timed from now.
func (l *Loop[S]) RestartDeadline(c *Conn[S]) {
	if c.flags&inRequestQueue != 0 {
		remove(l.table, &l.request, c)
	}
}
