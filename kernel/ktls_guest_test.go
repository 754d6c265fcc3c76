//go:build vmguest

package kernel

// These tests need a kernel with tls.ko loaded. They are built only with the
// vmguest tag and run inside the QEMU guest of kernel/vmtest, whose host-side
// test checks that each of them ran and passed.

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"lwango/internal/testpki"
)

// handoffCase is one TLS version and cipher suite, and the client that can make the server pick it.
type handoffCase struct {
	name    string
	version uint16
	suite   uint16
	// opensslSuite, when set, makes `openssl s_client` the client: Go's TLS 1.3
	// client always offers AES-128-GCM first when the CPU has AES-NI, so the
	// Go server would never pick the other two suites.
	opensslSuite string
}

var handoffCases = []handoffCase{
	{"TLS1.3-AES-128-GCM", tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256, ""},
	{"TLS1.3-AES-256-GCM", tls.VersionTLS13, tls.TLS_AES_256_GCM_SHA384, "TLS_AES_256_GCM_SHA384"},
	{"TLS1.3-CHACHA20-POLY1305", tls.VersionTLS13, tls.TLS_CHACHA20_POLY1305_SHA256, "TLS_CHACHA20_POLY1305_SHA256"},
	{"TLS1.2-AES-128-GCM", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, ""},
	{"TLS1.2-AES-256-GCM", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, ""},
	{"TLS1.2-CHACHA20-POLY1305", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, ""},
}

const (
	guestRequest     = "GET /file HTTP/1.1\r\nHost: localhost\r\n\r\n"
	guestResponse    = "HTTP/1.1 200 OK\r\nContent-Length: 2097152\r\n\r\n"
	guestFileSize    = 2 << 20 // crypto under TCG runs at ~20 MB/s
	closeNotifyLevel = 1       // warning
	closeNotifyDesc  = 0
)

// TestKTLSGuestHandshakeHandoff: a real TLS handshake (Go's crypto/tls server,
// test-only), then the server socket's record layer is handed to the kernel
// and used with plain read, write and sendfile, and with record-type cmsgs
// for close_notify both ways.
func TestKTLSGuestHandshakeHandoff(t *testing.T) {
	if ok, reason := ULPAvailable(); !ok {
		t.Fatalf("the guest must have kernel TLS: %s", reason)
	}
	cert, pool := selfSignedCert(t)
	file := filepath.Join(t.TempDir(), "file")
	content := make([]byte, guestFileSize)
	rand.Read(content)
	if err := os.WriteFile(file, content, 0o600); err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(append([]byte(guestResponse), content...))
	for _, tc := range handoffCases {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			before := mustTLSStats(t)
			clientDone := make(chan clientResult, 1)
			go func() { clientDone <- runClient(tc, ln.Addr().String(), pool) }()

			serveHandoff(t, tc, ln, cert, file, before)

			select {
			case r := <-clientDone:
				if r.err != nil {
					t.Fatalf("client: %v", r.err)
				}
				if sha256.Sum256(r.received) != want {
					t.Fatalf("client received %d bytes that differ from the %d sent", len(r.received), len(guestResponse)+len(content))
				}
			case <-time.After(time.Minute):
				t.Fatal("client did not finish")
			}
		})
	}
}

// serveHandoff accepts one connection, does the handshake, installs the keys
// in the kernel and serves the request through kTLS.
func serveHandoff(t *testing.T, tc handoffCase, ln net.Listener, cert tls.Certificate, file string, before map[string]uint64) {
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Minute))
	var keyLog bytes.Buffer
	wire := &recordConn{Conn: conn}
	server := tls.Server(wire, &tls.Config{
		Certificates:           []tls.Certificate{cert},
		MinVersion:             tc.version,
		MaxVersion:             tc.version,
		CipherSuites:           tls12Only(tc), // TLS 1.3 suites are steered by the client
		SessionTicketsDisabled: true,          // a ticket would take TX sequence number 0
		KeyLogWriter:           &keyLog,
	})
	if err := server.Handshake(); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	state := server.ConnectionState()
	if state.Version != tc.version || state.CipherSuite != tc.suite {
		t.Fatalf("negotiated %s %s", tls.VersionName(state.Version), tls.CipherSuiteName(state.CipherSuite))
	}
	if len(wire.pending) != 0 {
		t.Fatal("crypto/tls left bytes of a record unread")
	}
	tx, rx := handshakeKeys(t, tc, &keyLog, wire.serverRandom)

	raw, err := conn.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var installErr error
	raw.Control(func(fd uintptr) {
		installErr = errors.Join(EnableULP(int(fd)), InstallTX(int(fd), tx), InstallRX(int(fd), rx))
	})
	tx.Zero()
	rx.Zero()
	if installErr != nil {
		t.Fatal(installErr)
	}
	assertStatsMoved(t, before)

	// Plain read: the request, decrypted by the kernel.
	request := make([]byte, len(guestRequest))
	if _, err := io.ReadFull(conn, request); err != nil || string(request) != guestRequest {
		t.Fatalf("request through kTLS RX: %q, %v", request, err)
	}
	// Plain write, then sendfile: encrypted by the kernel.
	if _, err := conn.Write([]byte(guestResponse)); err != nil {
		t.Fatalf("write through kTLS TX: %v", err)
	}
	sendFile(t, raw, file)
	// close_notify as a control record.
	if err := rawWrite(raw, func(fd int) error {
		_, err := SendRecord(fd, RecordAlert, []byte{closeNotifyLevel, closeNotifyDesc})
		return err
	}); err != nil {
		t.Fatalf("SendRecord(close_notify): %v", err)
	}
	// The client answers with its own close_notify: a plain read stops at it with EIO ...
	if n, err := conn.Read(make([]byte, 64)); !errors.Is(err, syscall.EIO) {
		t.Fatalf("plain read of the client's close_notify: %d, %v; want EIO", n, err)
	}
	// ... and RecvRecord returns it with its record type.
	buf, cmsg := make([]byte, 64), make([]byte, RecordTypeCmsgSpace)
	var n int
	var typ uint8
	if err := rawRead(raw, func(fd int) (err error) { n, typ, err = RecvRecord(fd, buf, cmsg); return err }); err != nil {
		t.Fatalf("RecvRecord: %v", err)
	}
	if typ != RecordAlert || !bytes.Equal(buf[:n], []byte{closeNotifyLevel, closeNotifyDesc}) {
		t.Fatalf("RecvRecord: type %d, %x; want close_notify (21, 0100)", typ, buf[:n])
	}
}

// tls12Only is the Config.CipherSuites for a case; crypto/tls does not configure TLS 1.3 suites.
func tls12Only(tc handoffCase) []uint16 {
	if tc.version == tls.VersionTLS13 {
		return nil
	}
	return []uint16{tc.suite}
}

// handshakeKeys derives the server's TX and RX kernel keys from the key log.
func handshakeKeys(t *testing.T, tc handoffCase, keyLog *bytes.Buffer, serverRandom []byte) (tx, rx *CryptoInfo) {
	t.Helper()
	secrets, err := parseKeyLog(keyLog.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	suite := goSuites[tc.suite]
	if tc.version == tls.VersionTLS13 {
		if tx, err = tls13CryptoInfo(suite, secrets["SERVER_TRAFFIC_SECRET_0"]); err == nil {
			rx, err = tls13CryptoInfo(suite, secrets["CLIENT_TRAFFIC_SECRET_0"])
		}
	} else {
		line := strings.Fields(strings.TrimSpace(keyLog.String()))
		if len(line) != 3 || line[0] != "CLIENT_RANDOM" || serverRandom == nil {
			t.Fatalf("TLS 1.2 key log %q, server random %x", keyLog.String(), serverRandom)
		}
		clientRandom, err := hex.DecodeString(line[1])
		if err != nil {
			t.Fatal(err)
		}
		tx, rx, err = tls12CryptoInfo(suite, secrets["CLIENT_RANDOM"], clientRandom, serverRandom)
	}
	if err != nil {
		t.Fatal(err)
	}
	return tx, rx
}

// sendFile sends the whole file with sendfile(2) on the kTLS socket.
func sendFile(t *testing.T, raw syscall.RawConn, name string) {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	var offset int64
	for offset < info.Size() {
		if err := rawWrite(raw, func(fd int) error {
			_, err := unix.Sendfile(fd, int(f.Fd()), &offset, int(info.Size()-offset))
			return err
		}); err != nil {
			t.Fatalf("sendfile at %d: %v", offset, err)
		}
	}
}

// rawWrite runs op on the socket when writable, waiting out EAGAIN in the netpoller.
func rawWrite(raw syscall.RawConn, op func(fd int) error) error {
	var opErr error
	err := raw.Write(func(fd uintptr) bool {
		opErr = op(int(fd))
		return !errors.Is(opErr, unix.EAGAIN)
	})
	return errors.Join(err, opErr)
}

// rawRead runs op on the socket when readable, waiting out EAGAIN in the netpoller.
func rawRead(raw syscall.RawConn, op func(fd int) error) error {
	var opErr error
	err := raw.Read(func(fd uintptr) bool {
		opErr = op(int(fd))
		return !errors.Is(opErr, unix.EAGAIN)
	})
	return errors.Join(err, opErr)
}

func mustTLSStats(t *testing.T) map[string]uint64 {
	t.Helper()
	stats, err := TLSStats()
	if err != nil {
		t.Fatal(err)
	}
	return stats
}

// assertStatsMoved checks that the kernel counts one more software kTLS socket each way.
func assertStatsMoved(t *testing.T, before map[string]uint64) {
	t.Helper()
	after := mustTLSStats(t)
	for _, name := range []string{"TlsTxSw", "TlsRxSw"} {
		if after[name] != before[name]+1 {
			t.Errorf("%s went from %d to %d, want +1", name, before[name], after[name])
		}
	}
	for _, name := range []string{"TlsCurrTxSw", "TlsCurrRxSw"} {
		if after[name] < 1 {
			t.Errorf("%s = %d with a kTLS socket open", name, after[name])
		}
	}
	t.Logf("tls_stat: TlsCurrTxSw %d TlsCurrRxSw %d TlsTxSw %d TlsRxSw %d",
		after["TlsCurrTxSw"], after["TlsCurrRxSw"], after["TlsTxSw"], after["TlsRxSw"])
}

type clientResult struct {
	received []byte
	err      error
}

// runClient sends the request right behind its Finished (as browsers do),
// reads until the server's close_notify and closes with its own.
func runClient(tc handoffCase, addr string, pool *x509.CertPool) clientResult {
	if tc.opensslSuite != "" {
		return opensslClient(tc, addr)
	}
	conn, err := tls.Dial("tcp", addr, &tls.Config{
		RootCAs: pool, ServerName: "localhost",
		MinVersion: tc.version, MaxVersion: tc.version, CipherSuites: tls12Only(tc),
	})
	if err != nil {
		return clientResult{err: err}
	}
	conn.SetDeadline(time.Now().Add(time.Minute))
	if _, err := conn.Write([]byte(guestRequest)); err != nil {
		conn.Close()
		return clientResult{err: err}
	}
	received, err := io.ReadAll(conn) // io.EOF only on a valid close_notify
	return clientResult{received, errors.Join(err, conn.Close())}
}

// opensslClient runs `openssl s_client` (copied into the guest by the
// harness, path in LWANGO_GUEST_OPENSSL) offering only one TLS 1.3 suite.
func opensslClient(tc handoffCase, addr string) clientResult {
	openssl := os.Getenv("LWANGO_GUEST_OPENSSL")
	if openssl == "" {
		return clientResult{err: errors.New("LWANGO_GUEST_OPENSSL is not set; kernel/vmtest provides openssl")}
	}
	cmd := exec.Command(openssl, "s_client", "-connect", addr, "-servername", "localhost",
		"-tls1_3", "-ciphersuites", tc.opensslSuite, "-quiet") // -quiet implies -ign_eof: stay until the server's close_notify
	cmd.Stdin = strings.NewReader(guestRequest)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	received, err := cmd.Output()
	if err != nil {
		err = fmt.Errorf("%v: %s", err, stderr.Bytes())
	}
	return clientResult{received, err}
}

// selfSignedCert makes an ECDSA P-256 certificate for localhost.
func selfSignedCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := testpki.Key("ecdsa-p256")
	if err != nil {
		t.Fatal(err)
	}
	der, leaf, err := testpki.Mint(testpki.Spec{Names: []string{"localhost"}}, key, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
