package http2

import (
	"encoding/binary"

	"golang.org/x/net/http2/hpack"

	"lwango/http1"
)

// phase is where a connection is in its start (RFC 9113 §3.4).
type phase uint8

const (
	phasePreface  phase = iota // waiting for the client's 24-byte preface
	phaseSettings              // the client's first frame must be SETTINGS
	phaseRunning
)

// Defences against a client that makes the server work for nothing.
const (
	// maxResetBudget is how many streams a client may cancel (RST_STREAM
	// before its response has left) beyond those it lets finish: past it,
	// the connection ends with ENHANCE_YOUR_CALM (CVE-2023-44487, "rapid
	// reset"). Each stream answered in full earns one back.
	maxResetBudget = 200
	// maxFlood is how many frames that ask for work but carry no request
	// (SETTINGS, PING, PRIORITY, empty DATA, HEADERS or CONTINUATION
	// fragments, unknown types) a client may send between two answered
	// streams before the connection ends with ENHANCE_YOUR_CALM.
	maxFlood = 1000
	// minFieldBlock is the least a raw header block may grow to whatever
	// the request buffer size (browsers' cookies).
	minFieldBlock = 16 << 10
)

// Conn is one HTTP/2 connection's state: the settings both ends announced,
// flow-control windows, its HPACK decoder and the live streams. Between
// requests it holds no stream and no buffer, only the decoder's table
// (responses are encoded by the engine's encoder, which keeps no table).
type Conn struct {
	e       *Engine
	https   bool
	phase   phase
	started bool // our SETTINGS are queued

	dec *hpack.Decoder
	// tableSized: the first response's header block told the client our
	// encoder's dynamic table has size 0 (RFC 7541 §6.3).
	tableSized bool

	peerMaxFrame   int   // the client's SETTINGS_MAX_FRAME_SIZE
	peerInitWindow int64 // the client's SETTINGS_INITIAL_WINDOW_SIZE
	sendWindow     int64 // connection-level window for our DATA
	recvWindow     int64 // connection-level window for the client's DATA

	streams    []*stream // live streams, in order of creation
	lastStream uint32    // the highest stream id the client has used
	closed     history   // how the ids below lastStream closed
	block      headerBlock
	rr         int // where the next round of DATA framing starts

	goAwaySent      bool
	goAwayLast      uint32 // the last stream id our GOAWAY announced
	peerGoAway      bool
	fatal           bool // a connection error: close once the output is written
	resetBudget     int
	flood           int
	progress        bool // a request was answered or DATA framed since Progress
	maxFieldSection int
}

// headerBlock is a header block being received: a HEADERS frame and the
// CONTINUATION frames that follow it (RFC 9113 §4.3, §6.10).
type headerBlock struct {
	active    bool
	stream    uint32
	st        *stream // nil: decoded only to keep HPACK in step
	endStream bool
	raw       int     // bytes of the block so far
	reset     ErrCode // with st nil: the stream error to send when it ends (0: none)
}

// Start queues the server's connection preface, its SETTINGS (RFC 9113
// §3.4), the first time it is called.
func (c *Conn) Start(out *http1.Output) {
	if c.started {
		return
	}
	c.started = true
	var p [18]byte
	b := appendSetting(p[:0], settingMaxConcurrentStreams, uint32(c.e.maxConcurrent()))
	b = appendSetting(b, settingMaxHeaderListSize, uint32(c.maxFieldSection))
	b = appendSetting(b, settingEnablePush, 0)
	c.queue(out, FrameSettings, 0, 0, b)
}

// Receive acts on every whole frame at the start of in, queuing what it
// answers in out, and returns how many bytes it consumed. The bytes after
// them are the start of a frame: keep them and call Receive again once
// more have arrived. The buffer must be able to hold InputSize bytes.
// After a connection error (GOAWAY queued) nothing more is read: Done
// reports it.
func (c *Conn) Receive(in []byte, out *http1.Output) int {
	consumed := 0
	if c.phase == phasePreface {
		n := min(len(in), len(Preface))
		if string(in[:n]) != Preface[:n] {
			c.connError(out, ProtocolError)
			return len(in)
		}
		if n < len(Preface) {
			return 0
		}
		consumed = len(Preface)
		c.phase = phaseSettings
	}
	for !c.fatal {
		rest := in[consumed:]
		if len(rest) < FrameHeaderLen {
			break
		}
		h := parseFrameHeader(rest)
		if h.length > minMaxFrameSize {
			c.connError(out, FrameSizeError) // §4.2: larger than our SETTINGS_MAX_FRAME_SIZE
			return len(in)
		}
		if len(rest) < FrameHeaderLen+h.length {
			break
		}
		consumed += FrameHeaderLen + h.length
		c.frame(h, rest[FrameHeaderLen:FrameHeaderLen+h.length], out)
	}
	if c.fatal {
		return len(in)
	}
	if c.recvWindow <= defaultWindowSize/2 {
		// The DATA read is copied out: once half the window is used, the
		// client may send a whole window again (as nghttp2 and Go do: one
		// WINDOW_UPDATE per half window, not one per read).
		c.queueWindowUpdate(out, 0, defaultWindowSize-c.recvWindow)
		c.recvWindow = defaultWindowSize
	}
	return consumed
}

// frame acts on one frame.
func (c *Conn) frame(h frameHeader, p []byte, out *http1.Output) {
	if c.phase == phaseSettings {
		if h.typ != FrameSettings || h.has(FlagAck) {
			c.connError(out, ProtocolError) // §3.4
			return
		}
		c.phase = phaseRunning
	}
	if c.block.active && (h.typ != FrameContinuation || h.stream != c.block.stream) {
		c.connError(out, ProtocolError) // §6.10: nothing between a block's frames
		return
	}
	switch h.typ {
	case FrameData:
		c.onData(h, p, out)
	case FrameHeaders:
		c.onHeaders(h, p, out)
	case FramePriority:
		c.onPriority(h, p, out)
	case FrameRSTStream:
		c.onRSTStream(h, p, out)
	case FrameSettings:
		c.onSettings(h, p, out)
	case FramePushPromise:
		c.connError(out, ProtocolError) // §8.4: a client cannot push
	case FramePing:
		c.onPing(h, p, out)
	case FrameGoAway:
		c.onGoAway(h, p, out)
	case FrameWindowUpdate:
		c.onWindowUpdate(h, p, out)
	case FrameContinuation:
		if !c.block.active {
			c.connError(out, ProtocolError) // §6.10
			return
		}
		c.fragment(h, p, out)
	default:
		c.noWork(out) // §4.1: unknown types are ignored
	}
}

// noWork counts a frame that made the server work without asking for a
// response, and ends a connection that sends too many of them.
func (c *Conn) noWork(out *http1.Output) {
	c.flood++
	if c.flood > maxFlood {
		c.connError(out, EnhanceYourCalm)
	}
}

// stream returns the live stream id, or nil.
func (c *Conn) stream(id uint32) *stream {
	for _, s := range c.streams {
		if s.id == id {
			return s
		}
	}
	return nil
}

// idle reports whether id is a client stream id not yet used (RFC 9113
// §5.1.1): every lower one not live is closed.
func (c *Conn) idle(id uint32) bool { return id > c.lastStream }

// unpad removes a padded frame's padding (RFC 9113 §6.1, §6.2).
func unpad(h frameHeader, p []byte) ([]byte, bool) {
	if !h.has(FlagPadded) {
		return p, true
	}
	if len(p) < 1 || int(p[0]) >= len(p) {
		return nil, false // padding as long as the payload or longer: PROTOCOL_ERROR
	}
	return p[1 : len(p)-int(p[0])], true
}

func (c *Conn) onData(h frameHeader, p []byte, out *http1.Output) {
	if h.stream == 0 {
		c.connError(out, ProtocolError) // §6.1
		return
	}
	if c.idle(h.stream) || h.stream%2 == 0 {
		c.connError(out, ProtocolError) // §5.1: DATA on an idle stream
		return
	}
	// The whole payload, padding included, counts against the windows
	// (§6.9.1), whatever becomes of the stream.
	n := int64(h.length)
	if n > c.recvWindow {
		c.connError(out, FlowControlError)
		return
	}
	c.recvWindow -= n
	data, ok := unpad(h, p)
	if !ok {
		c.connError(out, ProtocolError)
		return
	}
	s := c.stream(h.stream)
	if s == nil {
		c.onClosed(h, out)
		return
	}
	if !s.state.remoteOpen() {
		c.streamError(out, h.stream, StreamClosed) // §5.1: half-closed (remote)
		return
	}
	if n > s.recvWindow {
		c.streamError(out, h.stream, FlowControlError)
		return
	}
	s.recvWindow -= n
	if len(data) == 0 && !h.has(FlagEndStream) {
		c.noWork(out)
	}
	s.received += int64(len(data))
	if s.contentLength >= 0 && s.received > s.contentLength {
		c.streamError(out, h.stream, ProtocolError) // §8.1.1: more than content-length
		return
	}
	if s.answered {
		// Answered before its body was whole (413): the client may finish
		// sending what is in flight; it is dropped.
	} else if int64(len(s.body)+len(data)) > c.e.maxBody() {
		s.answered = true
		c.answerStatus(s, http1.StatusContentTooLarge, out)
	} else {
		s.body = append(s.body, data...)
	}
	if h.has(FlagEndStream) {
		c.endOfRequest(s, out)
		return
	}
	if s.recvWindow > defaultWindowSize/2 {
		return
	}
	// Half the stream window is used: let the client send a whole window
	// again while the body may still grow, up to what the body limit
	// allows (one byte more, to see it exceeded); a body being dropped
	// may come in full.
	grant := int64(defaultWindowSize) - s.recvWindow
	if !s.answered {
		grant = min(grant, c.e.maxBody()+1-int64(len(s.body))-s.recvWindow)
	}
	if grant > 0 {
		c.queueWindowUpdate(out, s.id, grant)
		s.recvWindow += grant
	}
}

// onClosed answers DATA or HEADERS on a closed stream (not live, id not
// above the highest used) as the way it closed asks (RFC 9113 §5.1,
// §5.1.1, §6.1): ignored after we reset it, a stream error after the
// client did, a connection error when it ended or never opened. A HEADERS
// block on a stream that stays open is decoded to keep HPACK in step.
func (c *Conn) onClosed(h frameHeader, out *http1.Output) {
	if c.noWork(out); c.fatal {
		return
	}
	var reset ErrCode
	switch c.howClosed(h.stream) {
	case closedByUs:
	case closedByPeer, closedForgotten:
		reset = StreamClosed
	case closedSkipped:
		if h.typ == FrameHeaders {
			c.connError(out, ProtocolError) // §5.1.1: a new stream below the highest
			return
		}
		c.connError(out, StreamClosed)
		return
	default:
		c.connError(out, StreamClosed)
		return
	}
	if h.typ == FrameHeaders {
		c.block.reset = reset // streamError once the block is whole
		return
	}
	if reset != 0 {
		c.queueRST(out, h.stream, reset)
	}
}

// endOfRequest is the client's END_STREAM on s: the request is whole.
func (c *Conn) endOfRequest(s *stream, out *http1.Output) {
	s.state = s.state.recvEndStream()
	if s.contentLength >= 0 && s.received != s.contentLength {
		c.streamError(out, s.id, ProtocolError) // §8.1.1: less than content-length
		return
	}
	if !s.answered {
		c.dispatch(s, out)
	}
	c.closeIfDone(s, out)
}

func (c *Conn) onHeaders(h frameHeader, p []byte, out *http1.Output) {
	if h.stream == 0 || h.stream%2 == 0 {
		c.connError(out, ProtocolError) // §6.2, §5.1.1
		return
	}
	p, ok := unpad(h, p)
	if !ok {
		c.connError(out, ProtocolError)
		return
	}
	var reset ErrCode
	if h.has(FlagPriority) {
		if len(p) < 5 {
			c.connError(out, FrameSizeError)
			return
		}
		if binary.BigEndian.Uint32(p)&(1<<31-1) == h.stream {
			reset = ProtocolError // §5.3.1: a stream cannot depend on itself
		}
		p = p[5:]
	}
	c.block = headerBlock{active: true, stream: h.stream, endStream: h.has(FlagEndStream)}
	s := c.stream(h.stream)
	switch {
	case s != nil && !s.state.remoteOpen():
		reset = StreamClosed // §5.1: half-closed (remote)
	case s != nil:
		// Trailers (§8.1): they end the stream.
		if !h.has(FlagEndStream) {
			reset = ProtocolError
		} else if reset == 0 {
			s.trailers = true
			c.block.st = s
		}
	case !c.idle(h.stream):
		c.onClosed(h, out)
		if c.fatal {
			return
		}
		reset = c.block.reset
	default:
		switch {
		case c.goAwaySent:
			// Above our GOAWAY's last stream: ignored (§6.8), but the
			// block still feeds the HPACK decoder.
			c.opened(h.stream, closedByUs)
		case reset != 0:
			c.opened(h.stream, closedByUs)
		case len(c.streams) >= c.e.maxConcurrent():
			reset = RefusedStream // §5.1.2
			c.opened(h.stream, closedByUs)
		default:
			c.opened(h.stream, closedEnded)
			s = c.e.getStream(h.stream, c)
			s.state = s.state.recvHeaders()
			if c.streams == nil {
				c.streams = c.e.getList()
			}
			c.streams = append(c.streams, s)
			c.block.st = s
		}
	}
	c.block.reset = reset
	if reset != 0 && c.block.st != nil {
		c.block.st = nil
	}
	c.fragment(h, p, out)
}

// fragment feeds one header block fragment to the HPACK decoder, whose
// state spans the connection: every block is decoded, even one whose
// stream is refused. A block larger than the request buffer allows (a
// CONTINUATION flood) ends the connection.
func (c *Conn) fragment(h frameHeader, p []byte, out *http1.Output) {
	b := &c.block
	b.raw += len(p)
	if b.raw > max(c.maxFieldSection, minFieldBlock) {
		c.connError(out, EnhanceYourCalm)
		return
	}
	if len(p) == 0 && !h.has(FlagEndHeaders) {
		c.noWork(out)
	}
	if _, err := c.dec.Write(p); err != nil {
		c.connError(out, CompressionError) // §4.3
		return
	}
	if !h.has(FlagEndHeaders) {
		return
	}
	if err := c.dec.Close(); err != nil {
		c.connError(out, CompressionError)
		return
	}
	*b = headerBlock{st: b.st, stream: b.stream, endStream: b.endStream, reset: b.reset}
	c.headersDone(out)
}

// headersDone acts on a complete header block.
func (c *Conn) headersDone(out *http1.Output) {
	b := c.block
	c.block = headerBlock{}
	s := b.st
	if s == nil {
		if b.reset != 0 {
			c.streamError(out, b.stream, b.reset)
		}
		return
	}
	if s.trailers {
		if s.malformed {
			c.streamError(out, s.id, ProtocolError)
			return
		}
		c.endOfRequest(s, out)
		return
	}
	status, ok := s.request(c.e.maxBody())
	if !ok {
		c.streamError(out, s.id, ProtocolError) // §8.1.1: malformed
		return
	}
	if status != 0 {
		s.answered = true
		c.answerStatus(s, status, out)
	}
	if b.endStream {
		c.endOfRequest(s, out)
	}
}

func (c *Conn) onPriority(h frameHeader, p []byte, out *http1.Output) {
	if h.stream == 0 {
		c.connError(out, ProtocolError) // §6.3
		return
	}
	if len(p) != 5 {
		c.streamError(out, h.stream, FrameSizeError)
		return
	}
	if binary.BigEndian.Uint32(p)&(1<<31-1) == h.stream {
		c.streamError(out, h.stream, ProtocolError) // §5.3.1
		return
	}
	c.noWork(out) // parsed and otherwise ignored (RFC 9113 deprecates it)
}

func (c *Conn) onRSTStream(h frameHeader, p []byte, out *http1.Output) {
	if h.stream == 0 {
		c.connError(out, ProtocolError) // §6.4
		return
	}
	if len(p) != 4 {
		c.connError(out, FrameSizeError)
		return
	}
	if c.idle(h.stream) {
		c.connError(out, ProtocolError) // §6.4: RST_STREAM on an idle stream
		return
	}
	s := c.stream(h.stream)
	if s == nil {
		return // closed already: it may have been in flight (§5.1)
	}
	c.release(s)
	c.closedAs(s.id, closedByPeer)
	c.resetBudget--
	if c.resetBudget < 0 {
		c.connError(out, EnhanceYourCalm)
	}
}

func (c *Conn) onSettings(h frameHeader, p []byte, out *http1.Output) {
	if h.stream != 0 {
		c.connError(out, ProtocolError) // §6.5
		return
	}
	if h.has(FlagAck) {
		if len(p) != 0 {
			c.connError(out, FrameSizeError)
		}
		return
	}
	if len(p)%6 != 0 {
		c.connError(out, FrameSizeError)
		return
	}
	c.noWork(out)
	for ; len(p) > 0; p = p[6:] {
		id, v := binary.BigEndian.Uint16(p), binary.BigEndian.Uint32(p[2:])
		switch id {
		case settingEnablePush:
			if v > 1 {
				c.connError(out, ProtocolError)
				return
			}
		case settingInitialWindowSize:
			if v > maxWindow {
				c.connError(out, FlowControlError) // §6.5.2
				return
			}
			delta := int64(v) - c.peerInitWindow
			c.peerInitWindow = int64(v)
			for _, s := range c.streams {
				s.sendWindow += delta
				if s.sendWindow > maxWindow {
					c.connError(out, FlowControlError) // §6.9.2
					return
				}
			}
		case settingMaxFrameSize:
			if v < minMaxFrameSize || v > maxMaxFrameSize {
				c.connError(out, ProtocolError) // §6.5.2
				return
			}
			c.peerMaxFrame = int(v)
		}
		// SETTINGS_HEADER_TABLE_SIZE bounds a dynamic table our encoder
		// does not use; SETTINGS_MAX_CONCURRENT_STREAMS limits pushes,
		// which we never make; SETTINGS_MAX_HEADER_LIST_SIZE is advisory;
		// unknown settings are ignored (§6.5.2).
	}
	c.queue(out, FrameSettings, FlagAck, 0, nil)
}

func (c *Conn) onPing(h frameHeader, p []byte, out *http1.Output) {
	if h.stream != 0 {
		c.connError(out, ProtocolError) // §6.7
		return
	}
	if len(p) != 8 {
		c.connError(out, FrameSizeError)
		return
	}
	if h.has(FlagAck) {
		return
	}
	c.noWork(out)
	c.queue(out, FramePing, FlagAck, 0, p)
}

func (c *Conn) onGoAway(h frameHeader, p []byte, out *http1.Output) {
	if h.stream != 0 {
		c.connError(out, ProtocolError) // §6.8
		return
	}
	if len(p) < 8 {
		c.connError(out, FrameSizeError)
		return
	}
	// The client opens no more streams: finish those in flight, then close.
	c.peerGoAway = true
}

func (c *Conn) onWindowUpdate(h frameHeader, p []byte, out *http1.Output) {
	if len(p) != 4 {
		c.connError(out, FrameSizeError) // §6.9
		return
	}
	inc := int64(binary.BigEndian.Uint32(p) & (1<<31 - 1))
	if h.stream == 0 {
		if inc == 0 {
			c.connError(out, ProtocolError)
			return
		}
		c.sendWindow += inc
		if c.sendWindow > maxWindow {
			c.connError(out, FlowControlError) // §6.9.1
		}
		return
	}
	if c.idle(h.stream) {
		c.connError(out, ProtocolError) // §5.1
		return
	}
	s := c.stream(h.stream)
	if s == nil {
		return // closed: it may have been in flight (§6.9)
	}
	if inc == 0 {
		c.streamError(out, s.id, ProtocolError)
		return
	}
	s.sendWindow += inc
	if s.sendWindow > maxWindow {
		c.streamError(out, s.id, FlowControlError)
	}
}

// connError ends the connection (RFC 9113 §5.4.1): GOAWAY with the last
// stream id and code; the connection closes once it is written.
func (c *Conn) connError(out *http1.Output, code ErrCode) {
	if c.fatal {
		return
	}
	c.fatal = true
	if !c.goAwaySent {
		c.goAwaySent = true
		c.goAwayLast = c.lastStream
	}
	// §6.8: the last stream id never grows past one sent before.
	var b [17]byte
	out.AppendBytes(appendGoAway(b[:0], c.goAwayLast, code)...)
	for len(c.streams) > 0 {
		c.release(c.streams[0])
	}
}

// streamError resets one stream (RFC 9113 §5.4.2).
func (c *Conn) streamError(out *http1.Output, id uint32, code ErrCode) {
	c.queueRST(out, id, code)
	if s := c.stream(id); s != nil {
		c.release(s)
		c.closedAs(id, closedByUs)
	}
}

func (c *Conn) queueRST(out *http1.Output, id uint32, code ErrCode) {
	var b [13]byte
	out.AppendBytes(appendRSTStream(b[:0], id, code)...)
}

func (c *Conn) queueWindowUpdate(out *http1.Output, id uint32, n int64) {
	var b [13]byte
	out.AppendBytes(appendWindowUpdate(b[:0], id, uint32(n))...)
}

// queue appends a frame with a small payload.
func (c *Conn) queue(out *http1.Output, typ FrameType, flags uint8, stream uint32, p []byte) {
	var b [FrameHeaderLen]byte
	out.AppendBytes(appendFrameHeader(b[:0], len(p), typ, flags, stream)...)
	out.AppendBytes(p...)
}

// release forgets a stream, closing the file of a response not yet framed.
func (c *Conn) release(s *stream) {
	if s.fileLeft > 0 {
		if s.owner != nil {
			s.owner.ReleaseFile(s.file)
		} else {
			c.e.closeFile(s.file)
		}
	}
	for i, t := range c.streams {
		if t == s {
			c.streams = append(c.streams[:i], c.streams[i+1:]...)
			break
		}
	}
	if c.block.st == s {
		c.block.st = nil
	}
	c.e.putStream(s)
	if len(c.streams) == 0 && c.streams != nil {
		c.e.putList(c.streams) // an idle connection holds no list
		c.streams = nil
	}
}

// Shutdown queues GOAWAY with NO_ERROR (once): the streams in flight are
// finished, new ones ignored, and Done reports when the connection may
// close. A server calls it when it stops or reloads.
func (c *Conn) Shutdown(out *http1.Output) {
	if c.goAwaySent || c.phase == phasePreface {
		return
	}
	c.goAwaySent = true
	c.goAwayLast = c.lastStream
	var b [17]byte
	out.AppendBytes(appendGoAway(b[:0], c.lastStream, NoError)...)
}

// Done reports whether the connection should close once its output is
// written: after a connection error, or when a GOAWAY went either way and
// no stream is left.
func (c *Conn) Done() bool {
	return c.fatal || (c.goAwaySent || c.peerGoAway) && len(c.streams) == 0 && !c.block.active
}

// Idle reports whether the connection has no live stream and no header
// block under way: it waits for the client under the keep-alive timeout,
// and needs no buffer until it sends something.
func (c *Conn) Idle() bool { return len(c.streams) == 0 && !c.block.active }

// Progress reports whether a request was answered or DATA framed since
// the last call: the server restarts the connection's deadline then.
func (c *Conn) Progress() bool {
	p := c.progress
	c.progress = false
	return p
}

// Close releases the connection's streams, closing the files of responses
// not yet framed. The server calls it when the connection ends.
func (c *Conn) Close() {
	for len(c.streams) > 0 {
		c.release(c.streams[0])
	}
}
