// Package http1 parses HTTP/1.0 and HTTP/1.1 requests in place in a
// connection's buffer and writes responses, with the keep-alive and
// pipelining rules of both versions. It knows nothing of TLS or of files on
// disk: a response names an open file descriptor and the server moves it.
package http1

// Method is a request method.
type Method uint8

// The methods the parser recognises; anything else is answered with 405.
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
	Method  Method
	Minor   uint8  // HTTP/1.Minor: 0 or 1
	Path    []byte // percent-decoded, normalised; always starts with '/'
	RawPath []byte // the request-target's path exactly as sent
	Query   []byte // after '?', not decoded, without the '?'

	// Headers the server acts on, found while parsing.
	Host            []byte
	Connection      []byte
	AcceptEncoding  []byte
	IfModifiedSince []byte
	IfNoneMatch     []byte
	Range           []byte
	Authorization   []byte
	ContentType     []byte
	ContentLength   int64 // -1 when absent

	Headers    [MaxHeaders]Header
	NumHeaders int

	Body      []byte
	KeepAlive bool // the client allows the connection to stay open
	HTTPS     bool // set by the server: the request arrived over TLS
}

// Response is what a handler fills in. The server turns it into bytes with
// keep-alive, Date and configured headers added.
type Response struct {
	Status      int
	ContentType string
	// Extra holds extra response header lines, each "Name: value\r\n".
	// The server hands the handler a pooled slice of zero length, so
	// appending to it does not allocate.
	Extra []byte

	// Body is sent as is, unless File is set.
	Body []byte

	// File, when >= 0, is an open descriptor whose bytes
	// [FileOffset, FileOffset+FileLength) form the body; the server sends it
	// with sendfile and closes it when done.
	File       int
	FileOffset int64
	FileLength int64

	// Close asks the server to close the connection after this response.
	Close bool
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
	*r = Response{Extra: r.Extra[:0], File: -1}
}
