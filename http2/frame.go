// Package http2 is a sans-I/O HTTP/2 server engine (RFC 9113, with HPACK
// from golang.org/x/net/http2/hpack): a Conn takes the bytes a connection
// received, acts on every whole frame at their start, and appends the
// frames it answers with to an http1.Output, where file-backed DATA
// payloads are file ranges the server sends with sendfile. Streams are
// answered inline, through the same handler and the same http1.Request and
// http1.Response as HTTP/1.1; no goroutine is involved.
package http2

import "encoding/binary"

// FrameType is a frame's type (RFC 9113 §6).
type FrameType uint8

// The frame types of RFC 9113 §6.
const (
	FrameData         FrameType = 0x0
	FrameHeaders      FrameType = 0x1
	FramePriority     FrameType = 0x2
	FrameRSTStream    FrameType = 0x3
	FrameSettings     FrameType = 0x4
	FramePushPromise  FrameType = 0x5
	FramePing         FrameType = 0x6
	FrameGoAway       FrameType = 0x7
	FrameWindowUpdate FrameType = 0x8
	FrameContinuation FrameType = 0x9
)

// Frame flags (RFC 9113 §6).
const (
	FlagEndStream  = 0x1 // DATA, HEADERS
	FlagAck        = 0x1 // SETTINGS, PING
	FlagEndHeaders = 0x4 // HEADERS, CONTINUATION
	FlagPadded     = 0x8 // DATA, HEADERS
	FlagPriority   = 0x20
)

// FrameHeaderLen is the size of a frame header (RFC 9113 §4.1).
const FrameHeaderLen = 9

// Preface is the client connection preface (RFC 9113 §3.4).
const Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// ErrCode is an error code of RST_STREAM and GOAWAY (RFC 9113 §7).
type ErrCode uint32

// The error codes of RFC 9113 §7.
const (
	NoError            ErrCode = 0x0
	ProtocolError      ErrCode = 0x1
	InternalError      ErrCode = 0x2
	FlowControlError   ErrCode = 0x3
	SettingsTimeout    ErrCode = 0x4
	StreamClosed       ErrCode = 0x5
	FrameSizeError     ErrCode = 0x6
	RefusedStream      ErrCode = 0x7
	Cancel             ErrCode = 0x8
	CompressionError   ErrCode = 0x9
	ConnectError       ErrCode = 0xa
	EnhanceYourCalm    ErrCode = 0xb
	InadequateSecurity ErrCode = 0xc
	HTTP11Required     ErrCode = 0xd
)

var errCodeNames = [...]string{"NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR",
	"SETTINGS_TIMEOUT", "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL",
	"COMPRESSION_ERROR", "CONNECT_ERROR", "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"}

// String returns the code's name as the RFC spells it.
func (c ErrCode) String() string {
	if int(c) < len(errCodeNames) {
		return errCodeNames[c]
	}
	return "UNKNOWN_ERROR"
}

// The settings of RFC 9113 §6.5.2.
const (
	settingHeaderTableSize      = 0x1
	settingEnablePush           = 0x2
	settingMaxConcurrentStreams = 0x3
	settingInitialWindowSize    = 0x4
	settingMaxFrameSize         = 0x5
	settingMaxHeaderListSize    = 0x6
)

// Protocol limits (RFC 9113 §4.2, §6.9.1).
const (
	minMaxFrameSize   = 1 << 14
	maxMaxFrameSize   = 1<<24 - 1
	maxWindow         = 1<<31 - 1
	defaultWindowSize = 65535
)

// frameHeader is a parsed frame header.
type frameHeader struct {
	length int
	typ    FrameType
	flags  uint8
	stream uint32
}

func (h frameHeader) has(flag uint8) bool { return h.flags&flag != 0 }

// parseFrameHeader reads the frame header at the start of b, which holds at
// least FrameHeaderLen bytes; the reserved bit of the stream identifier is
// ignored (RFC 9113 §4.1).
func parseFrameHeader(b []byte) frameHeader {
	return frameHeader{
		length: int(b[0])<<16 | int(b[1])<<8 | int(b[2]),
		typ:    FrameType(b[3]),
		flags:  b[4],
		stream: binary.BigEndian.Uint32(b[5:9]) & (1<<31 - 1),
	}
}

// appendFrameHeader appends a frame header.
func appendFrameHeader(b []byte, length int, typ FrameType, flags uint8, stream uint32) []byte {
	return append(b, byte(length>>16), byte(length>>8), byte(length), byte(typ), flags,
		byte(stream>>24), byte(stream>>16), byte(stream>>8), byte(stream))
}

// AppendFrame appends a whole frame. Tests and tools build frames with it.
func AppendFrame(b []byte, typ FrameType, flags uint8, stream uint32, payload []byte) []byte {
	b = appendFrameHeader(b, len(payload), typ, flags, stream)
	return append(b, payload...)
}

func appendUint32(b []byte, v uint32) []byte {
	return binary.BigEndian.AppendUint32(b, v)
}

// appendRSTStream appends RST_STREAM (RFC 9113 §6.4).
func appendRSTStream(b []byte, stream uint32, code ErrCode) []byte {
	b = appendFrameHeader(b, 4, FrameRSTStream, 0, stream)
	return appendUint32(b, uint32(code))
}

// appendGoAway appends GOAWAY (RFC 9113 §6.8) without debug data.
func appendGoAway(b []byte, lastStream uint32, code ErrCode) []byte {
	b = appendFrameHeader(b, 8, FrameGoAway, 0, 0)
	b = appendUint32(b, lastStream)
	return appendUint32(b, uint32(code))
}

// appendWindowUpdate appends WINDOW_UPDATE (RFC 9113 §6.9).
func appendWindowUpdate(b []byte, stream uint32, increment uint32) []byte {
	b = appendFrameHeader(b, 4, FrameWindowUpdate, 0, stream)
	return appendUint32(b, increment)
}

// appendSetting appends one setting's identifier and value.
func appendSetting(b []byte, id uint16, v uint32) []byte {
	b = binary.BigEndian.AppendUint16(b, id)
	return appendUint32(b, v)
}
