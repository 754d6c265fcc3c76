package site

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"lwango/http1"
)

// maxRewrites bounds how many times rewrite_as may re-route one request,
// as in Lwan.
const maxRewrites = 4

// Site is the set of handlers built from a Config, routed by the longest
// matching prefix. It is safe for use by every event loop at once.
type Site struct {
	routes  []route // longest prefix first
	closers []func() error
	now     func() time.Time // the clock; tests replace it
	metrics func() []byte    // the server's metrics, for metrics handlers
}

// SetMetrics gives the site the function its [[site.metrics]] handlers
// answer with: the server's metrics in Prometheus's text format. Without it
// they answer 404. It is called before the site serves.
func (s *Site) SetMetrics(f func() []byte) { s.metrics = f }

// route is one prefix and what answers under it.
type route struct {
	// prefix is the configured prefix without its trailing '/': "" for "/".
	prefix  []byte
	handler Handler
	auth    *basicAuth      // nil: no authorization
	rewrite *rewriteHandler // set for rewrite routes, which re-route instead of answering
}

// NewSite builds every handler of cfg: it opens the served directories and
// password files and compiles the rewrite patterns. Errors are *Error values
// naming the configuration's file, line and key. Close releases what it
// opened.
func NewSite(cfg *Config) (*Site, error) {
	s := &Site{now: time.Now}
	for i := range cfg.Routes {
		r, err := s.build(cfg, &cfg.Routes[i])
		if err != nil {
			s.Close()
			return nil, err
		}
		s.routes = append(s.routes, r)
	}
	sort.SliceStable(s.routes, func(i, j int) bool { return len(s.routes[i].prefix) > len(s.routes[j].prefix) })
	return s, nil
}

// build makes the handler of one route.
func (s *Site) build(cfg *Config, rc *Route) (route, error) {
	r := route{prefix: []byte(rc.Prefix)}
	if rc.Prefix == "/" {
		r.prefix = []byte{}
	}
	fail := func(key string, err error) error {
		if strings.HasPrefix(rc.Key, "-") { // set from a command-line flag
			return &Error{File: "command line", Key: rc.Key, Msg: err.Error()}
		}
		line := cfg.Line(rc.Key + key) // the key's own line, e.g. path =
		if line == 0 {
			line = rc.Line
		}
		return &Error{File: cfg.File, Line: line, Key: rc.Key + key, Msg: err.Error()}
	}
	if rc.Auth != nil {
		a, err := newBasicAuth(rc.Auth)
		if err != nil {
			return r, fail(".authorization.password_file", err)
		}
		r.auth = a
	}
	switch rc.Kind {
	case KindServeFiles:
		h, err := newServeFiles(rc.ServeFiles, cfg.Expires, s)
		if err != nil && cfg.File == DefaultFile {
			err = fmt.Errorf("%w (the built-in configuration serves %s from the working directory, %s: give the directory to serve with -r ROOT, or a configuration file with -c FILE)",
				err, rc.ServeFiles.Path, workingDirectory())
		}
		if err != nil {
			return r, fail(".path", err)
		}
		s.closers = append(s.closers, h.close)
		r.handler = h
	case KindRedirect:
		r.handler = &redirectHandler{location: rc.Redirect.To, code: rc.Redirect.Code}
	case KindResponse:
		r.handler = newResponseHandler(rc.Response)
	case KindRewrite:
		h, err := newRewriteHandler(rc.Rewrite, s)
		if err != nil {
			return r, fail(".pattern", err)
		}
		r.handler, r.rewrite = h, h
	case KindHello:
		r.handler = helloHandler{}
	case KindMetrics:
		r.handler = metricsHandler{s}
	default:
		return r, fail("", errors.New("unknown handler kind"))
	}
	return r, nil
}

// workingDirectory names the working directory for a message.
func workingDirectory() string {
	wd, err := os.Getwd()
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	return wd
}

// Close releases the directories and files the site holds open.
func (s *Site) Close() error {
	var errs []error
	for _, c := range s.closers {
		errs = append(errs, c())
	}
	s.closers = nil
	return errors.Join(errs...)
}

// Check loads the configuration at path and builds every handler, as
// "lwango -t -c FILE" does, so that a configuration can be tried before use.
func Check(path string) error {
	cfg, err := Load(path)
	if err != nil {
		return err
	}
	return cfg.Check()
}

// Check builds every handler of c (opening the served directories and
// password files, compiling the rewrite patterns) and releases them again;
// for a configuration changed by Apply.
func (c *Config) Check() error {
	s, err := NewSite(c)
	if err != nil {
		return err
	}
	return s.Close()
}

// match returns the route whose prefix is the longest one matching path
// at a segment boundary, and the rest of path after that prefix.
func (s *Site) match(path []byte) (*route, []byte) {
	for i := range s.routes {
		r := &s.routes[i]
		if bytes.HasPrefix(path, r.prefix) && (len(path) == len(r.prefix) || path[len(r.prefix)] == '/') {
			return r, path[len(r.prefix):]
		}
	}
	return nil, nil
}

// ServeHTTP1 answers one request: it finds the route, checks its
// authorization and lets its handler fill in resp.
func (s *Site) ServeHTTP1(req *http1.Request, resp *http1.Response) {
	s.dispatch(req, resp, 0)
}

// dispatch routes req; rewrites counts the internal rewrites done so far.
func (s *Site) dispatch(req *http1.Request, resp *http1.Response, rewrites int) {
	for {
		r, rest := s.match(req.Path)
		if r == nil {
			answerError(resp, 404)
			return
		}
		if r.auth != nil && !r.auth.allows(req.Authorization) {
			r.auth.challenge(resp)
			return
		}
		if r.rewrite == nil {
			r.handler.Serve(req, rest, resp)
			return
		}
		if !r.rewrite.apply(req, rest, resp) {
			return
		}
		if rewrites == maxRewrites {
			answerError(resp, 500)
			return
		}
		rewrites++
	}
}

// answerError fills resp with an error status and its small HTML page.
func answerError(resp *http1.Response, code int) {
	resp.Status = code
	resp.ContentType = "text/html; charset=utf-8"
	resp.Body = http1.ErrorPage(code)
}

// SetClock replaces the clock the handlers read (time.Now by default), for
// a server that keeps a cheaper, coarse clock. now must be safe to call
// from every event loop at once.
func (s *Site) SetClock(now func() time.Time) { s.now = now }
