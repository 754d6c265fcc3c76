package server

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
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
