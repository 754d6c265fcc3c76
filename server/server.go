// Package server is the per-connection step that wires an event loop, a
// transport (plain now; user-space TLS and kernel TLS behind the same
// Transport seam), the HTTP/1 engine and the site's handlers.
package server

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"time"

	"lwango/loop"
	"lwango/site"
)

// maxRequestTimeout caps the request-read deadline, which is otherwise the
// keep-alive timeout.
const maxRequestTimeout = 10 * time.Second

// Options are the server's settings that are not in the configuration file.
type Options struct {
	// NewTLS makes the transport of connections accepted on the TLS
	// listener. Without it they run lwango's own TLS (tlsstate).
	NewTLS NewTLS
	// AccessLog receives the access log (default: standard output). It is
	// not used when the configuration says quiet.
	AccessLog io.Writer
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
}

// Server is a running (or ready to run) set of event loops serving a site.
type Server struct {
	cfg      *site.Config
	site     *site.Site
	redirect *httpsRedirect // answers cleartext requests when redirect_http is set
	newTLS   NewTLS
	group    *loop.Group[conn]
	workers  []*worker

	accessLog    io.Writer
	serverName   string
	extraHeaders []byte
	httpsHeaders []byte
}

// New builds the site, binds every listener (once per event loop, all on
// the same port) and prepares the loops. Nothing is served until Start, so
// that privileges can be dropped in between.
func New(cfg *site.Config, opts Options) (*Server, error) {
	if cfg.ProxyProtocol {
		return nil, &site.Error{File: cfg.File, Key: "proxy_protocol", Msg: "the PROXY protocol is not supported yet"}
	}
	s := &Server{cfg: cfg, newTLS: opts.NewTLS, serverName: "lwango"}
	if !cfg.Quiet {
		s.accessLog = opts.AccessLog
		if s.accessLog == nil {
			s.accessLog = os.Stdout
		}
		s.accessLog = &lockedWriter{w: s.accessLog}
	}
	s.buildHeaders()
	st, err := site.NewSite(cfg)
	if err != nil {
		return nil, err
	}
	s.site = st

	keepAlive := cfg.KeepAliveTimeout
	if opts.KeepAliveTimeout > 0 {
		keepAlive = opts.KeepAliveTimeout
	}
	requestTimeout := min(keepAlive, maxRequestTimeout)
	if opts.RequestTimeout > 0 {
		requestTimeout = opts.RequestTimeout
	}
	if cfg.TLS != nil && s.newTLS == nil {
		l, err := newTLSListener(cfg, requestTimeout)
		if err != nil {
			if s.site != nil {
				s.site.Close()
			}
			return nil, err
		}
		s.newTLS = l.newTransport
	}
	lcfg := loop.Config{
		Listeners:        []loop.Listener{{Addr: cfg.Listener.String()}},
		Threads:          cfg.Threads,
		KeepAliveTimeout: keepAlive,
		RequestTimeout:   requestTimeout,
		Tick:             opts.Tick,
		NoPinning:        opts.NoPinning,
	}
	if cfg.TLS != nil {
		lcfg.Listeners = append(lcfg.Listeners, loop.Listener{Addr: cfg.TLS.Address.String(), HTTPS: true})
	}
	group, err := loop.New(lcfg, func(l *loop.Loop[conn]) loop.Handler[conn] {
		w := newWorker(s, l)
		s.workers = append(s.workers, w)
		return w
	})
	if err != nil {
		s.site.Close()
		return nil, &site.Error{File: cfg.File, Key: "listener", Msg: err.Error()}
	}
	s.group = group
	if tlsAddr, ok := s.TLSAddr(); ok && cfg.TLS.RedirectHTTP {
		s.redirect = &httpsRedirect{port: int(tlsAddr.Port())}
	}
	return s, nil
}

// buildHeaders renders the configured response headers once. A configured
// Server header replaces the default one.
func (s *Server) buildHeaders() {
	var b strings.Builder
	for _, h := range s.cfg.Headers {
		if strings.EqualFold(h.Name, "Server") {
			s.serverName = ""
		}
		fmt.Fprintf(&b, "%s: %s\r\n", h.Name, h.Value)
	}
	if s.cfg.AllowCORS {
		b.WriteString("Access-Control-Allow-Origin: *\r\n" +
			"Access-Control-Allow-Methods: GET, HEAD, POST, PUT, DELETE, OPTIONS\r\n" +
			"Access-Control-Allow-Credentials: true\r\n" +
			"Access-Control-Allow-Headers: Origin, Accept, Content-Type\r\n")
	}
	s.extraHeaders = []byte(b.String())
	if s.cfg.TLS != nil && s.cfg.TLS.HSTS {
		s.httpsHeaders = []byte("Strict-Transport-Security: max-age=31536000; includeSubDomains\r\n")
	}
}

// Addr is the cleartext listener's bound address (with the port the kernel
// chose when the configuration said 0).
func (s *Server) Addr() netip.AddrPort { return s.group.Addrs()[0] }

// TLSAddr is the TLS listener's bound address, if there is one.
func (s *Server) TLSAddr() (netip.AddrPort, bool) {
	if addrs := s.group.Addrs(); len(addrs) > 1 {
		return addrs[1], true
	}
	return netip.AddrPort{}, false
}

// Start runs the loops.
func (s *Server) Start() { s.group.Start() }

// Shutdown stops accepting, closes idle connections, lets the responses in
// flight finish and waits up to timeout for the loops to return. It
// releases the site's open directories once they have.
func (s *Server) Shutdown(timeout time.Duration) error {
	s.group.Stop()
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
	return s.site.Close()
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
