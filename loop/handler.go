package loop

import "lwango/coro"

// Handler is what a loop drives. The loop knows no protocol: it calls Serve
// when a connection is accepted or becomes ready and maps the returned Want
// onto the connection's epoll interest:
//
//	coro.WantRead  → EPOLLIN|EPOLLRDHUP
//	coro.WantWrite → EPOLLOUT|EPOLLRDHUP
//	coro.Done      → graceful close (FIN, then drain the peer's input)
//	coro.Abort     → close at once
//	coro.Finished  → close at once (the peer sends nothing more)
//
// Every method runs on the loop's thread.
type Handler[S any] interface {
	// Serve advances the connection as far as it can without blocking.
	Serve(l *Loop[S], c *Conn[S]) coro.Want
	// Expired is called when a connection's request-read deadline passes
	// (RequestPending was set too long ago). The handler may write a last
	// response without blocking (HTTP answers 408); the loop then closes the
	// connection, calling Closed.
	Expired(l *Loop[S], c *Conn[S])
	// Closed is called exactly once for every connection the handler saw,
	// when the loop closes it for any reason, before the descriptor is
	// closed. The handler runs its deferred cleanups and takes back what
	// State holds; the loop then sets State to nil.
	Closed(l *Loop[S], c *Conn[S])
}

// Announcer is implemented by a Handler that tells some clients idle
// between requests that the server stops, before their connection closes
// (HTTP/2's GOAWAY). When a loop stops (or hands its connections off), it
// steps each idle connection for which AnnouncesStop is true once, instead
// of closing (or passing) it at once; Stopping or Draining then tells the
// handler why.
type Announcer[S any] interface {
	AnnouncesStop(c *Conn[S]) bool
}
