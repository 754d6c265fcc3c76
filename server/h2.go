package server

import (
	"lwango/coro"
	"lwango/http2"
	"lwango/loop"
)

// produceBudget is how many bytes of DATA one call to Produce frames
// before the output is written.
const produceBudget = 256 << 10

// sniff looks at the first bytes of a plain connection on a listener that
// serves h2c with prior knowledge (RFC 9113 §3.3): the HTTP/2 connection
// preface makes it an HTTP/2 connection; anything else is HTTP/1. It
// returns false while the bytes so far could still be either.
func (w *worker) sniff(s *conn) bool {
	ex := s.ex
	in := ex.in[ex.start:ex.end]
	n := min(len(in), len(http2.Preface))
	switch {
	case string(in[:n]) != http2.Preface[:n]:
		s.phase = connHTTP1
	case n < len(http2.Preface):
		return false
	default:
		w.beginH2(s, false)
	}
	return true
}

// beginH2 makes s an HTTP/2 connection under the loop's configuration.
func (w *worker) beginH2(s *conn, https bool) {
	s.phase = connHTTP2
	s.h2 = w.h2.NewConn(https)
	s.h2gen = w.gen
}

// AnnouncesStop says that an idle HTTP/2 connection tells its client that
// the server stops (GOAWAY) before it closes (see loop.Announcer).
func (w *worker) AnnouncesStop(c *loop.Conn[conn]) bool {
	return c.State != nil && c.State.h2 != nil
}

// goAwayAfterReload has every loop step its HTTP/2 connections begun under
// an older configuration: each announces GOAWAY at once, finishes the
// streams in flight and closes (an idle one closes at once).
func (s *Server) goAwayAfterReload() {
	s.group.Post(func(l *loop.Loop[conn]) {
		l.Nudge(func(c *loop.Conn[conn]) bool { return c.State != nil && c.State.h2 != nil })
	})
}

// step2 runs an HTTP/2 connection until it must wait or close: write what
// is queued, read frames and act on them (streams are answered inline),
// frame response bodies as the windows allow. When the server stops, hands
// off or has reloaded since the connection began, or the transport is
// Ending (a kernel TLS key near its record limit), it sends GOAWAY (RFC
// 9113 §6.8) and closes once the streams in flight are done, reading on
// meanwhile (their WINDOW_UPDATEs). The connection is idle, and
// holds no buffer, when no stream is live; otherwise it is under the
// request deadline, restarted whenever a stream is answered or DATA leaves,
// so a client that stalls (a zero window held, a header block never
// finished) is cut off like a slow HTTP/1 client.
func (w *worker) step2(c *loop.Conn[conn], s *conn) coro.Want {
	ex, h := s.ex, s.h2
	ex.need = http2.InputSize // a whole frame: the buffer grows towards it as bytes arrive
	h.Start(&ex.out)
	budget := writeBudget
	for {
		if ex.unwritten() {
			if want := w.write(s, &budget); want != 0 {
				return want
			}
		}
		if h.Done() {
			return coro.Done
		}
		if w.loop.Draining() || s.h2gen != w.gen || s.transport.Ending() {
			h.Shutdown(&ex.out)
			if ex.out.Pending() {
				continue // the GOAWAY leaves before anything waits
			}
		}
		w.current = c
		if ex.phase == exParsing {
			ex.phase = exReading
			ex.start += h.Receive(ex.in[ex.start:ex.end], &ex.out)
			ex.compact()
		} else if !h.Produce(&ex.out, produceBudget) {
			if want := w.read2(c, s); want != 0 {
				return want
			}
		}
		if h.Progress() {
			c.Clear(loop.RequestPending)
			w.loop.RestartDeadline(c)
		}
	}
}

// read2 reads more frames. It returns 0 when bytes arrived, or what the
// connection waits for, idling it when it has no live stream.
func (w *worker) read2(c *loop.Conn[conn], s *conn) coro.Want {
	ex, h := s.ex, s.h2
	want := w.fill(s)
	switch {
	case want != coro.WantRead:
		return want
	case ex.start == ex.end && h.Idle():
		w.idle(c, s)
	default:
		c.Set(loop.RequestPending)
	}
	return want
}

// expired2 ends an HTTP/2 connection whose client stalled past the request
// deadline: GOAWAY, written if the socket takes it at once.
func (w *worker) expired2(s *conn) {
	if s.ex.out.Pending() {
		return // a frame is half written: nothing more can be framed
	}
	s.h2.Shutdown(&s.ex.out)
	budget := writeBudget
	w.write(s, &budget)
}
