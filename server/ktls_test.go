package server

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"lwango/coro"
	"lwango/internal/testenv"
	"lwango/kernel"
	"lwango/site"
	"lwango/tlsstate"
)

func TestKernelCipherForEverySuite(t *testing.T) {
	want := map[tlsstate.CipherSuite]uint16{
		tlsstate.AES128GCMSHA256:                      kernel.TLS_CIPHER_AES_GCM_128,
		tlsstate.AES256GCMSHA384:                      kernel.TLS_CIPHER_AES_GCM_256,
		tlsstate.ChaCha20Poly1305SHA256:               kernel.TLS_CIPHER_CHACHA20_POLY1305,
		tlsstate.ECDHEECDSAWithAES128GCMSHA256:        kernel.TLS_CIPHER_AES_GCM_128,
		tlsstate.ECDHERSAWithAES128GCMSHA256:          kernel.TLS_CIPHER_AES_GCM_128,
		tlsstate.ECDHEECDSAWithAES256GCMSHA384:        kernel.TLS_CIPHER_AES_GCM_256,
		tlsstate.ECDHERSAWithAES256GCMSHA384:          kernel.TLS_CIPHER_AES_GCM_256,
		tlsstate.ECDHEECDSAWithChaCha20Poly1305SHA256: kernel.TLS_CIPHER_CHACHA20_POLY1305,
		tlsstate.ECDHERSAWithChaCha20Poly1305SHA256:   kernel.TLS_CIPHER_CHACHA20_POLY1305,
	}
	for _, suite := range append(append([]tlsstate.CipherSuite{}, tlsstate.DefaultCipherSuites...), tlsstate.DefaultCipherSuites12...) {
		if _, ok := want[suite]; !ok {
			t.Errorf("suite %v is negotiable but not in this test's table", suite)
		}
	}
	for suite, cipher := range want {
		if got, ok := kernelCipher(suite); !ok || got != cipher {
			t.Errorf("kernelCipher(%v) = %d, %v; want %d", suite, got, ok, cipher)
		}
	}
	if _, ok := kernelCipher(0x00ff); ok {
		t.Error("kernelCipher accepted an unknown suite")
	}
}

// TestKernelKeysLayout: the session's keys land in the crypto_info fields
// the kernel expects for each version (aliasing the session's buffers, so
// that zeroing the session zeroes them).
func TestKernelKeysLayout(t *testing.T) {
	iv12 := []byte("0123456789ab")
	key16, key32 := bytes.Repeat([]byte{7}, 16), bytes.Repeat([]byte{9}, 32)

	sess := &tlsstate.Session{Version: tlsstate.VersionTLS13, CipherSuite: tlsstate.AES128GCMSHA256}
	k, err := kernelKeys(sess, &tlsstate.TrafficKeys{Key: key16, IV: iv12, Seq: 3})
	if err != nil || k.Version != kernel.TLS_1_3_VERSION || k.Cipher != kernel.TLS_CIPHER_AES_GCM_128 ||
		string(k.Salt) != "0123" || string(k.IV) != "456789ab" || k.Seq != 3 || &k.Key[0] != &key16[0] {
		t.Errorf("TLS 1.3 AES-128-GCM: %+v, %v", k, err)
	}

	sess = &tlsstate.Session{Version: tlsstate.VersionTLS12, CipherSuite: tlsstate.ECDHERSAWithAES256GCMSHA384}
	k, err = kernelKeys(sess, &tlsstate.TrafficKeys{Key: key32, IV: []byte("salt"), Seq: 1})
	if err != nil || k.Version != kernel.TLS_1_2_VERSION || k.Cipher != kernel.TLS_CIPHER_AES_GCM_256 ||
		string(k.Salt) != "salt" || !bytes.Equal(k.IV, []byte{0, 0, 0, 0, 0, 0, 0, 1}) || k.Seq != 1 {
		t.Errorf("TLS 1.2 AES-256-GCM: %+v, %v", k, err)
	}

	sess = &tlsstate.Session{Version: tlsstate.VersionTLS12, CipherSuite: tlsstate.ECDHEECDSAWithChaCha20Poly1305SHA256}
	k, err = kernelKeys(sess, &tlsstate.TrafficKeys{Key: key32, IV: iv12, Seq: 1})
	if err != nil || k.Cipher != kernel.TLS_CIPHER_CHACHA20_POLY1305 || len(k.Salt) != 0 || string(k.IV) != string(iv12) {
		t.Errorf("TLS 1.2 ChaCha20-Poly1305: %+v, %v", k, err)
	}

	sess = &tlsstate.Session{Version: tlsstate.VersionTLS13, CipherSuite: tlsstate.AES256GCMSHA384}
	if _, err := kernelKeys(sess, &tlsstate.TrafficKeys{Key: key16, IV: iv12}); err == nil {
		t.Error("a 16-byte key for AES-256-GCM was accepted")
	}
}

func tlsSiteConfig(mode site.KTLSMode) *site.Config {
	return &site.Config{File: "lwan.conf", TLS: &site.TLSListener{KTLS: mode}}
}

// TestKernelTLSPolicy: one startup line per listener, saying which record
// layer is in effect and why; require without the ULP is a config error.
func TestKernelTLSPolicy(t *testing.T) {
	have := func() kernel.Features {
		return kernel.Features{Available: true, Reason: `kernel TLS available (tcp_available_ulp "tls")`}
	}
	lack := func() kernel.Features { return kernel.Features{Reason: "tls ULP not available: modprobe tls"} }
	probeNotCalled := func() kernel.Features { t.Fatal("ktls = off probed the kernel"); return kernel.Features{} }
	for _, c := range []struct {
		name        string
		mode        site.KTLSMode
		probe       featureProbe
		want        kernelTLSPolicy
		line, error string
	}{
		{"auto with ULP", site.KTLSAuto, have, kernelTLSPolicy{handOff: true}, `level=INFO msg="TLS records in the kernel (kTLS) after each handshake: kernel TLS available`, ""},
		{"auto without", site.KTLSAuto, lack, kernelTLSPolicy{}, `level=WARN msg="TLS records in user space: tls ULP not available: modprobe tls"`, ""},
		{"require with ULP", site.KTLSRequire, have, kernelTLSPolicy{handOff: true, required: true}, "ktls=require", ""},
		{"require without", site.KTLSRequire, lack, kernelTLSPolicy{}, "", `lwan.conf: tls_listener.ktls: "require", but tls ULP not available: modprobe tls; load it or set ktls = "auto"`},
		{"off", site.KTLSOff, probeNotCalled, kernelTLSPolicy{}, `msg="TLS records in user space: ktls = \"off\""`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var log bytes.Buffer
			p, err := newKernelTLSPolicy(tlsSiteConfig(c.mode), c.probe, testLogger(&log))
			if c.error != "" {
				if err == nil || err.Error() != c.error {
					t.Fatalf("error %v, want %s", err, c.error)
				}
				if log.Len() != 0 {
					t.Errorf("logged %q besides failing", log.String())
				}
				return
			}
			if err != nil || p != c.want {
				t.Fatalf("policy %+v, %v; want %+v", p, err, c.want)
			}
			if strings.Count(log.String(), "\n") != 1 || !strings.Contains(log.String(), c.line) {
				t.Errorf("startup log %q, want one line with %s", log.String(), c.line)
			}
		})
	}
}

// TestKernelTLSPolicyFeatures: the startup line names what the kernel
// offers, and ktls_key_update = "rekey" takes effect only on a kernel that
// can take new keys; ktls_rx_expect_no_pad only where the kernel has it.
func TestKernelTLSPolicyFeatures(t *testing.T) {
	full := kernel.Features{Available: true, Reason: "kernel TLS available", Rekey: true, RXExpectNoPad: true,
		Ciphers: []kernel.CipherProbe{{Version: kernel.TLS_1_3_VERSION, Cipher: kernel.TLS_CIPHER_AES_GCM_128, TX: true, RX: true}}}
	old := full
	old.Rekey = false
	for _, c := range []struct {
		name         string
		rekey, noPad bool
		features     kernel.Features
		want         kernelTLSPolicy
		line1, line2 string
	}{
		{"rekey on 7.2", true, true, full, kernelTLSPolicy{handOff: true, rekey: true, rxNoPad: true},
			"TX+RX: TLS1.3 AES-GCM-128; TLS 1.3 rekey: yes", "ktls_key_update=rekey ktls_rx_expect_no_pad=true"},
		{"rekey on 6.1", true, false, old, kernelTLSPolicy{handOff: true},
			"TLS 1.3 rekey: no (Linux < 6.14)", `ktls_key_update="close (rekey is set, but this kernel cannot take new keys`},
		{"close", false, false, full, kernelTLSPolicy{handOff: true}, "TLS_RX_EXPECT_NO_PAD: yes", "ktls_key_update=close ktls_rx_expect_no_pad=false"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := tlsSiteConfig(site.KTLSAuto)
			cfg.TLS.KTLSRekey, cfg.TLS.RXExpectNoPad = c.rekey, c.noPad
			var log bytes.Buffer
			p, err := newKernelTLSPolicy(cfg, func() kernel.Features { return c.features }, testLogger(&log))
			if err != nil || p != c.want {
				t.Fatalf("policy %+v, %v; want %+v", p, err, c.want)
			}
			if !strings.Contains(log.String(), c.line1) || !strings.Contains(log.String(), c.line2) {
				t.Errorf("startup line %q, want %q and %q", log.String(), c.line1, c.line2)
			}
		})
	}
}

// needNoKernelTLS stops a test of what happens when the kernel refuses
// kernel TLS, on a host whose kernel has it: there the refusal cannot
// happen, and the guest suite, whose kernels all have it, cannot test it
// either. CI's host has no tls ULP, as this machine: under CI=true such a
// host fails the test (testenv.Missing) rather than let it pass unrun.
func needNoKernelTLS(t *testing.T) {
	t.Helper()
	if ok, reason := kernel.ULPAvailable(); ok {
		testenv.Missing(t, "this host has kernel TLS (%s); the test needs a kernel without the tls ULP, as CI's host is", reason)
	}
}

// TestRequireFailsWithoutULPOnThisHost: the real probe on a kernel
// without CONFIG_TLS (this machine and CI) makes "require" a startup error.
func TestRequireFailsWithoutULPOnThisHost(t *testing.T) {
	needNoKernelTLS(t)
	_, err := newKernelTLSPolicy(tlsSiteConfig(site.KTLSRequire), kernel.ProbeFeatures, testLogger(io.Discard))
	if err == nil || !strings.Contains(err.Error(), "tls_listener.ktls") || !strings.Contains(err.Error(), "tls ULP not available") {
		t.Fatalf("require without the ULP: %v", err)
	}
}

// TestHandOffRefusedLeavesUserSpaceIntact: on a kernel without the tls ULP
// the hand-off is refused before anything changes, so under "auto" the
// connection goes on in user space with the same keys and sequence
// numbers, and under "require" the refusal is an error.
func TestHandOffRefusedLeavesUserSpaceIntact(t *testing.T) {
	needNoKernelTLS(t)
	cfg, pool := testTLSConfig(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	reply := make(chan string, 1)
	go func() {
		c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "localhost"})
		if err != nil {
			reply <- err.Error()
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write([]byte("ping"))
		got, err := io.ReadAll(c)
		reply <- string(got) + " " + errString(err)
	}()
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	h := serverHandshake(t, conn, cfg)
	sess := h.records.Session()
	keysBefore := bytes.Join([][]byte{sess.TX.Key, sess.TX.IV, sess.TX.Secret, sess.RX.Key, sess.RX.IV, sess.RX.Secret}, nil)
	leftoverBefore := bytes.Clone(h.leftover)

	if _, err := (kernelTLSPolicy{handOff: true, required: true}).tryKernel(h.fd, h.records, h.leftover, testLogger(io.Discard)); !errors.Is(err, errKernelRefused) {
		t.Fatalf("require: %v, want errKernelRefused", err)
	}
	var log bytes.Buffer
	tr, err := (kernelTLSPolicy{handOff: true}).tryKernel(h.fd, h.records, h.leftover, testLogger(&log))
	if tr != nil || err != nil {
		t.Fatalf("auto: %v, %v; want user space", tr, err)
	}
	if !strings.Contains(log.String(), "stays in user space") {
		t.Errorf("auto refusal log: %q", log.String())
	}
	keysAfter := bytes.Join([][]byte{sess.TX.Key, sess.TX.IV, sess.TX.Secret, sess.RX.Key, sess.RX.IV, sess.RX.Secret}, nil)
	if !bytes.Equal(keysBefore, keysAfter) || bytes.Count(keysAfter, []byte{0}) == len(keysAfter) || !bytes.Equal(leftoverBefore, h.leftover) {
		t.Fatal("a refused hand-off changed the session's keys or the leftover bytes")
	}

	// User space carries on: the client's "ping" and our "pong", then close_notify.
	in := h.leftover
	var plain []byte
	buf := make([]byte, 4096)
	for len(plain) < 4 {
		n, p, out, err := h.records.Open(in, plain, nil)
		plain, in = p, in[n:]
		if err != nil || len(out) > 0 {
			t.Fatalf("user-space open: %v, reply %x", err, out)
		}
		if len(plain) >= 4 {
			break
		}
		m, err := conn.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		in = append(in, buf[:m]...)
	}
	out, err := h.records.Seal(nil, []byte("pong"))
	if err != nil {
		t.Fatal(err)
	}
	conn.Write(h.records.CloseNotify(out))
	if got := <-reply; string(plain) != "ping" || got != "pong EOF" {
		t.Fatalf("server read %q, client read %q", plain, got)
	}
	h.records.Zero()
}

func errString(err error) string {
	if err == nil {
		return "EOF"
	}
	return err.Error()
}

// controlTransport is a kTLS transport over one end of a Unix socket pair:
// SendRecord on it passes the record body through (AF_UNIX ignores the
// SOL_TLS cmsg), so the other end reads the alerts the transport sends.
func controlTransport(t *testing.T, version uint16) (*kernelRecords, int, *bytes.Buffer) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	var log bytes.Buffer
	return &kernelRecords{fd: fds[0], ch: kernelChannel(t, version), log: testLogger(&log), rxInKernel: true}, fds[1], &log
}

// kernelChannel is a channel whose keys (random ones) have both been
// handed to a kernel that takes them as they are: it only judges and
// frames, as after a real hand-off.
func kernelChannel(t *testing.T, version uint16) *tlsstate.Channel {
	t.Helper()
	sess := &tlsstate.Session{Version: version, CipherSuite: tlsstate.AES128GCMSHA256}
	ivLen := 12
	if version == tlsstate.VersionTLS12 {
		sess.CipherSuite, ivLen = tlsstate.ECDHERSAWithAES128GCMSHA256, 4
	}
	for _, k := range []*tlsstate.TrafficKeys{&sess.RX, &sess.TX} {
		k.Key, k.IV = make([]byte, 16), make([]byte, ivLen)
		rand.Read(k.Key)
	}
	ch, err := tlsstate.NewChannel(sess, &tlsstate.Config{})
	if err != nil {
		t.Fatal(err)
	}
	accept := func(*tlsstate.Session, *tlsstate.TrafficKeys) error { return nil }
	if ch.HandOff(tlsstate.Transmit, accept) != nil || ch.HandOff(tlsstate.Receive, accept) != nil {
		t.Fatal("hand-off")
	}
	return ch
}

// sent reads what the transport has sent to the peer so far.
func sent(fd int) []byte {
	buf := make([]byte, 64)
	n, err := unix.Read(fd, buf)
	if err != nil {
		return nil
	}
	return buf[:n]
}

// TestKernelControlRecords: what the kernel path does with each non-data
// record (content as the kernel hands it over after decryption).
func TestKernelControlRecords(t *testing.T) {
	const v12, v13 = tlsstate.VersionTLS12, tlsstate.VersionTLS13
	type step struct {
		typ  uint8
		data string
	}
	for _, c := range []struct {
		name    string
		version uint16
		steps   []step
		err     string // error of the last step ("" none, "EOF" io.EOF)
		sent    string // alert bodies sent, as hex
		close   string // what Close then sends
		log     string
	}{
		{"close_notify", v13, []step{{21, "\x01\x00"}}, "EOF", "", "0100", ""},
		{"user_canceled is ignored", v13, []step{{21, "\x01\x5a"}}, "", "", "0100", ""},
		{"TLS 1.3 warning is fatal", v13, []step{{21, "\x01\x28"}}, "tls: peer sent handshake_failure", "", "", "alert=handshake_failure"},
		{"TLS 1.2 warning is ignored", v12, []step{{21, "\x01\x28"}}, "", "", "0100", ""},
		{"fatal alert", v12, []step{{21, "\x02\x14"}}, "tls: peer sent bad_record_mac", "", "", "alert=bad_record_mac"},
		{"alert of the wrong length", v13, []step{{21, "\x02"}}, "tls: sent decode_error: alert record of the wrong length", "0232", "", ""},
		{"KeyUpdate closes cleanly", v13, []step{{22, "\x18\x00\x00\x01\x01"}}, "EOF", "", "0100", `reason="peer KeyUpdate: kernel TLS keeps no traffic secret to follow it"`},
		{"TLS 1.3 ClientHello", v13, []step{{22, "\x01\x00\x00\x02ab"}}, "tls: sent unexpected_message: unexpected post-handshake message", "020a", "", ""},
		{"TLS 1.2 HelloRequest", v12, []step{{22, "\x00\x00\x00\x00"}}, "tls: sent unexpected_message: unexpected post-handshake message", "020a", "", ""},
		{"renegotiation refused", v12, []step{{22, "\x01\x00"}, {22, "\x00\x05ab"}, {22, "cde"}}, "", "0164", "0100", ""},
		{"two ClientHellos in one record", v12, []step{{22, "\x01\x00\x00\x01x\x01\x00\x00\x00"}}, "", "01640164", "0100", ""},
		{"ClientHello too long", v12, []step{{22, "\x01\x01\x00\x01"}}, "tls: sent decode_error: handshake message too long", "0232", "", ""},
		{"empty handshake record", v12, []step{{22, ""}}, "tls: sent unexpected_message: empty handshake record", "020a", "", ""},
		{"empty TLS 1.3 handshake record", v13, []step{{22, ""}}, "tls: sent unexpected_message: empty handshake record", "020a", "", ""},
		{"empty alert record", v13, []step{{21, ""}}, "tls: sent unexpected_message: empty alert record", "020a", "", ""},
		{"change_cipher_spec", v13, []step{{20, "\x01"}}, "tls: sent unexpected_message: change_cipher_spec after the handshake", "020a", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr, peer, log := controlTransport(t, c.version)
			var err error
			for _, s := range c.steps {
				err = tr.control(s.typ, []byte(s.data))
			}
			switch {
			case c.err == "EOF" && err != io.EOF, c.err == "" && err != nil, c.err != "" && c.err != "EOF" && (err == nil || err.Error() != c.err):
				t.Fatalf("error %v, want %s", err, c.err)
			}
			if got := hexString(sent(peer)); got != c.sent {
				t.Errorf("sent %s, want %s", got, c.sent)
			}
			tr.Close()
			if got := hexString(sent(peer)); got != c.close {
				t.Errorf("Close sent %s, want %s", got, c.close)
			}
			if !strings.Contains(log.String(), c.log) {
				t.Errorf("log %q, want %s", log.String(), c.log)
			}
		})
	}
}

// TestKernelControlRecordsInARow: warnings without data in between are bounded.
func TestKernelControlRecordsInARow(t *testing.T) {
	tr, peer, _ := controlTransport(t, tlsstate.VersionTLS12)
	var err error
	for range tlsstate.MaxRecordsWithoutData + 1 {
		if err = tr.control(kernel.RecordAlert, []byte{1, 90}); err != nil {
			break
		}
	}
	if err == nil || !strings.Contains(err.Error(), "too many records without application data") || hexString(sent(peer)) != "020a" {
		t.Fatalf("after %d warnings: %v", tlsstate.MaxRecordsWithoutData+1, err)
	}
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	var s strings.Builder
	for _, c := range b {
		s.WriteByte(digits[c>>4])
		s.WriteByte(digits[c&15])
	}
	return s.String()
}

// TestServerRequireFailsToStartWithoutULP: server.New with ktls = "require"
// on a kernel without the tls ULP (this host, CI) is a startup error that
// names the key and says what is missing.
func TestServerRequireFailsToStartWithoutULP(t *testing.T) {
	needNoKernelTLS(t)
	cfg := testConfig(t, newTestSite(t), "[tls_listener]\naddress = \"127.0.0.1:0\"\nktls = \"require\"\n")
	srv, err := New(cfg, Options{})
	if err == nil {
		srv.Shutdown(time.Second)
		t.Fatal("the server started with ktls = require and no tls ULP")
	}
	if !strings.Contains(err.Error(), `test.conf:5: tls_listener.ktls: "require", but tls ULP not available: modprobe tls`) {
		t.Fatalf("error %q", err)
	}
}

// TestRequireRefusalSendsAlert: under "require", a connection whose keys
// the kernel refuses gets a fatal internal_error alert after its handshake
// and is closed (here the kernel refuses because it has no tls ULP).
func TestRequireRefusalSendsAlert(t *testing.T) {
	needNoKernelTLS(t)
	cfg, pool := testTLSConfig(t)
	listener := &tlsListener{}
	listener.settings.Store(&tlsSettings{config: cfg, kernel: kernelTLSPolicy{handOff: true, required: true}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	clientErr := make(chan error, 1)
	go func() {
		c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "localhost"})
		if err != nil {
			clientErr <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		_, err = c.Read(make([]byte, 1))
		clientErr <- err
	}()
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	raw, _ := conn.(*net.TCPConn).SyscallConn()
	var tr Transport
	raw.Control(func(fd uintptr) {
		tr, _ = listener.newTransport(int(fd), newTLSBuffers(), &tlsGauges{}, slog.Default())
	})
	var hsErr error
	raw.Read(func(uintptr) bool {
		hsErr = tr.Handshake()
		return hsErr != coro.ErrWantRead
	})
	if hsErr != nil {
		t.Fatalf("handshake: %v", hsErr)
	}
	_, err = tr.Established()
	if !errors.Is(err, errKernelRefused) || tr.Name() != "tls" {
		t.Fatalf("Established under require: %s, %v", tr.Name(), err)
	}
	tr.Close()
	conn.Close()
	if err := <-clientErr; err == nil || !strings.Contains(err.Error(), "internal error") {
		t.Fatalf("client read %v, want the internal_error alert", err)
	}
}
