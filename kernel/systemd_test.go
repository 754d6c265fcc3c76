package kernel

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// notifyListener is the service manager's end of NOTIFY_SOCKET: a datagram
// socket with SO_PASSCRED, bound to name (a path, or @ and an abstract
// name).
func notifyListener(t *testing.T, name string) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: name}); err != nil {
		t.Fatal(err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_PASSCRED, 1); err != nil {
		t.Fatal(err)
	}
	tv := unix.NsecToTimeval((20 * time.Second).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	return fd
}

// receive reads one notification: its text, its sender's pid and the
// descriptors it carried.
func receive(t *testing.T, fd int) (string, int, []int) {
	t.Helper()
	buf, oob := make([]byte, 4096), make([]byte, 1024)
	n, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		t.Fatalf("no notification: %v", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		t.Fatal(err)
	}
	pid := 0
	var fds []int
	for _, m := range msgs {
		if rights, err := unix.ParseUnixRights(&m); err == nil {
			fds = append(fds, rights...)
		} else if cred, err := unix.ParseUnixCredentials(&m); err == nil {
			pid = int(cred.Pid)
		}
	}
	return string(buf[:n]), pid, fds
}

// Notify reaches a path and an abstract socket, from this process; a
// barrier returns once the manager closes the descriptor it carried, and
// not before.
func TestNotifyAndBarrier(t *testing.T) {
	for _, name := range []string{
		filepath.Join(t.TempDir(), "notify"),
		fmt.Sprintf("@lwango-notify-test-%d", os.Getpid()),
	} {
		fd := notifyListener(t, name)
		t.Setenv("NOTIFY_SOCKET", name)
		if err := Notify("READY=1\nSTATUS=testing"); err != nil {
			t.Fatal(err)
		}
		if text, pid, fds := receive(t, fd); text != "READY=1\nSTATUS=testing" || pid != os.Getpid() || len(fds) != 0 {
			t.Fatalf("%s: got %q from %d with %d descriptors", name, text, pid, len(fds))
		}

		done := make(chan error, 1)
		go func() { done <- NotifyBarrier(20 * time.Second) }()
		text, _, fds := receive(t, fd)
		if text != "BARRIER=1" || len(fds) != 1 {
			t.Fatalf("%s: barrier message %q with %d descriptors", name, text, len(fds))
		}
		select {
		case err := <-done:
			t.Fatalf("%s: the barrier returned (%v) before the manager closed its descriptor", name, err)
		case <-time.After(100 * time.Millisecond):
		}
		unix.Close(fds[0])
		if err := <-done; err != nil {
			t.Fatalf("%s: barrier: %v", name, err)
		}
	}
	t.Setenv("NOTIFY_SOCKET", "")
	if err := NotifyBarrier(time.Second); err != nil {
		t.Fatalf("without NOTIFY_SOCKET: %v", err)
	}
}

// A manager that never answers a barrier makes it fail after its timeout.
func TestNotifyBarrierTimesOut(t *testing.T) {
	name := filepath.Join(t.TempDir(), "notify")
	notifyListener(t, name)
	t.Setenv("NOTIFY_SOCKET", name)
	if err := NotifyBarrier(200 * time.Millisecond); err == nil {
		t.Fatal("a barrier nobody answered returned no error")
	}
}
