package main

import (
	"os/user"
	"strconv"
	"syscall"

	"lwango/site"
)

// enterStraitjacket confines the process once its listening sockets are
// open: chroot into cfg's [straitjacket] directory, then give up root for
// its user (groups first, then gid, then uid). Since Go 1.16, Setuid and
// Setgid apply to every thread of the process on Linux. Errors name the
// file, line and key (straitjacket.user or straitjacket.chroot).
func enterStraitjacket(cfg *site.Config) error {
	sj := cfg.Straitjacket
	var uid, gid int = -1, -1
	if sj.User != "" {
		u, err := user.Lookup(sj.User) // before chroot: /etc/passwd is outside it
		if err != nil {
			return cfg.Errorf("straitjacket.user", "%v", err)
		}
		if uid, err = strconv.Atoi(u.Uid); err != nil {
			return cfg.Errorf("straitjacket.user", "user %s: uid %q", sj.User, u.Uid)
		}
		if gid, err = strconv.Atoi(u.Gid); err != nil {
			return cfg.Errorf("straitjacket.user", "user %s: gid %q", sj.User, u.Gid)
		}
	}
	if sj.Chroot != "" {
		if err := syscall.Chroot(sj.Chroot); err != nil {
			return cfg.Errorf("straitjacket.chroot", "chroot %s: %v", sj.Chroot, err)
		}
		if err := syscall.Chdir("/"); err != nil {
			return cfg.Errorf("straitjacket.chroot", "chdir / in chroot: %v", err)
		}
	}
	if uid < 0 {
		return nil
	}
	if err := syscall.Setgroups(nil); err != nil {
		return cfg.Errorf("straitjacket.user", "setgroups: %v", err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return cfg.Errorf("straitjacket.user", "setgid %d: %v", gid, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return cfg.Errorf("straitjacket.user", "setuid %d: %v", uid, err)
	}
	return nil
}
