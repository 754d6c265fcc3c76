package loop

import "time"

// reclaimBatch is how many idle connections an accept that ran out of
// descriptors closes at most before it tries again (nginx's
// ngx_drain_connections closes up to 32 reusable connections).
const reclaimBatch = 32

// shortageLogEvery is how often a loop short of descriptors or memory says
// so: once when it starts, then at most once per period with a count.
const shortageLogEvery = time.Minute

// reclaimIdle closes up to reclaimBatch of the loop's oldest idle
// connections (waiting for a request that has not started, the keep-alive
// queue's order) and returns how many it closed.
func (l *Loop[S]) reclaimIdle() int {
	n := 0
	for fd := l.idle.head; fd >= 0 && n < reclaimBatch; {
		c := &l.table[fd]
		fd = c.next
		if l.isIdle(c) {
			l.close(c, false)
			n++
		}
	}
	l.stats.Reclaimed.Add(uint64(n))
	return n
}

// logShortage logs that accept failed for want of resources: the first
// time, then at most once per shortageLogEvery, with how many idle
// connections were closed and how many times the listeners were paused
// since the last line.
func (l *Loop[S]) logShortage(err error, reclaimed int, paused bool) {
	l.shortage.reclaimed += reclaimed
	if paused {
		l.shortage.pauses++
	}
	now := time.Now()
	if !l.shortage.logged.IsZero() && now.Sub(l.shortage.logged) < shortageLogEvery {
		return
	}
	l.log.Warn("accept: out of resources; closing the oldest idle connections, else pausing listeners for a tick (logged at most once a minute)",
		"loop", l.id, "err", err, "idle_closed", l.shortage.reclaimed, "pauses", l.shortage.pauses)
	l.shortage = shortage{logged: now}
}

// shortage counts what a loop did about running out of descriptors or
// memory since it last logged it.
type shortage struct {
	logged    time.Time
	reclaimed int
	pauses    int
}
