package server

import (
	"net"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"lwango/kernel"
)

// upgradeTo does in one process what a binary upgrade does between two: a
// second server on old's configuration takes old's listening sockets, then
// old hands its connections over a unix socket pair and the second adopts
// them. It returns the second server (shut down when the test ends) and how
// many connections were passed.
func upgradeTo(t *testing.T, old *Server, opts Options) (*Server, int) {
	t.Helper()
	opts.Inherited = map[string][]int{}
	for key, fds := range old.Sockets() { // the new process's copies, as exec gives it
		for _, fd := range fds {
			dup, err := kernel.Dup(fd)
			if err != nil {
				t.Fatal(err)
			}
			opts.Inherited[key] = append(opts.Inherited[key], dup)
		}
	}
	if opts.Tick == 0 {
		opts.Tick = 10 * time.Millisecond
	}
	next, err := New(old.cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	next.Start()
	t.Cleanup(func() {
		if err := next.Shutdown(10 * time.Second); err != nil {
			t.Error(err)
		}
	})
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	ends := make([]*net.UnixConn, 2)
	for i, fd := range pair {
		f := os.NewFile(uintptr(fd), "pair")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		ends[i] = c.(*net.UnixConn)
	}
	adopted := make(chan int, 1)
	go func() {
		n, err := next.AdoptFrom(ends[1])
		if err != nil {
			t.Errorf("AdoptFrom: %v", err)
		}
		ends[1].Close()
		adopted <- n
	}()
	passed, err := old.HandOff(ends[0], 10*time.Second)
	ends[0].Close()
	if err != nil {
		t.Fatalf("HandOff: %v", err)
	}
	if n := <-adopted; n != passed {
		t.Fatalf("%d connections passed, %d adopted", passed, n)
	}
	return next, passed
}
