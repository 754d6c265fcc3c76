package kernel

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// EAGAIN is the error of a non-blocking call that would block. Read, Send
// and Sendfile return it unwrapped, so a hot path may test err == EAGAIN
// (errors.Is costs a call per test, several per request).
const EAGAIN = unix.EAGAIN

// Read reads from the non-blocking socket fd into p, retrying EINTR. It
// returns (0, nil) at end of stream and EAGAIN when nothing is ready. It is
// recvfrom(2) with no flags and no address, as nginx and Lwan read: the
// socket's own entry, without read(2)'s file layer (vfs_read,
// sock_read_iter, the position lock's check), which perf showed at ~0.2 µs
// of a keep-alive request's ~11 µs of kernel time.
//
// Read and Send are raw system calls: they do not tell the Go runtime they
// may block, so the calling thread keeps its P (see EpollWait). That is only
// right because on a non-blocking socket they never sleep; they must not be
// used on a descriptor that can block, such as a disk file.
func Read(fd int, p []byte) (int, error) {
	var base unsafe.Pointer
	if len(p) > 0 {
		base = unsafe.Pointer(&p[0])
	}
	for {
		n, _, errno := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(base), uintptr(len(p)), 0, 0, 0)
		switch errno {
		case 0:
			return int(n), nil
		case unix.EINTR:
			continue
		}
		return 0, errno
	}
}

// Close closes fd.
func Close(fd int) error { return unix.Close(fd) }

// ShutdownWrite sends a FIN: the peer reads end of stream, while fd can still
// receive.
func ShutdownWrite(fd int) error { return unix.Shutdown(fd, unix.SHUT_WR) }

// Send writes p to the non-blocking socket fd (a raw system call, see
// Read). With more set it passes MSG_MORE: the kernel holds a partial
// segment back for the data that follows (headers before a sendfile body go
// out in the same packets). It never raises SIGPIPE.
func Send(fd int, p []byte, more bool) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	flags := unix.MSG_NOSIGNAL
	if more {
		flags |= unix.MSG_MORE
	}
	for {
		n, _, errno := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), uintptr(flags), 0, 0)
		switch errno {
		case 0:
			return int(n), nil
		case unix.EINTR:
			continue
		}
		return 0, errno
	}
}
