package coro

import "errors"

// Errors an I/O step returns when it cannot go on until the socket is ready.
// A transport (plain, kernel TLS, user-space TLS) returns them from its
// reads and writes; the step turns them into WantRead or WantWrite.
var (
	// ErrWantRead: nothing can be done until the socket is readable.
	ErrWantRead = errors.New("coro: would block until readable")
	// ErrWantWrite: nothing can be done until the socket is writable.
	ErrWantWrite = errors.New("coro: would block until writable")
)

// WantOf maps ErrWantRead and ErrWantWrite to WantRead and WantWrite, and
// anything else to 0.
func WantOf(err error) Want {
	switch err {
	case ErrWantRead:
		return WantRead
	case ErrWantWrite:
		return WantWrite
	}
	return 0
}
