package kernel

import "golang.org/x/sys/unix"

// Sendfile copies up to count bytes of the file in, starting at *offset, to the
// socket out and advances *offset by the bytes sent. EAGAIN is returned as is.
func Sendfile(out, in int, offset *int64, count int) (int, error) {
	for {
		n, err := unix.Sendfile(out, in, offset, count)
		if err != unix.EINTR {
			return n, err
		}
	}
}
