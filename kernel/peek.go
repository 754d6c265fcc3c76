package kernel

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Peek copies into p the bytes waiting on the non-blocking socket fd
// without taking them (recv with MSG_PEEK, a raw system call as Read),
// retrying EINTR. It returns (0, nil) at end of stream and EAGAIN when
// nothing is ready.
func Peek(fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, _, errno := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), unix.MSG_PEEK, 0, 0)
		switch errno {
		case 0:
			return int(n), nil
		case unix.EINTR:
			continue
		}
		return 0, errno
	}
}
