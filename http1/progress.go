package http1

// Progress is what an Engine remembers of one connection's unfinished
// request between two calls to Serve, so that each call resumes where the
// last one stopped: head lines already parsed are not parsed again, and a
// body is taken (a chunked one decoded) only from where the last call left
// it. One Progress belongs to one connection, like its Output. The zero
// value is ready; Reset readies one reused from a pool.
type Progress struct {
	req    Request
	active bool // req holds the request at the start of the input
	// capAt is the capacity of the input req's slices point into, as of the
	// last call: with the capacity of a slice it gives the slice's offset
	// from the request's start, wherever the server has moved the bytes.
	capAt int
	head  headScan
	// headLen is the head's length once it is whole and accepted.
	headLen   int
	continued bool // the 100 Continue this request asked for was queued
	chunked   chunkedBody
}

// headScan is how far a head's lines have been parsed.
type headScan struct {
	next        int  // where the next unparsed line starts
	scanned     int  // bytes after next searched for the line's end
	lines       int  // lines parsed
	requestLine bool // the request line has been parsed
}

// Reset forgets any unfinished request.
func (p *Progress) Reset() {
	p.active = false
}

// begin starts a new request at the start of in.
func (p *Progress) begin(in []byte) {
	p.req.reset()
	p.active = true
	p.capAt = cap(in)
	p.head = headScan{}
	p.headLen = 0
	p.continued = false
	p.chunked = chunkedBody{}
}

// resume points req's slices into in, which holds at its start the same
// request bytes (the ones parsed so far unmodified) that the last call saw,
// perhaps in another buffer.
func (p *Progress) resume(in []byte) {
	r := &p.req
	r.Path = p.moved(r.Path, in)
	r.rawTarget = p.moved(r.rawTarget, in)
	r.Query = p.moved(r.Query, in)
	r.Host = p.moved(r.Host, in)
	r.Connection = p.moved(r.Connection, in)
	r.AcceptEncoding = p.moved(r.AcceptEncoding, in)
	r.IfModifiedSince = p.moved(r.IfModifiedSince, in)
	r.IfNoneMatch = p.moved(r.IfNoneMatch, in)
	r.Range = p.moved(r.Range, in)
	r.Authorization = p.moved(r.Authorization, in)
	r.ContentType = p.moved(r.ContentType, in)
	for i := range r.NumHeaders {
		h := &r.Headers[i]
		h.Name, h.Value = p.moved(h.Name, in), p.moved(h.Value, in)
	}
	p.capAt = cap(in)
}

// moved is s, a slice of the input of the last call, in the same place of
// in. Only the shared rootPath points elsewhere.
func (p *Progress) moved(s, in []byte) []byte {
	if s == nil || len(s) == 1 && &s[0] == &rootPath[0] {
		return s
	}
	off := p.capAt - cap(s)
	return in[off : off+len(s)]
}
