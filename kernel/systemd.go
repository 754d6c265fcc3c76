package kernel

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// listenFdsStart is the first descriptor systemd passes (SD_LISTEN_FDS_START).
const listenFdsStart = 3

// SystemdListeners returns the sockets systemd passed to this process by
// socket activation (sd_listen_fds_with_names(3)): LISTEN_PID names this
// process, LISTEN_FDS counts the descriptors from 3 on, LISTEN_FDNAMES
// names them (colon-separated; FileDescriptorName= in the socket unit,
// the unit's name by default; "unknown" when it is missing). The variables
// are removed from the environment, so that no child takes the sockets for
// its own. Without LISTEN_FDS (or with another process's LISTEN_PID) it
// returns nothing.
func SystemdListeners() (map[string][]int, error) {
	pid, fds, names := os.Getenv("LISTEN_PID"), os.Getenv("LISTEN_FDS"), os.Getenv("LISTEN_FDNAMES")
	os.Unsetenv("LISTEN_PID")
	os.Unsetenv("LISTEN_FDS")
	os.Unsetenv("LISTEN_FDNAMES")
	if fds == "" || pid != strconv.Itoa(os.Getpid()) {
		return nil, nil
	}
	n, err := strconv.Atoi(fds)
	if err != nil || n < 0 || n > 1<<16 {
		return nil, fmt.Errorf("systemd socket activation: bad LISTEN_FDS=%q", fds)
	}
	var nameList []string
	if names != "" {
		nameList = strings.Split(names, ":")
	}
	byName := make(map[string][]int, n)
	for i := range n {
		name := "unknown"
		if i < len(nameList) && nameList[i] != "" {
			name = nameList[i]
		}
		byName[name] = append(byName[name], listenFdsStart+i)
	}
	return byName, nil
}

// Notify sends state (newline-separated VARIABLE=value assignments, see
// sd_notify(3)) to the service manager over the datagram socket that
// NOTIFY_SOCKET names (a path, or an abstract name starting with @). It
// does nothing when NOTIFY_SOCKET is not set.
func Notify(state string) error {
	return notifySend([]byte(state), nil)
}

// NotifyBarrier waits until the service manager has processed every
// notification this process sent before it (sd_notify_barrier(3)): it
// sends BARRIER=1 with the write end of a pipe, which the manager closes
// once it has got that far, and waits for the pipe's hang-up, up to
// timeout. It does nothing when NOTIFY_SOCKET is not set.
func NotifyBarrier(timeout time.Duration) error {
	if os.Getenv("NOTIFY_SOCKET") == "" {
		return nil
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return fmt.Errorf("sd_notify barrier: %w", err)
	}
	defer unix.Close(p[0])
	err := notifySend([]byte("BARRIER=1"), unix.UnixRights(p[1]))
	unix.Close(p[1]) // the manager's copy is the only one left
	if err != nil {
		return err
	}
	for deadline := time.Now().Add(timeout); ; {
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("sd_notify barrier: the service manager did not answer in %v", timeout)
		}
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(p[0])}}, int(left.Milliseconds())+1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("sd_notify barrier: %w", err)
		}
		if n > 0 { // POLLHUP: the manager closed its end
			return nil
		}
	}
}

// notifySend sends one datagram, with oob as its control message, to the
// socket NOTIFY_SOCKET names, if it is set; it waits up to 5 s for room in
// the manager's queue.
func notifySend(msg, oob []byte) error {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return nil
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	defer unix.Close(fd)
	timeout := unix.NsecToTimeval((5 * time.Second).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &timeout); err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	if err := unix.Sendmsg(fd, msg, oob, &unix.SockaddrUnix{Name: path}, 0); err != nil {
		return fmt.Errorf("sd_notify: sendmsg %s: %w", path, err)
	}
	return nil
}

// MonotonicMicros is CLOCK_MONOTONIC in microseconds, as systemd wants it
// in MONOTONIC_USEC= beside RELOADING=1.
func MonotonicMicros() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano() / 1000
}
