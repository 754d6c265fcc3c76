package kernel

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// EventfdCreate returns a non-blocking, close-on-exec eventfd, used to wake an
// epoll loop from another thread.
func EventfdCreate() (int, error) {
	return unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
}

// EventfdSignal adds one to the eventfd's counter, making it readable.
func EventfdSignal(fd int) error {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	for {
		_, err := unix.Write(fd, one[:])
		if err != unix.EINTR {
			return err
		}
	}
}

// EventfdDrain resets the eventfd's counter so that it is no longer readable.
func EventfdDrain(fd int) {
	var buf [8]byte
	for {
		if _, err := unix.Read(fd, buf[:]); err != unix.EINTR {
			return
		}
	}
}
