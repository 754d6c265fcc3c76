package loop

import (
	"time"

	"lwango/kernel"
)

// expire closes every connection whose timeout has passed. A pending
// request's deadline first lets the handler answer (HTTP 408). The
// keep-alive timeout counts from the connection's last activity, or from
// the last byte its kernel sent: a response that the kernel still delivers
// to a peer that reads, however slowly, is not idle (a loop learns that its
// socket is writable again only once a third of its send buffer, possibly
// megabytes, has drained, or not at all once the response is handed over).
func (l *Loop[S]) expire() {
	for !l.request.empty() {
		c := &l.table[l.request.head]
		if int32(c.expires-l.now) > 0 {
			break
		}
		remove(l.table, &l.request, c)
		l.stats.Expired.Add(1)
		l.handler.Expired(l, c)
		l.close(c, false)
	}
	for !l.linger.empty() {
		c := &l.table[l.linger.head]
		if int32(c.expires-l.now) > 0 {
			break
		}
		remove(l.table, &l.linger, c)
		l.release(c) // the peer never closed its side: stop waiting for it
	}
	for !l.idle.empty() {
		c := &l.table[l.idle.head]
		if int32(c.expires-l.now) > 0 {
			break
		}
		// Sent within the timeout, less the tick that pushBack adds (and
		// TCP_INFO's millisecond rounding may take back): bytes that left
		// as the connection went idle do not count.
		if kernel.Delivering(int(c.fd), time.Duration(max(l.idle.ticks-1, 1))*l.tick) {
			remove(l.table, &l.idle, c)
			pushBack(l.table, &l.idle, c, l.now)
			continue
		}
		l.stats.Expired.Add(1)
		// No progress for a keep-alive timeout: a kernel TLS send queue
		// that did not move is not waited for again (see flush.go).
		l.unschedule(c)
		l.closeNow(c, false)
	}
}
