package kernel

import "golang.org/x/sys/unix"

// OpenFileLimit is the process's current limit on open descriptors
// (RLIMIT_NOFILE; the Go runtime raises the soft limit to the hard one at
// start-up). Every descriptor number is below it.
func OpenFileLimit() (int, error) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	return int(lim.Cur), nil
}
