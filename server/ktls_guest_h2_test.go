//go:build vmguest

package server

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// TestKTLSGuestH2: HTTP/2 after the hand-off to kernel TLS, for TLS 1.3 and
// 1.2 × the three ciphers. ALPN picks h2; a 6 MiB file arrives whole (by
// hash) through a 16 KiB stream window (each DATA frame a header written
// with MSG_MORE, then sendfile of its payload, the kernel sealing the
// records), then a small file; the access log says HTTP/2.0 and ktls.
func TestKTLSGuestH2(t *testing.T) {
	for _, tc := range guestCases {
		t.Run(tc.name, func(t *testing.T) {
			g := startGuestServer(t, tc.tlsLines)
			c, err := tls.Dial("tcp", g.tlsAddr, &tls.Config{InsecureSkipVerify: true, MinVersion: tc.version,
				MaxVersion: tc.version, NextProtos: []string{"h2"}})
			if err != nil {
				t.Fatal(err)
			}
			if st := c.ConnectionState(); st.NegotiatedProtocol != "h2" || st.CipherSuite != tc.suite {
				t.Fatalf("ALPN %q, suite %s", st.NegotiatedProtocol, tls.CipherSuiteName(st.CipherSuite))
			}
			r := startH2(t, c, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 16384})
			// 6 MiB in 384 window round trips through an emulated guest:
			// startH2's 30 s was too short with three guests on the host.
			c.SetDeadline(time.Now().Add(5 * time.Minute))
			r.headers(1, true, getFields("/big.bin")...)
			if status, body := r.response(1); status != "200" || sha256.Sum256(body) != sha256.Sum256(g.site.big) {
				t.Fatalf("big.bin: %s, %d bytes that differ from the %d of the file", status, len(body), len(g.site.big))
			}
			r.headers(3, true, getFields("/small.txt")...)
			if status, body := r.response(3); status != "200" || string(body) != "small file\n" {
				t.Fatalf("small.txt: %s %q", status, body)
			}
			waitFor(t, func() bool { return strings.Count(g.access.String(), "\n") == 2 }, "two access log lines")
			for _, line := range g.access.lines() {
				if !strings.Contains(line, "HTTP/2.0\" 200") || !strings.HasSuffix(line, " ktls") {
					t.Errorf("access log line %q", line)
				}
			}
		})
	}
}

// TestKTLSGuestH2GoAwayOnStop: a server stopping while an HTTP/2 stream is
// in flight over kernel TLS sends GOAWAY NO_ERROR naming it, finishes the
// stream, then closes.
func TestKTLSGuestH2GoAwayOnStop(t *testing.T) {
	ts := newTestSite(t)
	cfg := testConfig(t, ts, "threads = 1\n[tls_listener]\naddress = \"127.0.0.1:0\"\nktls = \"require\"\n")
	srv, err := New(cfg, Options{Tick: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	addr, _ := srv.TLSAddr()
	c, err := tls.Dial("tcp", addr.String(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	r := startH2(t, c, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
	c.SetDeadline(time.Now().Add(5 * time.Minute)) // an emulated guest on a loaded host
	r.headers(1, true, getFields("/big.bin")...)
	r.until(func(f http2.Frame) bool { _, ok := f.(*http2.MetaHeadersFrame); return ok })
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(60 * time.Second) }()
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				c.Write(frame(http2.FramePing, 0, 0, make([]byte, 8)...))
			}
		}
	}()
	r.until(func(f http2.Frame) bool {
		g, ok := f.(*http2.GoAwayFrame)
		if ok && (g.ErrCode != http2.ErrCodeNo || g.LastStreamID != 1) {
			t.Fatalf("GOAWAY %v, last stream %d", g.ErrCode, g.LastStreamID)
		}
		return ok
	})
	close(stop)
	r.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20})
	r.fr.WriteWindowUpdate(0, 16<<20)
	if _, body := r.response(1); !bytes.Equal(body, ts.big) {
		t.Fatalf("stream in flight: %d bytes of %d", len(body), len(ts.big))
	}
	r.expectEOF()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
