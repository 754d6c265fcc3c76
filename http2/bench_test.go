package http2

import (
	"bytes"
	"testing"

	"golang.org/x/net/http2/hpack"

	"lwango/http1"
)

var helloBody = []byte("Hello, World!")

// benchConn is a connection past its preface and SETTINGS exchange, and a
// browser-like request header block that, replayed, uses only the HPACK
// entries its first sending added (as a client's repeated requests do).
func benchConn(b *testing.B) (*Engine, *Conn, []byte, *http1.Output) {
	e := &Engine{HTTP1: &http1.Engine{Handler: http1.HandlerFunc(func(req *http1.Request, resp *http1.Response) {
		resp.ContentType = "text/plain"
		resp.Body = helloBody
	}), MaxRequestSize: 4096, Date: []byte("Sat, 05 Dec 2026 11:00:00 GMT"), ServerName: "lwango"}}
	c := e.NewConn(true)
	var out http1.Output
	c.Start(&out)
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	block := func() []byte {
		buf.Reset()
		for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":path", "/hello"}, {":authority", "example.com"},
			{"user-agent", "h2load nghttp2/1.52.0"}, {"accept", "*/*"}, {"accept-encoding", "gzip, deflate, br"}} {
			enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		return bytes.Clone(buf.Bytes())
	}
	in := append([]byte(Preface), AppendFrame(nil, FrameSettings, 0, 0, nil)...)
	// The connection's send window as large as it goes: the benchmark
	// sends no more WINDOW_UPDATEs (2^31 bytes are 165 million responses).
	in = AppendFrame(in, FrameWindowUpdate, 0, 0, appendUint32(nil, maxWindow-defaultWindowSize))
	in = AppendFrame(in, FrameHeaders, FlagEndHeaders|FlagEndStream, 1, block())
	if n := c.Receive(in, &out); n != len(in) {
		b.Fatalf("consumed %d of %d", n, len(in))
	}
	discard(&out)
	return e, c, block(), &out
}

func discard(out *http1.Output) {
	for out.Pending() {
		out.Advance(int64(len(out.Next().Bytes)))
	}
}

// BenchmarkStream is one busy period of an HTTP/2 connection serving a
// small response: a HEADERS frame read, the request answered through the
// handler, HEADERS and DATA queued; allocations per request are reported.
func BenchmarkStream(b *testing.B) {
	for _, streams := range []int{1, 10} {
		b.Run(map[int]string{1: "1-stream", 10: "10-streams"}[streams], func(b *testing.B) {
			_, c, block, out := benchConn(b)
			id := uint32(3)
			var in []byte
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += streams {
				in = in[:0]
				for range streams {
					in = AppendFrame(in, FrameHeaders, FlagEndHeaders|FlagEndStream, id, block)
					id += 2
				}
				if n := c.Receive(in, out); n != len(in) {
					b.Fatalf("consumed %d of %d", n, len(in))
				}
				for c.Produce(out, 1<<16) {
				}
				discard(out)
				if !c.Idle() {
					b.Fatal("a stream is left")
				}
			}
		})
	}
}
