package server

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"
)

// idleTLSClients is how many idle TLS connections the memory test holds.
const idleTLSClients = 2000

// An idle TLS keep-alive connection keeps its record keys and state, not
// its 16 KiB record buffers: they go back to the pools once empty. The
// clients run in a child process so that their memory is not counted.
func TestTLSIdleConnectionMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the test opens 2000 TLS connections")
	}
	s := startTLSServer(t, "", Options{KeepAliveTimeout: 5 * time.Minute})
	warm := tlsDial(t, s.tlsAddr, nil)
	get(t, warm, bufio.NewReader(warm), "/hello")

	s.site.big = nil // 6 MiB the test does not need, which would be freed mid-measurement
	heapBefore := settledHeap()
	child := exec.Command(os.Args[0])
	child.Env = append(os.Environ(), "LWANGO_IDLE_TLS_CLIENT="+s.tlsAddr)
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
	for !ready && lines.Scan() {
		ready = lines.Text() == "ready"
	}
	if !ready {
		t.Fatal("the client process did not open its connections")
	}
	go io.Copy(io.Discard, stdout)
	waitFor(t, func() bool { return s.srv.Stats().Requests >= idleTLSClients+1 }, "every request answered")

	perConn := float64(settledHeap()-heapBefore) / idleTLSClients
	t.Logf("%d idle TLS 1.3 keep-alive connections: Go heap %.0f B per connection", idleTLSClients, perConn)
	runtime.KeepAlive(s)
	if perConn > 4096 {
		t.Errorf("%.0f bytes of Go heap per idle TLS connection: the record buffers were not released", perConn)
	}
}

// settledHeap is the live Go heap once the pools have been emptied (two
// collections: the first moves sync.Pool contents aside, the second frees
// them).
func settledHeap() int64 {
	runtime.GC()
	runtime.GC()
	return heapBytes()
}

func init() { helperProcesses["LWANGO_IDLE_TLS_CLIENT"] = tlsIdleClientProcess }

// tlsIdleClientProcess is the client half of
// TestTLSIdleConnectionMemory, a child process (helperProcesses).
func tlsIdleClientProcess(addr string) error {
	cfg := &tls.Config{InsecureSkipVerify: true}
	return holdIdleClients(idleTLSClients, func(int) (net.Conn, error) {
		c, err := tls.Dial("tcp", addr, cfg)
		if err != nil {
			return nil, err
		}
		return c, requestHello(c)
	})
}
