package site

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// openFlags open files for reading without blocking on a FIFO and without
// making a terminal the controlling one.
const openFlags = unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NONBLOCK | unix.O_NOCTTY

// root is a served directory. Every file is opened relative to it so that
// no name, "..", or symbolic link can lead outside it.
type root struct {
	fd   int    // O_PATH descriptor of the directory
	path string // its absolute path with symbolic links resolved
	// beneath is true when the kernel has openat2 with RESOLVE_BENEATH; the
	// fallback resolves symbolic links in user space and checks the result
	// stays under path (racy against a concurrent rename, so openat2 is
	// always preferred).
	beneath bool
}

func openRoot(dir string) (*root, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	resolved, err := filepath.EvalSymlinks(abs)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	fd, err := unix.Open(resolved, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	r := &root{fd: fd, path: resolved, beneath: true}
	probe, err := unix.Openat2(fd, ".", &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_BENEATH})
	if errors.Is(err, unix.ENOSYS) {
		r.beneath = false
	} else if err == nil {
		unix.Close(probe)
	}
	return r, nil
}

func (r *root) close() error {
	return unix.Close(r.fd)
}

// open opens name (relative, no leading '/'; "." for the root itself)
// for reading, refusing any path that resolves outside the root.
func (r *root) open(name string) (int, error) {
	if r.beneath {
		for {
			fd, err := unix.Openat2(r.fd, name, &unix.OpenHow{
				Flags:   openFlags,
				Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
			})
			if err == unix.EINTR || err == unix.EAGAIN {
				continue // EAGAIN: a rename raced the lookup
			}
			return fd, err
		}
	}
	resolved, err := filepath.EvalSymlinks(filepath.Join(r.path, name))
	if err != nil {
		return -1, unix.ENOENT
	}
	if resolved != r.path && !strings.HasPrefix(resolved, r.path+"/") {
		return -1, unix.EXDEV
	}
	return unix.Open(resolved, openFlags|unix.O_NOFOLLOW, 0)
}

// stat looks at name without opening it, to see whether a cached copy is
// still current.
func (r *root) stat(name string, st *unix.Stat_t) error {
	return unix.Fstatat(r.fd, name, st, 0)
}

// statusForOpenError maps an open error to the status to answer with:
// missing, escaping and unreadable paths are all "not found" except a
// permission error.
func statusForOpenError(err error) int {
	switch {
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		return 403
	case errors.Is(err, unix.EMFILE), errors.Is(err, unix.ENFILE), errors.Is(err, unix.ENOMEM):
		return 503
	}
	return 404
}
