package http1

import "strconv"

// render appends the response to out: status line, Date, Server,
// Content-Length, Content-Type, Connection, the configured headers, the
// handler's headers, the empty line and the body (none for HEAD, 1xx, 204
// and 304; for HEAD the length of the body it would have had).
func (e *Engine) render(req *Request, resp *Response, closing, https bool, out *Output) {
	e.Settle(resp, out)
	status := resp.Status
	bodyAllowed := status != StatusNoContent && status != StatusNotModified

	b := e.appendCommonHeaders(out.buf, status)
	if bodyAllowed {
		length := int64(len(resp.Body))
		if resp.File >= 0 {
			length = resp.FileLength
		}
		b = appendContentLength(b, length)
	}
	if resp.ContentType != "" {
		b = appendHeader(b, "Content-Type: ", resp.ContentType)
	}
	switch {
	case closing:
		b = append(b, "Connection: close\r\n"...)
	case req.Minor == 0:
		b = append(b, "Connection: keep-alive\r\n"...)
	}
	b = e.appendConfiguredHeaders(b, https)
	b = append(b, resp.Extra...)
	b = append(b, "\r\n"...)

	sendBody := bodyAllowed && req.Method != MethodHead
	if sendBody && resp.File < 0 {
		b = append(b, resp.Body...)
	}
	out.buf = b
	if resp.File >= 0 {
		if sendBody {
			out.appendFile(resp.File, resp.FileOffset, resp.FileLength, resp.FileOwner)
		} else {
			e.dropFile(resp, out)
		}
	}
}

// SentBodyLength is the length of the body the rendered response carries:
// none for a HEAD request, 1xx, 204 and 304, else the Body's or the file
// range's. req may be nil (a request refused before its head was whole).
// An access log records it.
func SentBodyLength(req *Request, resp *Response) int64 {
	if req != nil && req.Method == MethodHead || resp.Status < 200 || resp.Status == StatusNoContent || resp.Status == StatusNotModified {
		return 0
	}
	if resp.File >= 0 {
		return resp.FileLength
	}
	return int64(len(resp.Body))
}

// errorPageType is the Content-Type of the engine's error pages.
const errorPageType = "text/html; charset=utf-8"

// AppendError appends a complete response with the given status and the
// engine's HTML error page, saying "Connection: close": the server sends it
// and closes, as for 408 when a client is too slow to send its request.
// https says the connection is TLS.
func (e *Engine) AppendError(out *Output, status int, https bool) {
	e.appendError(out, status, https, false)
}

// appendError is AppendError; head leaves the page out (but not its
// Content-Length), for a refused HEAD request.
func (e *Engine) appendError(out *Output, status int, https, head bool) {
	if status < 400 || status >= 600 {
		status = StatusInternalServerError
	}
	page := ErrorPage(status)
	b := e.appendCommonHeaders(out.buf, status)
	b = appendContentLength(b, int64(len(page)))
	b = appendHeader(b, "Content-Type: ", errorPageType)
	b = append(b, "Connection: close\r\n"...)
	if status == StatusMethodNotAllowed {
		b = append(b, allowHeader...)
	}
	b = e.appendConfiguredHeaders(b, https)
	b = append(b, "\r\n"...)
	if head {
		out.buf = b
		return
	}
	out.buf = append(b, page...)
}

// appendCommonHeaders appends the status line, Date and Server.
func (e *Engine) appendCommonHeaders(b []byte, status int) []byte {
	b = append(b, statusLines[status]...)
	if len(e.Date) > 0 {
		b = append(b, "Date: "...)
		b = append(b, e.Date...)
		b = append(b, "\r\n"...)
	}
	if e.ServerName != "" {
		b = appendHeader(b, "Server: ", e.ServerName)
	}
	return b
}

func (e *Engine) appendConfiguredHeaders(b []byte, https bool) []byte {
	b = append(b, e.ExtraHeaders...)
	if https {
		b = append(b, e.HTTPSHeaders...)
	}
	return b
}

// dropFile releases the response's file when it will not be sent.
func (e *Engine) dropFile(resp *Response, out *Output) {
	if resp.File >= 0 {
		out.closeFile(fileRange{fd: resp.File, owner: resp.FileOwner})
	}
}

func appendHeader(b []byte, nameColonSpace, value string) []byte {
	b = append(b, nameColonSpace...)
	b = append(b, value...)
	return append(b, "\r\n"...)
}

func appendContentLength(b []byte, n int64) []byte {
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, n, 10)
	return append(b, "\r\n"...)
}
