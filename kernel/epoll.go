package kernel

import "golang.org/x/sys/unix"

// Epoll event bits, re-exported so that callers need not import unix.
const (
	EventIn    = unix.EPOLLIN
	EventOut   = unix.EPOLLOUT
	EventRDHup = unix.EPOLLRDHUP
	EventHup   = unix.EPOLLHUP
	EventErr   = unix.EPOLLERR
	// EventExclusive (EPOLLEXCLUSIVE, only when adding) wakes one of the
	// epoll instances that wait on the same socket, not all of them.
	EventExclusive = unix.EPOLLEXCLUSIVE
)

// Event is one readiness report from EpollWait.
type Event = unix.EpollEvent

// EpollCreate returns a new close-on-exec epoll descriptor.
func EpollCreate() (int, error) {
	return unix.EpollCreate1(unix.EPOLL_CLOEXEC)
}

// EpollAdd registers fd with the given event mask; the event reports fd.
func EpollAdd(epfd, fd int, events uint32) error {
	ev := unix.EpollEvent{Events: events, Fd: int32(fd)}
	return unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, fd, &ev)
}

// EpollModify changes the event mask of a registered fd.
func EpollModify(epfd, fd int, events uint32) error {
	ev := unix.EpollEvent{Events: events, Fd: int32(fd)}
	return unix.EpollCtl(epfd, unix.EPOLL_CTL_MOD, fd, &ev)
}

// EpollDelete unregisters fd.
func EpollDelete(epfd, fd int) error {
	return unix.EpollCtl(epfd, unix.EPOLL_CTL_DEL, fd, nil)
}
