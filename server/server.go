// Package server is the per-connection step that wires an event loop, a
// transport (cleartext, or TLS: a user-space handshake followed by kernel
// TLS records where the kernel can, user-space records where it cannot), the
// HTTP/1 engine and the site's handlers; and the server's life around it:
// start, configuration reload, ticket key rotation and shutdown.
package server

import (
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"lwango/loop"
	"lwango/site"
)

// maxRequestTimeout caps the request-read deadline, which is otherwise the
// keep-alive timeout.
const maxRequestTimeout = 10 * time.Second

// Options are the server's settings that are not in the configuration file.
type Options struct {
	// newTLS, set by tests in this package, makes the transport of
	// connections accepted on the TLS listener from their socket
	// descriptor, in place of lwango's own TLS (tlsstate): a Transport
	// has unexported methods, so no other package could write one. Such
	// a transport is not counted in the TLS gauges of the metrics.
	newTLS func(fd int) (Transport, error)
	// AccessLog receives the access log (default: standard output). It is
	// not used when the configuration says quiet. One goroutine writes to
	// it; lines it cannot take in time are dropped and counted (logWriter).
	AccessLog io.Writer
	// Log receives the server's own lines, such as failed TLS handshakes
	// and kernel TLS notices (default: slog.Default()). The loops never
	// write to it themselves: one goroutine does, and records a loop makes
	// while it lags are dropped and counted (slogWriter). quiet silences
	// the handshake lines too.
	Log *slog.Logger
	// RequestTimeout overrides the request-read deadline, which is
	// min(keep_alive_timeout, 10s).
	RequestTimeout time.Duration
	// KeepAliveTimeout overrides the configuration's keep_alive_timeout
	// (tests use less than a second).
	KeepAliveTimeout time.Duration
	// Tick is the timeout granularity (default one second).
	Tick time.Duration
	// NoPinning leaves the loops' threads free to run on any CPU.
	NoPinning bool
	// Inherited are listening sockets the process was given: by
	// "systemd:NAME" for those systemd passes, by configuration key and
	// address ("listener=*:8080") for those a process being upgraded hands
	// over (Server.Sockets). A listener that has some uses them instead of
	// binding (see UsesInherited).
	Inherited map[string][]int
	// RekeyAfterRecords overrides how many records a kernel TLS 1.3
	// connection that follows KeyUpdates sends under one key before it
	// moves to the next, and a kernel TLS 1.2 connection before it closes
	// (default: the AEAD's limit, well inside RFC 8446 §5.5); tests make it
	// small to see rekeys and closes happen.
	RekeyAfterRecords uint64
}

// Server is a running (or ready to run) set of event loops serving a site.
type Server struct {
	// cfg is the configuration the server started with: the settings that
	// only a restart changes (listeners, threads, buffers, timeouts, access
	// log) are always read from it.
	cfg *site.Config
	// live is the part a reload replaces (site, headers); each loop adopts
	// the newest at the start of its next step.
	live atomic.Pointer[generation]
	tls  *tlsListener // nil without a [tls_listener], or when Options.newTLS replaces ours
	// newTLS makes a TLS connection's transport with its loop's buffers,
	// open-connection gauges and logger (which queues, so that writing a
	// line never blocks the loop).
	newTLS  func(fd int, bufs *tlsBuffers, open *tlsGauges, log *slog.Logger) (Transport, error)
	group   *loop.Group[conn]
	workers []*worker

	accessLog *logWriter // nil when quiet
	// loopLog passes the loops' own log records (failed handshakes, kernel
	// TLS notices, the loop package's out-of-descriptors line) to
	// Options.Log without a loop ever waiting on it.
	loopLog *slogWriter
	// logHandshakes says failed handshakes are logged (not quiet).
	logHandshakes bool
	// requestTimeout is the request-read deadline; a TLS handshake runs
	// under it too (the worker marks it RequestPending), the one
	// handshake deadline there is.
	requestTimeout time.Duration
	reloads        reloader
	rotation       ticketRotation
	memory         memoryTrim
	// reloadsOK and reloadsRefused count Reload's outcomes (metrics).
	reloadsOK, reloadsRefused atomic.Uint64

	usedInherited map[string]bool // the keys of Options.Inherited a listener took
	adopted       adoptedCounts   // connections taken from the process this one upgraded (metrics)

	released   sync.Once // what the server holds is released once (after Shutdown or HandOff)
	releaseErr error
}

// New builds the site, binds every listener (once per event loop, all on
// the same port) and prepares the loops. Nothing is served until Start, so
// that privileges can be dropped in between.
func New(cfg *site.Config, opts Options) (*Server, error) {
	s := &Server{cfg: cfg}
	if opts.newTLS != nil {
		s.newTLS = func(fd int, _ *tlsBuffers, _ *tlsGauges, _ *slog.Logger) (Transport, error) { return opts.newTLS(fd) }
	}
	listeners := []loop.Listener{{Addr: cfg.Listener.String(), Inherited: s.inherited(opts, "listener", cfg.Listener.String())}}
	if cfg.TLS != nil {
		a := cfg.TLS.Address.String()
		listeners = append(listeners, loop.Listener{Addr: a, HTTPS: true, Inherited: s.inherited(opts, "tls_listener.address", a)})
	}
	for i, ln := range listeners {
		if len(ln.Inherited) == 0 && strings.HasPrefix(ln.Addr, "systemd:") {
			key := []string{"listener", "tls_listener.address"}[i]
			return nil, cfg.Errorf(key, "systemd passed no socket named %q (FileDescriptorName= in the socket unit; is the service started by its socket?)", strings.TrimPrefix(ln.Addr, "systemd:"))
		}
	}
	if !cfg.Quiet {
		sink := opts.AccessLog
		if sink == nil {
			sink = os.Stdout
		}
		s.accessLog = newLogWriter(sink)
		s.logHandshakes = true
	}
	base := opts.Log
	if base == nil {
		base = slog.Default()
	}
	s.loopLog = newSlogWriter(base)
	gen, err := newGeneration(cfg, s.scrape)
	if err != nil {
		return nil, err
	}

	keepAlive := cfg.KeepAliveTimeout
	if opts.KeepAliveTimeout > 0 {
		keepAlive = opts.KeepAliveTimeout
	}
	s.requestTimeout = min(keepAlive, maxRequestTimeout)
	if opts.RequestTimeout > 0 {
		s.requestTimeout = opts.RequestTimeout
	}
	if cfg.TLS != nil && s.newTLS == nil {
		l, err := newTLSListener(cfg, opts.RekeyAfterRecords)
		if err != nil {
			gen.site.Close()
			return nil, err
		}
		s.tls = l
		s.newTLS = l.newTransport
		if err := protectKeys(cfg, slog.Default()); err != nil {
			gen.site.Close()
			s.dropTicketKeys()
			return nil, err
		}
	}
	lcfg := loop.Config{
		Listeners:        listeners,
		Threads:          cfg.Threads,
		KeepAliveTimeout: keepAlive,
		RequestTimeout:   s.requestTimeout,
		Tick:             opts.Tick,
		NoPinning:        opts.NoPinning,
		Log:              s.loopLog.forLoop(), // one share for the loop package's rare lines
	}
	group, err := loop.New(lcfg, func(l *loop.Loop[conn]) loop.Handler[conn] {
		w := newWorker(s, l)
		s.workers = append(s.workers, w)
		return w
	})
	if err != nil {
		gen.site.Close()
		s.dropTicketKeys()
		return nil, cfg.Errorf(listenerKey(cfg, err), "%v", err)
	}
	s.group = group
	gen.redirect = s.httpsRedirect(cfg)
	s.live.Store(gen)
	return s, nil
}

// listenerKey is the configuration key of the listener a bind error from
// loop.New is about: loop names the failing address first ("listener ADDR:
// ..."); a TLS listener on the same address as the cleartext one is the one
// that fails.
func listenerKey(cfg *site.Config, err error) string {
	if cfg.TLS != nil && strings.HasPrefix(err.Error(), "listener "+cfg.TLS.Address.String()+":") {
		return "tls_listener.address"
	}
	return "listener"
}

// httpsRedirect is the cleartext listener's answer when cfg says
// redirect_http, else nil.
func (s *Server) httpsRedirect(cfg *site.Config) *httpsRedirect {
	if tlsAddr, ok := s.TLSAddr(); ok && cfg.TLS != nil && cfg.TLS.RedirectHTTP {
		return &httpsRedirect{port: int(tlsAddr.Port())}
	}
	return nil
}

// Addr is the cleartext listener's bound address (with the port the kernel
// chose when the configuration said 0).
func (s *Server) Addr() netip.AddrPort { return s.group.Addrs()[0] }

// Sockets lists the listening sockets (every loop's) by configuration key
// and address ("listener=*:8080"): what Options.Inherited takes in the
// process that upgrades this one. A listener whose address the new
// configuration changes binds afresh.
func (s *Server) Sockets() map[string][]int {
	m := map[string][]int{"listener=" + s.cfg.Listener.String(): s.group.Sockets()[0]}
	if s.cfg.TLS != nil {
		m["tls_listener.address="+s.cfg.TLS.Address.String()] = s.group.Sockets()[1]
	}
	return m
}

// inherited picks a listener's inherited sockets from opts: those an
// upgrade passed for the same key and address, else those systemd passed
// for a systemd:NAME address.
func (s *Server) inherited(opts Options, key, addr string) []int {
	for _, k := range []string{key + "=" + addr, addr} {
		if fds, ok := opts.Inherited[k]; ok && (k != addr || strings.HasPrefix(addr, "systemd:")) {
			if s.usedInherited == nil {
				s.usedInherited = map[string]bool{}
			}
			s.usedInherited[k] = true
			return fds
		}
	}
	return nil
}

// UsesInherited reports whether a listener took the sockets
// Options.Inherited has under key.
func (s *Server) UsesInherited(key string) bool { return s.usedInherited[key] }

// TLSAddr is the TLS listener's bound address, if there is one.
func (s *Server) TLSAddr() (netip.AddrPort, bool) {
	if addrs := s.group.Addrs(); len(addrs) > 1 {
		return addrs[1], true
	}
	return netip.AddrPort{}, false
}

// Start runs the loops, and the rotation of random session ticket keys.
func (s *Server) Start() {
	s.rotation.start(s)
	s.memory.start(s, s.cfg.TrimIdleMemory)
	if s.accessLog != nil {
		s.accessLog.start()
	}
	s.loopLog.start()
	s.group.Start()
}

// Shutdown stops accepting, closes idle connections, lets the responses in
// flight finish and waits up to timeout for the loops to return. Once they
// have, it releases the site's open directories (those of configurations
// replaced by a reload too) and zeroes the session ticket keys.
func (s *Server) Shutdown(timeout time.Duration) error {
	s.group.Stop()
	return s.finish(timeout)
}

// finish waits up to timeout for the stopping loops to return, then
// releases the server's resources.
func (s *Server) finish(timeout time.Duration) error {
	done := make(chan struct{})
	go func() {
		s.group.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(timeout):
		return errors.New("server: connections still open after the shutdown timeout")
	}
	s.released.Do(func() {
		if s.accessLog != nil {
			s.accessLog.close()
		}
		s.loopLog.close()
		s.rotation.stop()
		s.memory.stop()
		s.reloads.finish()
		s.dropTicketKeys()
		s.releaseErr = s.live.Load().site.Close()
	})
	return s.releaseErr
}

// Stats are the server's counters, summed over its loops.
type Stats struct {
	Loops    int
	Accepted uint64
	Closed   uint64
	Expired  uint64
	Requests uint64 // responses to requests, the engine's own errors included (408s count as Expired)
}

// Stats sums the loops' counters.
func (s *Server) Stats() Stats {
	st := Stats{Loops: len(s.workers)}
	for _, w := range s.workers {
		ls := w.loop.Stats()
		st.Accepted += ls.Accepted.Load()
		st.Closed += ls.Closed.Load()
		st.Expired += ls.Expired.Load()
		st.Requests += w.requests.Load()
	}
	return st
}
