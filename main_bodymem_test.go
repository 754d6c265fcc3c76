package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// vmRSS is a process's resident set in bytes, from /proc/PID/status.
func vmRSS(t *testing.T, pid int) int64 {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range bytes.Split(status, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			kb, err := strconv.ParseInt(string(bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte("kB")))), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS line %q: %v", line, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/PID/status")
	return 0
}

// TestBinaryAnnouncedBodyHoldsNoMemory: with max_post_data_size = 16 MiB,
// 100 connections each send a POST head announcing a 16 MiB body and then
// nothing. The server must not set aside the announced size before the
// body arrives: its resident memory grows by less than 32 MiB (before the
// fix it grew by 1.2-2.1 GB). The 100 Continue each
// connection asked for proves the server has read and judged its head.
// Then the bodies arrive in full and are answered: the buffer grows as
// data comes in.
func TestBinaryAnnouncedBodyHoldsNoMemory(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "lwan.conf")
	os.WriteFile(conf, []byte(`listener = "127.0.0.1:0"
quiet = true
threads = 2
max_post_data_size = 16777216

[[site.response]]
prefix = "/sink"
code = 204
`), 0o644)
	p := startServerProcess(t, bin, "-c", conf)
	pid := p.cmd.Process.Pid
	before := vmRSS(t, pid)

	const conns, size = 100, 16 << 20
	// Waves of such connections: the later ones find memory the earlier
	// ones freed, which the Go runtime zeroes (touches) when it reuses it.
	var clients []net.Conn
	var readers []*bufio.Reader
	for wave := range 3 {
		for _, c := range clients {
			c.Close()
		}
		clients, readers = make([]net.Conn, conns), make([]*bufio.Reader, conns)
		for i := range clients {
			c, err := net.Dial("tcp", p.http)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(60 * time.Second))
			fmt.Fprintf(c, "POST /sink HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", size)
			clients[i], readers[i] = c, bufio.NewReader(c)
		}
		for i, r := range readers {
			line, err := r.ReadString('\n')
			if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
				t.Fatalf("wave %d, connection %d: %q, %v", wave, i, line, err)
			}
			r.ReadString('\n')
		}
	}
	after := vmRSS(t, pid)
	t.Logf("VmRSS %d KiB before, %d KiB with %d heads announcing %d MiB each (third wave)", before>>10, after>>10, conns, size>>20)
	if grown := after - before; grown > 32<<20 {
		t.Fatalf("resident memory grew by %d MiB for %d bodies not sent yet", grown>>20, conns)
	}

	// Two of them send their bodies: both are answered.
	body := bytes.Repeat([]byte("x"), size)
	for i := range 2 {
		go clients[i].Write(body)
	}
	for i := range 2 {
		line, err := readers[i].ReadString('\n')
		if err != nil || line != "HTTP/1.1 204 No Content\r\n" {
			t.Fatalf("connection %d after its body: %q, %v", i, line, err)
		}
	}
}
