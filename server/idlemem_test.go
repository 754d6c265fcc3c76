package server

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// idleClients is how many idle keep-alive connections the memory test holds
// open. Each costs a descriptor in this process and one in the client's.
const idleClients = 10000

// TestIdleConnectionMemory opens idleClients keep-alive connections from a
// child process (so that the clients' memory is not counted), each after
// one request, and measures how much the server's resident memory and Go
// heap grew per idle connection.
func TestIdleConnectionMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the test opens 10 000 connections")
	}
	ts := newTestSite(t)
	cfg := testConfig(t, ts, "")
	srv, addr := startServer(t, cfg, Options{KeepAliveTimeout: 5 * time.Minute})
	warm := dialRaw(t, addr)
	warm.send(t, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
	warm.response(t, "GET")

	rssBefore, heapBefore := residentBytes(t), heapBytes()

	child := exec.Command(os.Args[0])
	child.Env = append(os.Environ(), "LWANGO_IDLE_CLIENT="+addr)
	stdin, _ := child.StdinPipe()
	stdout, _ := child.StdoutPipe()
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		child.Wait()
	}()
	lines := bufio.NewScanner(stdout)
	ready := false
	for lines.Scan() {
		if lines.Text() == "ready" {
			ready = true
			break
		}
	}
	if !ready {
		t.Fatal("the client process did not open its connections")
	}
	go io.Copy(io.Discard, stdout)
	waitFor(t, func() bool { return srv.Stats().Accepted >= idleClients+1 }, "every connection accepted")

	rssAfter, heapAfter := residentBytes(t), heapBytes()
	perConnRSS := float64(rssAfter-rssBefore) / idleClients
	perConnHeap := float64(heapAfter-heapBefore) / idleClients
	t.Logf("%d idle keep-alive connections: resident memory +%d KiB (%.0f B per connection), Go heap +%d KiB (%.0f B per connection)",
		idleClients, (rssAfter-rssBefore)>>10, perConnRSS, (heapAfter-heapBefore)>>10, perConnHeap)
	if perConnHeap > 64 {
		t.Errorf("%.0f bytes of Go heap per idle connection: an idle connection should hold nothing", perConnHeap)
	}
	if perConnRSS > 1024 && !raceEnabled {
		t.Errorf("%.0f bytes of resident memory per idle connection, want at most 1 KiB", perConnRSS)
	}
}

func init() { helperProcesses["LWANGO_IDLE_CLIENT"] = idleClientProcess }

// idleClientProcess is the client half of TestIdleConnectionMemory, a
// child process (helperProcesses): it opens the connections, sends one
// request on each, says "ready" and holds them until its standard input
// closes.
func idleClientProcess(addr string) error {
	return holdIdleClients(idleClients, func(int) (net.Conn, error) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return nil, err
		}
		return c, requestHello(c)
	})
}

// holdIdleClients is the body of the idle-memory tests' client processes:
// it opens n connections with open, eight at a time, says "ready" and
// holds them until its standard input closes.
func holdIdleClients(n int, open func(i int) (net.Conn, error)) error {
	conns := make([]net.Conn, n)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				c, err := open(i)
				if err != nil {
					errs <- fmt.Errorf("connection %d: %v", i, err)
					return
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return err
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	runtime.KeepAlive(conns)
	return nil
}

// requestHello sends GET /hello on c and reads the response whole.
func requestHello(c net.Conn) error {
	if _, err := io.WriteString(c, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n"); err != nil {
		return err
	}
	return readHello(c)
}

// readHello reads a response until its "Hello, World!" body has arrived.
func readHello(c net.Conn) error {
	buf := make([]byte, 4096)
	got := 0
	for !bytes.HasSuffix(buf[:got], []byte("Hello, World!")) {
		n, err := c.Read(buf[got:])
		if err != nil {
			return err
		}
		got += n
	}
	return nil
}

// residentBytes is this process's resident set size after a full garbage
// collection that returns free memory to the system.
func residentBytes(t *testing.T) int64 {
	runtime.GC()
	debug.FreeOSMemory()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

func heapBytes() int64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
