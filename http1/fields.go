package http1

// This file lets another protocol's engine (HTTP/2, whose requests arrive
// as decoded fields rather than a request line and header lines) build a
// Request with HTTP/1.1's meaning, answer it with the same Handler, and
// settle the Response the same way before rendering it in its own framing.

// BeginFields readies r for a request whose method and target arrive as
// fields (HTTP/2's :method and :path). The target must be in origin form;
// it is checked as a request line's target is. It returns 0, or the status
// to refuse the request with.
func (r *Request) BeginFields(method, target []byte) int {
	r.reset()
	r.Minor = 1
	r.KeepAlive = true
	r.HTTP2 = true
	r.MethodToken = method
	if len(target) == 0 || target[0] != '/' {
		return StatusBadRequest
	}
	if status := parseTarget(target, r); status != 0 {
		return status
	}
	r.Method = parseMethod(method)
	return 0
}

// SetAuthority sets the request's host (HTTP/2's :authority), checked as
// a Host header's value is.
func (r *Request) SetAuthority(authority []byte) int {
	if !validHost(authority) {
		return StatusBadRequest
	}
	r.Host = authority
	r.facts.sawHost = true
	return 0
}

// AddField adds a header field whose name the caller checked. Fields the
// server acts on are noted as if they came in a header line; a host field
// after the authority is kept as a header only. It returns 0, or the
// status to refuse the request with.
func (r *Request) AddField(name, value []byte) int {
	if !validFieldValue(value) {
		return StatusBadRequest
	}
	if r.NumHeaders == MaxHeaders {
		return StatusRequestHeaderFieldsTooLarge
	}
	r.Headers[r.NumHeaders] = Header{Name: name, Value: value}
	r.NumHeaders++
	if r.facts.sawHost && equalFold(name, "host") {
		return 0
	}
	return noteKnownHeader(name, value, r)
}

// EndFields completes a request built with BeginFields once its body has
// arrived: the path is decoded and normalised in place.
func (r *Request) EndFields(body []byte, https bool) {
	r.decodePath()
	r.Body = body
	r.HTTPS = https
}

// Answer runs e's Handler for a complete request, or answers 501 for a
// method the parser does not know (RFC 9110 §9.1), filling in resp (which
// it resets first). Both protocols' engines answer through it.
func (e *Engine) Answer(req *Request, resp *Response) {
	resp.Reset()
	if req.Method == MethodUnknown {
		resp.Status = StatusNotImplemented
		return
	}
	e.Handler.ServeHTTP1(req, resp)
}

// Settle makes a handler's response fit to render: an invalid status or
// file range becomes 500 (the file is closed through out), and a 4xx or 5xx
// with no body and no content type gets the engine's HTML error page.
func (e *Engine) Settle(resp *Response, out *Output) {
	if resp.Status < 200 || resp.Status >= 600 || (resp.File >= 0 && (resp.FileOffset < 0 || resp.FileLength < 0)) {
		e.dropFile(resp, out)
		resp.Reset()
		resp.Status = StatusInternalServerError
	}
	if resp.Status >= 400 && len(resp.Body) == 0 && resp.File < 0 && resp.ContentType == "" {
		resp.Body = ErrorPage(resp.Status)
		resp.ContentType = errorPageType
	}
}

// AppendBytes queues b after what is pending.
func (o *Output) AppendBytes(b ...byte) { o.buf = append(o.buf, b...) }

// AppendFile queues length bytes of the open file fd from offset after
// what is pending, one piece of a response's file body. When last is set
// the Output is done with fd once they are written (or dropped): it hands
// fd to owner, or closes it when owner is nil, as for HTTP/1 responses;
// before the last piece fd stays open. A zero-length range is not queued.
func (o *Output) AppendFile(fd int, offset, length int64, last bool, owner FileOwner) {
	if !last {
		owner = stillSending{}
	}
	o.appendFile(fd, offset, length, owner)
}

// ReleaseFile is what the Output does with a response's file it will not
// send: hand it to owner, or close it when owner is nil.
func (o *Output) ReleaseFile(fd int, owner FileOwner) { o.closeFile(fileRange{fd: fd, owner: owner}) }

// stillSending owns the pieces of a file body before its last one: the
// descriptor stays open for the pieces still to come.
type stillSending struct{}

func (stillSending) ReleaseFile(int) {}
