package kernel

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// EpollWait waits up to msec milliseconds (-1: forever, 0: not at all) and
// fills events. An interrupted wait returns 0 events and no error.
//
// It first waits up to holdMsec milliseconds (0: only asks what is pending)
// in a raw syscall, which keeps the thread's P (processor), and only then
// goes on sleeping through the Go runtime's syscall path. A P in the
// runtime's syscall path can be taken by sysmon (after 20 µs when no P is
// idle, after 10 ms otherwise, or at once when the goroutine has run for
// 10 ms without passing through the scheduler, as a loop always has), and
// getting it back costs futex wake-ups and context switches on the loop's
// own CPU, besides sending sysmon back to polling every 20 µs. Holding the
// P is only right when the program keeps a P to spare for its other
// goroutines (loop.Group does): one that needs this thread's P meanwhile (a
// stop-the-world, the 10 ms preemption) sends a signal, which ends the raw
// wait early with 0 events. Long waits still give the P up, so an idle
// program does not keep its threads waking.
func EpollWait(epfd int, events []Event, msec, holdMsec int) (int, error) {
	hold := holdMsec
	if msec >= 0 {
		hold = min(hold, msec)
	}
	n, errno := epollPwait(epfd, events, hold, true)
	if errno != 0 || n > 0 || msec == hold {
		return epollResult(n, errno)
	}
	if msec > 0 {
		msec -= hold
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
