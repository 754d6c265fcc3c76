package server

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"lwango/kernel"
	"lwango/loop"
	"lwango/tlsstate"
)

// A binary upgrade passes each connection idle between requests to the new
// process over a unix socket: its descriptor (SCM_RIGHTS) with a few bytes
// of state: the format, the kind, the TLS version (kernel TLS), flags, and
// the client's address a PROXY header gave (netip.AddrPort's binary form),
// if any.
const (
	handedFormat = 1 // the first byte: the layout above
	handedPlain  = 1 // cleartext HTTP/1
	handedKTLS   = 2 // TLS with its records in the kernel
	handedSniff  = 1 // flag: h2c prior knowledge, the first bytes not seen yet
	handedHead   = 5 // format, kind, version (2), flags
)

// Detach lets a connection idle between requests leave the process (see
// loop.Detacher): a plain HTTP/1 connection, or one on kernel TLS that holds
// nothing in user space (no bytes read ahead, no partial record, no pending
// alert). A user-space TLS connection holds its keys here and cannot leave:
// it is closed with close_notify. An HTTP/2 connection (its HPACK state is
// here) is not passed either: it is closed as at shutdown, after its
// streams in flight and a GOAWAY (see loop.Loop.Draining).
func (w *worker) Detach(l *loop.Loop[conn], c *loop.Conn[conn]) ([]byte, bool) {
	s := c.State
	state := []byte{handedFormat, handedPlain, 0, 0, 0}
	if s == nil {
		return state, !c.Has(loop.TLS)
	}
	if s.ex != nil || s.h2 != nil || s.proxyPending || !s.ready {
		return nil, false
	}
	switch t := s.transport.(type) {
	case *plainTransport:
		if s.sniff {
			state[4] |= handedSniff
		}
	case *ktlsTransport:
		if !t.detachable() {
			return nil, false
		}
		state[1] = handedKTLS
		binary.BigEndian.PutUint16(state[2:], t.ch.Version())
	default:
		return nil, false
	}
	if s.client.IsValid() {
		state, _ = s.client.AppendBinary(state)
	}
	w.release(s) // without its defers: the socket and its kernel keys live on elsewhere
	return state, true
}

// detachable reports whether nothing of the connection is left in user
// space: its records are all in the kernel's hands.
func (t *ktlsTransport) detachable() bool {
	return t.rxInKernel && len(t.partial) == 0 && len(t.plain) == 0 && len(t.reply) == 0 && t.err == nil &&
		!t.peerClosed && !t.closed && t.ch.Quiescent() && (t.rekey == nil || !t.rekey.sendUpdate)
}

// HandOff passes the server's connections to the process that upgrades
// this one, over ctl: the listeners close (the new process accepts on the
// same sockets), the requests in flight finish, and every connection idle
// between requests is sent with its state (see Detach) as soon as it is;
// the others are closed as at shutdown. It returns when none is left, or
// after timeout, and then releases what Shutdown releases. It reports how
// many connections were passed.
func (s *Server) HandOff(ctl *net.UnixConn, timeout time.Duration) (int, error) {
	q := newHandOffQueue(ctl)
	s.group.HandOff(func(fd int, _ loop.Flags, state []byte) { q.put(fd, state) })
	err := s.finish(timeout)
	return q.close(), err
}

// handOffQueue sends the detached connections from its own goroutine, so
// that no loop ever waits for the new process.
type handOffQueue struct {
	ctl     *net.UnixConn
	mu      sync.Mutex
	wake    *sync.Cond
	pending []handed
	closed  bool
	sent    atomic.Int64
	done    chan struct{}
}

type handed struct {
	fd    int
	state []byte
}

func newHandOffQueue(ctl *net.UnixConn) *handOffQueue {
	q := &handOffQueue{ctl: ctl, done: make(chan struct{})}
	q.wake = sync.NewCond(&q.mu)
	go q.send()
	return q
}

func (q *handOffQueue) put(fd int, state []byte) {
	q.mu.Lock()
	q.pending = append(q.pending, handed{fd, state})
	q.mu.Unlock()
	q.wake.Signal()
}

// send passes each queued connection and closes this process's descriptor
// of it. A connection the new process cannot take any more (it went away)
// is closed, and counted as lost in the log.
func (q *handOffQueue) send() {
	defer close(q.done)
	lost := 0
	for {
		q.mu.Lock()
		for len(q.pending) == 0 && !q.closed {
			q.wake.Wait()
		}
		batch := q.pending
		q.pending = nil
		closed := q.closed
		q.mu.Unlock()
		for _, h := range batch {
			_, _, err := q.ctl.WriteMsgUnix(h.state, unix.UnixRights(h.fd), nil)
			kernel.Close(h.fd)
			if err != nil {
				lost++
				continue
			}
			q.sent.Add(1)
		}
		if closed && len(batch) == 0 {
			break
		}
	}
	if lost > 0 {
		slog.Error("upgrade: connections closed, the new process did not take them", "count", lost)
	}
}

// close sends what is still queued and returns how many were passed.
func (q *handOffQueue) close() int {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.wake.Signal()
	<-q.done
	return int(q.sent.Load())
}

// AdoptFrom serves the connections the process being upgraded passes over
// ctl, until it closes ctl; each goes to the next loop in turn. It returns
// how many were adopted.
func (s *Server) AdoptFrom(ctl *net.UnixConn) (int, error) {
	state := make([]byte, 64)
	oob := make([]byte, unix.CmsgSpace(4*4))
	loops := s.group.Loops()
	n := 0
	for {
		size, oobn, _, _, err := ctl.ReadMsgUnix(state, oob)
		if size == 0 && oobn == 0 {
			return n, nil // the old process is done
		}
		if err != nil {
			return n, err
		}
		fds := receivedFds(oob[:oobn])
		if len(fds) != 1 {
			for _, fd := range fds {
				kernel.Close(fd)
			}
			return n, fmt.Errorf("upgrade: a message carried %d descriptors, want 1", len(fds))
		}
		if err := s.adopt(loops[n%len(loops)], fds[0], state[:size]); err != nil {
			kernel.Close(fds[0])
			return n, err
		}
		n++
	}
}

// receivedFds are the descriptors of an SCM_RIGHTS control message.
func receivedFds(oob []byte) []int {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var fds []int
	for _, m := range msgs {
		rights, err := unix.ParseUnixRights(&m)
		if err == nil {
			fds = append(fds, rights...)
		}
	}
	return fds
}

// adopt gives one passed connection to l, rebuilding its state.
func (s *Server) adopt(l *loop.Loop[conn], fd int, state []byte) error {
	if len(state) < handedHead || state[0] != handedFormat {
		return errors.New("upgrade: connection state of an unknown format")
	}
	unix.CloseOnExec(fd)
	c := &conn{ready: true, sniff: state[4]&handedSniff != 0}
	if len(state) > handedHead {
		if err := c.client.UnmarshalBinary(state[handedHead:]); err != nil {
			return fmt.Errorf("upgrade: client address: %w", err)
		}
	}
	switch state[1] {
	case handedPlain:
		c.plain.fd = fd
		c.transport = &c.plain
		l.Adopt(fd, 0, c)
	case handedKTLS:
		ch, err := tlsstate.KernelChannel(binary.BigEndian.Uint16(state[2:]))
		if err != nil {
			return fmt.Errorf("upgrade: %v", err)
		}
		c.tls = true
		c.transport = &ktlsTransport{fd: fd, ch: ch, rxInKernel: true, log: slog.Default()}
		c.defers.Defer(c.closeTransport)
		l.Adopt(fd, loop.TLS, c)
	default:
		return fmt.Errorf("upgrade: unknown connection kind %d", state[1])
	}
	return nil
}
