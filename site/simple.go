package site

import (
	"fmt"
	"strconv"
	"strings"

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

// responseHandler answers every request under its prefix with a fixed
// status, and its small HTML page or the configured body.
type responseHandler struct {
	code        int
	body        []byte
	contentType string
	// parts is the configured body when it names the client's address:
	// it is rendered for each request. Nil: body is fixed.
	parts []bodyPart
}

func newResponseHandler(o *ResponseOptions) *responseHandler {
	code := o.Code
	h := &responseHandler{code: code, contentType: "text/html; charset=utf-8"}
	switch {
	case o.HasBody:
		h.contentType = o.ContentType
		parts, _ := parseBodyTemplate(o.Body) // checked when the configuration was parsed
		for _, p := range parts {
			if p.kind != partText {
				h.parts = parts // rendered for each request
			}
		}
		if h.parts == nil {
			h.body = renderBody([]byte{}, parts, nil)
		}
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

// Serve answers with the configured status and body.
func (h *responseHandler) Serve(req *http1.Request, rest []byte, resp *http1.Response) {
	resp.Status = h.code
	switch {
	case h.parts != nil:
		resp.ContentType = h.contentType
		resp.Body = renderBody(make([]byte, 0, 64), h.parts, req)
	case h.body != nil:
		resp.ContentType = h.contentType
		resp.Body = h.body
	}
}

// bodyPart is a piece of a response body template: text, or a placeholder.
type bodyPart struct {
	kind partKind
	text string
}

type partKind uint8

const (
	partText          partKind = iota
	partRemoteAddress          // ${remote_address}: the client's IP address
)

// parseBodyTemplate splits a response body into text and placeholders:
// ${remote_address}, and $$ for a dollar sign. Any other ${...} is an
// error, so that a typing mistake does not reach clients.
func parseBodyTemplate(s string) ([]bodyPart, error) {
	var parts []bodyPart
	var text strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case strings.HasPrefix(s[i:], "$$"):
			text.WriteByte('$')
			i++
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return nil, fmt.Errorf("unclosed ${ at byte %d (write $$ for a dollar sign)", i)
			}
			name := s[i+2 : i+end]
			if name != "remote_address" {
				return nil, fmt.Errorf("unknown placeholder ${%s} (known: ${remote_address}; $$ is a dollar sign)", name)
			}
			if text.Len() > 0 {
				parts = append(parts, bodyPart{kind: partText, text: text.String()})
				text.Reset()
			}
			parts = append(parts, bodyPart{kind: partRemoteAddress})
			i += end
		default:
			text.WriteByte(s[i])
		}
	}
	if text.Len() > 0 {
		parts = append(parts, bodyPart{kind: partText, text: text.String()})
	}
	return parts, nil
}

// renderBody appends the body for req to b ("-" for an unknown address;
// req is nil for a body without placeholders).
func renderBody(b []byte, parts []bodyPart, req *http1.Request) []byte {
	for _, p := range parts {
		switch p.kind {
		case partText:
			b = append(b, p.text...)
		case partRemoteAddress:
			if a := req.ClientAddr(); a.IsValid() {
				b = a.Addr().AppendTo(b)
			} else {
				b = append(b, '-')
			}
		}
	}
	return b
}
