package kernel

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// EpollWait waits up to msec milliseconds (-1: forever, 0: not at all) and
// fills events. An interrupted wait returns 0 events and no error.
//
// It first asks for the events already pending without entering the Go
// runtime's blocking-syscall path (a raw epoll_pwait with timeout 0), and
// only when there are none sleeps in an ordinary syscall. A busy loop thus
// never leaves its P: with the runtime's syscall path, every wait that
// outlasts a sysmon tick (20 µs) lets sysmon hand the P to another thread,
// and getting it back costs futex wake-ups and context switches on the
// loop's own CPU, besides keeping sysmon itself polling every 20 µs.
func EpollWait(epfd int, events []Event, msec int) (int, error) {
	n, errno := epollPwait(epfd, events, 0, true)
	if errno == 0 && n > 0 || msec == 0 {
		return epollResult(n, errno)
	}
	return epollResult(epollPwait(epfd, events, msec, false))
}

// epollPwait is epoll_pwait(2) with no signal mask (epoll_wait on every
// architecture), raw or through the runtime's syscall path.
func epollPwait(epfd int, events []Event, msec int, raw bool) (int, unix.Errno) {
	var n uintptr
	var errno unix.Errno
	if raw {
		n, _, errno = unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), uintptr(msec), 0, 0)
	} else {
		n, _, errno = unix.Syscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), uintptr(msec), 0, 0)
	}
	return int(n), errno
}

func epollResult(n int, errno unix.Errno) (int, error) {
	switch errno {
	case 0:
		return n, nil
	case unix.EINTR:
		return 0, nil
	}
	return 0, errno
}
