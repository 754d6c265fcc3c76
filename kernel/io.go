package kernel

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// EAGAIN is the error of a non-blocking call that would block.
const EAGAIN = unix.EAGAIN

// Read reads from fd into p, retrying EINTR. It returns (0, nil) at end of
// stream and EAGAIN when nothing is ready.
func Read(fd int, p []byte) (int, error) {
	for {
		n, err := unix.Read(fd, p)
		if err != unix.EINTR {
			if err != nil {
				return 0, err
			}
			return n, nil
		}
	}
}

// Close closes fd.
func Close(fd int) error { return unix.Close(fd) }

// ShutdownWrite sends a FIN: the peer reads end of stream, while fd can still
// receive.
func ShutdownWrite(fd int) error { return unix.Shutdown(fd, unix.SHUT_WR) }

// Send writes p to the socket fd. With more set it passes MSG_MORE: the
// kernel holds a partial segment back for the data that follows (headers
// before a sendfile body go out in the same packets). It never raises
// SIGPIPE.
func Send(fd int, p []byte, more bool) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	flags := unix.MSG_NOSIGNAL
	if more {
		flags |= unix.MSG_MORE
	}
	for {
		n, _, errno := unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), uintptr(flags), 0, 0)
		if errno == 0 {
			return int(n), nil
		}
		if errno != unix.EINTR {
			return 0, errno
		}
	}
}
