package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// readAllInput counts the established IPv4 TCP sockets on local port (a
// decimal string) with nothing in their receive queue: the connections a
// server on that port has read everything from (/proc/net/tcp).
func readAllInput(t *testing.T, port string) int {
	t.Helper()
	table, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(port)
	local := fmt.Sprintf(":%04X", n)
	count := 0
	for line := range strings.SplitSeq(string(table), "\n") {
		// sl local_address rem_address st tx_queue:rx_queue ...
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasSuffix(f[1], local) && f[3] == "01" && strings.HasSuffix(f[4], ":00000000") {
			count++
		}
	}
	return count
}

// residentKiB is the process's resident memory (VmRSS) in KiB.
func residentKiB(t *testing.T, pid int) int {
	t.Helper()
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kib, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				t.Fatal(err)
			}
			return kib
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// After a wave of slow clients (each holding a request buffer while its
// request trickles in) has gone, the buffers go back to the OS: resident
// memory returns near where it was before the wave, within two periods of
// trim_idle_memory (30s by default; 1s here).
func TestBinaryMemoryGivenBackAfterSlowWave(t *testing.T) {
	bin := buildBinary(t)
	conf := filepath.Join(t.TempDir(), "lwan.conf")
	os.WriteFile(conf, []byte(`listener = "127.0.0.1:0"
threads = 2
quiet = true
trim_idle_memory = "1s"
[[site.hello]]
prefix = "/hello"
`), 0o644)
	p := startServerProcess(t, bin, "-c", conf)
	pid := p.cmd.Process.Pid
	warm, err := net.Dial("tcp", p.http)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		io.WriteString(warm, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
		if _, err := http.ReadResponse(bufio.NewReader(warm), nil); err != nil {
			t.Fatal(err)
		}
	}
	warm.Close()
	base := residentKiB(t, pid)

	const wave = 5000
	conns := dialClients(t, p.http, wave, func(_ int, c net.Conn) {
		io.WriteString(c, "GET /hello HTTP/1.1\r\nHost: x\r\n") // and nothing more
	})
	// Every slow client holds its buffers once the server has read its
	// first bytes: resident memory grows by at least 10 MiB.
	peak := base
	for deadline := time.Now().Add(30 * time.Second); peak-base < 10<<10; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d slow clients grew resident memory from %d to only %d KiB: nothing to give back", wave, base, peak)
		}
		peak = residentKiB(t, pid)
	}
	// The peak is read once the server has read every slow client's bytes
	// (a second's pause before undercounted it whenever load kept the
	// server from reading them all in that second).
	_, port, _ := net.SplitHostPort(p.http)
	for deadline := time.Now().Add(60 * time.Second); readAllInput(t, port) < wave; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s the server has read the input of only %d of %d slow clients", readAllInput(t, port), wave)
		}
	}
	peak = residentKiB(t, pid)
	for _, c := range conns {
		c.Close()
	}
	limit := base + (peak-base)/4
	start := time.Now()
	for now := peak; now > limit; now = residentKiB(t, pid) {
		if time.Since(start) > 30*time.Second {
			t.Fatalf("resident memory %d KiB before a wave of %d slow clients, %d KiB with it, still %d KiB 30 s after it (want at most %d)", base, wave, peak, now, limit)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("resident memory %d KiB before a wave of %d slow clients, %d KiB with it, %d KiB %.1f s after it", base, wave, peak, residentKiB(t, pid), time.Since(start).Seconds())
}
