package kernel

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestParseListenAddr(t *testing.T) {
	good := map[string]string{
		"*:8080":         "[::]:8080",
		":80":            "[::]:80",
		"[::]:443":       "[::]:443",
		"[::1]:8443":     "[::1]:8443",
		"127.0.0.1:0":    "127.0.0.1:0",
		"0.0.0.0:8080":   "0.0.0.0:8080",
		"localhost:8080": "127.0.0.1:8080",
	}
	for in, want := range good {
		got, err := ParseListenAddr(in)
		if err != nil || got.String() != want {
			t.Errorf("ParseListenAddr(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"8080", "*:", "*:65536", "*:-1", "::1:80", "[1.2.3.4]:80", "example.com:80", "1.2.3:80"} {
		if got, err := ParseListenAddr(in); err == nil {
			t.Errorf("ParseListenAddr(%q) = %v, want an error", in, got)
		}
	}
}

// listenPair binds two SO_REUSEPORT sockets on one kernel-chosen port.
func listenPair(t *testing.T, host string) (int, int, netip.AddrPort) {
	t.Helper()
	ap, err := ParseListenAddr(host + ":0")
	if err != nil {
		t.Fatal(err)
	}
	first, err := Listen(ap, ListenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Close(first) })
	bound, err := LocalAddr(first)
	if err != nil || bound.Port() == 0 {
		t.Fatalf("LocalAddr = %v, %v", bound, err)
	}
	second, err := Listen(bound, ListenOptions{DeferAcceptSeconds: 5})
	if err != nil {
		t.Fatalf("second listener on the same port: %v", err)
	}
	t.Cleanup(func() { Close(second) })
	return first, second, bound
}

func acceptWithin(t *testing.T, fds ...int) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, l := range fds {
			fd, err := Accept(l)
			if err == nil {
				return fd
			}
			if !errors.Is(err, EAGAIN) {
				t.Fatal(err)
			}
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("no connection accepted")
	return -1
}

func TestListenReusePortAcceptAndIO(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "[::1]", "*"} {
		t.Run(host, func(t *testing.T) {
			a, b, bound := listenPair(t, host)
			dial := "127.0.0.1:" + strconv.Itoa(int(bound.Port()))
			if host == "[::1]" {
				dial = "[::1]:" + strconv.Itoa(int(bound.Port()))
			}
			client, err := net.Dial("tcp", dial)
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			if _, err := client.Write([]byte("ping")); err != nil {
				t.Fatal(err)
			}
			fd := acceptWithin(t, a, b)
			defer Close(fd)

			nodelay, err := unix.GetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY)
			if err != nil || nodelay == 0 {
				t.Errorf("accepted socket TCP_NODELAY = %d, %v; want inherited 1", nodelay, err)
			}
			flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
			if err != nil || flags&unix.O_NONBLOCK == 0 {
				t.Errorf("accepted socket is blocking (flags %#x, %v)", flags, err)
			}
			peer := string(AppendPeerAddr(nil, fd))
			if want := client.LocalAddr().(*net.TCPAddr).IP.String(); peer != want {
				t.Errorf("AppendPeerAddr = %q, want %q", peer, want)
			}

			buf := make([]byte, 16)
			var n int
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
				if n, err = Read(fd, buf); !errors.Is(err, EAGAIN) {
					break
				}
			}
			if err != nil || string(buf[:n]) != "ping" {
				t.Fatalf("Read = %q, %v", buf[:n], err)
			}
			if _, err := Read(fd, buf); !errors.Is(err, EAGAIN) {
				t.Fatalf("Read with nothing pending = %v, want EAGAIN", err)
			}

			if n, err := Send(fd, []byte("po"), true); n != 2 || err != nil {
				t.Fatalf("Send with more = %d, %v", n, err)
			}
			if n, err := Send(fd, []byte("ng!"), false); n != 3 || err != nil {
				t.Fatalf("Send = %d, %v", n, err)
			}
			if err := ShutdownWrite(fd); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(client)
			if err != nil || string(got) != "pong!" {
				t.Fatalf("client read %q, %v", got, err)
			}
			client.Close()
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
				if n, err = Read(fd, buf); !errors.Is(err, EAGAIN) {
					break
				}
			}
			if n != 0 || err != nil {
				t.Fatalf("Read after peer close = %d, %v; want end of stream", n, err)
			}
		})
	}
}

func TestListenRejectsBusyPortWithoutReusePort(t *testing.T) {
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	ap := plain.Addr().(*net.TCPAddr).AddrPort()
	if fd, err := Listen(ap, ListenOptions{}); err == nil {
		Close(fd)
		t.Fatal("Listen on a port held by a socket without SO_REUSEPORT succeeded")
	}
}

func TestSendfile(t *testing.T) {
	content := bytes.Repeat([]byte("0123456789abcdef"), 1<<14) // 256 KiB
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer Close(pair[0])
	reader := os.NewFile(uintptr(pair[1]), "reader")
	defer reader.Close()
	received := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(reader)
		received <- b
	}()
	offset := int64(100)
	want := content[100 : len(content)-100]
	for sent := 0; sent < len(want); {
		n, err := Sendfile(pair[0], int(file.Fd()), &offset, len(want)-sent)
		if err != nil {
			t.Fatal(err)
		}
		sent += n
	}
	if offset != int64(len(content)-100) {
		t.Errorf("offset = %d after sendfile", offset)
	}
	unix.Shutdown(pair[0], unix.SHUT_WR)
	if got := <-received; !bytes.Equal(got, want) {
		t.Fatalf("received %d bytes, want %d identical ones", len(got), len(want))
	}
}

func TestEpollAndEventfd(t *testing.T) {
	ep, err := EpollCreate()
	if err != nil {
		t.Fatal(err)
	}
	defer Close(ep)
	efd, err := EventfdCreate()
	if err != nil {
		t.Fatal(err)
	}
	defer Close(efd)
	if err := EpollAdd(ep, efd, EventIn); err != nil {
		t.Fatal(err)
	}
	events := make([]Event, 4)
	if n, err := EpollWait(ep, events, 0, 0); n != 0 || err != nil {
		t.Fatalf("EpollWait before signal = %d, %v", n, err)
	}
	go EventfdSignal(efd)
	n, err := EpollWait(ep, events, 5000, 0)
	if n != 1 || err != nil || int(events[0].Fd) != efd || events[0].Events&EventIn == 0 {
		t.Fatalf("EpollWait = %d, %v, %+v", n, err, events[0])
	}
	EventfdDrain(efd)
	if n, err := EpollWait(ep, events, 0, 0); n != 0 || err != nil {
		t.Fatalf("EpollWait after drain = %d, %v", n, err)
	}
	if err := EpollModify(ep, efd, EventOut); err != nil {
		t.Fatal(err)
	}
	if n, _ := EpollWait(ep, events, 0, 0); n != 1 || events[0].Events&EventOut == 0 {
		t.Fatalf("eventfd not writable after EpollModify: %d %+v", n, events[0])
	}
	if err := EpollDelete(ep, efd); err != nil {
		t.Fatal(err)
	}
	if n, _ := EpollWait(ep, events, 0, 0); n != 0 {
		t.Fatalf("event after EpollDelete")
	}
}

func TestPinThread(t *testing.T) {
	cpus, err := AllowedCPUs()
	if err != nil || len(cpus) == 0 {
		t.Fatalf("AllowedCPUs = %v, %v", cpus, err)
	}
	done := make(chan error)
	go func() {
		runtime.LockOSThread() // never unlocked: the pinned thread exits with the goroutine
		last := cpus[len(cpus)-1]
		if err := PinThread(last); err != nil {
			done <- err
			return
		}
		var set unix.CPUSet
		if err := unix.SchedGetaffinity(0, &set); err != nil {
			done <- err
			return
		}
		if set.Count() != 1 || !set.IsSet(last) {
			done <- errors.New("thread affinity is not the single pinned CPU")
			return
		}
		done <- nil
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestOpenFileLimit(t *testing.T) {
	n, err := OpenFileLimit()
	if err != nil || n < 64 {
		t.Fatalf("OpenFileLimit = %d, %v", n, err)
	}
	if Somaxconn() <= 0 {
		t.Fatal("Somaxconn not positive")
	}
}
