package loop

import (
	"time"

	"lwango/kernel"
)

// Closing a kernel TLS socket (close or shutdown) drops the records the
// kernel has encrypted but not yet passed to TCP, which it holds while TCP's
// send buffer is full (tls_sw_release_resources_tx frees what does not fit
// at once; after a shutdown TCP takes nothing more), and a close_notify sent
// into a full queue is refused. Seen in the guest on Linux 6.1 and 7.2: a
// response that ends as the send queue fills, closed at once, loses its
// last records (the client reads a record cut short) or its close_notify
// (server/ktls_guest_close_test.go). So a KernelTLS connection the loop
// closes with bytes still in its send queue (SIOCOUTQ: not sent, or not
// acknowledged) is first set aside, its epoll interest reduced to errors
// and hang-ups, and its queue checked every flushPoll: once it is empty
// (the close then pushes whatever the kernel still held into TCP's empty
// buffer), or when it has not moved for the keep-alive timeout, or on an
// error or hang-up, the close goes on: Handler.Closed (a kernel TLS handler
// sends its close_notify into the empty queue), then the graceful or
// abrupt close as asked. A connection closed because its keep-alive timeout
// passed is not set aside: its queue has not moved for that long already.

// A send queue found empty does not mean that the kernel TLS layer holds
// nothing more: the records it encrypted while TCP's buffer was full are
// passed to TCP by a kernel worker that may not have run yet, and its open
// record only by the next send. Both go to TCP with the handler's
// close_notify, and at the close itself, without waiting: a send buffer
// smaller than what they amount to takes part of a record and drops the
// rest (seen on Linux 6.1 with 16 KiB send buffers: responses cut inside
// their last record although the queue had emptied). So a kernel TLS
// connection's send buffer is first raised to closeSendBuffer.
const closeSendBuffer = 256 << 10

// flushPoll is how often a loop checks the send queues of the kernel TLS
// connections it is closing.
const flushPoll = 5 * time.Millisecond

// flushingConn is a kernel TLS connection whose close waits for its send
// queue to empty.
type flushingConn struct {
	fd       int32
	graceful bool
	unsent   int       // the send queue at the last check
	stalled  time.Time // when the queue stops moving past this, close anyway
}

// flushFirst sets c aside if it is a kernel TLS connection with bytes
// still queued, and reports whether it did.
func (l *Loop[S]) flushFirst(c *Conn[S], graceful bool) bool {
	if c.flags&KernelTLS == 0 || c.flags&flushing != 0 {
		return false
	}
	kernel.GrowSendBuffer(int(c.fd), closeSendBuffer) // best effort
	unsent, err := kernel.Unsent(int(c.fd))
	if err != nil || unsent == 0 {
		return false
	}
	c.flags = c.flags&^(EventsRead|EventsWrite|watchHangup) | flushing
	if err := kernel.EpollModify(l.epfd, int(c.fd), 0); err != nil {
		c.flags &^= flushing
		return false
	}
	l.flushing = append(l.flushing, flushingConn{fd: c.fd, graceful: graceful, unsent: unsent, stalled: time.Now().Add(l.stallTimeout)})
	return true
}

// checkFlushing goes on with the close of each connection set aside whose
// send queue has emptied or stalled.
func (l *Loop[S]) checkFlushing() {
	if len(l.flushing) == 0 {
		return
	}
	now := time.Now()
	var done []flushingConn
	kept := l.flushing[:0]
	for _, f := range l.flushing {
		unsent, err := kernel.Unsent(int(f.fd))
		switch {
		case err != nil || unsent == 0 || unsent == f.unsent && now.After(f.stalled):
			done = append(done, f)
			continue
		case unsent != f.unsent:
			f.unsent, f.stalled = unsent, now.Add(l.stallTimeout)
		}
		kept = append(kept, f)
	}
	clear(l.flushing[len(kept):])
	l.flushing = kept
	for _, f := range done {
		l.flushed(&l.table[f.fd], f.graceful)
	}
}

// flushed ends the close of c, set aside by flushFirst.
func (l *Loop[S]) flushed(c *Conn[S], graceful bool) {
	c.flags &^= flushing
	l.closeNow(c, graceful)
}

// dropFlushing ends the close of c at once (an error or hang-up on it).
func (l *Loop[S]) dropFlushing(c *Conn[S]) {
	for i, f := range l.flushing {
		if f.fd == c.fd {
			l.flushing = append(l.flushing[:i], l.flushing[i+1:]...)
			break
		}
	}
	l.flushed(c, false)
}
