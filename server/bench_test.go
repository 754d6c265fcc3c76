package server

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2/hpack"

	"lwango/http2"
)

// benchRoundTrips sends req on one keep-alive connection b.N times, reading
// each response whole (every response has the size of the first: the Date
// header keeps its length), and reports allocations per request for the
// whole process: the server's step and the client's loop.
func benchRoundTrips(b *testing.B, path string, pipeline int) {
	ts := newTestSite(b)
	cfg := testConfig(b, ts, "threads = 1")
	cfg.Threads = 1
	_, addr := startServer(b, cfg, Options{})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Minute))
	req := bytes.Repeat([]byte("GET "+path+" HTTP/1.1\r\nHost: bench\r\n\r\n"), pipeline)

	// Learn the size of one batch of responses.
	c.Write(req[:len(req)/pipeline])
	first := make([]byte, 64<<10)
	n, err := c.Read(first)
	if err != nil || !bytes.HasPrefix(first, []byte("HTTP/1.1 200")) {
		b.Fatalf("first response: %q, %v", first[:n], err)
	}
	batch := make([]byte, n*pipeline)

	b.ReportAllocs()
	b.SetBytes(int64(len(batch)))
	b.ResetTimer()
	for i := 0; i < b.N; i += pipeline {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, batch); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkKeepAliveHello(b *testing.B)     { benchRoundTrips(b, "/hello", 1) }
func BenchmarkKeepAliveSmallFile(b *testing.B) { benchRoundTrips(b, "/small.txt", 1) }
func BenchmarkPipelinedHello(b *testing.B)     { benchRoundTrips(b, "/hello", 16) }

// benchH2RoundTrips sends one HTTP/2 request for path on one h2c
// connection b.N times, each after the last response came back whole, so
// that every request is a busy period of its own (the connection is idle
// in between), and reports allocations per request for the whole process
// (the client's side reads frames into fixed buffers). The request's
// header block is replayed as it was sent the second time, when it refers
// only to HPACK entries its first sending added (as a client's repeated
// requests do).
func benchH2RoundTrips(b *testing.B, path string) {
	ts := newTestSite(b)
	cfg := testConfig(b, ts, "h2c = true\nthreads = 1\n")
	_, addr := startServer(b, cfg, Options{})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Minute))
	var hbuf bytes.Buffer
	enc := hpack.NewEncoder(&hbuf)
	block := func() []byte {
		hbuf.Reset()
		for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":path", path}, {":authority", "bench"},
			{"user-agent", "h2load nghttp2/1.52.0"}, {"accept", "*/*"}} {
			enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		return bytes.Clone(hbuf.Bytes())
	}
	headers := func(id uint32, blk []byte) []byte {
		return http2.AppendFrame(nil, http2.FrameHeaders, http2.FlagEndHeaders|http2.FlagEndStream, id, blk)
	}
	var head [http2.FrameHeaderLen]byte
	payload := make([]byte, 1<<14)
	// response reads frames until stream id's END_STREAM.
	response := func(id uint32) {
		for {
			if _, err := io.ReadFull(c, head[:]); err != nil {
				b.Fatal(err)
			}
			n := int(head[0])<<16 | int(head[1])<<8 | int(head[2])
			if _, err := io.ReadFull(c, payload[:n]); err != nil {
				b.Fatal(err)
			}
			typ, flags, stream := http2.FrameType(head[3]), head[4], binary.BigEndian.Uint32(head[5:])
			if typ == http2.FrameRSTStream || typ == http2.FrameGoAway {
				b.Fatalf("frame %v on stream %d", typ, stream)
			}
			if stream == id && flags&http2.FlagEndStream != 0 && (typ == http2.FrameData || typ == http2.FrameHeaders) {
				return
			}
		}
	}
	// The preface, SETTINGS, the connection window as large as it goes,
	// and a first request, whose header block adds the HPACK entries.
	start := append([]byte(http2.Preface), http2.AppendFrame(nil, http2.FrameSettings, 0, 0, nil)...)
	start = append(start, http2.AppendFrame(nil, http2.FrameWindowUpdate, 0, 0, binary.BigEndian.AppendUint32(nil, 1<<31-1-65535))...)
	c.Write(append(start, headers(1, block())...))
	response(1)
	req := headers(3, block())
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		id := uint32(3 + 2*i)
		binary.BigEndian.PutUint32(req[5:], id)
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		response(id)
	}
}

func BenchmarkH2Hello(b *testing.B)     { benchH2RoundTrips(b, "/hello") }
func BenchmarkH2SmallFile(b *testing.B) { benchH2RoundTrips(b, "/small.txt") }
