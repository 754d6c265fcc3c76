package server

import (
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"

	"lwango/coro"
	"lwango/http1"
	"lwango/http2"
	"lwango/kernel"
	"lwango/loop"
)

// Step limits that keep one connection from holding its loop: past
// writeBudget bytes in one step the connection yields (level-triggered
// epoll brings it back after the others had their turn).
const (
	sendfileChunk = 2 << 20
	writeBudget   = 8 << 20
)

// worker is the server's half of one event loop: the loop.Handler that
// steps its connections, with the loop's HTTP engine and pools.
type worker struct {
	srv       *Server
	loop      *loop.Loop[conn]
	engine    http1.Engine
	h2        http2.Engine // shares engine's handler, limits and headers
	conns     *loop.Pool[conn]
	exchanges *loop.Pool[exchange]
	tlsBufs   *tlsBuffers   // for user-space TLS connections
	log       *accessLog    // nil when quiet
	hsLog     *handshakeLog // nil when quiet
	// slog is the loop's logger for lines about its connections: records
	// are queued for the server's log writer, never written on the loop.
	slog     *slog.Logger
	current  *loop.Conn[conn]
	gen      *generation // the site and headers this loop answers with
	requests atomic.Uint64
	// proxy says every connection starts with a PROXY protocol header
	// (proxy_protocol; it needs a restart, so it is read once).
	proxy   bool
	metrics loopMetrics
}

func newWorker(srv *Server, l *loop.Loop[conn]) *worker {
	size := srv.cfg.RequestBufferSize
	w := &worker{
		srv:       srv,
		loop:      l,
		conns:     loop.NewPool(4096, func() *conn { return &conn{} }),
		exchanges: loop.NewPool(256, func() *exchange { return newExchange(size) }),
		tlsBufs:   newTLSBuffers(),
		proxy:     srv.cfg.ProxyProtocol,
	}
	w.engine = http1.Engine{
		Handler:        w,
		Observer:       w,
		MaxRequestSize: size,
		Date:           l.Date(),
	}
	w.h2 = http2.Engine{HTTP1: &w.engine}
	if srv.accessLog != nil {
		w.log = newAccessLog(srv.accessLog.forLoop())
	}
	w.slog = srv.loopLog.forLoop()
	if srv.logHandshakes {
		w.hsLog = newHandshakeLog(w.slog)
	}
	return w
}

// ServeHTTP1 answers one request with the site. The handler can ask for
// the client's address (the worker is the request's ClientSource).
func (w *worker) ServeHTTP1(req *http1.Request, resp *http1.Response) {
	req.Client = w
	if w.gen.redirect != nil && !w.current.Has(loop.TLS) {
		w.gen.redirect.ServeHTTP1(req, resp)
	} else {
		w.gen.site.ServeHTTP1(req, resp)
	}
}

// ClientAddr returns the address of the client whose request is being
// answered (http1.ClientSource).
func (w *worker) ClientAddr() netip.AddrPort { return clientAddr(w.current) }

// clientAddr returns c's client address: the one a PROXY protocol header
// carried, else the socket's peer, looked up once per connection state.
func clientAddr(c *loop.Conn[conn]) netip.AddrPort {
	s := c.State
	if s == nil {
		return kernel.PeerAddr(c.Fd())
	}
	if s.client.IsValid() {
		return s.client
	}
	if !s.peer.IsValid() {
		s.peer = kernel.PeerAddr(c.Fd())
	}
	return s.peer
}

// Responded counts and logs every response the engine queues, its own
// error responses included.
func (w *worker) Responded(req *http1.Request, resp *http1.Response) {
	w.requests.Add(1)
	w.metrics.responded(req, resp)
	if w.log != nil {
		w.log.record(w.current, w.loop.CommonLogTime(), req, resp)
	}
}

// Serve steps a connection: handshake, then read, answer and write until
// it would block, the connection goes idle or it must close.
func (w *worker) Serve(l *loop.Loop[conn], c *loop.Conn[conn]) coro.Want {
	if g := w.srv.live.Load(); g != w.gen {
		w.adopt(g)
	}
	s := c.State
	if s == nil {
		if s = w.open(c); s == nil {
			return coro.Abort
		}
		c.State = s
	}
	if s.phase == connProxyHeader {
		if want := w.readProxyHeader(c, s); want != 0 {
			return want
		}
	}
	if s.phase == connHandshake {
		if err := s.transport.Handshake(); err != nil {
			if want := coro.WantOf(err); want != 0 {
				c.Set(loop.RequestPending) // the handshake runs under the request deadline
				return want
			}
			var failure *handshakeFailure
			if errors.As(err, &failure) {
				w.metrics.handshakeFailed(failure.Failure)
				if w.hsLog != nil {
					w.hsLog.failed(clientAddr(c), failure, time.Now())
				}
				return coro.Done // ended without a session: a graceful close lets an alert arrive
			}
			if err == io.EOF {
				return coro.Done
			}
			return coro.Abort
		}
		s.phase = connHTTP1
		sess, err := s.transport.Established()
		if err != nil {
			return coro.Abort
		}
		if sess != nil {
			w.metrics.handshake(sess)
		}
		c.Set(s.transport.loopFlags()) // kernel TLS: its close waits for the send queue
		if sess != nil && sess.ALPN == "h2" {
			w.beginH2(s, true)
		}
		if !s.transport.Buffered() {
			// The request follows the client's Finished: rather than a
			// read that most likely fails, wait for epoll to report it
			// (at once, if it is already there).
			w.idle(c, s)
			return coro.WantRead
		}
	}
	if s.ex == nil {
		s.ex = w.exchanges.Get()
	}
	if s.phase == connHTTP2 {
		return w.step2(c, s)
	}
	return w.step(c, s)
}

// open makes the server's state for a new connection, or for an idle one
// that dropped it (wake).
func (w *worker) open(c *loop.Conn[conn]) *conn {
	if c.Tag() != 0 {
		return w.wake(c)
	}
	s := w.conns.Get()
	s.phase = w.firstPhase(c)
	if w.proxy {
		s.phase = connProxyHeader
		c.Set(loop.RequestPending) // the header must arrive within the request deadline
	}
	if !c.Has(loop.TLS) {
		s.plain.fd = c.Fd()
		s.transport = &s.plain
		return s
	}
	if w.srv.newTLS == nil {
		w.conns.Put(s)
		return nil
	}
	t, err := w.srv.newTLS(c.Fd(), w.tlsBufs, &w.metrics.tlsOpen, w.slog)
	if err != nil {
		w.conns.Put(s)
		return nil
	}
	s.transport = t
	s.tls = true
	s.defers.Defer(s.closeTransport)
	return s
}

// wake rebuilds the state of an idle kernel TLS connection that dropped
// it (idle): its transport, from the suite and record count its loop
// entry's tag keeps (see kernelRecords.dropIdle). It returns nil if that
// fails.
func (w *worker) wake(c *loop.Conn[conn]) *conn {
	h := idleKernelTLS(c.Tag())
	c.SetTag(0)
	var rekeyAfter uint64
	if w.srv.tls != nil {
		rekeyAfter = w.srv.tls.settings.Load().kernel.rekeyAfter
	}
	t, err := adoptKernelTLS(c.Fd(), h, rekeyAfter, w.slog)
	if err != nil {
		return nil
	}
	s := w.conns.Get()
	s.phase = connHTTP1
	s.takeKernelTLS(t, &w.metrics.tlsOpen) // counted in it since its hand-off
	return s
}

// firstPhase is a connection's first phase after the PROXY header (or
// without one): the handshake on an HTTPS listener, else HTTP/1, after a
// look at the first bytes on an h2c listener.
func (w *worker) firstPhase(c *loop.Conn[conn]) connPhase {
	switch {
	case c.Has(loop.TLS):
		return connHandshake
	case w.srv.cfg.H2C:
		return connSniff
	}
	return connHTTP1
}

// readProxyHeader runs the PROXY protocol phase: it takes the header from
// the socket, and nothing after it (what follows is the TLS handshake or
// the first request), keeping a header that arrives in pieces in the
// exchange's input buffer. It returns 0 once the header is read, or what
// the connection waits for. A connection without a valid header is closed
// without a response and counted.
func (w *worker) readProxyHeader(c *loop.Conn[conn], s *conn) coro.Want {
	if s.ex == nil {
		s.ex = w.exchanges.Get()
	}
	ex := s.ex
	buf := ex.in[:min(len(ex.in), proxyMaxHeader)]
	n, err := kernel.Peek(c.Fd(), buf[ex.end:])
	switch {
	case errors.Is(err, kernel.EAGAIN):
		return coro.WantRead
	case err != nil:
		return coro.Abort
	case n == 0:
		if ex.end > 0 {
			w.metrics.proxyRejected[proxyMalformed].inc() // closed within the header
		}
		return coro.Abort
	}
	have := ex.end + n
	end, client, err := parseProxyHeader(buf[:have])
	if err != nil {
		var pe *proxyError
		errors.As(err, &pe)
		w.metrics.proxyRejected[pe.kind].inc()
		return coro.Abort
	}
	take := n // the header goes on past what arrived: take it all
	if end > 0 {
		take = end - ex.end
	}
	if m, err := kernel.Read(c.Fd(), buf[ex.end:ex.end+take]); err != nil || m != take {
		return coro.Abort // the kernel had these bytes a moment ago
	}
	if end == 0 {
		ex.end += take
		return coro.WantRead
	}
	ex.start, ex.end = 0, 0
	s.client = client
	s.phase = w.firstPhase(c)
	return 0
}

// step runs the exchange until it must wait or close, acting on its
// phase (see exPhase).
func (w *worker) step(c *loop.Conn[conn], s *conn) coro.Want {
	ex := s.ex
	answered := false // a response was completed in this step
	budget := writeBudget
	for {
		if ex.unwritten() {
			if want := w.write(s, &budget); want != 0 {
				return want
			}
		}
		switch ex.phase {
		case exClosing:
			return coro.Done
		case exClientClosing:
			if ex.start == ex.end && !s.transport.Buffered() {
				return coro.Finished
			}
			return coro.Done
		case exParsing:
			if s.phase == connSniff {
				if !w.sniff(s) {
					// The bytes so far begin the preface and a request
					// alike ("P"): read more before deciding (returning
					// WantRead here, with the bytes unread, spun the loop).
					ex.phase = exReading
					continue
				}
				if s.phase == connHTTP2 {
					return w.step2(c, s)
				}
			}
			answered = w.serve(c, s) || answered
		case exServing:
			answered = w.serve(c, s) || answered
		case exReading:
			if s.transport.Ending() {
				// The transport carries no more than what was accepted
				// (a kernel TLS key near its record limit), all of it
				// answered and written: the next request is not read.
				return coro.Done
			}
			if answered && ex.start == ex.end && !s.transport.Buffered() {
				// All answered: sleep instead of trying a read that would
				// most likely block; epoll reports the next request.
				w.idle(c, s)
				return coro.WantRead
			}
			if want := w.fill(s); want != 0 {
				if want != coro.WantRead {
					return want
				}
				if ex.start == ex.end {
					w.idle(c, s)
				} else {
					c.Set(loop.RequestPending)
				}
				return coro.WantRead
			}
		}
	}
}

// serve lets the engine answer the requests at the front of the input and
// moves the exchange to the phase its result calls for. It reports whether
// a response was completed.
func (w *worker) serve(c *loop.Conn[conn], s *conn) (answered bool) {
	ex := s.ex
	w.current = c
	w.engine.Closing = w.loop.Stopping()
	res := w.engine.Serve(ex.in[ex.start:ex.end], c.Has(loop.TLS), &ex.out, &ex.progress)
	if res.Consumed > 0 {
		ex.start += res.Consumed
		answered = true
		c.Clear(loop.RequestPending)
		w.loop.RestartDeadline(c)
	}
	switch res.Next {
	case http1.KeepAlive:
		ex.start, ex.end = 0, 0
		c.Set(loop.KeepAlive)
		ex.phase = exReading
	case http1.ReadMore:
		ex.end = ex.start + res.Keep // a chunked body was decoded in place: its framing is gone
		ex.compact()
		ex.need = res.Need
		ex.phase = exReading
	case http1.ServeMore:
		ex.phase = exServing
	case http1.Close:
		ex.phase = exClosing
		if res.ClientClose {
			ex.phase = exClientClosing
		}
		c.Clear(loop.KeepAlive)
	}
	return answered
}

// fill reads more input after what the buffer holds. It returns 0 when
// bytes arrived, or what the connection waits for.
func (w *worker) fill(s *conn) coro.Want {
	ex := s.ex
	if ex.end == len(ex.in) {
		ex.compact()
		if ex.end == len(ex.in) && !ex.grow() {
			// The engine bounds requests by the buffer it asked for; a full
			// buffer it did not answer cannot happen.
			return coro.Abort
		}
	}
	n, err := s.transport.Read(ex.in[ex.end:])
	if err != nil {
		if want := coro.WantOf(err); want != 0 {
			return want
		}
		if err == io.EOF {
			return coro.Done
		}
		return coro.Abort
	}
	ex.end += n
	ex.phase = exParsing
	return 0
}

// write puts the exchange's output on the wire before its phase goes on:
// bytes with one send each run, files with sendfile, resuming exactly where
// a short write stopped, then the transport's Flush. Meanwhile the exchange
// is in exWriting; it goes back to the phase it was in once everything is
// on the wire, and write returns 0; otherwise it returns what the
// connection waits for.
func (w *worker) write(s *conn, budget *int) coro.Want {
	ex := s.ex
	if ex.phase != exWriting {
		ex.phase, ex.then = exWriting, ex.phase
	}
	out := &ex.out
	if ex.closes() {
		s.transport.EndOutput() // a TLS close_notify leaves with the last response
	}
	for out.Pending() {
		if *budget <= 0 {
			return coro.WantWrite
		}
		seg := out.Next()
		var n int
		var err error
		if seg.File >= 0 {
			n, err = s.transport.Sendfile(seg.File, seg.Offset, int(min(seg.Length, sendfileChunk)))
			w.metrics.bytesSendfile.add(uint64(max(n, 0)))
			if n == 0 && err == nil {
				return coro.Abort // the file is shorter than the length promised
			}
		} else {
			// A plain connection that closes after this output: MSG_MORE
			// lets the FIN that follows leave in the last segment. (Not
			// for TLS: kernel TLS would hold the record open for more.)
			more := int64(len(seg.Bytes)) < out.Len() || ex.closes() && !s.tls
			n, err = s.transport.Write(seg.Bytes, more)
			w.metrics.bytesWrite.add(uint64(max(n, 0)))
		}
		if n > 0 {
			out.Advance(int64(n))
			*budget -= n
		}
		if err != nil {
			if want := coro.WantOf(err); want != 0 {
				return want
			}
			return coro.Abort
		}
	}
	if err := s.transport.Flush(); err != nil {
		if want := coro.WantOf(err); want != 0 {
			return want
		}
		return coro.Abort
	}
	ex.phase = ex.then
	return 0
}

// idle returns the exchange's buffers to the pool: the connection waits for
// its next request holding nothing but what its transport keeps. An HTTP/1
// connection whose transport keeps nothing (plain, or kernel TLS that
// holds no record count or secret; see Transport's dropIdle) drops its
// state altogether: a kernel TLS one keeps its cipher suite's tag in its
// loop entry, and wake rebuilds it at its next request, at its close (for
// its close_notify) or at an upgrade.
func (w *worker) idle(c *loop.Conn[conn], s *conn) {
	c.Clear(loop.RequestPending)
	if s.ex != nil {
		s.ex.reset(w.srv.cfg.RequestBufferSize)
		w.exchanges.Put(s.ex)
		s.ex = nil
	}
	if s.phase != connHTTP1 || w.proxy {
		// HTTP/2 keeps its HPACK state, h2c's sniffing its first bytes;
		// behind a balancer the state holds the client's address.
		return
	}
	if tag, ok := s.transport.dropIdle(); ok {
		c.SetTag(tag)
		w.release(s) // without its defers: nothing is left to close or wipe
		c.State = nil
	}
}

// release returns a connection's state to the pool.
func (w *worker) release(s *conn) {
	*s = conn{}
	w.conns.Put(s)
}

// Expired answers 408 to a connection whose request did not arrive in time,
// without waiting for the socket: the loop closes it next.
func (w *worker) Expired(l *loop.Loop[conn], c *loop.Conn[conn]) {
	s := c.State
	if s != nil && s.phase == connProxyHeader {
		w.metrics.proxyRejected[proxyTimeout].inc() // closed without a response
		w.metrics.expiredProxy.inc()
		return
	}
	if s != nil && s.phase == connHandshake {
		w.metrics.expiredHS.inc()
		return // a TLS handshake: no HTTP to answer with
	}
	w.metrics.expiredRequest.inc()
	if s == nil || s.ex == nil {
		return // nothing started
	}
	if s.phase == connHTTP2 {
		w.expired2(s)
		return
	}
	s.ex.out.Discard()
	w.engine.AppendError(&s.ex.out, 408, c.Has(loop.TLS))
	budget := writeBudget
	w.write(s, &budget)
	if w.log != nil {
		w.log.expired(c, l.CommonLogTime())
	}
}

// Closed releases everything the connection held, closing the files of
// responses not fully sent.
func (w *worker) Closed(l *loop.Loop[conn], c *loop.Conn[conn]) {
	s := c.State
	if s == nil && c.Tag() != 0 {
		s = w.wake(c) // an idle kernel TLS connection: its close_notify is due
	}
	if s == nil {
		return
	}
	if s.ex != nil {
		s.ex.reset(w.srv.cfg.RequestBufferSize)
		w.exchanges.Put(s.ex)
	}
	if s.h2 != nil {
		s.h2.Close()
	}
	s.defers.Run() // a TLS connection's close takes it off its gauge
	w.release(s)
}
