package http1

// Handler answers a parsed request by filling in resp, which arrives Reset.
// It runs on an event loop thread and must not block. req and everything it
// points to are valid only during the call.
type Handler interface {
	ServeHTTP1(req *Request, resp *Response)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(req *Request, resp *Response)

// ServeHTTP1 calls f(req, resp).
func (f HandlerFunc) ServeHTTP1(req *Request, resp *Response) { f(req, resp) }

// Defaults for the limits of an Engine left at zero (Lwan's
// request_buffer_size and max_post_data_size).
const (
	DefaultMaxRequestSize = 4096
	DefaultMaxBodySize    = 40960
)

// Limits on what one call to Serve queues before it returns ServeMore, so a
// client pipelining many requests cannot make one connection hold much
// memory or many open files.
const (
	maxQueuedBytes = 64 << 10
	maxQueuedFiles = 16
)

// Engine answers HTTP/1 requests for one event loop: its settings, plus
// scratch space for the request being served, so serving allocates nothing.
// It is not safe for concurrent use; each loop has its own.
type Engine struct {
	Handler Handler // required
	// MaxRequestSize bounds the request line and headers, in bytes; the
	// server's read buffer must hold at least this much. 0 means
	// DefaultMaxRequestSize.
	MaxRequestSize int
	// MaxBodySize bounds a request body; larger ones get 413. 0 means
	// DefaultMaxBodySize; a negative value refuses every body.
	MaxBodySize int64
	// Date is the Date header's value (an IMF-fixdate), refreshed by the
	// loop once a second; when empty no Date header is sent.
	Date []byte
	// ServerName is the Server header's value; when empty none is sent.
	ServerName string
	// ExtraHeaders are configured header lines ("Name: value\r\n" each)
	// added to every response.
	ExtraHeaders []byte
	// HTTPSHeaders are added to every response on a TLS connection, after
	// ExtraHeaders (Strict-Transport-Security, for one).
	HTTPSHeaders []byte
	// Observer, when set, is told of every response Serve queues, the
	// engine's own error responses included.
	Observer Observer
	// Closing makes every response say "Connection: close" and Serve return
	// Close after it. A server sets it while stopping, so that a keep-alive
	// client is told the connection ends rather than finding it closed.
	Closing bool

	resp Response
	// linesParsed counts the head lines parsed, each exactly once however
	// its request arrives (tests assert it).
	linesParsed uint64
}

// Observer is told of every response an Engine queues, in order: the
// Handler's, and those the engine makes itself, which the Handler never
// sees: 501 for a method it does not know and the errors for requests it
// will not frame (400, 413, 414, 417, 431, 501, 505). A server logs
// and counts requests with it.
type Observer interface {
	// Responded is called once the response is queued. resp holds its final
	// Status and the Body or File it carries (for HEAD, the ones it would
	// have carried). req is nil when the request was refused before its
	// head was complete: then nothing of it can be trusted. Both are valid
	// only during the call.
	Responded(req *Request, resp *Response)
}

// Next is what a connection does after Serve returns. In every case the
// server first writes out whatever Serve queued in the Output.
type Next uint8

const (
	// KeepAlive: all input was consumed and the connection stays open; wait
	// for the next request under the keep-alive timeout.
	KeepAlive Next = iota + 1
	// ReadMore: in[Consumed:] is the start of a request; keep those bytes at
	// the front of the buffer, read more after them and call Serve again.
	ReadMore
	// ServeMore: the Output holds as much as one call may queue; once it is
	// written call Serve again on in[Consumed:], before reading.
	ServeMore
	// Close: close the connection once the output is written; any input
	// left is ignored.
	Close
)

// String names the value, for logs and test failures.
func (n Next) String() string {
	switch n {
	case KeepAlive:
		return "KeepAlive"
	case ReadMore:
		return "ReadMore"
	case ServeMore:
		return "ServeMore"
	case Close:
		return "Close"
	}
	return "Next(?)"
}

// Result is what Serve did with its input.
type Result struct {
	Consumed int  // bytes of in fully answered
	Next     Next // what the connection does next
	// Keep, with ReadMore, is how many bytes of in[Consumed:] hold the
	// incomplete request: all of them, unless a chunked body was decoded in
	// place (its framing is dropped). The next call must get these bytes
	// first.
	Keep int
	// Need, with ReadMore, is the most the incomplete request may need from
	// in[Consumed:] once its head is known: with a Content-Length, its size
	// when whole; for a chunked body, MaxRequestSize+MaxBodySize past the
	// head (body and trailers). The buffer may grow towards it as bytes
	// arrive. It is 0 otherwise, and then MaxRequestSize bytes of buffer
	// are enough to finish the head.
	Need int
	// ClientClose, with Close, says the client itself asked for the close
	// (Connection: close, or HTTP/1.0 without keep-alive) on a request read
	// whole, and nothing followed it in the input: a client that asks for
	// the close sends no more requests (RFC 9112 §9.6), so the server need
	// not linger for more input before closing.
	ClientClose bool
}

// continueLine is the interim response to "Expect: 100-continue".
const continueLine = "HTTP/1.1 100 Continue\r\n\r\n"

// Serve answers every complete request at the start of in, appending the
// responses to out in order, so pipelined requests read together are
// written together. https says the connection is TLS. p is the
// connection's Progress: a request that is not complete when Serve returns
// ReadMore is resumed from it by the next call, which must get the same
// bytes at the start of in (in[Consumed:Consumed+Keep] of this call, moved
// anywhere) followed by what arrived since. A request whose head is
// complete, whose body has not begun and which asked for 100-continue gets
// one "100 Continue".
//
// A chunked request body is decoded in place as it arrives, so that the
// handler sees the body alone and the buffer holds no framing.
//
// After a response that closes the connection nothing more is served. Error
// responses made by the engine for requests it cannot frame (400, 413, 414,
// 417, 431, 501, 505) close the connection, and so does every response
// while Closing is set.
func (e *Engine) Serve(in []byte, https bool, out *Output, p *Progress) Result {
	consumed, served := 0, 0
	for {
		rest := in[consumed:]
		if p.active {
			p.resume(rest)
		} else {
			if len(rest) == 0 {
				return Result{Consumed: consumed, Next: KeepAlive}
			}
			if served > 0 && (out.pendingBytes() >= maxQueuedBytes || out.pendingFiles() >= maxQueuedFiles) {
				return Result{Consumed: consumed, Next: ServeMore}
			}
			// RFC 9112 §2.2: empty lines before a request are ignored. They are
			// consumed here so they never count against the head's size limit,
			// wherever the input splits; what follows them is a request begun.
			if skip := emptyLines(rest); skip > 0 {
				consumed += skip
				if skip == len(rest) {
					return Result{Consumed: consumed, Next: ReadMore}
				}
				rest = rest[skip:]
			}
			if len(rest) == 1 && rest[0] == '\r' { // perhaps one more empty line
				return Result{Consumed: consumed, Next: ReadMore, Keep: 1}
			}
			p.begin(rest)
		}
		req := &p.req
		if p.headLen == 0 {
			lines := p.head.lines
			headLen, status := parseHead(rest, req, e.maxRequestSize(), &p.head)
			e.linesParsed += uint64(p.head.lines - lines)
			if status != 0 {
				if headLen == 0 {
					req = nil // refused before the head was whole
				}
				return e.refuse(p, req, status, https, out, consumed)
			}
			if headLen == 0 {
				return Result{Consumed: consumed, Next: ReadMore, Keep: len(rest)}
			}
			if req.ContentLength > e.maxBodySize() {
				return e.refuse(p, req, StatusContentTooLarge, https, out, consumed)
			}
			p.headLen = headLen
		}
		headLen, total, bodyLen := p.headLen, 0, 0
		if req.facts.sawTransferEncoding { // chunked, as judgeHead allows no other
			end, keep, status := p.chunked.decode(rest, headLen, e.maxBodySize(), e.maxRequestSize())
			if status != 0 {
				return e.refuse(p, req, status, https, out, consumed)
			}
			if end == 0 {
				e.continueOnce(p, keep == headLen, out)
				need := headLen + int(e.maxBodySize()) + e.maxRequestSize()
				return Result{Consumed: consumed, Next: ReadMore, Keep: keep, Need: need}
			}
			total, bodyLen = end, p.chunked.n
		} else {
			bodyLen = int(max(req.ContentLength, 0))
			total = headLen + bodyLen
			if len(rest) < total {
				e.continueOnce(p, len(rest) == headLen, out)
				return Result{Consumed: consumed, Next: ReadMore, Keep: len(rest), Need: total}
			}
		}
		// The request is whole: only now decode its path in place, so the
		// bytes a resumed request points into never changed.
		p.active = false
		req.decodePath()
		req.Body = rest[headLen : headLen+bodyLen]
		req.HTTPS = https
		consumed += total
		served++
		if closing := e.answer(req, https, out); closing {
			return Result{Consumed: consumed, Next: Close, ClientClose: !req.KeepAlive && consumed == len(in)}
		}
	}
}

// continueOnce queues the "100 Continue" a request asked for, once, when
// its body has not begun.
func (e *Engine) continueOnce(p *Progress, bodyNotBegun bool, out *Output) {
	if p.req.ExpectContinue && bodyNotBegun && !p.continued {
		out.buf = append(out.buf, continueLine...)
		p.continued = true
	}
}

// answer runs the handler for a complete request (or answers 501 for an
// unknown method, RFC 9110 §9.1) and renders the response. It reports whether the
// connection closes after it.
func (e *Engine) answer(req *Request, https bool, out *Output) (closing bool) {
	resp := &e.resp
	e.Answer(req, resp)
	closing = resp.Close || !req.KeepAlive || e.Closing
	e.render(req, resp, closing, https, out)
	if e.Observer != nil {
		e.Observer.Responded(req, resp)
	}
	return closing
}

// refuse queues the error response to a request the engine will not serve,
// after which the connection closes (without the page for HEAD), tells the
// Observer and ends the request's Progress. req is nil when its head is not
// complete; otherwise its path is decoded first, for the Observer's sake.
// It returns Serve's result.
func (e *Engine) refuse(p *Progress, req *Request, status int, https bool, out *Output, consumed int) Result {
	p.active = false
	e.appendError(out, status, https, req != nil && req.Method == MethodHead)
	if e.Observer != nil {
		if req != nil {
			req.decodePath()
		}
		resp := &e.resp
		resp.Reset()
		resp.Status, resp.Body, resp.ContentType, resp.Close = status, ErrorPage(status), errorPageType, true
		e.Observer.Responded(req, resp)
	}
	return Result{Consumed: consumed, Next: Close}
}

func (e *Engine) maxRequestSize() int {
	if e.MaxRequestSize <= 0 {
		return DefaultMaxRequestSize
	}
	return e.MaxRequestSize
}

func (e *Engine) maxBodySize() int64 {
	switch {
	case e.MaxBodySize == 0:
		return DefaultMaxBodySize
	case e.MaxBodySize < 0:
		return 0
	}
	return e.MaxBodySize
}
