package main

import (
	"os"
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
	uid, gid, err := straitjacketUser(cfg) // before chroot: /etc/passwd is outside it
	if err != nil {
		return err
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

// straitjacketUser looks up the [straitjacket] user's uid and gid (-1, -1
// when there is none).
func straitjacketUser(cfg *site.Config) (uid, gid int, err error) {
	sj := cfg.Straitjacket
	if sj.User == "" {
		return -1, -1, nil
	}
	u, err := user.Lookup(sj.User)
	if err != nil {
		return -1, -1, cfg.Errorf("straitjacket.user", "%v", err)
	}
	if uid, err = strconv.Atoi(u.Uid); err != nil {
		return -1, -1, cfg.Errorf("straitjacket.user", "user %s: uid %q", sj.User, u.Uid)
	}
	if gid, err = strconv.Atoi(u.Gid); err != nil {
		return -1, -1, cfg.Errorf("straitjacket.user", "user %s: gid %q", sj.User, u.Gid)
	}
	return uid, gid, nil
}

// checkStraitjacket finds what enterStraitjacket would refuse, for -t: a
// user that does not exist, a chroot that is not a directory.
func checkStraitjacket(cfg *site.Config) error {
	if _, _, err := straitjacketUser(cfg); err != nil {
		return err
	}
	if dir := cfg.Straitjacket.Chroot; dir != "" {
		st, err := os.Stat(dir)
		if pe, ok := err.(*os.PathError); ok {
			err = pe.Err // as chroot(2) would say it
		}
		if err != nil {
			return cfg.Errorf("straitjacket.chroot", "chroot %s: %v", dir, err)
		}
		if !st.IsDir() {
			return cfg.Errorf("straitjacket.chroot", "chroot %s: not a directory", dir)
		}
	}
	return nil
}
