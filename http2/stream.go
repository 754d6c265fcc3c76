package http2

import "lwango/http1"

// streamState is a state of a stream's life cycle, RFC 9113 §5.1. A server
// that never pushes has no reserved states:
//
//	                     +--------+
//	             recv H  |        |
//	          ,----------|  idle  |
//	         /           |        |
//	        v            +--------+
//	  +----------+
//	  |          | recv ES  +------------+
//	  |   open   |--------->|half-closed |
//	  |          |          |  (remote)  |
//	  +----------+          +------------+
//	     | send ES   recv R      | send ES
//	     v           send R      | recv R / send R
//	+-----------+      \         v
//	|half-closed|       `--->+--------+
//	|  (local)  |----------->| closed |
//	+-----------+  recv ES   +--------+
//	               recv R / send R
//
// A stream object exists from its first HEADERS until it is closed; an id
// at or below the highest one seen that has no stream object is closed, an
// id above it idle.
type streamState uint8

const (
	stateIdle streamState = iota
	stateOpen
	stateHalfClosedRemote
	stateHalfClosedLocal
	stateClosed
)

var stateNames = [...]string{"idle", "open", "half-closed (remote)", "half-closed (local)", "closed"}

func (s streamState) String() string { return stateNames[s] }

// recvHeaders: idle → open (the request's HEADERS).
func (s streamState) recvHeaders() streamState {
	if s == stateIdle {
		return stateOpen
	}
	return s
}

// recvEndStream: open → half-closed (remote); half-closed (local) → closed.
func (s streamState) recvEndStream() streamState {
	switch s {
	case stateOpen:
		return stateHalfClosedRemote
	case stateHalfClosedLocal:
		return stateClosed
	}
	return s
}

// sendEndStream: open → half-closed (local); half-closed (remote) → closed.
func (s streamState) sendEndStream() streamState {
	switch s {
	case stateOpen:
		return stateHalfClosedLocal
	case stateHalfClosedRemote:
		return stateClosed
	}
	return s
}

// remoteOpen reports whether the client may still send DATA or trailers.
func (s streamState) remoteOpen() bool { return s == stateOpen || s == stateHalfClosedLocal }

// fieldRef locates one decoded field in a stream's field arena.
type fieldRef struct{ name, value span }

type span struct{ at, n int }

// stream is one live stream: its state, flow-control windows, the request
// as it arrives and the response body as it leaves.
type stream struct {
	id    uint32
	state streamState
	conn  *Conn

	sendWindow int64 // how much DATA we may still send (RFC 9113 §6.9)
	recvWindow int64 // how much DATA the client may still send

	// The request's fields, decoded: names and values in arena, pseudo
	// headers apart.
	arena                           []byte
	fields                          []fieldRef
	method, scheme, path, authority span
	pseudoSeen                      uint8 // bits: the pseudo-headers of pseudoBits
	listSize                        int   // RFC 9113 §6.5.2's size of the field section
	sawRegular, malformed           bool
	tooLarge                        bool
	trailers                        bool // the block being decoded is the trailers

	req           *http1.Request // kept with its storage from stream to stream
	body          []byte
	contentLength int64 // -1 when absent
	received      int64 // DATA payload bytes received
	answered      bool  // the response is queued: further DATA is discarded

	// The response body not yet framed: bytes, or a file range.
	data     []byte
	dataSent int
	file     int // -1 when none
	fileOff  int64
	fileLeft int64
	owner    http1.FileOwner // takes file back when done; nil: it is closed
	ending   bool            // END_STREAM goes with the last DATA frame
}

const (
	pseudoMethod = 1 << iota
	pseudoScheme
	pseudoPath
	pseudoAuthority
)

func (s *stream) begin(id uint32, c *Conn) {
	s.id, s.conn, s.state = id, c, stateIdle
	s.sendWindow = c.peerInitWindow
	s.recvWindow = defaultWindowSize
	s.contentLength = -1
	s.file = -1
}

// wipe forgets the stream, keeping its buffers' storage.
func (s *stream) wipe() {
	*s = stream{arena: s.arena[:0], fields: s.fields[:0], body: s.body[:0], data: s.data[:0], file: -1, req: s.req}
	s.req.Reset()
}

// bytes returns the arena bytes sp covers.
func (s *stream) bytes(sp span) []byte { return s.arena[sp.at : sp.at+sp.n] }

func (s *stream) store(v string) span {
	sp := span{at: len(s.arena), n: len(v)}
	s.arena = append(s.arena, v...)
	return sp
}

// pending reports whether response DATA is left to frame.
func (s *stream) pending() bool { return s.dataSent < len(s.data) || s.fileLeft > 0 }

// remaining is how many response body bytes are left to frame.
func (s *stream) remaining() int64 { return int64(len(s.data)-s.dataSent) + s.fileLeft }
