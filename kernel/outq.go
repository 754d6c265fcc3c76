package kernel

import (
	"time"

	"golang.org/x/sys/unix"
)

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

// Delivering reports whether the TCP socket fd has sent data within the
// last within (TCP_INFO), whether or not its peer has acknowledged all of
// it since: a peer that reads, however slowly, opens its window again and
// again, and keeps it true until within after its last byte. A peer that
// stopped reading (its window stays shut: window probes carry no data)
// makes it false after within; so does one that vanished, once TCP's
// retransmissions have backed off past within. False for a socket that is
// not TCP.
func Delivering(fd int, within time.Duration) bool {
	info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
	if err != nil {
		return false
	}
	return time.Duration(info.Last_data_sent)*time.Millisecond < within
}

// GrowSendBuffer raises the socket fd's send buffer to at least n bytes
// (SO_SNDBUF, which the kernel doubles for its bookkeeping and caps at
// net.core.wmem_max); a buffer already that large is left as it is.
func GrowSendBuffer(fd, n int) error {
	cur, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF)
	if err != nil || cur >= n {
		return err
	}
	return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, n/2)
}
