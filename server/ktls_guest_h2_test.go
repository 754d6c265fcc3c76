//go:build vmguest

package server

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"io"
	"net"
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

// TestKTLSGuestH2RecordLimit: an HTTP/2 connection over kernel TLS that
// cannot move to a next key (TLS 1.2; TLS 1.3 under ktls_key_update =
// "close"; "rekey" on a kernel that cannot, Linux 6.1) and nears its key's
// record limit (1200 records here, counted conservatively) while streams
// are in flight ends as RFC 9113 §6.8 asks: GOAWAY NO_ERROR naming the last
// stream it took, every stream it took finished byte for byte (three of them
// held at a 16 KiB window until after the GOAWAY, so the server must go on
// reading WINDOW_UPDATEs), a stream the client opens after the GOAWAY
// ignored (no answer, no reset: its id is above the last stream, so a
// client retries it elsewhere), then close_notify. The records the server
// sent under its application key, counted on the wire, stay within the
// limit. With "rekey" on Linux 7.2 the server moves to its next transmit key
// instead, every 200 records, and the streams go on across its KeyUpdates
// (three times the limit on the wire) with no GOAWAY: the three held
// streams, begun under the first key, finish under the last.
func TestKTLSGuestH2RecordLimit(t *testing.T) {
	for _, c := range []struct {
		name, tlsLines string
		version        uint16
		rekey          bool // the server follows KeyUpdates, where the kernel can
	}{
		{"TLS 1.2", guestCases[3].tlsLines, tls.VersionTLS12, false},
		{"TLS 1.3 close", guestCases[0].tlsLines, tls.VersionTLS13, false},
		{"TLS 1.3 rekey", rekeyLines, tls.VersionTLS13, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			rekeys := c.rekey && guestKernelRekeys(t)
			limit := uint64(1200)
			if rekeys {
				limit = 200
			}
			g := startGuestServerOptions(t, c.tlsLines, Options{RekeyAfterRecords: limit})
			if c.rekey {
				checkKeyUpdateSetting(t, g)
			}
			raw, err := net.Dial("tcp", g.tlsAddr)
			if err != nil {
				t.Fatal(err)
			}
			wire := &recordWatch{Conn: raw}
			conn := tls.Client(wire, &tls.Config{InsecureSkipVerify: true, MinVersion: c.version, MaxVersion: c.version,
				NextProtos: []string{"h2"}})
			if err := conn.Handshake(); err != nil || conn.ConnectionState().NegotiatedProtocol != "h2" {
				t.Fatalf("handshake: %v, ALPN %q", err, conn.ConnectionState().NegotiatedProtocol)
			}
			r := startH2(t, conn, h2SmallWindow)
			conn.SetDeadline(time.Now().Add(5 * time.Minute)) // an emulated guest on a loaded host
			before := tlsStats(t)
			h := newH2Rounds(t, r, "/medium.bin", g.site.medium)
			if rekeys {
				h.run(200, func() bool { return uint64(wire.records) >= 3*limit })
				if h.goAway != nil {
					t.Fatalf("GOAWAY after %d records, with a next key to move to", wire.records)
				}
				h.finish()
				r.alive()
				moved := tlsStats(t)["TlsTxRekeyOk"] - before["TlsTxRekeyOk"]
				t.Logf("%d streams of 100 KiB in %d rounds, %d records on the wire, %d transmit rekeys, no GOAWAY", (h.next-1)/2, h.rounds, wire.records, moved)
				if moved < 2 {
					t.Errorf("TlsTxRekeyOk moved by %d over %d records at %d records per key, want at least 2", moved, wire.records, limit)
				}
				return
			}
			h.run(int(limit)/20, func() bool { return false })
			h.finish()
			h.checkGoAway()
			if err := h.frameAfterEnd(); err != io.EOF {
				t.Fatalf("after the last stream: %v, want the end with close_notify (io.EOF)", err)
			}
			waitFor(t, func() bool { return strings.Contains(g.log.String(), "near the record limit") }, "the reason in the server log")
			t.Logf("%d rounds; GOAWAY last stream %d with %d streams in flight; stream %d opened after it was ignored; %d records under the server's key, limit %d",
				h.rounds, h.goAway.LastStreamID, h.inFlight, h.afterGoAway, wire.records, limit)
			if wire.records > int(limit) || wire.records < int(limit)/2 {
				t.Errorf("the server sent %d records under its key; want at most the limit, %d, and at least half of it", wire.records, limit)
			}
			if wire.midRecord() || c.version == tls.VersionTLS12 && wire.lastType != recordTypeAlert || c.version == tls.VersionTLS13 && wire.lastLen != closeNotifyRecord {
				t.Errorf("the last record (type %d, %d bytes, cut %v) is not close_notify", wire.lastType, wire.lastLen, wire.midRecord())
			}
		})
	}
}
