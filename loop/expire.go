package loop

// expire closes every connection whose timeout has passed. A pending
// request's deadline first lets the handler answer (HTTP 408).
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
		l.stats.Expired.Add(1)
		// No progress for a keep-alive timeout: a kernel TLS send queue
		// that did not move is not waited for again (see flush.go).
		l.unschedule(c)
		l.closeNow(c, false)
	}
}
