// Package site holds the server's configuration (lwan.conf, TOML) and the
// handlers a site is built from, routed by longest URL prefix.
package site

import "lwango/http1"

// Handler answers requests under one URL prefix. Serve runs on an event loop
// thread: it must not block on the network. req.Path is the full normalised
// path; rest is what follows the handler's prefix (always starting with '/',
// or empty).
type Handler interface {
	Serve(req *http1.Request, rest []byte, resp *http1.Response)
}
