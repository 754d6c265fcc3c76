//go:build vmguest

package server

// These tests need a kernel with tls.ko loaded. They are built only with the
// vmguest tag and run inside the QEMU guest of kernel/vmtest
// (TestServerPackageInGuest), which checks that each TestKTLS* test ran and
// passed. The server does its own handshake (tlsstate); Go's crypto/tls and
// openssl s_client are the clients.

import (
	"bufio"
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"lwango/kernel"
)

// guestCase is one protocol version and cipher suite, chosen by the
// server's configuration (Go's client offers them all).
type guestCase struct {
	name     string
	version  uint16
	suite    uint16
	tlsLines string
}

var guestCases = []guestCase{
	{"TLS1.3-AES-128-GCM", tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256, `ciphers = ["TLS_AES_128_GCM_SHA256"]`},
	{"TLS1.3-AES-256-GCM", tls.VersionTLS13, tls.TLS_AES_256_GCM_SHA384, `ciphers = ["TLS_AES_256_GCM_SHA384"]`},
	{"TLS1.3-CHACHA20-POLY1305", tls.VersionTLS13, tls.TLS_CHACHA20_POLY1305_SHA256, `ciphers = ["TLS_CHACHA20_POLY1305_SHA256"]`},
	{"TLS1.2-AES-128-GCM", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "max_version = \"1.2\"\nciphers = [\"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\"]"},
	{"TLS1.2-AES-256-GCM", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "max_version = \"1.2\"\nciphers = [\"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384\"]"},
	{"TLS1.2-CHACHA20-POLY1305", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, "max_version = \"1.2\"\nciphers = [\"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256\"]"},
}

// guestServer is the real server with ktls = "require" in the guest, its
// access log, and everything it logs through slog.
type guestServer struct {
	srv     *Server
	site    *testSite
	tlsAddr string
	access  *syncBuffer
	log     *syncBuffer
}

func startGuestServer(t *testing.T, tlsLines string) *guestServer {
	t.Helper()
	return startGuestServerOptions(t, tlsLines, Options{})
}

// startGuestServerOptions is startGuestServer with server options (the
// access log is the guest server's own).
func startGuestServerOptions(t *testing.T, tlsLines string, opts Options) *guestServer {
	t.Helper()
	if ok, reason := kernel.ULPAvailable(); !ok {
		t.Fatalf("the guest must have kernel TLS: %s", reason)
	}
	g := &guestServer{site: newTestSite(t), access: &syncBuffer{}, log: &syncBuffer{}}
	previous := slog.Default()
	slog.SetDefault(testLogger(g.log))
	t.Cleanup(func() { slog.SetDefault(previous) })
	cfg := testConfig(t, g.site, "threads = 1\n[tls_listener]\naddress = \"127.0.0.1:0\"\nktls = \"require\"\n"+tlsLines+"\n")
	cfg.Quiet = false
	opts.AccessLog = g.access
	g.srv, _ = startServer(t, cfg, opts)
	tlsAddr, ok := g.srv.TLSAddr()
	if !ok {
		t.Fatal("no TLS listener")
	}
	g.tlsAddr = tlsAddr.String()
	if !strings.Contains(g.log.String(), "TLS records in the kernel (kTLS) after each handshake") {
		t.Fatalf("startup log does not say kernel TLS is in effect: %s", g.log.String())
	}
	checkStartupFeatures(t, g.log.String())
	// protect_keys (default on): every guest test runs under the seccomp filter.
	if !strings.Contains(tlsLines, "protect_keys = false") {
		if status, err := os.ReadFile("/proc/self/status"); err != nil || seccompMode(string(status)) != "2" {
			t.Fatalf("the server started without its seccomp filter (%v)", err)
		}
	}
	return g
}

// checkStartupFeatures: the startup line names the versions and ciphers the
// kernel took in both directions, and rekey as this guest kernel has it.
func checkStartupFeatures(t *testing.T, log string) {
	t.Helper()
	want := []string{"TX+RX: TLS1.3 AES-GCM-128, TLS1.3 AES-GCM-256, TLS1.3 CHACHA20-POLY1305, TLS1.2 AES-GCM-128, TLS1.2 AES-GCM-256, TLS1.2 CHACHA20-POLY1305",
		"TLS_RX_EXPECT_NO_PAD: yes"}
	switch os.Getenv("LWANGO_GUEST_KERNEL") {
	case "6.1":
		want = append(want, "TLS 1.3 rekey: no (Linux < 6.14)")
	case "7.2":
		want = append(want, "TLS 1.3 rekey: yes")
	default:
		t.Fatal("LWANGO_GUEST_KERNEL is not set; kernel/vmtest sets it")
	}
	for _, w := range want {
		if !strings.Contains(log, w) {
			t.Fatalf("startup log lacks %q: %s", w, log)
		}
	}
}

// dialGuest connects Go's TLS client, recording its secrets in keyLog.
func dialGuest(t *testing.T, addr string, version uint16, keyLog io.Writer) *tls.Conn {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MinVersion: version, MaxVersion: version, KeyLogWriter: keyLog})
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	c.SetDeadline(time.Now().Add(2 * time.Minute))
	t.Cleanup(func() { c.Close() })
	return c
}

// fetch sends a GET and reads the whole response.
func fetch(t *testing.T, c net.Conn, r *bufio.Reader, path string) []byte {
	t.Helper()
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", path); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d, %v", path, resp.StatusCode, err)
	}
	return body
}

func tlsStats(t *testing.T) map[string]uint64 {
	t.Helper()
	stats, err := kernel.TLSStats()
	if err != nil {
		t.Fatal(err)
	}
	return stats
}

// TestKTLSGuestServer: for TLS 1.3 and 1.2 × the three ciphers, the real
// server (our handshake) hands each connection to the kernel: a small
// response and a 6 MiB sendfile response (checked by hash) on one
// keep-alive connection, then close_notify both ways. The kernel counts
// the socket in both directions, and the access log says "ktls".
func TestKTLSGuestServer(t *testing.T) {
	for _, tc := range guestCases {
		t.Run(tc.name, func(t *testing.T) {
			g := startGuestServer(t, tc.tlsLines)
			before := tlsStats(t)
			c := dialGuest(t, g.tlsAddr, tc.version, nil)
			if st := c.ConnectionState(); st.Version != tc.version || st.CipherSuite != tc.suite {
				t.Fatalf("negotiated %s %s", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite))
			}
			r := bufio.NewReader(c)
			if body := fetch(t, c, r, "/small.txt"); string(body) != "small file\n" {
				t.Fatalf("small response %q", body)
			}
			during := tlsStats(t)
			if body := fetch(t, c, r, "/big.bin"); sha256.Sum256(body) != sha256.Sum256(g.site.big) {
				t.Fatalf("big response: %d bytes that differ from the %d of the file", len(body), len(g.site.big))
			}
			for _, name := range []string{"TlsTxSw", "TlsRxSw"} {
				if during[name] != before[name]+1 {
					t.Errorf("%s went from %d to %d, want +1", name, before[name], during[name])
				}
			}
			for _, name := range []string{"TlsCurrTxSw", "TlsCurrRxSw"} {
				if during[name] < before[name]+1 {
					t.Errorf("%s = %d with our connection open (before: %d)", name, during[name], before[name])
				}
			}
			// Our close_notify first; the server answers with its own, and
			// ReadAll ends without error only on a valid close_notify.
			if err := c.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			if rest, err := io.ReadAll(r); err != nil || len(rest) != 0 {
				t.Fatalf("after our close_notify: %q, %v", rest, err)
			}
			waitFor(t, func() bool { return strings.Count(g.access.String(), "\n") == 2 }, "two access log lines")
			for _, line := range g.access.lines() {
				if !strings.HasSuffix(line, " ktls") {
					t.Errorf("access log line %q does not say ktls", line)
				}
			}
			waitFor(t, func() bool { s := tlsStats(t); return s["TlsCurrTxSw"] == before["TlsCurrTxSw"] }, "the kTLS socket to close")
			t.Logf("tls_stat during: TlsCurrTxSw %d TlsCurrRxSw %d TlsTxSw %d TlsRxSw %d",
				during["TlsCurrTxSw"], during["TlsCurrRxSw"], during["TlsTxSw"], during["TlsRxSw"])
		})
	}
}

// TestKTLSGuestServerCloseNotifyFirst: the server closes first (the
// request says Connection: close) with close_notify, which openssl
// s_client (-quiet waits for the server) sees as a clean end.
func TestKTLSGuestServerCloseNotifyFirst(t *testing.T) {
	openssl := os.Getenv("LWANGO_GUEST_OPENSSL")
	if openssl == "" {
		t.Fatal("LWANGO_GUEST_OPENSSL is not set; kernel/vmtest provides openssl")
	}
	g := startGuestServer(t, `ciphers = ["TLS_CHACHA20_POLY1305_SHA256"]`)
	cmd := exec.Command(openssl, "s_client", "-connect", g.tlsAddr, "-quiet", "-tls1_3")
	cmd.Stdin = strings.NewReader("GET /small.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || !bytes.HasSuffix(out, []byte("\r\n\r\nsmall file\n")) {
		t.Fatalf("openssl: %v, %q; stderr %s", err, out, stderr.String())
	}
	waitFor(t, func() bool { return strings.HasSuffix(g.access.String(), " ktls\n") }, "the access log line")
}

// leftoverConn carries Go's TLS 1.3 client; it holds back
// everything after the ClientHello (the client's Finished) until the
// request is written too, then sends Finished and all of the request but
// its last split bytes in one write, and those once the server has
// completed its handshake (handshook is closed): the server reads its
// client's Finished together with a whole request record (split == 0) or
// part of one. Later writes pass straight through.
type leftoverConn struct {
	net.Conn
	writes    int
	held      []byte
	split     int
	handshook <-chan struct{}
	released  bool
}

func (c *leftoverConn) Write(p []byte) (int, error) {
	c.writes++
	if c.writes == 1 || c.released {
		return c.Conn.Write(p)
	}
	c.held = append(c.held, p...)
	return len(p), nil
}

// release sends what was held: all but the last split bytes at once, then
// those after the server's handshake.
func (c *leftoverConn) release() error {
	c.released = true
	first := c.held[:len(c.held)-c.split]
	if _, err := c.Conn.Write(first); err != nil {
		return err
	}
	if c.split == 0 {
		return nil
	}
	<-c.handshook
	_, err := c.Conn.Write(c.held[len(first):])
	return err
}

// TestKTLSGuestLeftover: the client's request arrives with its Finished,
// as a whole record or as part of one. Either way it is opened in user
// space (partial: after reading exactly the rest of that record), the
// receive keys go to the kernel with the following sequence number, and
// every copy of key material in the process is zero afterwards.
func TestKTLSGuestLeftover(t *testing.T) {
	const request = "GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n"
	for _, c := range []struct {
		name  string
		split int
	}{{"whole record", 0}, {"partial record", 20}} {
		t.Run(c.name, func(t *testing.T) {
			cfg, pool := testTLSConfig(t)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			reply := make(chan string, 1)
			handshook := make(chan struct{})
			var handshookOnce sync.Once
			endHandshake := func() { handshookOnce.Do(func() { close(handshook) }) }
			defer endHandshake() // also when the test fails before it
			go func() {
				raw, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					reply <- err.Error()
					return
				}
				wire := &leftoverConn{Conn: raw, split: c.split, handshook: handshook}
				client := tls.Client(wire, &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS13})
				defer client.Close()
				client.SetDeadline(time.Now().Add(time.Minute))
				err = client.Handshake()
				if err == nil {
					_, err = client.Write([]byte(request))
				}
				if err == nil {
					err = wire.release()
				}
				pong := make([]byte, 4)
				if err == nil {
					_, err = io.ReadFull(client, pong)
				}
				if err == nil {
					_, err = client.Write([]byte("again"))
				}
				if err != nil {
					reply <- err.Error()
					return
				}
				got, err := io.ReadAll(client)
				reply <- string(pong) + " " + string(got) + " " + errString(err)
			}()
			conn, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			h := serverHandshake(t, conn, cfg)
			endHandshake()
			if len(h.leftover) == 0 {
				t.Fatal("nothing arrived with the client's Finished")
			}
			sess := h.records.Session()
			keyBuffers := [][]byte{sess.TX.Key, sess.TX.IV, sess.TX.Secret, sess.RX.Key, sess.RX.IV, sess.RX.Secret}
			for _, b := range keyBuffers {
				if bytes.Count(b, []byte{0}) == len(b) {
					t.Fatal("a key buffer is zero before the hand-off")
				}
			}
			var log bytes.Buffer
			tr, err := handOffToKernel(h.fd, h.records, h.leftover, kernelTLSPolicy{handOff: true}, testLogger(&log))
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case c.split == 0 && (!tr.rxInKernel || len(tr.plain) != len(request)):
				t.Fatalf("whole record: RX in the kernel %v, %d bytes opened", tr.rxInKernel, len(tr.plain))
			case c.split > 0 && (tr.rxInKernel || len(tr.partial) == 0):
				t.Fatalf("partial record: RX in the kernel %v, %d bytes pending", tr.rxInKernel, len(tr.partial))
			}
			got, err := readRequestHead(h.raw, tr, make([]byte, 4096))
			if err != nil || got != request {
				t.Fatalf("request %q, %v", got, err)
			}
			if !tr.rxInKernel || tr.partial != nil {
				t.Fatal("the user-space receive side outlived the hand-off")
			}
			for i, b := range keyBuffers {
				if bytes.Count(b, []byte{0}) != len(b) {
					t.Errorf("key buffer %d is not zero after the hand-off: %x", i, b)
				}
			}
			if sess.TX.Key != nil || sess.RX.Secret != nil {
				t.Error("the session still references key buffers")
			}
			// The kernel carries on with the right sequence numbers both
			// ways: the client's next record follows the ones opened in
			// user space.
			if err := transportWrite(h.raw, tr, []byte("pong"), false); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 16)
			n, err := transportRead(h.raw, tr, buf)
			if err != nil || string(buf[:n]) != "again" {
				t.Fatalf("second record through the kernel: %q, %v", buf[:n], err)
			}
			if err := transportWrite(h.raw, tr, []byte("done"), false); err != nil {
				t.Fatal(err)
			}
			tr.Close()
			conn.Close()
			if r := <-reply; r != "pong done EOF" {
				t.Fatalf("client: %q", r)
			}
		})
	}
}

// clientKernelTX moves the TLS 1.3 AES-128-GCM client's sending side into
// the kernel with its application traffic secret from the key log, at
// sequence number seq, so that the test can send any record type.
func clientKernelTX(t *testing.T, c *tls.Conn, keyLog []byte, seq uint64) int {
	t.Helper()
	var secret []byte
	for _, line := range strings.Split(string(keyLog), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "CLIENT_TRAFFIC_SECRET_0" {
			secret, _ = hex.DecodeString(f[2])
		}
	}
	if secret == nil {
		t.Fatalf("no CLIENT_TRAFFIC_SECRET_0 in %q", keyLog)
	}
	key, iv := expandLabel(t, secret, "key", 16), expandLabel(t, secret, "iv", 12)
	keys, err := kernel.TLS13Keys(kernel.TLS_CIPHER_AES_GCM_128, key, iv, seq)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := c.NetConn().(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fd int
	raw.Control(func(f uintptr) {
		fd = int(f)
		err = errors.Join(kernel.EnableULP(fd), kernel.InstallTX(fd, keys))
	})
	if err != nil {
		t.Fatal(err)
	}
	return fd
}

// expandLabel is HKDF-Expand-Label with SHA-256 and an empty context (RFC 8446 §7.1).
func expandLabel(t *testing.T, secret []byte, label string, length int) []byte {
	t.Helper()
	out, err := hkdfExpandLabel(secret, label, length)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// hkdfExpandLabel is expandLabel for a helper process.
func hkdfExpandLabel(secret []byte, label string, length int) ([]byte, error) {
	full := "tls13 " + label
	info := binary.BigEndian.AppendUint16(nil, uint16(length))
	info = append(append(append(info, byte(len(full))), full...), 0)
	return hkdf.Expand(sha256.New, secret, string(info), length)
}

// TestKTLSGuestClientRecords: records the client sends on a connection the
// kernel carries: a KeyUpdate (which the process cannot follow: it keeps
// no traffic secret, and this kernel cannot rekey; the server closes
// cleanly with close_notify and logs why), a fatal alert (the server
// closes without a word), and a change_cipher_spec (unexpected_message).
func TestKTLSGuestClientRecords(t *testing.T) {
	for _, c := range []struct {
		name      string
		typ       uint8
		body      []byte
		clientErr string // "" for a clean end, "-" for any end (Go reports a bare TCP close as a clean one)
		log       string
	}{
		{"KeyUpdate", kernel.RecordHandshake, []byte{24, 0, 0, 1, 1}, "", "KeyUpdate"},
		{"fatal alert", kernel.RecordAlert, []byte{2, 40}, "-", "peer sent a fatal alert"},
		{"change_cipher_spec", kernel.RecordChangeCipherSpec, []byte{1}, "remote error: tls: unexpected message", "change_cipher_spec after the handshake"},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := startGuestServer(t, `ciphers = ["TLS_AES_128_GCM_SHA256"]`)
			var keyLog bytes.Buffer
			conn := dialGuest(t, g.tlsAddr, tls.VersionTLS13, &keyLog)
			r := bufio.NewReader(conn)
			if body := fetch(t, conn, r, "/hello"); string(body) != "Hello, World!" {
				t.Fatalf("before: %q", body)
			}
			fd := clientKernelTX(t, conn, keyLog.Bytes(), 1) // the request was record 0
			if _, err := kernel.SendRecord(fd, c.typ, c.body); err != nil {
				t.Fatal(err)
			}
			rest, err := io.ReadAll(r)
			switch {
			case len(rest) != 0:
				t.Fatalf("client read %q", rest)
			case c.clientErr == "" && err != nil, c.clientErr != "" && c.clientErr != "-" && (err == nil || !strings.Contains(err.Error(), c.clientErr)):
				t.Fatalf("client read error %v, want %q", err, c.clientErr)
			}
			waitFor(t, func() bool { return strings.Contains(g.log.String(), c.log) }, "the server's log line: "+c.log)
			t.Logf("server said: %s", lastLine(g.log.String()))
		})
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestKTLSGuestRenegotiationRefused: openssl s_client's "R" asks to
// renegotiate a TLS 1.2 connection the kernel carries; the server skips
// the ClientHello and answers with a warning no_renegotiation (sent as a
// kernel alert record), which OpenSSL 3 answers with handshake_failure.
func TestKTLSGuestRenegotiationRefused(t *testing.T) {
	openssl := os.Getenv("LWANGO_GUEST_OPENSSL")
	if openssl == "" {
		t.Fatal("LWANGO_GUEST_OPENSSL is not set; kernel/vmtest provides openssl")
	}
	g := startGuestServer(t, guestCases[3].tlsLines)
	cmd := exec.Command(openssl, "s_client", "-connect", g.tlsAddr, "-tls1_2")
	cmd.Stdin = strings.NewReader("R\n")
	out, _ := cmd.CombinedOutput()
	if !bytes.Contains(out, []byte("RENEGOTIATING")) || !bytes.Contains(out, []byte("no renegotiation")) {
		t.Errorf("client output does not report the refused renegotiation:\n%s", out)
	}
	waitFor(t, func() bool { return strings.Contains(g.log.String(), "alert=handshake_failure") }, "the client's handshake_failure in the server log")
}

// TestKTLSGuestTransportNames: one server, ktls = "off": the same client
// gets user-space records ("tls" in the access log) and the kernel's
// counters do not move.
func TestKTLSGuestTransportNames(t *testing.T) {
	ts := newTestSite(t)
	cfg := testConfig(t, ts, "threads = 1\n[tls_listener]\naddress = \"127.0.0.1:0\"\nktls = \"off\"\n")
	cfg.Quiet = false
	access := &syncBuffer{}
	srv, _ := startServer(t, cfg, Options{AccessLog: access})
	addr, _ := srv.TLSAddr()
	before := tlsStats(t)
	c := dialGuest(t, addr.String(), tls.VersionTLS13, nil)
	if body := fetch(t, c, bufio.NewReader(c), "/small.txt"); string(body) != "small file\n" {
		t.Fatalf("%q", body)
	}
	after := tlsStats(t)
	if after["TlsTxSw"] != before["TlsTxSw"] || after["TlsRxSw"] != before["TlsRxSw"] {
		t.Errorf("ktls = off moved the kernel's counters: %v -> %v", before, after)
	}
	waitFor(t, func() bool { return strings.HasSuffix(access.String(), " tls\n") }, `"tls" in the access log`)
}

// TestKTLSGuestMetrics: a connection handed to kernel TLS is counted open
// with transport "ktls" while it lives (its count moved from "tls" at the
// hand-off, not added: "tls" stays 0), idle between requests (with its
// state dropped) and after its next request, and the metrics carry the
// kernel's /proc/net/tls_stat, whose counters move with it.
func TestKTLSGuestMetrics(t *testing.T) {
	g := startGuestServer(t, "\n[[site.metrics]]\nprefix = \"/metrics\"")
	scrape := func() string {
		resp, err := http.Get("http://" + g.srv.Addr().String() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("/metrics: %d %v", resp.StatusCode, err)
		}
		return string(body)
	}
	sample := func(text, series string) uint64 {
		for _, line := range strings.Split(text, "\n") {
			if v, ok := strings.CutPrefix(line, series+" "); ok {
				var n uint64
				fmt.Sscan(v, &n)
				return n
			}
		}
		t.Fatalf("no sample %s in:\n%s", series, text)
		return 0
	}
	before := scrape()
	c := dialGuest(t, g.tlsAddr, tls.VersionTLS13, nil)
	fetch(t, c, bufio.NewReader(c), "/small.txt")
	during := scrape()
	open := func(text string) (tls, ktls uint64) {
		return sample(text, `lwango_connections_open{loop="0",transport="tls"}`), sample(text, `lwango_connections_open{loop="0",transport="ktls"}`)
	}
	if tls, ktls := open(during); tls != 0 || ktls != 1 {
		t.Errorf("connections open after the hand-off: %d tls, %d ktls; want 0 and 1", tls, ktls)
	}
	if n := sample(during, `lwango_kernel_tls_current{stat="TlsCurrTxSw"}`); n < 1 {
		t.Errorf("TlsCurrTxSw %d with a kernel TLS connection open", n)
	}
	if a, b := sample(during, `lwango_kernel_tls_total{stat="TlsTxSw"}`), sample(before, `lwango_kernel_tls_total{stat="TlsTxSw"}`); a != b+1 {
		t.Errorf("TlsTxSw %d -> %d, want one more", b, a)
	}
	fetch(t, c, bufio.NewReader(c), "/small.txt")
	if tls, ktls := open(scrape()); tls != 0 || ktls != 1 {
		t.Errorf("connections open after the next request: %d tls, %d ktls; want 0 and 1", tls, ktls)
	}
	c.Close()
	waitFor(t, func() bool {
		tls, ktls := open(scrape())
		return tls == 0 && ktls == 0
	}, "the kernel TLS connection counted closed")
}
