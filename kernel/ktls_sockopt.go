package kernel

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// EnableULP attaches the "tls" upper-layer protocol to a connected TCP socket:
// setsockopt(fd, SOL_TCP, TCP_ULP, "tls"). It must precede InstallTX and
// InstallRX. Calling it again on a socket that already has it is not an error.
//
// Errors (wrapped, test with errors.Is):
//   - ENOENT: the kernel has no tls module (CONFIG_TLS unset, or tls.ko not
//     loaded and not loadable by this process: modprobe tls).
//   - ENOTCONN: the socket is not connected.
func EnableULP(fd int) error {
	err := unix.SetsockoptString(fd, unix.SOL_TCP, unix.TCP_ULP, "tls")
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("kernel: setsockopt(TCP_ULP, tls): %w", err)
	}
	return nil
}

// InstallTX hands the transmit keys to the kernel: setsockopt(fd, SOL_TLS,
// TLS_TX, crypto_info). From then on write, sendfile and SendRecord produce
// TLS records protected with k, starting at sequence number k.Seq. On a kernel
// with TLS 1.3 rekeying (Linux 6.14 and later) it may be called again with the
// next keys after sending a KeyUpdate under the old ones.
//
// The crypto_info buffer is zeroed before InstallTX returns, on success and on
// failure; k itself is left to the caller (CryptoInfo.Zero).
//
// Errors: ENOENT when the kernel lacks the cipher's crypto module;
// ENOPROTOOPT when EnableULP was not called; EBUSY when TX keys are installed
// and the kernel cannot rekey; EINVAL for a version or cipher the kernel does
// not support.
func InstallTX(fd int, k *CryptoInfo) error {
	var buf [maxCryptoInfoSize]byte
	return installKeys(fd, TLS_TX, k, &buf)
}

// InstallRX hands the receive keys to the kernel: setsockopt(fd, SOL_TLS,
// TLS_RX, crypto_info). From then on read, recvmsg and RecvRecord return
// decrypted records, the first expected with sequence number k.Seq. Bytes
// already taken off the socket (for example a request read together with the
// client's Finished) are not seen by the kernel: decrypt them in user space
// and count them in k.Seq.
//
// After RX is installed a read may fail with:
//   - EIO: a plain read met a non-application-data record (alert, handshake);
//     take it with RecvRecord.
//   - EBADMSG: a record failed to decrypt or authenticate (send bad_record_mac
//     and close).
//   - EMSGSIZE: a record longer than TLS allows.
//   - EKEYEXPIRED (Linux 6.14 and later): a TLS 1.3 KeyUpdate was received;
//     reads stay paused until InstallRX is called with the next keys. Older
//     kernels instead fail the next record with EBADMSG.
//
// The crypto_info buffer is zeroed before InstallRX returns, on success and on failure.
func InstallRX(fd int, k *CryptoInfo) error {
	var buf [maxCryptoInfoSize]byte
	return installKeys(fd, TLS_RX, k, &buf)
}

// installKeys marshals k into buf, passes it to setsockopt and zeroes buf.
// buf is a parameter so that tests can see it zeroed.
func installKeys(fd, direction int, k *CryptoInfo, buf *[maxCryptoInfoSize]byte) error {
	defer clear(buf[:])
	info, err := k.marshal(buf)
	if err != nil {
		return err
	}
	// unix.SetsockoptString would copy the key into an immutable string that
	// could never be zeroed, so the bytes go straight to the syscall.
	_, _, errno := unix.Syscall6(unix.SYS_SETSOCKOPT, uintptr(fd), unix.SOL_TLS, uintptr(direction),
		uintptr(unsafe.Pointer(&info[0])), uintptr(len(info)), 0)
	if errno != 0 {
		name := map[int]string{TLS_TX: "TLS_TX", TLS_RX: "TLS_RX"}[direction]
		return fmt.Errorf("kernel: setsockopt(SOL_TLS, %s, version %#04x, cipher %d): %w", name, k.Version, k.Cipher, errno)
	}
	return nil
}

// availableULPPath lists the TCP upper-layer protocols the running kernel has registered.
const availableULPPath = "/proc/sys/net/ipv4/tcp_available_ulp"

// ULPAvailable reports whether this kernel can run TLS on a TCP socket, and a
// one-line reason for the startup log. It attaches the tls ULP to a throwaway
// connected loopback TCP socket (which also lets a privileged process
// autoload tls.ko) and reads /proc/sys/net/ipv4/tcp_available_ulp. A cipher
// module may still be missing; InstallTX/InstallRX report that per socket.
func ULPAvailable() (bool, string) {
	attempt := probeULP()
	listed := "unreadable"
	if b, err := os.ReadFile(availableULPPath); err == nil {
		listed = fmt.Sprintf("%q", strings.TrimSpace(string(b)))
	}
	if attempt == nil {
		return true, fmt.Sprintf("kernel TLS available (tcp_available_ulp %s)", listed)
	}
	var errno unix.Errno
	if errors.As(attempt, &errno) && errno == unix.ENOENT {
		return false, fmt.Sprintf("tls ULP not available: modprobe tls (setsockopt TCP_ULP: %v; tcp_available_ulp %s)", errno, listed)
	}
	return false, fmt.Sprintf("tls ULP not available: %v (tcp_available_ulp %s)", attempt, listed)
}

// probeULP tries EnableULP on one end of a fresh loopback TCP connection.
func probeULP() error {
	client, server, err := ulpProbePair()
	if err != nil {
		return fmt.Errorf("probe connection: %w", err)
	}
	defer unix.Close(client)
	defer unix.Close(server)
	return EnableULP(server)
}

// ulpProbePair returns the two ends of a new blocking TCP connection on 127.0.0.1.
func ulpProbePair() (client, server int, err error) {
	ln, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, -1, err
	}
	defer unix.Close(ln)
	if err = unix.Bind(ln, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return -1, -1, err
	}
	if err = unix.Listen(ln, 1); err != nil {
		return -1, -1, err
	}
	addr, err := unix.Getsockname(ln)
	if err != nil {
		return -1, -1, err
	}
	if client, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0); err != nil {
		return -1, -1, err
	}
	if err = unix.Connect(client, addr); err != nil {
		unix.Close(client)
		return -1, -1, err
	}
	if server, _, err = unix.Accept4(ln, unix.SOCK_CLOEXEC); err != nil {
		unix.Close(client)
		return -1, -1, err
	}
	return client, server, nil
}
