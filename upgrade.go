package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"lwango/kernel"
	"lwango/server"
)

// A binary upgrade (SIGUSR2, as nginx's): the running process checks the
// binary now at its own path with -t and the same flags, then starts it with
// the listening sockets inherited and a control socket; the new process
// accepts on the same sockets at once, and says it is ready over the control
// socket; the old one then stops accepting, finishes its requests in flight
// and passes its idle connections over the control socket (server.HandOff),
// and exits 0. Anything that fails before the new process is ready kills it,
// and the old process goes on as if nothing happened.

// upgradeEnv carries the inherited descriptors to the new process (JSON,
// handover), and is removed from its environment at once.
const upgradeEnv = "LWANGO_UPGRADE"

// upgradeTimeout bounds the new binary's configuration check, and its start
// until it says it is ready.
const upgradeTimeout = 15 * time.Second

// handover is what the new process inherits: the control socket and, by the
// listener address the configuration writes, the listening sockets.
type handover struct {
	Control   int              `json:"control"`
	Listeners map[string][]int `json:"listeners"`
}

// readyMessage starts what the new process sends when it serves.
const readyMessage = "ready "

// upgraded is a new process that is ready, and its control socket.
type upgraded struct {
	pid int
	ctl *net.UnixConn
	err error
}

// startUpgrade runs the upgrade until the new process is ready (or fails,
// having been killed). ctx cancels it (the old process is stopping).
func startUpgrade(ctx context.Context, exe string, args []string, sockets map[string][]int) upgraded {
	check, cancel := context.WithTimeout(ctx, upgradeTimeout)
	out, err := exec.CommandContext(check, exe, append([]string{"-t"}, args...)...).CombinedOutput()
	cancel()
	if err != nil {
		return upgraded{err: fmt.Errorf("%s -t: %v: %s", exe, err, strings.TrimSpace(string(out)))}
	}

	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return upgraded{err: fmt.Errorf("control socket: %w", err)}
	}
	ctl, err := unixConn(pair[0])
	if err != nil {
		unix.Close(pair[1])
		return upgraded{err: err}
	}
	files := []*os.File{os.NewFile(uintptr(pair[1]), "upgrade control")}
	h := handover{Control: 3, Listeners: map[string][]int{}}
	names := make([]string, 0, len(sockets))
	for name := range sockets {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, fd := range sockets[name] {
			dup, err := kernel.Dup(fd) // the child's copy; ours stay with the loops
			if err != nil {
				closeFiles(files)
				ctl.Close()
				return upgraded{err: fmt.Errorf("listener %s: dup: %w", name, err)}
			}
			h.Listeners[name] = append(h.Listeners[name], 3+len(files))
			files = append(files, os.NewFile(uintptr(dup), name))
		}
	}
	env, _ := json.Marshal(h)
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), upgradeEnv+"="+string(env))
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.ExtraFiles = files
	err = cmd.Start()
	closeFiles(files)
	if err != nil {
		ctl.Close()
		return upgraded{err: fmt.Errorf("starting %s: %w", exe, err)}
	}
	pid, err := awaitReady(ctx, cmd, ctl)
	if err != nil {
		cmd.Process.Kill()
		ctl.Close()
		return upgraded{err: fmt.Errorf("new process %d: %w; killed", cmd.Process.Pid, err)}
	}
	return upgraded{pid: pid, ctl: ctl}
}

// awaitReady waits for the new process's ready message, its exit, the
// timeout or ctx, whichever comes first.
func awaitReady(ctx context.Context, cmd *exec.Cmd, ctl *net.UnixConn) (int, error) {
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	ready := make(chan error, 1)
	var pid int
	go func() {
		buf := make([]byte, 64)
		n, err := ctl.Read(buf)
		if err == nil {
			msg, ok := strings.CutPrefix(string(buf[:n]), readyMessage)
			if pid, err = strconv.Atoi(msg); !ok || err != nil {
				err = fmt.Errorf("unexpected message %q", buf[:n])
			}
		}
		ready <- err
	}()
	timer := time.NewTimer(upgradeTimeout)
	defer timer.Stop()
	select {
	case err := <-ready:
		if err == nil {
			return pid, nil
		}
		select { // the control socket ends first when the process exits: say how it did
		case status := <-exited:
			return 0, fmt.Errorf("exited before it was ready (%v)", status)
		case <-time.After(5 * time.Second):
			return 0, fmt.Errorf("did not say it is ready: %w", err)
		}
	case err := <-exited:
		return 0, fmt.Errorf("exited before it was ready (%v)", err)
	case <-timer.C:
		return 0, fmt.Errorf("not ready after %v", upgradeTimeout)
	case <-ctx.Done():
		return 0, errors.New("this process is stopping")
	}
}

// notifyTimeout bounds the wait for the service manager to take in a
// change of main process.
const notifyTimeout = 5 * time.Second

// handOver ends the old process's part: the new one (ready) takes the
// connections. The service manager learns the new main PID first, and has
// taken it in (a barrier) before this process goes on: from then on the
// new process is the one it hears (NotifyAccess=main) and watches, and
// this one's exit is no longer the service's.
func handOver(srv *server.Server, u upgraded, timeout time.Duration) error {
	slog.Info("upgrade: the new process is ready; handing the connections over", "pid", u.pid)
	notify(fmt.Sprintf("MAINPID=%d\nSTATUS=handing the connections to process %d", u.pid, u.pid))
	if err := kernel.NotifyBarrier(notifyTimeout); err != nil {
		slog.Warn("upgrade: the service manager may not know the new main process yet", "err", err)
	}
	n, err := srv.HandOff(u.ctl, timeout)
	u.ctl.Close()
	slog.Info("upgrade: done; exiting", "passed", n, "pid", u.pid)
	if err != nil {
		return errors.Join(err, errors.New("exiting with connections still open"))
	}
	return nil
}

// inheritUpgrade takes what the process being upgraded passed (nil when
// this process was not started by an upgrade) and removes it from the
// environment.
func inheritUpgrade() (*handover, *net.UnixConn, error) {
	text, ok := os.LookupEnv(upgradeEnv)
	if !ok {
		return nil, nil, nil
	}
	os.Unsetenv(upgradeEnv)
	var h handover
	if err := json.Unmarshal([]byte(text), &h); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", upgradeEnv, err)
	}
	ctl, err := unixConn(h.Control)
	if err != nil {
		return nil, nil, err
	}
	return &h, ctl, nil
}

// adoptConnections tells the old process this one serves, then serves the
// connections it passes until it is done. The old process has by then made
// this one the service's main process (handOver); this one then says so
// itself, and that it is ready.
func adoptConnections(srv *server.Server, ctl *net.UnixConn) {
	defer ctl.Close()
	if _, err := ctl.Write([]byte(readyMessage + strconv.Itoa(os.Getpid()))); err != nil {
		slog.Error("upgrade: cannot tell the old process this one is ready", "err", err)
		return
	}
	n, err := srv.AdoptFrom(ctl)
	notify(fmt.Sprintf("MAINPID=%d\nREADY=1\nSTATUS=serving", os.Getpid()))
	if err != nil {
		slog.Error("upgrade: taking the old process's connections", "adopted", n, "err", err)
		return
	}
	slog.Info("upgrade: took over the old process's connections", "adopted", n)
}

// unixConn wraps a unix socket descriptor (which it takes over).
func unixConn(fd int) (*net.UnixConn, error) {
	f := os.NewFile(uintptr(fd), "upgrade control")
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, errors.New("control socket: not a unix socket")
	}
	return uc, nil
}

func closeFiles(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}
