package main

import (
	"fmt"
	"os/user"
	"strconv"
	"syscall"

	"lwango/site"
)

// enterStraitjacket confines the process once its listening sockets are
// open: chroot into the configured directory, then give up root for the
// configured user (groups first, then gid, then uid). Since Go 1.16,
// Setuid and Setgid apply to every thread of the process on Linux.
func enterStraitjacket(sj *site.Straitjacket) error {
	var uid, gid int = -1, -1
	if sj.User != "" {
		u, err := user.Lookup(sj.User) // before chroot: /etc/passwd is outside it
		if err != nil {
			return err
		}
		if uid, err = strconv.Atoi(u.Uid); err != nil {
			return fmt.Errorf("user %s: uid %q", sj.User, u.Uid)
		}
		if gid, err = strconv.Atoi(u.Gid); err != nil {
			return fmt.Errorf("user %s: gid %q", sj.User, u.Gid)
		}
	}
	if sj.Chroot != "" {
		if err := syscall.Chroot(sj.Chroot); err != nil {
			return fmt.Errorf("chroot %s: %w", sj.Chroot, err)
		}
		if err := syscall.Chdir("/"); err != nil {
			return fmt.Errorf("chdir / in chroot: %w", err)
		}
	}
	if uid < 0 {
		return nil
	}
	if err := syscall.Setgroups(nil); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return fmt.Errorf("setgid %d: %w", gid, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return fmt.Errorf("setuid %d: %w", uid, err)
	}
	return nil
}
