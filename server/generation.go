package server

import (
	"fmt"
	"strings"

	"lwango/site"
)

// generation is the part of the configuration that a reload replaces
// without a restart: the site's handlers and what every response carries.
// It is read-only once published. Each loop adopts the newest generation at
// the start of its next step (worker.Serve), so a request is answered with
// one generation from start to end.
type generation struct {
	site     *site.Site
	redirect *httpsRedirect // answers cleartext requests when redirect_http is set

	serverName   string // the Server header; empty when [headers] sets its own
	extraHeaders []byte // [headers] and allow_cors, rendered once
	httpsHeaders []byte // HSTS, on TLS responses only
	maxBodySize  int64
}

// newGeneration builds the site's handlers and renders the configured
// response headers once. A configured Server header replaces the default
// one. The redirect (it needs the bound TLS port) is the caller's to set.
// metrics writes the server's metrics for [[site.metrics]] handlers.
func newGeneration(cfg *site.Config, metrics func() []byte) (*generation, error) {
	st, err := site.NewSite(cfg)
	if err != nil {
		return nil, err
	}
	st.SetMetrics(metrics)
	g := &generation{site: st, serverName: "lwango", maxBodySize: int64(cfg.MaxPostDataSize)}
	var b strings.Builder
	for _, h := range cfg.Headers {
		if strings.EqualFold(h.Name, "Server") {
			g.serverName = ""
		}
		fmt.Fprintf(&b, "%s: %s\r\n", h.Name, h.Value)
	}
	if cfg.AllowCORS {
		b.WriteString("Access-Control-Allow-Origin: *\r\n" +
			"Access-Control-Allow-Methods: GET, HEAD, POST, PUT, DELETE, OPTIONS\r\n" +
			"Access-Control-Allow-Credentials: true\r\n" +
			"Access-Control-Allow-Headers: Origin, Accept, Content-Type\r\n")
	}
	g.extraHeaders = []byte(b.String())
	if cfg.TLS != nil && cfg.TLS.HSTS {
		g.httpsHeaders = []byte("Strict-Transport-Security: max-age=31536000; includeSubDomains\r\n")
	}
	return g, nil
}

// adopt makes the worker's engine answer with generation g from now on.
// It runs on the worker's loop, between two requests.
func (w *worker) adopt(g *generation) {
	w.gen = g
	w.engine.ServerName = g.serverName
	w.engine.ExtraHeaders = g.extraHeaders
	w.engine.HTTPSHeaders = g.httpsHeaders
	w.engine.MaxBodySize = g.maxBodySize
}
