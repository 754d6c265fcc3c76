package kernel

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// getsockoptBytes is getsockopt(fd, level, name) into a buffer of size bytes.
func getsockoptBytes(fd, level, name, size int) ([]byte, error) {
	buf := make([]byte, size)
	l := uint32(size)
	_, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), uintptr(name),
		uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&l)), 0)
	if errno != 0 {
		return nil, errno
	}
	return buf[:l], nil
}

// keyguardChild chooses keyguardProcess (helperProcesses): the child of
// TestKTLSDenyKeyReadback, which installs the filter for good (seccomp
// filters cannot be removed).
const keyguardChild = "LWANGO_KEYGUARD_CHILD"

func init() { helperProcesses[keyguardChild] = keyguardProcess }

// TestKTLSDenyKeyReadback runs keyguardProcess in a child process and
// checks that it passed all its steps.
func TestKTLSDenyKeyReadback(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), keyguardChild+"=1")
	out, err := cmd.CombinedOutput()
	t.Logf("child:\n%s", out)
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	for _, step := range []string{"STEP threat", "STEP defence", "STEP thread", "STEP others", "STEP io_uring", "STEP dumpable"} {
		if !bytes.Contains(out, []byte(step)) {
			t.Errorf("child did not reach %q", step)
		}
	}
}

// keyguardProcess proves the threat (on a kernel with kTLS: the key that
// InstallTX handed over comes back from getsockopt with the full struct
// size), installs the filter, and proves the defence: EPERM for TLS_TX and
// TLS_RX on every thread, other socket options unaffected, no io_uring, and
// a non-dumpable process.
func keyguardProcess(string) error {
	client, server, err := ulpProbePair()
	if err != nil {
		return err
	}
	defer unix.Close(client)
	defer unix.Close(server)
	_, statErr := os.Stat(tlsStatPath)
	if statErr != nil && !errors.Is(statErr, fs.ErrNotExist) {
		return statErr
	}
	hasTLS := statErr == nil
	key := bytes.Repeat([]byte{0x5a}, 32)
	want := CryptoInfo{Version: TLS_1_3_VERSION, Cipher: TLS_CIPHER_AES_GCM_256, Key: key, IV: make([]byte, 8), Salt: make([]byte, 4)}
	size := cipherLayouts[TLS_CIPHER_AES_GCM_256].size()
	if hasTLS {
		for _, fd := range []int{server, client} {
			if err := EnableULP(fd); err != nil {
				return err
			}
			k := want
			if err := InstallTX(fd, &k); err != nil {
				return err
			}
		}
		if err := InstallRX(server, &want); err != nil {
			return err
		}
		got, err := getsockoptBytes(server, unix.SOL_TLS, TLS_TX, size)
		if err != nil || !bytes.Contains(got, key) {
			return fmt.Errorf("without the filter, getsockopt(SOL_TLS, TLS_TX, %d bytes) = %x, %v; want the key back", size, got, err)
		}
		fmt.Printf("STEP threat: getsockopt(SOL_TLS, TLS_TX) returned the %d-byte key installed\n", len(key))
	} else {
		_, err := getsockoptBytes(server, unix.SOL_TLS, TLS_TX, size)
		if err == nil || errors.Is(err, unix.EPERM) {
			return fmt.Errorf("without kTLS or the filter, getsockopt(SOL_TLS, TLS_TX): %v, want the socket's own refusal", err)
		}
		fmt.Printf("STEP threat: no kTLS in this kernel; getsockopt(SOL_TLS) reaches the socket (%v)\n", err)
	}

	if err := DenyKeyReadback(); err != nil {
		return err
	}
	for _, name := range []int{TLS_TX, TLS_RX} {
		if got, err := getsockoptBytes(server, unix.SOL_TLS, name, size); !errors.Is(err, unix.EPERM) {
			return fmt.Errorf("with the filter, getsockopt(SOL_TLS, %d) = %x, %v; want EPERM", name, got, err)
		}
		// Upper bits of the int arguments are ignored by the kernel, and by the filter.
		if _, err := getsockoptBytes(server, unix.SOL_TLS|1<<32, name|1<<32, size); !errors.Is(err, unix.EPERM) {
			return fmt.Errorf("with the filter, getsockopt with high bits set: %v, want EPERM", err)
		}
	}
	fmt.Println("STEP defence: getsockopt(SOL_TLS, TLS_TX/TLS_RX) fails with EPERM")

	// A thread that existed before (TSYNC) and one started after both carry the filter.
	done := make(chan error)
	go func() {
		runtime.LockOSThread() // a new thread for this goroutine when it exits
		_, err := getsockoptBytes(server, unix.SOL_TLS, TLS_TX, size)
		done <- err
	}()
	if err := <-done; !errors.Is(err, unix.EPERM) {
		return fmt.Errorf("getsockopt on another thread: %v, want EPERM", err)
	}
	fmt.Println("STEP thread: other threads are filtered too")

	if v, err := unix.GetsockoptInt(server, unix.SOL_SOCKET, unix.SO_TYPE); err != nil || v != unix.SOCK_STREAM {
		return fmt.Errorf("getsockopt(SO_TYPE) under the filter: %d, %v", v, err)
	}
	if hasTLS {
		if _, err := unix.Write(client, []byte("ping")); err != nil {
			return err
		}
		buf := make([]byte, 16)
		if n, err := unix.Read(server, buf); err != nil || string(buf[:n]) != "ping" {
			return fmt.Errorf("kTLS record through the filtered process: %q, %v", buf[:n], err)
		}
	}
	fmt.Println("STEP others: other socket options and kTLS data unaffected")

	if _, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, 1, 0, 0); errno != unix.EPERM {
		return fmt.Errorf("io_uring_setup under the filter: %v, want EPERM", errno)
	}
	fmt.Println("STEP io_uring: io_uring_setup fails with EPERM")

	if d, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0); err != nil || d != 0 {
		return fmt.Errorf("PR_GET_DUMPABLE = %d, %v; want 0", d, err)
	}
	if status, err := os.ReadFile("/proc/self/status"); err != nil || !strings.Contains(string(status), "Seccomp:\t2") {
		return fmt.Errorf("/proc/self/status does not show seccomp filter mode (%v)", err)
	}
	fmt.Println("STEP dumpable: the process is not dumpable")
	return nil
}
