package server

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
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
// of state: the format, the kind, flags, the TLS version and cipher suite
// and how many records the current transmit key has protected (kernel TLS),
// and the client's address a PROXY header gave (netip.AddrPort's binary
// form), if any.
const (
	handedFormat = 2 // the first byte: the layout above
	handedPlain  = 1 // cleartext HTTP/1
	handedKTLS   = 2 // TLS with its records in the kernel
	handedSniff  = 1 // flag: h2c prior knowledge, the first bytes not seen yet
	handedHead   = 15
)

// handedConn is what a transport takes to the new process besides its
// socket (see Transport's detach).
type handedConn struct {
	kind      byte
	version   uint16               // kernel TLS
	suite     tlsstate.CipherSuite // kernel TLS
	txRecords uint64               // kernel TLS: records under the current transmit key, as counted
}

// appendHanded appends a connection's state in the layout above.
func appendHanded(b []byte, h handedConn, sniff bool, client netip.AddrPort) []byte {
	flags := byte(0)
	if sniff {
		flags |= handedSniff
	}
	b = append(b, handedFormat, h.kind, flags)
	b = binary.BigEndian.AppendUint16(b, h.version)
	b = binary.BigEndian.AppendUint16(b, uint16(h.suite))
	b = binary.BigEndian.AppendUint64(b, h.txRecords)
	if client.IsValid() {
		b, _ = client.AppendBinary(b)
	}
	return b
}

// parseHanded reads what appendHanded wrote.
func parseHanded(b []byte) (h handedConn, sniff bool, client netip.AddrPort, err error) {
	if len(b) < handedHead || b[0] != handedFormat {
		return h, false, client, fmt.Errorf("upgrade: connection state of an unknown format (%d bytes; this binary reads format %d, %d bytes at least)", len(b), handedFormat, handedHead)
	}
	h = handedConn{kind: b[1], version: binary.BigEndian.Uint16(b[3:]),
		suite: tlsstate.CipherSuite(binary.BigEndian.Uint16(b[5:])), txRecords: binary.BigEndian.Uint64(b[7:])}
	if len(b) > handedHead {
		if err := client.UnmarshalBinary(b[handedHead:]); err != nil {
			return h, false, client, fmt.Errorf("upgrade: client address: %w", err)
		}
	}
	return h, b[2]&handedSniff != 0, client, nil
}

// Detach lets a connection idle between requests leave the process (see
// loop.Detacher) when its transport can (a plain HTTP/1 connection, or one
// on kernel TLS that holds nothing in user space; see Transport's detach).
// A user-space TLS connection holds its keys here and cannot leave: it is
// closed with close_notify. An HTTP/2 connection (its HPACK state is here)
// is not passed either: it is closed as at shutdown, after its streams in
// flight and a GOAWAY (see loop.Loop.Draining).
func (w *worker) Detach(l *loop.Loop[conn], c *loop.Conn[conn]) ([]byte, bool) {
	s := c.State
	if s == nil && c.Tag() != 0 {
		// An idle kernel TLS connection that dropped its state.
		if s = w.wake(c); s == nil {
			return nil, false
		}
		c.State = s
	}
	if s == nil {
		if c.Has(loop.TLS) {
			return nil, false
		}
		return appendHanded(nil, handedConn{kind: handedPlain}, false, netip.AddrPort{}), true
	}
	if s.ex != nil || s.phase != connHTTP1 && s.phase != connSniff {
		return nil, false
	}
	h, ok := s.transport.detach()
	if !ok {
		return nil, false
	}
	state := appendHanded(nil, h, s.phase == connSniff, s.client)
	w.release(s) // without its defers: the socket and its kernel keys live on elsewhere
	return state, true
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
	h, sniff, client, err := parseHanded(state)
	if err != nil {
		return err
	}
	unix.CloseOnExec(fd)
	c := &conn{phase: connHTTP1, client: client}
	if sniff {
		c.phase = connSniff
	}
	switch h.kind {
	case handedPlain:
		c.plain.fd = fd
		c.transport = &c.plain
		s.adopted.count(h)
		l.Adopt(fd, 0, c)
	case handedKTLS:
		var rekeyAfter uint64
		if s.tls != nil {
			rekeyAfter = s.tls.settings.Load().kernel.rekeyAfter
		}
		t, err := adoptKernelTLS(fd, h, rekeyAfter, s.workers[l.ID()].slog)
		if err != nil {
			return fmt.Errorf("upgrade: %v", err)
		}
		open := &s.workers[l.ID()].metrics.tlsOpen
		c.takeKernelTLS(t, open)
		open.adopted.Add(1) // its close takes it off open.kernel
		s.adopted.count(h)
		l.Adopt(fd, loop.TLS|loop.KernelTLS, c)
	default:
		return fmt.Errorf("upgrade: unknown connection kind %d", h.kind)
	}
	return nil
}

// adoptedCounts counts the connections this process took from the one it
// upgraded, by kind, TLS version and cipher suite (metrics).
type adoptedCounts struct {
	mu sync.Mutex
	n  map[handedConn]uint64 // txRecords zero
}

func (a *adoptedCounts) count(h handedConn) {
	h.txRecords = 0
	a.mu.Lock()
	if a.n == nil {
		a.n = map[handedConn]uint64{}
	}
	a.n[h]++
	a.mu.Unlock()
}

// snapshot returns the counts, in a stable order.
func (a *adoptedCounts) snapshot() ([]handedConn, []uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	kinds := make([]handedConn, 0, len(a.n))
	for k := range a.n {
		kinds = append(kinds, k)
	}
	slices.SortFunc(kinds, func(x, y handedConn) int {
		return cmp.Or(cmp.Compare(x.kind, y.kind), cmp.Compare(x.version, y.version), cmp.Compare(x.suite, y.suite))
	})
	counts := make([]uint64, len(kinds))
	for i, k := range kinds {
		counts[i] = a.n[k]
	}
	return kinds, counts
}
