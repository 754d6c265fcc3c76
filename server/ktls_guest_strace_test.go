//go:build vmguest

package server

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"lwango/site"
)

// helperConfEnv names the configuration file helperServerProcess serves;
// it writes its process id to that name plus ".pid" once serving.
const helperConfEnv = "LWANGO_HELPER_SERVER_CONF"

func init() { helperProcesses[helperConfEnv] = helperServerProcess }

// helperServerProcess is a server process (helperProcesses), run under
// strace by TestKTLSGuestSendfileBypassesProcess: it serves the
// configuration conf until SIGTERM.
func helperServerProcess(conf string) error {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM)
	srv, err := startHelperServer(site.Load(conf))
	if err != nil {
		return err
	}
	if err := os.WriteFile(conf+".pid", []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return err
	}
	<-stop
	srv.Shutdown(5 * time.Second)
	return nil
}

// startHelperServer starts, in a helper process, the server of cfg, the
// configuration just loaded or parsed (or err, if that failed).
func startHelperServer(cfg *site.Config, err error) (*Server, error) {
	if err != nil {
		return nil, err
	}
	srv, err := New(cfg, Options{})
	if err != nil {
		return nil, err
	}
	srv.Start()
	return srv, nil
}

// syscallTotals sums the results of each system call in an strace -f log.
type syscallTotals map[string]struct{ calls, bytes int64 }

var straceResult = regexp.MustCompile(`^\d+\s+(?:<\.\.\. (\w+) resumed>|(\w+)\().*\)\s+=\s+(-?\d+)`)

func parseStrace(t *testing.T, name string) syscallTotals {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	totals := syscallTotals{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := straceResult.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		call := m[1] + m[2]
		ret, _ := strconv.ParseInt(m[3], 10, 64)
		total := totals[call]
		total.calls++
		if ret > 0 {
			total.bytes += ret
		}
		totals[call] = total
	}
	return totals
}

// TestKTLSGuestSendfileBypassesProcess serves a 64 MiB file over TLS 1.3
// (AES-128-GCM) from a server process under strace, once with the keys in
// the kernel and once with records in user space. With kernel TLS the
// file goes out by sendfile and none of it is read into the process
// (pread64 moves 0 bytes); in user space every byte is pread, encrypted
// and written by the process. This is a functional measurement, not a
// speed one: the guest's crypto is emulated.
func TestKTLSGuestSendfileBypassesProcess(t *testing.T) {
	strace := os.Getenv("LWANGO_GUEST_STRACE")
	if strace == "" {
		t.Fatal("LWANGO_GUEST_STRACE is not set; kernel/vmtest provides strace")
	}
	const size = 64 << 20
	dir := t.TempDir()
	root := filepath.Join(dir, "www")
	os.Mkdir(root, 0o755)
	h := sha256.New()
	f, err := os.Create(filepath.Join(root, "64m.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(io.MultiWriter(f, h), rand.Reader, size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	want := h.Sum(nil)

	for i, mode := range []string{"require", "off"} {
		t.Run("ktls="+mode, func(t *testing.T) {
			addr := fmt.Sprintf("127.0.0.1:%d", 18443+i)
			conf := filepath.Join(dir, mode+".conf")
			os.WriteFile(conf, fmt.Appendf(nil, `listener = "127.0.0.1:%d"
threads = 1
quiet = true
[tls_listener]
address = %q
ktls = %q
ciphers = ["TLS_AES_128_GCM_SHA256"]
[[site.serve_files]]
prefix = "/"
path = %q
`, 18080+i, addr, mode, root), 0o644)
			trace := filepath.Join(dir, mode+".strace")
			cmd := exec.Command(strace, "-f", "-qq", "-o", trace,
				"-e", "trace=sendfile,pread64,read,write,sendto,recvfrom,recvmsg,sendmsg",
				os.Args[0])
			cmd.Env = append(os.Environ(), helperConfEnv+"="+conf)
			cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			var c *tls.Conn
			// A server under strace in an emulated guest starts in seconds;
			// the deadline is a margin for a loaded host.
			for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
				if c, err = tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}); err == nil || time.Now().After(deadline) {
					break
				}
			}
			if err != nil {
				t.Fatalf("the server process did not answer: %v", err)
			}
			// A margin for a loaded host: 64 MiB of emulated user-space
			// crypto under strace has taken over 2 minutes.
			c.SetDeadline(time.Now().Add(8 * time.Minute))
			start := time.Now()
			fmt.Fprintf(c, "GET /64m.bin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			got := sha256.New()
			n, err := io.Copy(got, resp.Body)
			if err != nil || n != size || string(got.Sum(nil)) != string(want) {
				t.Fatalf("received %d bytes (%v) that differ from the file", n, err)
			}
			elapsed := time.Since(start)
			c.Close()
			// SIGTERM to the server itself (strace would only detach); strace ends with it.
			pid, err := os.ReadFile(conf + ".pid")
			if err != nil {
				t.Fatal(err)
			}
			serverPid, _ := strconv.Atoi(string(pid))
			if err := syscall.Kill(serverPid, syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("strace: %v", err)
			}
			totals := parseStrace(t, trace)
			var report strings.Builder
			for _, call := range []string{"sendfile", "pread64", "read", "recvfrom", "recvmsg", "write", "sendto", "sendmsg"} {
				fmt.Fprintf(&report, " %s %d calls %d B;", call, totals[call].calls, totals[call].bytes)
			}
			t.Logf("ktls=%s, 64 MiB in %v (emulated guest):%s", mode, elapsed.Round(time.Millisecond), report.String())
			sent, read := totals["sendfile"].bytes, totals["pread64"].bytes
			if mode == "require" && (sent < size || read != 0) {
				t.Errorf("kernel TLS: sendfile moved %d bytes and pread64 %d; want the whole file by sendfile and none read", sent, read)
			}
			if mode == "off" && (read < size || sent != 0 || totals["sendto"].bytes < size) {
				t.Errorf("user space: pread64 %d, sendto %d, sendfile %d bytes; want the file read and written by the process", read, totals["sendto"].bytes, sent)
			}
		})
	}
}
