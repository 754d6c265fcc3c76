package kernel

import (
	"testing"

	"golang.org/x/sys/unix"
)

// GrowSendBuffer raises a small send buffer to at least what it is asked
// for and never lowers a larger one.
func TestGrowSendBuffer(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	sndbuf := func() int {
		n, err := unix.GetsockoptInt(fds[0], unix.SOL_SOCKET, unix.SO_SNDBUF)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if err := unix.SetsockoptInt(fds[0], unix.SOL_SOCKET, unix.SO_SNDBUF, 8<<10); err != nil {
		t.Fatal(err)
	}
	if err := GrowSendBuffer(fds[0], 128<<10); err != nil {
		t.Fatal(err)
	}
	grown := sndbuf()
	if grown < 128<<10 {
		t.Fatalf("send buffer %d after GrowSendBuffer(128 KiB)", grown)
	}
	if err := GrowSendBuffer(fds[0], 32<<10); err != nil {
		t.Fatal(err)
	}
	if got := sndbuf(); got != grown {
		t.Fatalf("GrowSendBuffer(32 KiB) changed a %d-byte buffer to %d", grown, got)
	}
}
