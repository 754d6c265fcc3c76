package kernel

import (
	"testing"
	"time"

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

// A socket whose peer has read and acknowledged all it was sent is still
// delivering while its last byte left within the interval: an idle
// timeout counts from the last byte sent, not from the last time the
// queue was seen non-empty (a slow reader that took the last bytes just
// before a check was closed at once).
func TestDeliveringCountsFromTheLastByteSent(t *testing.T) {
	client, fd := testPair(t)
	if _, err := unix.Write(fd, make([]byte, 64<<10)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	for got := 0; got < len(buf); {
		n, err := unix.Read(client, buf[got:])
		if n <= 0 {
			t.Fatalf("read %d of %d bytes: %v", got, len(buf), err)
		}
		got += n
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Millisecond) {
		info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
		if err != nil {
			t.Fatal(err)
		}
		if info.Notsent_bytes == 0 && info.Unacked == 0 {
			break // all acknowledged
		}
		if time.Now().After(deadline) {
			t.Fatal("the peer's acknowledgements never came")
		}
	}
	if !Delivering(fd, time.Hour) {
		t.Fatal("all acknowledged: not delivering, though the last byte left within the hour")
	}
}
