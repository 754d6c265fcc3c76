package http2

// closedHow is how a client stream id at or below the highest one used
// came to be closed, which decides the answer to a frame on it (RFC 9113
// §5.1 "closed", §5.1.1, §6.1).
type closedHow uint8

const (
	// closedSkipped: never opened; a higher id was used first, which
	// closed it implicitly (§5.1.1). HEADERS on it opens a stream out of
	// order: connection error PROTOCOL_ERROR.
	closedSkipped closedHow = iota
	// closedEnded: both sides sent END_STREAM. The client cannot have
	// anything in flight on it: DATA or HEADERS is a connection error
	// STREAM_CLOSED (§5.1).
	closedEnded
	// closedByPeer: the client reset it, and sends nothing on it after:
	// DATA or HEADERS is a stream error STREAM_CLOSED (§5.1, §6.1).
	closedByPeer
	// closedByUs: we reset it (a stream error, REFUSED_STREAM, NO_ERROR
	// after an early answer) or ignored it (above our GOAWAY's last
	// stream). What the client had in flight is ignored (§5.1, §6.8):
	// DATA counts against the connection window, HEADERS feed HPACK.
	closedByUs
	// closedForgotten: older than the history keeps. DATA and HEADERS get
	// a stream error STREAM_CLOSED (§6.1), never a connection error: the
	// period over which frames after our reset are ignored may be limited
	// (§5.1), but a client that could not know is not cut off.
	closedForgotten
)

// historyLen is how many client stream ids (odd ids, the highest used
// and the ones below it) the history keeps.
const historyLen = 64

// history records how the last historyLen client stream ids closed, two
// bits each: bit i of lo and hi is the id lastStream-2i. A live stream's
// entry says closedEnded until it ends otherwise.
type history struct{ lo, hi uint64 }

// advance moves the history from the highest id last to next, a higher
// one: the ids between them were skipped.
func (h *history) advance(last, next uint32) {
	shift := (next - last) / 2
	if last == 0 {
		shift = (next + 1) / 2
	}
	if shift >= historyLen {
		h.lo, h.hi = 0, 0
		return
	}
	h.lo <<= shift
	h.hi <<= shift
}

// set records how id, at most last, closed (or that it was opened).
func (h *history) set(last, id uint32, how closedHow) {
	i := (last - id) / 2
	if i >= historyLen {
		return
	}
	bit := uint64(1) << i
	h.lo &^= bit
	h.hi &^= bit
	if how&1 != 0 {
		h.lo |= bit
	}
	if how&2 != 0 {
		h.hi |= bit
	}
}

// get returns how id, a closed client stream id at most last, closed.
func (h *history) get(last, id uint32) closedHow {
	i := (last - id) / 2
	if i >= historyLen {
		return closedForgotten
	}
	return closedHow(h.lo>>i&1 | (h.hi>>i&1)<<1)
}

// opened records the client's new stream id, above every one before.
func (c *Conn) opened(id uint32, how closedHow) {
	c.closed.advance(c.lastStream, id)
	c.lastStream = id
	c.closed.set(id, id, how)
}

// closedAs records how a stream that was opened ended.
func (c *Conn) closedAs(id uint32, how closedHow) { c.closed.set(c.lastStream, id, how) }

// howClosed tells how the closed client stream id (not idle, not live)
// was closed.
func (c *Conn) howClosed(id uint32) closedHow { return c.closed.get(c.lastStream, id) }
