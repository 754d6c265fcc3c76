// Package http1 parses HTTP/1.0 and HTTP/1.1 requests in place in a
// connection's buffer and writes responses, with the keep-alive and
// pipelining rules of both versions. It knows nothing of TLS or of files on
// disk: a response names an open file descriptor and the server moves it.
//
// The engine is sans-I/O: Engine.Serve takes the bytes a connection has
// received, answers every complete request at their start into an Output,
// and says how many bytes it consumed and what the connection does next.
package http1

import "net/netip"

// Method is a request method.
type Method uint8

// The methods the parser recognises; the engine answers anything else with
// 501 (RFC 9110 §9.1).
const (
	MethodUnknown Method = iota
	MethodGet
	MethodHead
	MethodPost
	MethodPut
	MethodDelete
	MethodOptions
	MethodPatch
)

// ClientSource tells a request's client address. The server looks it up
// only when a handler asks (Request.ClientAddr).
type ClientSource interface {
	// ClientAddr returns the client's address and port: the ones a PROXY
	// protocol header carried, else the socket's peer's; the zero AddrPort
	// when they are unknown.
	ClientAddr() netip.AddrPort
}

// ClientAddr returns the client's address and port (see ClientSource), the
// zero AddrPort when the server did not say. The same for HTTP/1.1 and
// HTTP/2 requests.
func (r *Request) ClientAddr() netip.AddrPort {
	if r.Client == nil {
		return netip.AddrPort{}
	}
	return r.Client.ClientAddr()
}

// Header is one request header as slices of the connection's buffer.
type Header struct {
	Name, Value []byte
}

// MaxHeaders bounds how many headers a request may carry (431 beyond it).
const MaxHeaders = 64

// Request is a parsed request. Every slice points into the buffer that was
// parsed and is valid only until that buffer is reused; parsing allocates
// nothing.
type Request struct {
	Method Method
	// MethodToken is the method as the client sent it (a slice of the
	// parsed buffer, or of the HTTP/2 stream's fields), so that a log can
	// name a method the parser does not know. It is not checked beyond
	// HTTP/1.1's token rule: escape it before writing it anywhere.
	MethodToken []byte
	Minor       uint8 // HTTP/1.Minor: 0 or 1 (1.2 and later minors are served as 1.1)
	// Path is the request target's path, percent-decoded and normalised in
	// place: it always starts with '/', has no empty, "." or ".." segments
	// and holds no control characters. The raw form is overwritten.
	Path  []byte
	Query []byte // after '?', not decoded, without the '?'
	// Target is the request-target as the client sent it (origin or
	// absolute form, query included), for logs: a copy taken before Path
	// was decoded in place. It is set once the request is complete.
	Target []byte

	// Headers the server acts on, found while parsing. Host is the
	// authority of an absolute-form target when the request has one.
	Host            []byte
	Connection      []byte
	AcceptEncoding  []byte
	IfModifiedSince []byte
	IfNoneMatch     []byte
	Range           []byte
	Authorization   []byte
	ContentType     []byte
	ContentLength   int64 // -1 when absent

	Headers    [MaxHeaders]Header // every header in order, the ones above included
	NumHeaders int

	Body []byte
	// Client tells the client's address (ClientAddr); the server sets it
	// before a handler runs. Nil when it is unknown.
	Client         ClientSource
	KeepAlive      bool // the client allows the connection to stay open
	ExpectContinue bool // an HTTP/1.1 client sent "Expect: 100-continue"
	HTTPS          bool // the request arrived over TLS
	HTTP2          bool // the request arrived on an HTTP/2 stream (Minor is 1)

	facts headFacts // gathered while parsing, judged once the head is complete
	// rawTarget is the target in the parsed buffer; targetCopy is Target's
	// storage, reused from request to request.
	rawTarget, targetCopy []byte
}

// headFacts are what the parser notes about framing and connection headers
// while it walks the header lines.
type headFacts struct {
	sawHost, sawContentLength, sawTransferEncoding bool
	connectionClose, connectionKeepAlive           bool
	lastCodingChunked, chunkedTwice                bool
	otherCoding, unknownCoding                     bool
	expectOther, absoluteForm                      bool
	// pathClean: checkPath found Path needs no decoding or normalising.
	pathClean bool
}

// Response is what a handler fills in. The engine turns it into bytes with
// keep-alive, Date and configured headers added.
type Response struct {
	// Status is the response status, 200 after Reset. A value outside
	// 200..599 is answered as 500.
	Status int
	// ContentType, when not empty, is sent as the Content-Type header.
	ContentType string
	// Extra holds extra response header lines, each "Name: value\r\n".
	// The engine hands the handler a pooled slice of zero length, so
	// appending to it does not allocate.
	Extra []byte

	// Body is sent as is, unless File is set. The engine copies it, so the
	// handler may reuse its storage once it returns. A status of 400 or more
	// with no Body, no File and no ContentType gets the engine's HTML error page.
	Body []byte

	// File, when >= 0, is an open descriptor whose bytes
	// [FileOffset, FileOffset+FileLength) form the body; the server sends it
	// with sendfile and, when done (at once for HEAD), closes it, or, when
	// FileOwner is set because the handler keeps descriptors open across
	// requests, hands it back to FileOwner.
	File       int
	FileOffset int64
	FileLength int64
	FileOwner  FileOwner

	// Close asks the server to close the connection after this response.
	Close bool
}

// FileOwner takes back a response's File once the server is done with it
// (sent, dropped for HEAD or a dead connection), instead of the server
// closing it: a handler that caches open descriptors counts its responses in
// flight with it. ReleaseFile is called exactly once per response, on the
// loop that served it.
type FileOwner interface {
	ReleaseFile(fd int)
}

// AddHeader appends the header line "name: value".
func (r *Response) AddHeader(name, value string) {
	r.Extra = append(r.Extra, name...)
	r.Extra = append(r.Extra, ": "...)
	r.Extra = append(r.Extra, value...)
	r.Extra = append(r.Extra, "\r\n"...)
}

// Reset readies r for the next request on the same connection.
// It keeps Extra's storage.
func (r *Response) Reset() {
	*r = Response{Status: 200, Extra: r.Extra[:0], File: -1}
}

// Header returns the value of the first header called name (compared
// without regard to ASCII case), or nil.
func (r *Request) Header(name string) []byte {
	for i := range r.NumHeaders {
		if sameName(r.Headers[i].Name, name) {
			return r.Headers[i].Value
		}
	}
	return nil
}

// sameName compares header names without regard to ASCII case.
func sameName(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		if lower(b[i]) != lower(s[i]) {
			return false
		}
	}
	return true
}

// decodePath copies the target as sent into Target, then decodes and
// normalises Path in place (which overwrites the bytes sent).
func (r *Request) decodePath() {
	r.targetCopy = append(r.targetCopy[:0], r.rawTarget...)
	r.Target = r.targetCopy
	if !r.facts.pathClean {
		r.Path = cleanPath(r.Path)
	}
}

// Reset clears r for the next request, keeping the storage it reuses (an
// HTTP/2 stream's request is reset when the stream ends).
func (r *Request) Reset() { r.reset() }

// reset clears r for parsing the next request. The Headers array is left as
// is: only Headers[:NumHeaders] is meaningful.
func (r *Request) reset() {
	r.Method, r.Minor, r.MethodToken = MethodUnknown, 0, nil
	r.Path, r.Query, r.Target, r.rawTarget = nil, nil, nil, nil
	r.Host, r.Connection, r.AcceptEncoding = nil, nil, nil
	r.IfModifiedSince, r.IfNoneMatch, r.Range = nil, nil, nil
	r.Authorization, r.ContentType, r.ContentLength = nil, nil, -1
	r.NumHeaders = 0
	r.Body, r.Client = nil, nil
	r.KeepAlive, r.ExpectContinue, r.HTTPS, r.HTTP2 = false, false, false, false
	r.facts = headFacts{}
}
