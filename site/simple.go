package site

import (
	"strconv"

	"lwango/http1"
)

// helloBody is the hello handler's fixed answer.
var helloBody = []byte("Hello, World!")

// helloHandler answers "Hello, World!" in plain text: the benchmark handler.
type helloHandler struct{}

// Serve answers GET and HEAD with the fixed body.
func (helloHandler) Serve(req *http1.Request, rest []byte, resp *http1.Response) {
	if !getOrHead(req, resp) {
		return
	}
	resp.Status = 200
	resp.ContentType = "text/plain"
	resp.Body = helloBody
}

// metricsHandler answers with the server's metrics in Prometheus's text
// exposition format (version 0.0.4).
type metricsHandler struct{ site *Site }

// Serve answers GET and HEAD with a fresh scrape.
func (h metricsHandler) Serve(req *http1.Request, rest []byte, resp *http1.Response) {
	if !getOrHead(req, resp) {
		return
	}
	if h.site.metrics == nil {
		answerError(resp, 404)
		return
	}
	resp.Status = 200
	resp.ContentType = "text/plain; version=0.0.4; charset=utf-8"
	resp.Body = h.site.metrics()
}

// getOrHead answers 405 unless req is a GET or a HEAD, and reports whether
// the handler may go on.
func getOrHead(req *http1.Request, resp *http1.Response) bool {
	if req.Method == http1.MethodGet || req.Method == http1.MethodHead {
		return true
	}
	answerError(resp, 405)
	resp.AddHeader("Allow", "GET, HEAD")
	return false
}

// redirectHandler answers every request under its prefix with a redirect.
type redirectHandler struct {
	location string
	code     int
}

// Serve answers with the configured code and Location.
func (h *redirectHandler) Serve(req *http1.Request, rest []byte, resp *http1.Response) {
	resp.Status = h.code
	resp.AddHeader("Location", h.location)
}

// responseHandler answers every request under its prefix with a fixed status.
type responseHandler struct {
	code int
	body []byte
}

func newResponseHandler(code int) *responseHandler {
	h := &responseHandler{code: code}
	switch {
	case code == 204 || code == 304:
		// These statuses never carry a body.
	case code >= 400:
		h.body = http1.ErrorPage(code)
	default:
		title := strconv.Itoa(code) + " " + http1.StatusText(code)
		h.body = []byte("<!DOCTYPE html>\n<html><head><title>" + title +
			"</title></head>\n<body><h1>" + title + "</h1></body></html>\n")
	}
	return h
}

// Serve answers with the configured status and its small HTML page.
func (h *responseHandler) Serve(req *http1.Request, rest []byte, resp *http1.Response) {
	resp.Status = h.code
	if h.body != nil {
		resp.ContentType = "text/html; charset=utf-8"
		resp.Body = h.body
	}
}
