package http2

import (
	"strconv"
	"syscall"

	"golang.org/x/net/http2/hpack"

	"lwango/http1"
)

// DefaultMaxConcurrentStreams is SETTINGS_MAX_CONCURRENT_STREAMS when the
// Engine leaves it at zero.
const DefaultMaxConcurrentStreams = 100

// InputSize is the input buffer a connection needs: a whole frame of the
// largest size the server accepts (it never raises SETTINGS_MAX_FRAME_SIZE
// above the default, RFC 9113 §4.2).
const InputSize = FrameHeaderLen + minMaxFrameSize

// decoderTableSize is the size of a connection's HPACK decoder table (RFC
// 7541 §4.2): the protocol's default, which a client may use before it has
// seen our settings. Responses are encoded without a dynamic table (as
// nginx does): the encoder holds nothing between header blocks, so one
// serves every connection of a loop and an idle connection keeps only its
// decoder's table.
const decoderTableSize = 4096

// Engine answers HTTP/2 streams for one event loop. It shares its handler,
// limits and configured headers with the loop's HTTP/1 engine, and keeps
// the scratch space and the free streams its connections use, so a loop's
// connections hold stream state only while a stream is live. It is not
// safe for concurrent use.
type Engine struct {
	// HTTP1 supplies what both protocols share: Handler, Observer,
	// MaxRequestSize (bounds a request's decoded header list and its header
	// block), MaxBodySize, Date, ServerName, ExtraHeaders, HTTPSHeaders.
	HTTP1 *http1.Engine
	// MaxConcurrentStreams is SETTINGS_MAX_CONCURRENT_STREAMS; 0 means
	// DefaultMaxConcurrentStreams.
	MaxConcurrentStreams int
	// CloseFile closes the descriptor of a response file that will not be
	// sent; nil means syscall.Close.
	CloseFile func(fd int)

	resp http1.Response
	// enc encodes every connection's response header blocks into encOut,
	// with a dynamic table of size 0: static table indexes and literals.
	enc    *hpack.Encoder
	encOut appendWriter
	free   []*stream   // streams to reuse
	lists  [][]*stream // connections' stream lists to reuse
	// interned holds the response field strings (names, values, numbers)
	// the HPACK encoder was given: one seen before is given again without
	// allocating. It is emptied when it reaches maxInterned.
	interned map[string]string
	num      [20]byte
}

// maxInterned bounds an Engine's interned strings.
const maxInterned = 512

// intern returns b as a string, allocating only the first time these
// bytes are seen (a file's ETag and Last-Modified, the second's Date).
func (e *Engine) intern(b []byte) string {
	if s, ok := e.interned[string(b)]; ok {
		return s
	}
	if e.interned == nil || len(e.interned) >= maxInterned {
		e.interned = make(map[string]string, maxInterned)
	}
	s := string(b)
	e.interned[s] = s
	return s
}

// internInt returns n in decimal, interned.
func (e *Engine) internInt(n int64) string { return e.intern(strconv.AppendInt(e.num[:0], n, 10)) }

// getList returns an empty stream list for a connection that becomes
// busy; putList takes it back when the connection is idle again.
func (e *Engine) getList() []*stream {
	if n := len(e.lists); n > 0 {
		l := e.lists[n-1]
		e.lists = e.lists[:n-1]
		return l
	}
	return make([]*stream, 0, 4)
}

func (e *Engine) putList(l []*stream) {
	if len(e.lists) < maxFreeStreams {
		clear(l[:cap(l)])
		e.lists = append(e.lists, l[:0])
	}
}

// NewConn returns the state of a new HTTP/2 connection, which begins with
// the client's connection preface. https says it is carried by TLS.
func (e *Engine) NewConn(https bool) *Conn {
	c := &Conn{
		e:               e,
		https:           https,
		peerMaxFrame:    minMaxFrameSize,
		peerInitWindow:  defaultWindowSize,
		sendWindow:      defaultWindowSize,
		recvWindow:      defaultWindowSize,
		resetBudget:     maxResetBudget,
		maxFieldSection: e.maxFieldSection(),
	}
	c.dec = hpack.NewDecoder(decoderTableSize, c.field)
	c.dec.SetMaxStringLength(2 * c.maxFieldSection)
	if e.enc == nil {
		e.enc = hpack.NewEncoder(&e.encOut)
		e.enc.SetMaxDynamicTableSizeLimit(0)
	}
	return c
}

func (e *Engine) maxConcurrent() int {
	if e.MaxConcurrentStreams <= 0 {
		return DefaultMaxConcurrentStreams
	}
	return e.MaxConcurrentStreams
}

// maxFieldSection bounds a request's decoded header list (names, values and
// 32 bytes each, as RFC 9113 §6.5.2 counts) by the request buffer size.
func (e *Engine) maxFieldSection() int {
	if e.HTTP1.MaxRequestSize <= 0 {
		return http1.DefaultMaxRequestSize
	}
	return e.HTTP1.MaxRequestSize
}

func (e *Engine) maxBody() int64 {
	switch {
	case e.HTTP1.MaxBodySize == 0:
		return http1.DefaultMaxBodySize
	case e.HTTP1.MaxBodySize < 0:
		return 0
	}
	return e.HTTP1.MaxBodySize
}

func (e *Engine) closeFile(fd int) {
	if e.CloseFile != nil {
		e.CloseFile(fd)
		return
	}
	syscall.Close(fd)
}

// getStream takes a stream from the free list (or makes one).
func (e *Engine) getStream(id uint32, c *Conn) *stream {
	var s *stream
	if n := len(e.free); n > 0 {
		s = e.free[n-1]
		e.free = e.free[:n-1]
	} else {
		s = &stream{req: new(http1.Request)}
	}
	s.begin(id, c)
	return s
}

// maxFreeStreams bounds the streams an Engine keeps for reuse.
const maxFreeStreams = 256

// putStream returns a closed stream to the free list.
func (e *Engine) putStream(s *stream) {
	s.wipe()
	if len(e.free) < maxFreeStreams {
		e.free = append(e.free, s)
	}
}

// appendWriter is the io.Writer the HPACK encoder writes into.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}
