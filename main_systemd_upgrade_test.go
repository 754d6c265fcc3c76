package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"lwango/internal/testenv"
)

// serviceManager is what systemd makes of a Type=notify service's
// notifications with NotifyAccess=main (as dist/systemd/lwango.service
// has): it answers a barrier from anyone, hears the main process only (the
// sender, which the kernel names through SO_PASSCRED), and MAINPID= moves
// the main process, which must be its child (the test is the subreaper,
// as PID 1 is): systemd supervises another process only as "alien",
// without waiting for it at stop.
type serviceManager struct {
	sock *notifySocket
	main int
}

// until reads notifications until one for which done is true, and returns
// it. A message from any process but the main one fails the test: systemd
// would drop it.
func (m *serviceManager) until(t *testing.T, what string, done func(notification) bool) notification {
	t.Helper()
	for {
		n := m.sock.nextFrom(t)
		if n.text == "BARRIER=1" {
			continue // answered (nextFrom closed its descriptor) before any unit is looked up, as systemd's manager_dispatch_notify_fd does
		}
		if n.pid != m.main {
			t.Fatalf("waiting for %s: %q from process %d, not the main process %d (NotifyAccess=main drops it)", what, n.text, n.pid, m.main)
		}
		for _, line := range strings.Split(n.text, "\n") {
			if pid, ok := strings.CutPrefix(line, "MAINPID="); ok {
				m.main = atoi(t, pid)
				if parent := parentOf(t, m.main); parent != os.Getpid() {
					t.Fatalf("%q names process %d, whose parent is %d, not the service manager: systemd would supervise it as alien (not notice its exit, SIGKILL it at once on stop)", n.text, m.main, parent)
				}
			}
		}
		if done(n) {
			return n
		}
	}
}

// parentOf is the parent process of pid.
func parentOf(t *testing.T, pid int) int {
	t.Helper()
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	_, rest, ok := strings.Cut(string(stat), ") ")
	if f := strings.Fields(rest); err != nil || !ok || len(f) < 2 {
		t.Fatalf("/proc/%d/stat: %q, %v", pid, stat, err)
	}
	return atoi(t, strings.Fields(rest)[1])
}

// hasLine reports whether a notification has the assignment line.
func hasLine(text, line string) bool {
	for _, l := range strings.Split(text, "\n") {
		if l == line {
			return true
		}
	}
	return false
}

// The binary upgrade under systemd. systemd is not PID 1 on the machines
// the tests run on, so its part is played by the test as systemd plays it:
// systemd-socket-activate holds the listening socket and starts lwango on
// the first connection, as a socket unit does, and the test's NOTIFY_SOCKET
// hears only the service's main process (serviceManager), answering
// barriers. On SIGUSR2 the old main process names the new one (MAINPID=),
// waits until that is taken in (BARRIER=1) and exits 0; the new process
// then says MAINPID=<its pid> and READY=1 itself, and STOPPING=1 at
// SIGTERM, exiting 0. A client opening a new connection for each request
// all the while is never refused, and a keep-alive connection opened
// before the upgrade is held and served by the new process after it.
func TestBinarySystemdUpgrade(t *testing.T) {
	activate := testenv.Program(t, "systemd-socket-activate")
	bin := buildBinary(t)
	dir := t.TempDir()
	const body = "upgraded under systemd\n"
	os.WriteFile(filepath.Join(dir, "index.html"), []byte(body), 0o644)
	conf := filepath.Join(dir, "lwan.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("listener = \"systemd:web\"\nquiet = true\nkeep_alive_timeout = 30\n\n[[site.serve_files]]\nprefix = \"/\"\npath = %q\n", dir)), 0o644)
	reapGenerations(t) // the new process is the test's to reap once the old one exits
	notify := listenNotify(t)
	cmd, addrs, stderr := startActivated(t, activate, []string{"web"}, notify, bin, "-c", conf)
	addr := addrs[0]
	manager := &serviceManager{sock: notify, main: cmd.Process.Pid}

	client := dialKeepAlive(t, addr) // the first connection starts lwango
	if err := client.get(body); err != nil {
		t.Fatal(err)
	}
	manager.until(t, "READY=1", func(n notification) bool { return hasLine(n.text, "READY=1") })

	var stop atomic.Bool
	var fresh atomic.Int64
	freshErr := make(chan error, 1)
	go func() {
		hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
		for !stop.Load() {
			resp, err := hc.Get("http://" + addr + "/")
			if err != nil {
				freshErr <- err
				return
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 || string(got) != body {
				freshErr <- fmt.Errorf("answer %d %q, %v", resp.StatusCode, got, err)
				return
			}
			fresh.Add(1)
		}
		freshErr <- nil
	}()
	defer stop.Store(true)
	waitCount(t, &fresh, 1, freshErr, "a first new connection")

	old := manager.main
	syscall.Kill(old, syscall.SIGUSR2)
	ready := manager.until(t, "the new process's READY=1", func(n notification) bool { return n.pid != old && hasLine(n.text, "READY=1") })
	next := ready.pid
	t.Cleanup(func() { syscall.Kill(next, syscall.SIGKILL) })
	if !hasLine(ready.text, "MAINPID="+strconv.Itoa(next)) {
		t.Fatalf("the new process's notification %q does not give its own PID", ready.text)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the old process %d: %v\n%s", old, err, stderr.text())
	}
	if !stderr.waitFor(`msg="upgrade: done; exiting" passed=[1-9][0-9]* pid=` + strconv.Itoa(next)) { // the keep-alive connection, and any new one not yet read
		t.Fatalf("the old process did not pass the keep-alive connection to %d:\n%s", next, stderr.text())
	}
	waitCount(t, &fresh, fresh.Load()+20, freshErr, "new connections after the old process exited")
	stop.Store(true)
	if err := <-freshErr; err != nil {
		t.Fatalf("a new connection during the upgrade: %v", err)
	}
	t.Logf("%d new connections served across the upgrade %d -> %d", fresh.Load(), old, next)

	if err := client.get(body); err != nil {
		t.Fatalf("the keep-alive connection after the upgrade: %v", err)
	}
	if owner := socketOwner(t, addr, client.conn.LocalAddr().(*net.TCPAddr).Port, next); owner != next {
		t.Fatalf("the keep-alive connection is not held by the new process %d", next)
	}
	syscall.Kill(next, syscall.SIGTERM)
	manager.until(t, "STOPPING=1", func(n notification) bool { return hasLine(n.text, "STOPPING=1") })
	if status, err := reap(next); err != nil || status != 0 {
		t.Fatalf("the new process after SIGTERM: status %d, %v\n%s", status, err, stderr.text())
	}
}

// waitCount waits (up to a minute) until counter reaches want, failing the
// test if failed reports first.
func waitCount(t *testing.T, counter *atomic.Int64, want int64, failed <-chan error, what string) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); counter.Load() < want; time.Sleep(10 * time.Millisecond) {
		select {
		case err := <-failed:
			t.Fatalf("waiting for %s: %v", what, err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s in a minute", what)
		}
	}
}
