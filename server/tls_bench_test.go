package server

import (
	"bytes"
	"crypto/tls"
	"io"
	"testing"
)

// benchTLSRoundTrips is benchRoundTrips over TLS 1.3 (AES-128-GCM): our
// record layer opens each request and seals each response. Allocations
// are the whole process's: the server's step and crypto/tls's client.
func benchTLSRoundTrips(b *testing.B, path string) {
	s := startQuietTLS(b, "ciphers = [\"TLS_AES_128_GCM_SHA256\"]\n")
	c := tlsDial(b, s.tlsAddr, &tls.Config{MinVersion: tls.VersionTLS13})
	req := []byte("GET " + path + " HTTP/1.1\r\nHost: bench\r\n\r\n")
	c.Write(req)
	first := make([]byte, 64<<10)
	n, err := c.Read(first)
	if err != nil || !bytes.HasPrefix(first, []byte("HTTP/1.1 200")) {
		b.Fatalf("first response: %q, %v", first[:n], err)
	}
	resp := make([]byte, n)
	b.ReportAllocs()
	b.SetBytes(int64(n))
	b.ResetTimer()
	for range b.N {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, resp); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTLSKeepAliveHello(b *testing.B)     { benchTLSRoundTrips(b, "/hello") }
func BenchmarkTLSKeepAliveSmallFile(b *testing.B) { benchTLSRoundTrips(b, "/small.txt") }

// BenchmarkTLSHandshake is one full TLS 1.3 handshake (ECDSA P-256,
// X25519) and one request per connection, client and server in this
// process: the server's share of the CPU is measured by bench/run.sh
// (tls-handshake), this shows the allocations.
func BenchmarkTLSHandshake(b *testing.B) {
	s := startQuietTLS(b, certLines(b, "ecdsa-p256")+"groups = [\"x25519\"]\n")
	cfg := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13, CurvePreferences: []tls.CurveID{tls.X25519}}
	req := []byte("GET /hello HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		c, err := tls.Dial("tcp", s.tlsAddr, cfg)
		if err != nil {
			b.Fatal(err)
		}
		c.Write(req)
		if _, err := io.ReadAll(c); err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}
