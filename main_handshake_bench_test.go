package main

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Server CPU per TLS handshake, full and resumed, through real server
// processes: the lwango binary (one loop) and Go's crypto/tls behind
// net/http (bench/peers/nethttp, tickets on). Each operation is one new
// connection, one handshake and one GET /hello with Connection: close;
// server-cpu-us/op is the server process's utime+stime (/proc/PID/stat)
// over the run divided by the connections. The cleartext case is the same
// connection and request without TLS: subtracted from the others it leaves
// the cost of the handshake itself. Both servers issue session
// tickets in every case, as they do in production. Run with e.g.
//
//	go test -run '^$' -bench ServerCPUPerHandshake -benchtime 3000x .
//
// CPU time is counted in clock ticks (10 ms): runs of a few thousand
// handshakes keep the rounding under a few per cent.
func BenchmarkServerCPUPerHandshake(b *testing.B) {
	lwangoBin, nethttpBin := buildPackage(b, "."), buildPackage(b, "./bench/peers/nethttp")
	for _, kind := range []string{"ecdsa-p256", "rsa-2048"} {
		dir := b.TempDir()
		certFile, keyFile := filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
		writeCertificateKey(b, certFile, keyFile, "bench", kind)
		lwango := startBenchServer(b, "lwango", lwangoBin, "-c", writeBenchConfig(b, dir, certFile, keyFile))
		port, plainPort := freePort(b), freePort(b)
		nethttp := startBenchServer(b, "nethttp", nethttpBin, "-addr", "127.0.0.1:"+plainPort,
			"-tls-addr", "127.0.0.1:"+port, "-cert", certFile, "-key", keyFile, "-tickets", "-groups", "x25519mlkem768,x25519")
		nethttp.addr, nethttp.plainAddr = "127.0.0.1:"+port, "127.0.0.1:"+plainPort
		waitListening(b, nethttp.addr)
		waitListening(b, nethttp.plainAddr)
		for _, server := range []*benchServer{lwango, nethttp} {
			benchHandshakes(b, server, kind)
		}
	}
}

// benchHandshakes measures one server with a certificate of kind.
func benchHandshakes(b *testing.B, server *benchServer, kind string) {
	if kind == "ecdsa-p256" {
		// The same connection without TLS: what accepting, answering and
		// closing cost without a handshake.
		b.Run(server.name+"/cleartext", func(b *testing.B) {
			before := server.cpu(b)
			for range b.N {
				benchPlainConnect(b, server.plainAddr)
			}
			b.ReportMetric(float64(server.cpu(b)-before)/float64(time.Microsecond)/float64(b.N), "server-cpu-us/op")
		})
	}
	for _, v := range []struct {
		name    string
		version uint16
		curves  []tls.CurveID
	}{
		{"TLS1.3-X25519", tls.VersionTLS13, []tls.CurveID{tls.X25519}},
		{"TLS1.3-X25519MLKEM768", tls.VersionTLS13, []tls.CurveID{tls.X25519MLKEM768}},
		// An ECDSA P-256 certificate needs P-256 among a TLS 1.2
		// client's groups (RFC 8422 §5.1); X25519 is preferred for ECDHE.
		{"TLS1.2-X25519", tls.VersionTLS12, []tls.CurveID{tls.X25519, tls.CurveP256}},
	} {
		if v.version == tls.VersionTLS12 && server.name == "nethttp" {
			continue // the peer speaks TLS 1.3 only
		}
		if kind == "rsa-2048" && v.name == "TLS1.3-X25519MLKEM768" {
			continue // the group costs the same with either certificate
		}
		for _, resume := range []bool{false, true} {
			mode := "full"
			if resume {
				mode = "resumed"
			}
			b.Run(server.name+"/"+kind+"/"+v.name+"/"+mode, func(b *testing.B) {
				cfg := &tls.Config{InsecureSkipVerify: true, MinVersion: v.version, MaxVersion: v.version, CurvePreferences: v.curves}
				if resume {
					cfg.ClientSessionCache = tls.NewLRUClientSessionCache(1)
					benchConnect(b, server.addr, cfg, false)
				}
				before := server.cpu(b)
				b.ResetTimer()
				for range b.N {
					benchConnect(b, server.addr, cfg, resume)
				}
				b.StopTimer()
				b.ReportMetric(float64(server.cpu(b)-before)/float64(time.Microsecond)/float64(b.N), "server-cpu-us/op")
			})
		}
	}
}

// benchConnect makes one connection with cfg, sends GET /hello with
// Connection: close and reads the whole response; the handshake must have
// resumed exactly when resume is set.
func benchConnect(b *testing.B, addr string, cfg *tls.Config, resume bool) {
	c, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "GET /hello HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"); err != nil {
		b.Fatal(err)
	}
	resp, err := io.ReadAll(c)
	if err != nil || !strings.HasSuffix(string(resp), "Hello, World!") {
		b.Fatalf("response %q, %v", resp, err)
	}
	if c.ConnectionState().DidResume != resume {
		b.Fatalf("resumed %v, want %v", c.ConnectionState().DidResume, resume)
	}
}

// benchPlainConnect is benchConnect without TLS.
func benchPlainConnect(b *testing.B, addr string) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "GET /hello HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"); err != nil {
		b.Fatal(err)
	}
	resp, err := io.ReadAll(c)
	if err != nil || !strings.HasSuffix(string(resp), "Hello, World!") {
		b.Fatalf("response %q, %v", resp, err)
	}
}

// benchServer is a server process under measurement.
type benchServer struct {
	name      string
	cmd       *exec.Cmd
	addr      string // its TLS address
	plainAddr string // its cleartext address
}

// cpu is the process's user and system CPU time so far.
func (s *benchServer) cpu(b *testing.B) time.Duration {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the parenthesised command name: state is field 3,
	// utime 14 and stime 15.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	const ticksPerSecond = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticksPerSecond
}

// startBenchServer runs a server binary until the benchmark ends. For
// lwango it waits for the log line naming the HTTPS address; the caller
// waits for other servers (waitListening).
func startBenchServer(b *testing.B, name, bin string, args ...string) *benchServer {
	s := &benchServer{name: name, cmd: exec.Command(bin, args...)}
	stderr, _ := s.cmd.StderrPipe()
	s.cmd.Stdout = io.Discard
	if err := s.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		s.cmd.Wait()
	})
	serving := regexp.MustCompile(`msg="lwango serving" http=(\S+) https=(\S+)`)
	lines := bufio.NewScanner(stderr)
	for name == "lwango" && s.addr == "" && lines.Scan() {
		if m := serving.FindStringSubmatch(lines.Text()); m != nil {
			s.plainAddr, s.addr = m[1], m[2]
		}
	}
	go io.Copy(io.Discard, stderr)
	if name == "lwango" && s.addr == "" {
		b.Fatal("lwango never said where it serves HTTPS")
	}
	return s
}

// writeBenchConfig writes lwango's configuration: one loop, no access log,
// the certificate, every group (X25519MLKEM768 first, as by default).
func writeBenchConfig(b *testing.B, dir, certFile, keyFile string) string {
	conf := filepath.Join(dir, "bench.conf")
	text := fmt.Sprintf(`listener = "127.0.0.1:0"
quiet = true
threads = 1
[tls_listener]
address = "127.0.0.1:0"
cert = %q
key = %q
[[site.hello]]
prefix = "/hello"
`, certFile, keyFile)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		b.Fatal(err)
	}
	return conf
}

// buildPackage builds a main package of the module into a temporary file.
func buildPackage(b *testing.B, pkg string) string {
	bin := filepath.Join(b.TempDir(), filepath.Base(pkg)+".bin")
	if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
		b.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// waitListening waits up to ten seconds for something to accept on addr.
func waitListening(b *testing.B, addr string) {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
	}
	b.Fatalf("nothing listens on %s", addr)
}

// freePort returns a loopback port nothing listens on now.
func freePort(b testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}
