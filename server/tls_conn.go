package server

import (
	"io"
	"log/slog"
	"sync/atomic"

	"lwango/coro"
	"lwango/loop"
	"lwango/tlsstate"
)

// tlsConn is a TLS connection from its first byte to its close: the one
// Transport of every connection accepted on an HTTPS listener. Its phase
// says where it is in its life:
//
//	handshaking ── Complete ──► Established ──┬─► userRecords  (the listener's
//	    │  (tlsstate.Server over the          │    policy keeps records here,
//	    │   user-space buffers)               │    or the kernel refused them)
//	    │                                     └─► kernelRecords (keys handed to
//	    │                                          kernel TLS: handOffToKernel)
//	    └── failed, or Close in any phase ──────────────► closed
//
// In each established phase one of two thin backends moves the data:
// userRecords (tls_user.go: the channel seals and opens records in this
// process) or kernelRecords (tls_kernel.go: the kernel does, the channel
// judges the control records it hands up). Name tells the access log which.
//
// The phase also tells the worker what it needs to know, so that it never
// asks what the connection is: the connection counts itself in its loop's
// gauge of the phase (tlsGauges, moved by enter), and loopFlags gives the
// flags the phase needs in the connection's loop entry.
type tlsConn struct {
	phase    tlsPhase
	open     *tlsGauges   // its loop's, counting it in the gauge of its phase
	settings *tlsSettings // the listener's settings when the connection was accepted
	log      *slog.Logger // the loop's (kernel TLS notices)
	// hs is the handshake, in phase handshaking only.
	hs *tlsstate.Server
	// user carries the handshake's flights, then the records in phase
	// userRecords; kernel carries them in phase kernelRecords.
	user   userRecords
	kernel *kernelRecords
}

// tlsPhase is a phase of a tlsConn.
type tlsPhase uint8

const (
	tlsHandshaking tlsPhase = iota
	tlsUserRecords
	tlsKernelRecords
	tlsClosed
)

// tlsGauges count a loop's open TLS connections for the metrics
// (lwango_connections_open), by who carries their records: this process
// (transport "tls", from the handshake on) or the kernel ("ktls"). Each
// tlsConn counts itself in the gauge of its phase and moves its count when
// its phase changes (enter). The loop writes them (gauge); a scrape reads.
type tlsGauges struct {
	user, kernel gauge
	// adopted counts the kernel TLS connections that the loop took from
	// the process it upgraded (Server.adopt, off the loop: hence its own
	// atomic counter). Their close takes them off kernel, so kernel +
	// adopted is what is open.
	adopted atomic.Int64
}

// of is the gauge of a connection in phase p; nil once it is closed.
func (g *tlsGauges) of(p tlsPhase) *gauge {
	switch p {
	case tlsHandshaking, tlsUserRecords:
		return &g.user
	case tlsKernelRecords:
		return &g.kernel
	}
	return nil
}

// userSpace and kernel are the connections open with their records in
// this process and in the kernel.
func (g *tlsGauges) userSpace() int64 { return g.user.load() }
func (g *tlsGauges) inKernel() int64  { return g.kernel.load() + g.adopted.Load() }

// newTLSConn starts a TLS connection on socket fd with our handshake,
// counted in open (its loop's gauges); bufs are the buffers of its loop,
// log its logger.
func newTLSConn(fd int, settings *tlsSettings, bufs *tlsBuffers, open *tlsGauges, log *slog.Logger) *tlsConn {
	c := &tlsConn{open: open, settings: settings, log: log, hs: tlsstate.NewServer(settings.config)}
	c.user.fd, c.user.bufs = fd, bufs
	open.of(tlsHandshaking).add(1)
	return c
}

// kernelTLSConn is a connection whose records the kernel already carries
// (t: one another process passed, or one of this process's own that
// dropped its state while idle), counted in open's kernel gauge by the
// caller when it is not already.
func kernelTLSConn(t *kernelRecords, open *tlsGauges) *tlsConn {
	return &tlsConn{phase: tlsKernelRecords, open: open, kernel: t}
}

// enter moves the connection to phase p, and its count to p's gauge.
func (c *tlsConn) enter(p tlsPhase) {
	if from, to := c.open.of(c.phase), c.open.of(p); from != to {
		if from != nil {
			from.add(-1)
		}
		if to != nil {
			to.add(1)
		}
	}
	c.phase = p
}

// loopFlags are the flags the connection's loop entry needs in its phase:
// loop.KernelTLS once the kernel carries the records, for a close that
// waits for the send queue (loop/flush.go).
func (c *tlsConn) loopFlags() loop.Flags {
	if c.phase == tlsKernelRecords {
		return loop.KernelTLS
	}
	return 0
}

// Handshake runs our TLS handshake over the socket. The flight the server
// answers a ClientHello with (ServerHello through Finished) is sealed into
// one buffer and leaves in one send. It returns nil once the handshake is
// complete and its output written; bytes that arrived after the client's
// Finished stay in the input for the record layer. A *handshakeFailure
// means the handshake is over without a session (an alert went either way,
// or the peer closed after its ClientHello); io.EOF, that the peer closed
// before sending one. Either way the connection should close gracefully so
// that an alert sent arrives. Each step runs under erasing.
func (c *tlsConn) Handshake() (err error) {
	c.erasing(func() { err = c.handshake() })
	return err
}

// erasing runs step under eraseAfter when the listener hands the keys to
// kernel TLS, after which the process must hold no copy of them. With
// records in user space the process holds the keys for the connection's
// life anyway, and erasure would cost for nothing (a full TLS 1.3
// handshake takes about 21 % more instructions under it, most of them the
// runtime marking each heap object allocated under it).
func (c *tlsConn) erasing(step func()) {
	if c.settings.kernel.handOff {
		eraseAfter(step)
	} else {
		step()
	}
}

// handshake is Handshake's step.
func (c *tlsConn) handshake() error {
	t := &c.user
	for c.phase == tlsHandshaking {
		consumed, out, progress := c.hs.Advance(t.input(), t.outputTail())
		t.consume(consumed)
		t.setOutput(out)
		switch progress {
		case tlsstate.Failed:
			t.failed = true
			t.flush() // best effort: the alert, if there is one
			failure := &handshakeFailure{c.hs.Failure()}
			c.hs = nil
			c.enter(tlsClosed)
			return failure
		case tlsstate.Complete:
			rec, err := tlsstate.NewChannel(c.hs.Session(), c.settings.config)
			c.hs.Zero()
			c.hs = nil
			if err != nil {
				t.failed = true
				c.enter(tlsClosed)
				return err
			}
			t.rec = rec
			c.enter(tlsUserRecords)
		case tlsstate.NeedInput:
			if t.unsent() > 0 {
				// The client answers this flight: no use reading before
				// it has arrived (epoll reports anything already there).
				if err := t.flush(); err != nil {
					return err
				}
				return coro.ErrWantRead
			}
			if err := t.fill(); err != nil {
				if f := c.hs.Failure(); err == io.EOF && f.Version != 0 {
					// Closed after a ClientHello: a failed handshake.
					// (Before one, it is a probe, not worth a line.)
					f.Reason = "peer closed the connection"
					return &handshakeFailure{f}
				}
				return err
			}
		}
	}
	if c.phase != tlsUserRecords {
		return io.EOF // failed or closed before; nothing more to do
	}
	if t.rec.Session().Version == tlsstate.VersionTLS13 {
		// The NewSessionTickets sealed with the handshake's last step: a
		// TLS 1.3 client sends its request without waiting for them, so
		// they are sent with MSG_MORE and leave in one segment with the
		// first response (or with close_notify, or the FIN). They reach
		// the socket before kernel TLS can take the send key: Established
		// comes after this, and their record number is already in the
		// session's TX sequence number.
		return t.send(true)
	}
	return t.flush()
}

// Established reports the session and, when the listener's policy says
// so, moves the connection to phase kernelRecords: the records that
// arrived with the client's Finished are opened in user space and read
// first, the live keys go to the kernel and are zeroed here, and the
// user-space buffers go back to their pools (handOffToKernel). Otherwise
// the records stay in user space. Under ktls = "require" a session the
// kernel refuses gets a fatal internal_error alert and an error. The
// hand-off runs under erasing.
func (c *tlsConn) Established() (sess *tlsstate.Session, err error) {
	c.erasing(func() { sess, err = c.established() })
	return sess, err
}

// established is Established's step.
func (c *tlsConn) established() (*tlsstate.Session, error) {
	t := &c.user
	sess := t.rec.Session()
	k, err := c.settings.kernel.tryKernel(t.fd, t.rec, t.input(), c.log)
	if err != nil {
		c.log.Warn("TLS connection closed: ktls = \"require\" and the kernel refused its keys", "err", err)
		t.failed = true
		t.setOutput(t.rec.FatalAlert(t.outputTail(), tlsstate.AlertInternalError, err.Error()))
		t.flush()
		return sess, err
	}
	if k != nil {
		t.rec = nil // zeroed by the kernel backend
		t.release()
		c.kernel = k
		c.enter(tlsKernelRecords)
	}
	return sess, nil
}

// Read, Buffered, Write, Sendfile and Flush move application data through
// the backend of the phase: kernel once the connection is in phase
// kernelRecords, else user. (Direct calls: these run for every request.)

func (c *tlsConn) Read(p []byte) (int, error) {
	if c.kernel != nil {
		return c.kernel.Read(p)
	}
	return c.user.Read(p)
}

func (c *tlsConn) Buffered() bool {
	if c.kernel != nil {
		return c.kernel.Buffered()
	}
	return c.user.Buffered()
}

func (c *tlsConn) Write(p []byte, more bool) (int, error) {
	if c.kernel != nil {
		return c.kernel.Write(p, more)
	}
	return c.user.Write(p, more)
}

func (c *tlsConn) Sendfile(file int, offset int64, count int) (int, error) {
	if c.kernel != nil {
		return c.kernel.Sendfile(file, offset, count)
	}
	return c.user.Sendfile(file, offset, count)
}

func (c *tlsConn) Flush() error {
	if c.kernel != nil {
		return c.kernel.Flush()
	}
	return c.user.Flush()
}

// EndOutput has close_notify sealed behind the last output in phase
// userRecords; under kernel TLS, Close sends it.
func (c *tlsConn) EndOutput() {
	if c.phase == tlsUserRecords {
		c.user.lastOutput = true
	}
}

// Close ends the connection in any phase: a handshake's state is wiped; an
// established connection sends close_notify unless it failed (best effort)
// and wipes its keys. The buffers go back to their pools.
func (c *tlsConn) Close() error {
	if c.hs != nil {
		c.hs.Zero()
		c.hs = nil
	}
	var err error
	if c.kernel != nil {
		err = c.kernel.Close()
	} else {
		err = c.user.Close()
	}
	c.enter(tlsClosed)
	return err
}

// Name is "ktls" once the kernel carries the records, else "tls".
func (c *tlsConn) Name() string {
	if c.kernel != nil {
		return "ktls"
	}
	return "tls"
}

// Ending reports that a kernel TLS connection nears the record limit of
// a key it cannot move on from (kernelRecords.Ending).
func (c *tlsConn) Ending() bool { return c.kernel != nil && c.kernel.Ending() }

// detach lets the connection leave the process once its records are all
// in the kernel's hands (kernelRecords.detach); a handshake or user-space
// records hold keys here, and never leave. One that leaves is closed here,
// and off its gauge.
func (c *tlsConn) detach() (handedConn, bool) {
	if c.phase != tlsKernelRecords {
		return handedConn{}, false
	}
	h, ok := c.kernel.detach()
	if ok {
		c.enter(tlsClosed)
	}
	return h, ok
}

// dropIdle lets an idle connection in phase kernelRecords drop its state
// when its suite and record count are all there is to it
// (kernelRecords.dropIdle); user-space records hold keys, and stay.
func (c *tlsConn) dropIdle() (uint16, bool) {
	if c.phase != tlsKernelRecords {
		return 0, false
	}
	return c.kernel.dropIdle()
}
