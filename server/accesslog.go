package server

import (
	"strconv"

	"lwango/http1"
	"lwango/loop"
)

// accessLog writes one common-log-format line per request, with the
// transport appended:
//
//	127.0.0.1 - - [02/Jan/2006:15:04:05 +0000] "GET /index.html HTTP/1.1" 200 1234 plain
//
// The line is built in a reused buffer and queued for the server's log
// writer in the loop's share (logLines), which never blocks the loop.
type accessLog struct {
	out  *logLines
	line []byte
}

func newAccessLog(out *logLines) *accessLog {
	return &accessLog{out: out, line: make([]byte, 0, 256)}
}

var methodNames = [...]string{
	http1.MethodGet:     "GET",
	http1.MethodHead:    "HEAD",
	http1.MethodPost:    "POST",
	http1.MethodPut:     "PUT",
	http1.MethodDelete:  "DELETE",
	http1.MethodOptions: "OPTIONS",
	http1.MethodPatch:   "PATCH",
}

// record logs one response. req is nil for a request the engine refused
// before its head was complete: its request line is logged as "-".
func (a *accessLog) record(c *loop.Conn[conn], when []byte, req *http1.Request, resp *http1.Response) {
	b := a.begin(c, when)
	if req == nil {
		b = append(b, "\"-\" "...)
	} else {
		b = appendRequestLine(b, req)
	}
	b = strconv.AppendInt(b, int64(resp.Status), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, http1.SentBodyLength(req, resp), 10)
	a.end(c, b)
}

// appendRequestLine appends the quoted request line and a space.
func appendRequestLine(b []byte, req *http1.Request) []byte {
	b = append(b, '"')
	b = appendMethod(b, req)
	b = append(b, ' ')
	b = appendEscaped(b, req.Target) // as sent, not as decoded and normalised
	if req.HTTP2 {
		b = append(b, " HTTP/2.0"...)
	} else {
		b = append(b, " HTTP/1."...)
		b = append(b, '0'+req.Minor)
	}
	return append(b, "\" "...)
}

// maxLoggedMethod bounds how much of a method the parser does not know is
// logged; a longer one is cut and marked with "...".
const maxLoggedMethod = 32

// appendMethod appends the request's method: its name when the parser
// knows it, else the token the client sent, escaped and bounded, so that a
// client cannot forge a line or fill the log; "-" when there is none.
func appendMethod(b []byte, req *http1.Request) []byte {
	if m := int(req.Method); m < len(methodNames) && methodNames[m] != "" {
		return append(b, methodNames[m]...)
	}
	token := req.MethodToken
	switch {
	case len(token) == 0:
		return append(b, '-')
	case len(token) > maxLoggedMethod:
		return append(appendEscaped(b, token[:maxLoggedMethod]), "..."...)
	}
	return appendEscaped(b, token)
}

// expired logs the 408 sent to a client too slow to finish its request.
func (a *accessLog) expired(c *loop.Conn[conn], when []byte) {
	b := a.begin(c, when)
	b = append(b, "\"-\" 408 "...)
	b = strconv.AppendInt(b, int64(len(http1.ErrorPage(http1.StatusRequestTimeout))), 10)
	a.end(c, b)
}

func (a *accessLog) begin(c *loop.Conn[conn], when []byte) []byte {
	b := appendClientAddr(a.line[:0], c)
	b = append(b, " - - ["...)
	b = append(b, when...)
	return append(b, "] "...)
}

func (a *accessLog) end(c *loop.Conn[conn], b []byte) {
	b = append(b, ' ')
	if s := c.State; s != nil && s.transport != nil {
		b = append(b, s.transport.Name()...)
	} else {
		b = append(b, '-')
	}
	b = append(b, '\n')
	a.line = b
	a.out.add(b...)
}

// appendClientAddr appends the client's IP address: the one a PROXY
// protocol header carried, else the socket's peer; "-" when unknown.
func appendClientAddr(b []byte, c *loop.Conn[conn]) []byte {
	if a := clientAddr(c); a.IsValid() {
		return a.Addr().AppendTo(b)
	}
	return append(b, '-')
}

// appendEscaped appends s with quotes, backslashes, control and non-ASCII
// bytes written as \xHH, so a request cannot forge log lines or fields.
func appendEscaped(b, s []byte) []byte {
	const hex = "0123456789abcdef"
	for _, ch := range s {
		if ch < 0x21 || ch >= 0x7f || ch == '"' || ch == '\\' {
			b = append(b, '\\', 'x', hex[ch>>4], hex[ch&15])
			continue
		}
		b = append(b, ch)
	}
	return b
}
