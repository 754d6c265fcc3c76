package loop

import (
	"lwango/kernel"
)

// beginStop closes the loop's listeners and its idle connections, and
// steps once those waiting for a request's rest. Busy connections finish
// their response (or time out) and are closed when they go idle; the loop
// returns when none is left. An idle connection has no
// unread input, so it is closed at once rather than lingering on a client
// that may never close its side.
func (l *Loop[S]) beginStop() {
	l.stopping = true
	for i, fd := range l.listeners {
		if fd < 0 {
			continue
		}
		l.table[fd].flags = 0
		l.table[fd].owner.Store(0)
		kernel.Close(fd)
		l.listeners[i] = -1
	}
	l.paused = false
	announcer, _ := l.handler.(Announcer[S])
	for fd := l.idle.head; fd >= 0; {
		c := &l.table[fd]
		fd = c.next
		if l.isIdle(c) && (announcer == nil || !announcer.AnnouncesStop(c)) {
			l.retire(c)
		}
	}
	// A connection waiting for the rest of a request is stepped once now,
	// not at its client's next bytes: a protocol that tells its client it
	// stops (HTTP/2's GOAWAY) does so at once. So is an idle one whose
	// handler has something to announce; it is retired after its step if
	// it is still idle.
	l.Nudge(func(c *Conn[S]) bool {
		return c.flags&inRequestQueue != 0 || announcer != nil && announcer.AnnouncesStop(c)
	})
}

// Nudge steps once, now, each connection waiting on its client (for a
// request, the rest of one, or a write to drain) that choose picks, as if
// its socket had become ready; a step that finds nothing to read or write
// waits again. It lets a handler tell its clients something at once (an
// HTTP/2 GOAWAY after a reload). It must run on the loop's thread (from a
// function given to Group.Post).
func (l *Loop[S]) Nudge(choose func(*Conn[S]) bool) {
	var picked []int32
	for _, q := range []*timeoutQueue{&l.request, &l.idle} {
		for fd := q.head; fd >= 0; fd = l.table[fd].next {
			if choose(&l.table[fd]) {
				picked = append(picked, fd)
			}
		}
	}
	for _, fd := range picked {
		// A step touches only its own connection: the others picked
		// are still where they were.
		if c := &l.table[fd]; c.flags&(inRequestQueue|inIdleQueue) != 0 {
			l.resume(c)
		}
	}
}

// pauseListeners takes the listeners out of epoll until the next tick, when
// descriptors have run out: level-triggered, they would otherwise wake the
// loop again and again.
func (l *Loop[S]) pauseListeners() {
	for _, fd := range l.listeners {
		if fd >= 0 {
			kernel.EpollDelete(l.epfd, fd)
		}
	}
	l.paused = true
}

func (l *Loop[S]) resumeListeners() {
	for i, fd := range l.listeners {
		if fd >= 0 {
			if err := kernel.EpollAdd(l.epfd, fd, l.listenEvents[i]); err != nil {
				l.log.Error("cannot resume listener", "loop", l.id, "err", err)
			}
		}
	}
	l.paused = false
}

// closeLoop frees the loop's own descriptors when it returns.
func (l *Loop[S]) closeLoop() {
	for _, fd := range l.listeners {
		if fd >= 0 {
			l.table[fd].flags = 0
			l.table[fd].owner.Store(0)
			kernel.Close(fd)
		}
	}
	kernel.Close(l.epfd)
	kernel.Close(l.wakefd)
	l.group.running.Done()
}
