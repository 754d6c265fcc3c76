package kernel

import (
	"fmt"
	"net"
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
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return nil
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	defer conn.Close()
	conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("sd_notify: %w", err)
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
