package loop

import "sync/atomic"

// Flags describe a connection, after Lwan's connection flags. The handler
// may set and clear RequestPending, KeepAlive and KernelTLS; the loop owns
// the rest.
type Flags uint32

const (
	// ListenerHTTP marks a plain-HTTP listening socket.
	ListenerHTTP Flags = 1 << iota
	// ListenerHTTPS marks an HTTPS listening socket.
	ListenerHTTPS
	// TLS marks a client connection accepted from an HTTPS listener.
	TLS
	// KeepAlive says the last response left the connection open for more.
	KeepAlive
	// RequestPending says a request (or TLS handshake) has started but is
	// not complete: the request-read deadline, set when this flag first
	// appears, runs instead of the keep-alive timeout, and it is not pushed
	// back by further activity (so a client trickling bytes is cut off).
	RequestPending
	// PeerClosed says the peer shut down its side (EPOLLRDHUP).
	PeerClosed
	// KernelTLS marks a TLS connection whose records the kernel protects
	// (kTLS); the handler sets it when it hands the keys over. Closing such
	// a socket drops the records the kernel has not yet passed to TCP, so
	// the loop closes it only once its send queue is empty (see flush.go).
	KernelTLS

	// EventsRead and EventsWrite mirror the connection's epoll interest
	// (EPOLLIN or EPOLLOUT, with EPOLLRDHUP), so that EPOLL_CTL_MOD is issued
	// only when it changes.
	EventsRead
	EventsWrite

	watchHangup    // EPOLLRDHUP is in the epoll interest
	lingering      // closed for the handler; draining input before close
	inIdleQueue    // in the keep-alive timeout queue
	inRequestQueue // in the request-deadline queue
	inLingerQueue  // in the lingering-close queue
	flushing       // closing; waiting for its send queue to empty before Closed

	// tagShift places the handler's tag (SetTag) in the top 16 bits.
	tagShift = 16
)

const listenerFlags = ListenerHTTP | ListenerHTTPS

// handlerFlags are the flags a handler may change.
const handlerFlags = RequestPending | KeepAlive | KernelTLS

// Conn is one entry of the connection table, indexed by file descriptor.
// It is deliberately small (32 bytes on 64-bit machines): everything a busy
// connection needs beyond it lives in the handler's State, which the handler
// may drop (set to nil) while the connection is idle.
type Conn[S any] struct {
	// State is the handler's per-connection object, nil until the handler
	// sets one. The loop sets it back to nil after calling Handler.Closed.
	State *S

	fd         int32
	flags      Flags
	prev, next int32  // timeout queue links (descriptors), -1 at the ends
	expires    uint32 // loop tick at which the connection's timeout fires
	// owner is the loop that holds this descriptor plus one (0: free). It
	// records, in a way the race detector sees, that a descriptor number
	// passes from one loop to another only through close and accept.
	owner atomic.Int32
}

// Fd is the connection's socket descriptor.
func (c *Conn[S]) Fd() int { return int(c.fd) }

// Flags reports the connection's flags.
func (c *Conn[S]) Flags() Flags { return c.flags }

// Has reports whether all of f are set.
func (c *Conn[S]) Has(f Flags) bool { return c.flags&f == f }

// Set sets handler-owned flags (RequestPending, KeepAlive, KernelTLS); others are ignored.
func (c *Conn[S]) Set(f Flags) { c.flags |= f & handlerFlags }

// Clear clears handler-owned flags (RequestPending, KeepAlive, KernelTLS).
func (c *Conn[S]) Clear(f Flags) { c.flags &^= f & handlerFlags }

// Tag is the 16 bits the handler keeps in the connection's table entry
// (SetTag); 0 until it sets them.
func (c *Conn[S]) Tag() uint16 { return uint16(c.flags >> tagShift) }

// SetTag keeps tag in the connection's table entry, beside its flags: what
// a handler that drops an idle connection's State needs to take it up
// again costs no memory beyond the entry. The loop zeroes it when the
// connection closes or leaves.
func (c *Conn[S]) SetTag(tag uint16) { c.flags = c.flags&^(0xffff<<tagShift) | Flags(tag)<<tagShift }
