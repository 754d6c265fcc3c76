package http2

import (
	"bytes"
	"encoding/binary"
	"runtime"
	"testing"

	"golang.org/x/net/http2/hpack"

	"lwango/http1"
)

// testEngine answers every request with a body of the size in its query
// ("?n=1000"), or "ok".
func testEngine() *Engine {
	h1 := &http1.Engine{Handler: http1.HandlerFunc(func(req *http1.Request, resp *http1.Response) {
		resp.ContentType = "text/plain"
		if len(req.Query) > 2 && string(req.Query[:2]) == "n=" {
			n := 0
			for _, c := range req.Query[2:] {
				n = n*10 + int(c-'0')
			}
			resp.Body = bytes.Repeat([]byte{'x'}, min(n, 1<<20))
			return
		}
		resp.Body = []byte("ok")
	}), MaxRequestSize: 4096}
	return &Engine{HTTP1: h1}
}

// parsedFrame is a frame from the engine's output.
type parsedFrame struct {
	h       frameHeader
	payload []byte
}

// frames splits the engine's output into frames; it fails on a torn one.
func frames(t testing.TB, out *http1.Output) []parsedFrame {
	var b []byte
	for out.Pending() {
		seg := out.Next()
		if seg.File >= 0 {
			t.Fatal("file range in a test without files")
		}
		b = append(b, seg.Bytes...)
		out.Advance(int64(len(seg.Bytes)))
	}
	var fs []parsedFrame
	for len(b) > 0 {
		if len(b) < FrameHeaderLen {
			t.Fatalf("torn frame header: %x", b)
		}
		h := parseFrameHeader(b)
		if len(b) < FrameHeaderLen+h.length {
			t.Fatalf("torn frame: %+v, %d bytes", h, len(b))
		}
		fs = append(fs, parsedFrame{h, b[FrameHeaderLen : FrameHeaderLen+h.length]})
		b = b[FrameHeaderLen+h.length:]
	}
	return fs
}

func request(enc *hpack.Encoder, buf *bytes.Buffer, path string) []byte {
	buf.Reset()
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":path", path}, {":authority", "a"}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	return bytes.Clone(buf.Bytes())
}

// The stream states follow RFC 9113 §5.1's diagram.
func TestStreamStates(t *testing.T) {
	for _, tc := range []struct {
		from streamState
		ev   func(streamState) streamState
		to   streamState
	}{
		{stateIdle, streamState.recvHeaders, stateOpen},
		{stateOpen, streamState.recvEndStream, stateHalfClosedRemote},
		{stateOpen, streamState.sendEndStream, stateHalfClosedLocal},
		{stateHalfClosedRemote, streamState.sendEndStream, stateClosed},
		{stateHalfClosedLocal, streamState.recvEndStream, stateClosed},
		{stateHalfClosedRemote, streamState.recvEndStream, stateHalfClosedRemote},
	} {
		if got := tc.ev(tc.from); got != tc.to {
			t.Errorf("%v: got %v, want %v", tc.from, got, tc.to)
		}
	}
}

// Responses of several streams are interleaved a frame at a time, and a
// connection between requests holds no stream.
func TestFairInterleaving(t *testing.T) {
	e := testEngine()
	c := e.NewConn(true)
	var out http1.Output
	c.Start(&out)
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	in := []byte(Preface)
	in = AppendFrame(in, FrameSettings, 0, 0, nil)
	in = AppendFrame(in, FrameWindowUpdate, 0, 0, binary.BigEndian.AppendUint32(nil, 1<<20))
	for _, id := range []uint32{1, 3, 5} {
		in = AppendFrame(in, FrameHeaders, FlagEndHeaders|FlagEndStream, id, request(enc, &buf, "/?n=40000"))
	}
	if n := c.Receive(in, &out); n != len(in) {
		t.Fatalf("consumed %d of %d", n, len(in))
	}
	for c.Produce(&out, 1<<20) {
	}
	var order []uint32
	got := map[uint32]int{}
	for _, f := range frames(t, &out) {
		if f.h.typ == FrameData {
			order = append(order, f.h.stream)
			got[f.h.stream] += f.h.length
		}
	}
	// 40000 bytes in the 65535-byte stream windows: 16384+16384+7232 each.
	want := []uint32{1, 3, 5, 1, 3, 5, 1, 3, 5}
	if len(order) != len(want) {
		t.Fatalf("DATA frames on streams %v, want %v", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("DATA frames on streams %v, want %v", order, want)
		}
	}
	for _, id := range []uint32{1, 3, 5} {
		if got[id] != 40000 {
			t.Errorf("stream %d: %d bytes", id, got[id])
		}
	}
	if !c.Idle() || c.streams != nil {
		t.Fatalf("after the responses: %d streams held", len(c.streams))
	}
}

// Response header lines are sent with lowercase names, without the
// fields HTTP/2 forbids.
func TestWriteLines(t *testing.T) {
	e := testEngine()
	c := e.NewConn(false)
	e.encOut.b = nil
	c.writeLines([]byte("X-Frame-Options: DENY\r\nConnection: close\r\nKeep-Alive: 5\r\nETag:  \"x\" \r\n"))
	fields, err := hpack.NewDecoder(4096, nil).DecodeFull(e.encOut.b)
	if err != nil {
		t.Fatal(err)
	}
	if len(fields) != 2 || fields[0].Name != "x-frame-options" || fields[0].Value != "DENY" ||
		fields[1].Name != "etag" || fields[1].Value != `"x"` {
		t.Fatalf("%v", fields)
	}
}

// FuzzConn feeds arbitrary bytes after the preface, in pieces, to a
// connection: it never panics, every output frame is whole and well
// formed, and the output stays bounded by what the input can ask for.
func FuzzConn(f *testing.F) {
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	seed := AppendFrame(nil, FrameSettings, 0, 0, nil)
	seed = AppendFrame(seed, FrameHeaders, FlagEndHeaders|FlagEndStream, 1, request(enc, &buf, "/?n=100000"))
	seed = AppendFrame(seed, FramePing, 0, 0, make([]byte, 8))
	f.Add(seed, uint16(7))
	f.Add(AppendFrame(AppendFrame(nil, FrameSettings, 0, 0, nil), FrameHeaders, 0, 1, []byte{0x82, 0x84}), uint16(100))
	f.Add(AppendFrame(AppendFrame(nil, FrameSettings, 0, 0, nil), FrameContinuation, FlagEndHeaders, 1, []byte{0x82}), uint16(3))
	f.Fuzz(func(t *testing.T, data []byte, piece uint16) {
		e := testEngine()
		c := e.NewConn(false)
		var out http1.Output
		c.Start(&out)
		in := append([]byte(Preface), data...)
		step := int(piece)%InputSize + 1
		buffered := []byte{}
		total := 0
		for len(in) > 0 && !c.Done() {
			n := min(step, len(in))
			buffered = append(buffered, in[:n]...)
			in = in[n:]
			used := c.Receive(buffered, &out)
			buffered = buffered[used:]
			if len(buffered) > InputSize {
				t.Fatalf("%d bytes unconsumed: more than a frame", len(buffered))
			}
			for c.Produce(&out, 1<<16) {
			}
			for _, fr := range frames(t, &out) {
				total += FrameHeaderLen + fr.h.length
				if fr.h.length > minMaxFrameSize {
					t.Fatalf("frame of %d bytes", fr.h.length)
				}
			}
		}
		if total > 64*len(data)+(1<<21) {
			t.Fatalf("%d bytes out for %d in", total, len(data))
		}
		c.Close()
	})
}

// FuzzFrameHeader: the frame header parser reads any 9 bytes, and what
// appendFrameHeader writes it reads back.
func FuzzFrameHeader(f *testing.F) {
	f.Add([]byte{0, 0, 8, 6, 0, 0, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < FrameHeaderLen {
			return
		}
		h := parseFrameHeader(b)
		if h.length >= 1<<24 || h.stream >= 1<<31 {
			t.Fatalf("%+v", h)
		}
		again := parseFrameHeader(appendFrameHeader(nil, h.length, h.typ, h.flags, h.stream))
		if again != h {
			t.Fatalf("%+v read back as %+v", h, again)
		}
	})
}

// An idle connection, after a request like a browser's, holds no stream
// and no buffer: only its struct and its HPACK decoder's table. The test measures the Go
// heap each one keeps (1000 connections, sans-I/O) and bounds it.
func TestIdleConnMemory(t *testing.T) {
	e := testEngine()
	e.HTTP1.Date = []byte("Sat, 05 Dec 2026 11:00:00 GMT")
	e.HTTP1.ServerName = "lwango"
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {":authority", "example.com"},
		{"user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"},
		{"accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
		{"accept-encoding", "gzip, deflate, br, zstd"}, {"accept-language", "en-GB,en;q=0.9"}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	in := append([]byte(Preface), AppendFrame(nil, FrameSettings, 0, 0, nil)...)
	in = AppendFrame(in, FrameHeaders, FlagEndHeaders|FlagEndStream, 1, buf.Bytes())
	var out http1.Output
	const n = 1000
	conns := make([]*Conn, n)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range conns {
		c := e.NewConn(true)
		c.Start(&out)
		if used := c.Receive(in, &out); used != len(in) {
			t.Fatalf("consumed %d of %d", used, len(in))
		}
		for c.Produce(&out, 1<<16) {
		}
		frames(t, &out)
		if !c.Idle() || c.streams != nil {
			t.Fatal("a stream is held after its response")
		}
		conns[i] = c
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("idle HTTP/2 connection after one browser-like request: %.0f bytes of Go heap (struct, HPACK decoder and its table)", per)
	if per > 8<<10 {
		t.Errorf("%.0f bytes per idle connection, want at most 8 KiB", per)
	}
	runtime.KeepAlive(conns)
}

// Responses are encoded without a dynamic table by one encoder the loop's
// connections share: each connection's first header block opens with a
// dynamic table size update to 0 (RFC 7541 §6.3, 0x20), which the client's
// decoder, starting at 4096 bytes, must see before our blocks rely on an
// empty table; its later blocks do not repeat it; and every block decodes
// with that connection's own decoder, whatever the other connection was
// sent in between.
func TestEachConnectionLearnsTheEmptyTable(t *testing.T) {
	e := testEngine()
	type client struct {
		c   *Conn
		buf *bytes.Buffer
		enc *hpack.Encoder // its requests
		dec *hpack.Decoder // our responses
	}
	newClient := func() client {
		buf := new(bytes.Buffer)
		return client{e.NewConn(true), buf, hpack.NewEncoder(buf), hpack.NewDecoder(4096, nil)}
	}
	clients := []client{newClient(), newClient()}
	for round, id := range []uint32{1, 3} {
		for i, cl := range clients {
			var out http1.Output
			in := AppendFrame(nil, FrameHeaders, FlagEndHeaders|FlagEndStream, id, request(cl.enc, cl.buf, "/"))
			if round == 0 {
				cl.c.Start(&out)
				in = append(append([]byte(Preface), AppendFrame(nil, FrameSettings, 0, 0, nil)...), in...)
			}
			if n := cl.c.Receive(in, &out); n != len(in) {
				t.Fatalf("connection %d: consumed %d of %d", i, n, len(in))
			}
			for cl.c.Produce(&out, 1<<16) {
			}
			var block []byte
			for _, f := range frames(t, &out) {
				if f.h.typ == FrameHeaders {
					block = f.payload
				}
			}
			if block == nil {
				t.Fatalf("connection %d, stream %d: no HEADERS", i, id)
			}
			if sized := block[0] == 0x20; sized != (round == 0) {
				t.Errorf("connection %d, stream %d: block opens with %#x; a size update to 0 (0x20) wanted only in the first", i, id, block[0])
			}
			fields, err := cl.dec.DecodeFull(block)
			if err != nil || len(fields) == 0 || fields[0].Name != ":status" || fields[0].Value != "200" {
				t.Fatalf("connection %d, stream %d: %v %v", i, id, fields, err)
			}
		}
	}
}
