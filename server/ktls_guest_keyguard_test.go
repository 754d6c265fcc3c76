//go:build vmguest

package server

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"lwango/kernel"
	"lwango/site"
)

// keyReadbackEnv chooses keyReadbackProcess (helperProcesses), with its
// value as the [tls_listener] lines of the server it starts.
const keyReadbackEnv = "LWANGO_HELPER_KEY_READBACK"

func init() { helperProcesses[keyReadbackEnv] = keyReadbackProcess }

// keyReadbackProcess is a process (run by TestKTLSGuestKeysCannotBeReadBack)
// that serves TLS 1.3 with ktls = "require", fetches a page from itself
// with Go's client (recording the client's view of the traffic secrets),
// and then does what any code in a server process could:
// getsockopt(SOL_TLS, TLS_TX and TLS_RX) with the full struct size on every
// descriptor it has. It prints the traffic keys the handshake derived and
// what each getsockopt gave; the server logs to stderr.
func keyReadbackProcess(lines string) error {
	slog.SetDefault(testLogger(os.Stderr))
	srv, err := startHelperServer(site.Parse("keyreadback.conf", []byte(`listener = "127.0.0.1:0"
threads = 1
[tls_listener]
address = "127.0.0.1:0"
ktls = "require"
ciphers = ["TLS_AES_128_GCM_SHA256"]
`+lines+`
[[site.hello]]
prefix = "/hello"
`)))
	if err != nil {
		return err
	}
	defer srv.Shutdown(10 * time.Second)
	addr, ok := srv.TLSAddr()
	if !ok {
		return errors.New("no TLS listener")
	}
	var keyLog bytes.Buffer
	c, err := tls.Dial("tcp", addr.String(), &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13, KeyLogWriter: &keyLog})
	if err != nil {
		return fmt.Errorf("handshake: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Minute))
	fmt.Fprintf(c, "GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return fmt.Errorf("GET /hello: %v", err)
	}
	if body, err := io.ReadAll(resp.Body); err != nil || string(body) != "Hello, World!" {
		return fmt.Errorf("GET /hello: %q, %v", body, err)
	}
	for _, label := range []string{"SERVER_TRAFFIC_SECRET_0", "CLIENT_TRAFFIC_SECRET_0"} {
		secret, err := findKeyLogSecret(keyLog.Bytes(), label)
		if err != nil {
			return err
		}
		key, err := hkdfExpandLabel(secret, "key", 16)
		if err != nil {
			return err
		}
		fmt.Printf("DERIVED %s key %x\n", label, key)
	}
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return err
	}
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		for _, opt := range []struct {
			name string
			num  int
		}{{"TLS_TX", kernel.TLS_TX}, {"TLS_RX", kernel.TLS_RX}} {
			// The kernel wants exactly sizeof(struct tls12_crypto_info_aes_gcm_128).
			buf := make([]byte, 4+8+16+4+8)
			l := uint32(len(buf))
			_, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_TLS, uintptr(opt.num),
				uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&l)), 0)
			switch {
			case errno == 0:
				fmt.Printf("GETSOCKOPT fd %d %s bytes %x\n", fd, opt.name, buf[:l])
			case errors.Is(errno, unix.EPERM):
				fmt.Printf("GETSOCKOPT fd %d %s EPERM\n", fd, opt.name)
			case !errors.Is(errno, unix.ENOTSOCK):
				fmt.Printf("GETSOCKOPT fd %d %s %v\n", fd, opt.name, errno)
			}
		}
	}
	status, _ := os.ReadFile("/proc/self/status")
	dumpable, _ := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	fmt.Printf("SECCOMP %q DUMPABLE %d\n", seccompMode(string(status)), dumpable)
	return nil
}

// regexpMatch reports whether the regular expression re matches s.
func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

// seccompMode is the Seccomp line of /proc/PID/status: "0" none, "2" filter.
func seccompMode(status string) string {
	for line := range strings.Lines(status) {
		if v, ok := strings.CutPrefix(line, "Seccomp:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// keyLogSecret returns a secret of an NSS key log.
func keyLogSecret(t *testing.T, keyLog []byte, label string) []byte {
	t.Helper()
	secret, err := findKeyLogSecret(keyLog, label)
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// findKeyLogSecret is keyLogSecret for a helper process.
func findKeyLogSecret(keyLog []byte, label string) ([]byte, error) {
	for _, line := range strings.Split(string(keyLog), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == label {
			return hex.DecodeString(f[2])
		}
	}
	return nil, fmt.Errorf("no %s in the key log %q", label, keyLog)
}

// runKeyReadback runs keyReadbackProcess in a new process (a seccomp
// filter, once installed, cannot be removed) and returns its output.
// tlsLines must not be empty: an empty variable chooses no helper.
func runKeyReadback(t *testing.T, tlsLines string) string {
	t.Helper()
	if tlsLines == "" {
		t.Fatal("runKeyReadback: empty [tls_listener] lines choose no helper process")
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), keyReadbackEnv+"="+tlsLines)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "TLS records in the kernel (kTLS) after each handshake") {
		t.Fatalf("helper: the server did not say kernel TLS is in effect:\n%s", out)
	}
	return string(out)
}

// TestKTLSGuestKeysCannotBeReadBack proves the threat, then the defence.
// With protect_keys = false, getsockopt(SOL_TLS, TLS_TX/TLS_RX) with the
// full struct size hands back, to code in the server process, the very
// keys its handshake derived for the connection (the server's write key as
// TLS_TX, the client's as TLS_RX; Go's client computed the same from its
// key log). With protect_keys on (the default), the same calls fail with
// EPERM on every descriptor, the process is not dumpable, the startup log
// does not warn, and the page is still served through kernel TLS.
func TestKTLSGuestKeysCannotBeReadBack(t *testing.T) {
	derived := func(out, label string) string {
		for line := range strings.Lines(out) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "DERIVED "+label+" key "); ok {
				return v
			}
		}
		t.Fatalf("helper printed no %s key:\n%s", label, out)
		return ""
	}

	open := runKeyReadback(t, "protect_keys = false")
	serverKey, clientKey := derived(open, "SERVER_TRAFFIC_SECRET_0"), derived(open, "CLIENT_TRAFFIC_SECRET_0")
	if !regexpMatch(`GETSOCKOPT fd \d+ TLS_TX bytes \w*`+serverKey, open) || !regexpMatch(`GETSOCKOPT fd \d+ TLS_RX bytes \w*`+clientKey, open) {
		t.Fatalf("threat not shown: without the filter, getsockopt did not return the derived keys %s/%s:\n%s", serverKey, clientKey, open)
	}
	if !strings.Contains(open, "protect_keys = false: kernel TLS keys can be read back") || !strings.Contains(open, `SECCOMP "0" DUMPABLE 1`) {
		t.Errorf("protect_keys = false: no warning, or a filter or non-dumpable process anyway:\n%s", open)
	}
	t.Logf("threat: with protect_keys = false the server process reads back its TX key %s and RX key %s", serverKey, clientKey)

	guarded := runKeyReadback(t, "# protect_keys: the default (on)")
	key := derived(guarded, "SERVER_TRAFFIC_SECRET_0")
	if strings.Contains(guarded, " bytes ") || strings.Count(guarded, key) != 1 {
		t.Fatalf("with protect_keys on, getsockopt still returned key bytes:\n%s", guarded)
	}
	if !regexpMatch(`GETSOCKOPT fd \d+ TLS_TX EPERM`, guarded) || !regexpMatch(`GETSOCKOPT fd \d+ TLS_RX EPERM`, guarded) {
		t.Fatalf("with protect_keys on, no getsockopt failed with EPERM:\n%s", guarded)
	}
	if !strings.Contains(guarded, `SECCOMP "2" DUMPABLE 0`) || strings.Contains(guarded, "protect_keys = false") {
		t.Errorf("with protect_keys on: want a seccomp filter, a non-dumpable process and no warning:\n%s", guarded)
	}
	t.Log("defence: with protect_keys on every getsockopt(SOL_TLS, TLS_TX/TLS_RX) fails with EPERM")
}

// noPadSockets counts this process's descriptors on which
// getsockopt(SOL_TLS, TLS_RX_EXPECT_NO_PAD) says 1.
func noPadSockets(t *testing.T) int {
	t.Helper()
	n := 0
	for _, fd := range ownDescriptors(t) {
		if v, err := unix.GetsockoptInt(fd, unix.SOL_TLS, kernel.TLS_RX_EXPECT_NO_PAD); err == nil && v == 1 {
			n++
		}
	}
	return n
}

// TestKTLSGuestRXExpectNoPad: with ktls_rx_expect_no_pad = true the
// server's TLS 1.3 kernel sockets carry TLS_RX_EXPECT_NO_PAD (read back
// from the kernel), requests are served, and the kernel saw no padded
// record; a TLS 1.2 connection and the default setting leave it off.
func TestKTLSGuestRXExpectNoPad(t *testing.T) {
	for _, c := range []struct {
		name    string
		lines   string
		version uint16
		want    int
	}{
		{"on TLS1.3", "ktls_rx_expect_no_pad = true", tls.VersionTLS13, 1},
		{"on TLS1.2", "ktls_rx_expect_no_pad = true", tls.VersionTLS12, 0},
		{"default TLS1.3", "", tls.VersionTLS13, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := startGuestServer(t, c.lines)
			if want := fmt.Sprintf("ktls_rx_expect_no_pad=%v", c.lines != ""); !strings.Contains(g.log.String(), want) {
				t.Fatalf("startup log lacks %s: %s", want, g.log.String())
			}
			before := tlsStats(t)
			conn := dialGuest(t, g.tlsAddr, c.version, nil)
			r := bufio.NewReader(conn)
			for range 3 {
				if body := fetch(t, conn, r, "/small.txt"); string(body) != "small file\n" {
					t.Fatalf("GET: %q", body)
				}
			}
			if n := noPadSockets(t); n != c.want {
				t.Errorf("%d sockets with TLS_RX_EXPECT_NO_PAD, want %d", n, c.want)
			}
			if after := tlsStats(t); after["TlsRxNoPadViolation"] != before["TlsRxNoPadViolation"] {
				t.Errorf("TlsRxNoPadViolation moved: %d -> %d", before["TlsRxNoPadViolation"], after["TlsRxNoPadViolation"])
			}
		})
	}
}
