package kernel

import "golang.org/x/sys/unix"

// Unsent is how many bytes the socket fd's send queue holds: not yet sent
// or not yet acknowledged by the peer (ioctl SIOCOUTQ).
func Unsent(fd int) (int, error) {
	for {
		n, err := unix.IoctlGetInt(fd, unix.SIOCOUTQ)
		if err != unix.EINTR {
			return n, err
		}
	}
}
