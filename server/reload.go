package server

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"lwango/kernel"
	"lwango/site"
)

// Reload applies a new configuration to the running server (main calls it
// on SIGHUP), as nginx does: everything that can change without closing a
// socket changes, connections stay open.
//
// What reloads: the site's handlers ([[site.*]], expires, password files,
// served directories), [headers], allow_cors, max_post_data_size, and the
// [tls_listener]'s certificates and keys, ticket_key_file (read anew, so a
// rotated file takes effect), session_tickets, ciphers, groups, min/max
// versions, ktls, hsts and redirect_http.
//
// What needs a restart: listener, tls_listener.address, adding or removing
// [tls_listener], threads, keep_alive_timeout, request_buffer_size, quiet,
// proxy_protocol and [straitjacket]. Reload logs each one that changed and
// keeps its running value.
//
// Everything new is built and validated first; if anything fails (a
// handler, a certificate that does not load or match its key, a bad ticket
// key file) the error is returned, nothing changes and the running
// configuration keeps serving. On success the new site and headers are
// published for the loops, which adopt them at their next step, and the
// TLS listener's settings are swapped for new connections: a connection
// accepted before, its handshake included, keeps the settings it started
// with. HTTP/2 connections, which could otherwise live on the old
// settings for ever, are told GOAWAY at once: they finish their streams
// and close, and their clients reconnect. What the old configuration held (open directories, ticket keys no
// longer used) is released once the handshakes and steps that may still use
// it are over (requestTimeout plus a second).
func (s *Server) Reload(cfg *site.Config) error {
	err := s.reload(cfg)
	if err != nil {
		s.reloadsRefused.Add(1)
	} else {
		s.reloadsOK.Add(1)
	}
	return err
}

func (s *Server) reload(cfg *site.Config) error {
	s.reloads.mu.Lock()
	defer s.reloads.mu.Unlock()
	if s.reloads.finished {
		return errors.New("server: reload after shutdown")
	}
	log := slog.Default()
	gen, err := newGeneration(cfg, s.scrape)
	if err != nil {
		return err
	}
	var oldTLS, newTLS *tlsSettings
	if s.tls != nil && cfg.TLS != nil {
		oldTLS = s.tls.settings.Load()
		newTLS, err = buildTLSSettings(cfg, oldTLS, kernel.ProbeFeatures, log)
		if err != nil {
			gen.site.Close()
			return err
		}
	}
	gen.redirect = s.httpsRedirect(cfg)
	s.logRestartOnly(cfg, log)

	oldGen := s.live.Swap(gen)
	if newTLS != nil {
		s.tls.settings.Store(newTLS)
	}
	s.goAwayAfterReload()
	s.reloads.retireLater(s.requestTimeout+time.Second, func() {
		oldGen.site.Close()
		if oldTLS != nil && oldTLS.config.TicketKeys != nil && oldTLS.config.TicketKeys != newTLS.config.TicketKeys {
			oldTLS.config.TicketKeys.Zero()
		}
	})
	return nil
}

// restartOnly are the settings Reload does not apply, each with how to
// read it from a configuration.
var restartOnly = []struct {
	key   string
	value func(*site.Config) any
}{
	{"listener", func(c *site.Config) any { return c.Listener.String() }},
	{"tls_listener", func(c *site.Config) any { return c.TLS != nil }},
	{"tls_listener.address", func(c *site.Config) any {
		if c.TLS == nil {
			return nil
		}
		return c.TLS.Address.String()
	}},
	{"tls_listener.protect_keys", func(c *site.Config) any { return c.TLS != nil && c.TLS.ProtectKeys }},
	{"threads", func(c *site.Config) any { return c.Threads }},
	{"keep_alive_timeout", func(c *site.Config) any { return c.KeepAliveTimeout }},
	{"request_buffer_size", func(c *site.Config) any { return c.RequestBufferSize }},
	{"quiet", func(c *site.Config) any { return c.Quiet }},
	{"proxy_protocol", func(c *site.Config) any { return c.ProxyProtocol }},
	{"trim_idle_memory", func(c *site.Config) any { return c.TrimIdleMemory }},
	{"straitjacket", func(c *site.Config) any { return c.Straitjacket }},
}

// logRestartOnly logs one line for every setting of cfg that differs from
// the running one but needs a restart.
func (s *Server) logRestartOnly(cfg *site.Config, log *slog.Logger) {
	for _, setting := range restartOnly {
		running, next := setting.value(s.cfg), setting.value(cfg)
		if !reflect.DeepEqual(running, next) {
			log.Warn("reload: "+setting.key+" changed but needs a restart; the running value stays in effect",
				"file", cfg.File, "key", setting.key, "running", fmt.Sprint(deref(running)), "new", fmt.Sprint(deref(next)))
		}
	}
}

// deref shows a pointer's target rather than its address.
func deref(v any) any {
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return "none"
		}
		return rv.Elem().Interface()
	}
	return v
}

// reloader serialises reloads and releases what replaced configurations
// held, once nothing uses it any more.
type reloader struct {
	mu       sync.Mutex
	pending  []*retirement
	finished bool // Shutdown ran: no more reloads
}

// retirement is the release of one replaced configuration, run once: by
// its timer or at shutdown, whichever comes first.
type retirement struct {
	timer   *time.Timer
	once    sync.Once
	done    atomic.Bool
	release func()
}

func (r *retirement) run() {
	r.once.Do(func() {
		r.release()
		r.done.Store(true)
	})
}

// retireLater runs release after delay, or at shutdown if that comes
// first. The caller holds mu.
func (r *reloader) retireLater(delay time.Duration, release func()) {
	live := r.pending[:0]
	for _, p := range r.pending {
		if !p.done.Load() {
			live = append(live, p)
		}
	}
	p := &retirement{release: release}
	p.timer = time.AfterFunc(delay, p.run)
	r.pending = append(live, p)
}

// finish runs every pending release now (the loops have stopped) and
// refuses further reloads.
func (r *reloader) finish() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.finished = true
	for _, p := range r.pending {
		p.timer.Stop()
		p.run()
	}
	r.pending = nil
}

// dropTicketKeys zeroes the TLS listener's session ticket keys (at
// shutdown, and when New fails after loading them).
func (s *Server) dropTicketKeys() {
	if s.tls == nil {
		return
	}
	if keys := s.tls.settings.Load().config.TicketKeys; keys != nil {
		keys.Zero()
	}
}
