package loop

// timeoutQueue is an intrusive doubly linked list of connections threaded
// through the table by descriptor (Lwan's lwan-tq.c). Every connection in
// one queue has the same timeout and joins at the tail, so the list stays
// sorted by expiry and expiring is a walk from the head.
type timeoutQueue struct {
	head, tail int32
	ticks      uint32 // timeout of every member, in loop ticks
	member     Flags  // the flag that marks membership
}

func newTimeoutQueue(ticks uint32, member Flags) timeoutQueue {
	return timeoutQueue{head: -1, tail: -1, ticks: ticks, member: member}
}

func (q *timeoutQueue) empty() bool { return q.head < 0 }

// pushBack appends c, which must be in no queue, expiring ticks after now.
// The extra tick makes the timeout at least its nominal length although now
// may be almost over.
func pushBack[S any](table []Conn[S], q *timeoutQueue, c *Conn[S], now uint32) {
	c.expires = now + q.ticks + 1
	c.flags |= q.member
	c.next = -1
	c.prev = q.tail
	if q.tail >= 0 {
		table[q.tail].next = c.fd
	} else {
		q.head = c.fd
	}
	q.tail = c.fd
}

// remove unlinks c from q, of which it must be a member.
func remove[S any](table []Conn[S], q *timeoutQueue, c *Conn[S]) {
	if c.prev >= 0 {
		table[c.prev].next = c.next
	} else {
		q.head = c.next
	}
	if c.next >= 0 {
		table[c.next].prev = c.prev
	} else {
		q.tail = c.prev
	}
	c.prev, c.next = -1, -1
	c.flags &^= q.member
}
