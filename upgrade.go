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
	// The new binary is started through this one, as a spawner that exits
	// at once (see spawnUpgrade): the new process is then the child of the
	// service manager, not of this process.
	cmd := exec.Command("/proc/self/exe", args...)
	cmd.Args[0] = exe
	cmd.Env = append(os.Environ(), upgradeEnv+"="+string(env), spawnEnv+"=1")
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
		ctl.Close()
		return upgraded{err: err}
	}
	return upgraded{pid: pid, ctl: ctl}
}

// Messages of the control socket, from the new side: the spawner names
// the process it started, which then says it is ready.
const (
	spawnedMessage = "spawned "
	readyMessage   = "ready "
)

// awaitReady waits until the new process says it is ready, or fails: the
// spawner fails, the new process exits, upgradeTimeout passes or ctx ends
// (then the new process is killed).
func awaitReady(ctx context.Context, spawner *exec.Cmd, ctl *net.UnixConn) (int, error) {
	timer := time.NewTimer(upgradeTimeout)
	defer timer.Stop()
	spawned := make(chan error, 1)
	go func() { spawned <- spawner.Wait() }()
	select {
	case err := <-spawned:
		if err != nil {
			return 0, fmt.Errorf("starting the new binary: %v", err)
		}
	case <-timer.C:
		spawner.Process.Kill()
		<-spawned
		return 0, fmt.Errorf("the new binary was not started after %v", upgradeTimeout)
	}
	messages := make(chan string, 2)
	go func() {
		defer close(messages)
		for range 2 {
			buf := make([]byte, 64)
			n, err := ctl.Read(buf)
			if err != nil {
				return
			}
			messages <- string(buf[:n])
		}
	}()
	pid, err := pidIn(<-messages, spawnedMessage)
	if err != nil {
		return 0, fmt.Errorf("the spawner: %w", err)
	}
	exited, err := unix.PidfdOpen(pid, 0) // readable once the new process ends
	if err != nil {
		return 0, fmt.Errorf("new process %d: exited before it was ready (pidfd: %v)", pid, err)
	}
	defer unix.Close(exited)
	ended := make(chan struct{})
	go func() {
		for {
			_, err := unix.Poll([]unix.PollFd{{Fd: int32(exited), Events: unix.POLLIN}}, -1)
			if err != unix.EINTR {
				close(ended)
				return
			}
		}
	}()
	fail := func(format string, a ...any) (int, error) {
		unix.PidfdSendSignal(exited, unix.SIGKILL, nil, 0)
		return 0, fmt.Errorf("new process %d: "+format+"; killed", append([]any{pid}, a...)...)
	}
	select {
	case msg, ok := <-messages:
		if !ok {
			select { // the control socket ends when the process exits: say so
			case <-ended:
				return 0, fmt.Errorf("new process %d: exited before it was ready", pid)
			case <-time.After(5 * time.Second):
				return fail("closed the control socket without saying it is ready")
			}
		}
		if ready, err := pidIn(msg, readyMessage); err != nil || ready != pid {
			return fail("unexpected message %q", msg)
		}
		return pid, nil
	case <-ended:
		return 0, fmt.Errorf("new process %d: exited before it was ready", pid)
	case <-timer.C:
		return fail("not ready after %v", upgradeTimeout)
	case <-ctx.Done():
		return fail("this process is stopping")
	}
}

// pidIn reads the process id of a control message that starts with prefix.
func pidIn(msg, prefix string) (int, error) {
	text, ok := strings.CutPrefix(msg, prefix)
	pid, err := strconv.Atoi(text)
	if !ok || err != nil || pid <= 0 {
		return 0, fmt.Errorf("unexpected message %q", msg)
	}
	return pid, nil
}

// spawnEnv marks the spawner of an upgrade (see spawnUpgrade).
const spawnEnv = "LWANGO_UPGRADE_SPAWN"

// spawnUpgrade is the spawner of an upgrade, this binary started by the
// process being upgraded: it starts the new binary (os.Args) with the
// descriptors it was given (the control socket and the listeners) and
// the environment, names the new process on the control socket and
// exits. The new process is thus reparented to the service manager (PID 1,
// or the nearest subreaper) before the old process names it as the main
// process (MAINPID=): systemd supervises fully only a main process that is
// its child (one that is not it stops with SIGKILL at once, without
// waiting for it to finish).
func spawnUpgrade() int {
	os.Unsetenv(spawnEnv)
	var h handover
	if err := json.Unmarshal([]byte(os.Getenv(upgradeEnv)), &h); err != nil || h.Control != 3 {
		fmt.Fprintf(os.Stderr, "lwango: upgrade spawner: bad %s: %v\n", upgradeEnv, err)
		return 1
	}
	n := 1
	for _, fds := range h.Listeners {
		n += len(fds)
	}
	files := make([]*os.File, n)
	for i := range files {
		files[i] = os.NewFile(uintptr(3+i), "inherited")
	}
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles = files
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "lwango: upgrade spawner: %v\n", err)
		return 1
	}
	if _, err := unix.Write(3, []byte(spawnedMessage+strconv.Itoa(cmd.Process.Pid))); err != nil {
		fmt.Fprintf(os.Stderr, "lwango: upgrade spawner: control socket: %v\n", err)
		cmd.Process.Kill()
		return 1
	}
	return 0
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
