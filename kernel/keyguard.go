package kernel

import (
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// x32SyscallBit marks the x32 ABI's system call numbers on x86-64.
const x32SyscallBit = 0x40000000

// Offsets in struct seccomp_data: int nr; __u32 arch; __u64 ip; __u64 args[6].
const (
	seccompNr   = 0
	seccompArch = 4
	// seccompArg is the offset of the low 32 bits of args[i] (little-endian).
	seccompArg1 = 16 + 8*1
	seccompArg2 = 16 + 8*2
)

// keyReadbackFilter is the seccomp program of DenyKeyReadback. In order:
//   - a system call of another ABI (i386 int 0x80, x32) fails with EPERM: a Go
//     amd64 process makes none, and they would reach getsockopt by another number;
//   - io_uring_setup, io_uring_enter and io_uring_register fail with EPERM:
//     io_uring's getsockopt command (Linux 6.7+) would bypass the filter;
//   - getsockopt(fd, SOL_TLS, TLS_TX or TLS_RX, ...) fails with EPERM (the
//     kernel reads level and optname as int: only the low 32 bits count);
//   - everything else is allowed.
func keyReadbackFilter() []unix.SockFilter {
	const (
		ld    = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		jge   = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
		ret   = unix.BPF_RET | unix.BPF_K
		allow = unix.SECCOMP_RET_ALLOW
		eperm = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
	)
	// Jt and Jf (0: fall through) count the instructions skipped after the jump.
	return []unix.SockFilter{
		/* 0 */ {Code: ld, K: seccompArch},
		/* 1 */ {Code: jeq, Jt: 1, K: unix.AUDIT_ARCH_X86_64},
		/* 2 */ {Code: ret, K: eperm},
		/* 3 */ {Code: ld, K: seccompNr},
		/* 4 */ {Code: jge, Jt: 12, K: x32SyscallBit}, // to 17
		/* 5 */ {Code: jeq, Jt: 11, K: unix.SYS_IO_URING_SETUP},
		/* 6 */ {Code: jeq, Jt: 10, K: unix.SYS_IO_URING_ENTER},
		/* 7 */ {Code: jeq, Jt: 9, K: unix.SYS_IO_URING_REGISTER},
		/* 8 */ {Code: jeq, Jt: 1, K: unix.SYS_GETSOCKOPT},
		/* 9 */ {Code: ret, K: allow},
		/* 10 */ {Code: ld, K: seccompArg1},
		/* 11 */ {Code: jeq, Jt: 1, K: unix.SOL_TLS},
		/* 12 */ {Code: ret, K: allow},
		/* 13 */ {Code: ld, K: seccompArg2},
		/* 14 */ {Code: jeq, Jt: 2, K: TLS_TX},
		/* 15 */ {Code: jeq, Jt: 1, K: TLS_RX},
		/* 16 */ {Code: ret, K: allow},
		/* 17 */ {Code: ret, K: eperm},
	}
}

var denyKeyReadback struct {
	once sync.Once
	err  error
}

// DenyKeyReadback makes the kernel TLS keys of this process's sockets
// unreadable from inside the process, for good: it installs, on every thread
// (SECCOMP_FILTER_FLAG_TSYNC; threads started later inherit it), a seccomp
// filter under which getsockopt(SOL_TLS, TLS_TX or TLS_RX) fails with EPERM.
// With the full struct size that getsockopt would return the key, IV and
// salt installed by InstallTX/InstallRX (do_tls_getsockopt_conf in
// net/tls/tls_main.c) to any code running in the process. The filter also
// refuses io_uring, whose getsockopt command would go around it, and system
// calls of other ABIs than x86-64's. It sets no_new_privs first, as seccomp
// requires of an unprivileged process.
//
// It also sets the process non-dumpable (PR_SET_DUMPABLE 0): no core dump,
// and no ptrace or /proc/PID/mem for processes without CAP_SYS_PTRACE. The
// kernel resets that flag when the process changes its user or group IDs, so
// call SetNonDumpable again after dropping privileges.
//
// The filter is installed once per process; later calls only set the
// process non-dumpable again and return the first call's error.
func DenyKeyReadback() error {
	denyKeyReadback.once.Do(func() {
		if runtime.GOARCH != "amd64" {
			denyKeyReadback.err = fmt.Errorf("kernel: the getsockopt(SOL_TLS) seccomp filter is written for amd64, not %s", runtime.GOARCH)
			return
		}
		filter := keyReadbackFilter()
		prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			denyKeyReadback.err = fmt.Errorf("kernel: prctl(PR_SET_NO_NEW_PRIVS): %w", err)
			return
		}
		r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
			unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&prog)))
		switch {
		case errno != 0:
			denyKeyReadback.err = fmt.Errorf("kernel: seccomp(SET_MODE_FILTER, TSYNC): %w", errno)
		case r != 0:
			denyKeyReadback.err = fmt.Errorf("kernel: seccomp(SET_MODE_FILTER, TSYNC): thread %d could not be synchronised", r)
		}
	})
	if denyKeyReadback.err != nil {
		return denyKeyReadback.err
	}
	return SetNonDumpable()
}

// SetNonDumpable sets PR_SET_DUMPABLE to 0 (see DenyKeyReadback).
func SetNonDumpable() error {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("kernel: prctl(PR_SET_DUMPABLE, 0): %w", err)
	}
	return nil
}
