package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"lwango/internal/testenv"
)

// upgradeServer is the binary under upgrade: every generation writes its
// log to the same stderr, and the test reaps every generation (it is the
// child subreaper, so a process whose parent exited is reparented to it).
type upgradeServer struct {
	bin  string
	log  *logLines
	pid  int // the generation now serving
	addr string
}

// startUpgradeServer starts bin with args; the test process becomes a child
// subreaper for the generations to come.
func startUpgradeServer(t *testing.T, bin string, args ...string) *upgradeServer {
	t.Helper()
	reapGenerations(t)
	cmd := exec.Command(bin, args...)
	cmd.Stdout = io.Discard
	s := &upgradeServer{bin: bin, log: captureLog(t, cmd)}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.pid = cmd.Process.Pid
	t.Cleanup(func() {
		if syscall.Kill(s.pid, syscall.SIGTERM) == nil {
			if status, err := reap(s.pid); err != nil || status != 0 {
				t.Errorf("the last generation after SIGTERM: status %d, %v\n%s", status, err, s.log.text())
			}
		}
	})
	m, ok := s.log.waitForFrom(0, `msg="lwango serving" http=(\S+)`, 20*time.Second)
	if !ok {
		t.Fatalf("the server never said where it listens:\n%s", s.log.text())
	}
	s.addr = m[1]
	return s
}

// reapGenerations makes the test process a child subreaper: a generation
// whose parent (the old generation) exits is reparented to the test, which
// reaps it and reads its exit status.
func reapGenerations(t *testing.T) {
	t.Helper()
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatalf("PR_SET_CHILD_SUBREAPER: %v", err)
	}
}

// reap waits (up to 30 s) for process pid, a child of the test, to exit and
// returns its exit status.
func reap(pid int) (int, error) {
	done := make(chan error, 1)
	var ws unix.WaitStatus
	go func() {
		_, err := unix.Wait4(pid, &ws, 0, nil)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			return -1, err
		}
		if !ws.Exited() {
			return -1, fmt.Errorf("process %d ended by %v", pid, ws.Signal())
		}
		return ws.ExitStatus(), nil
	case <-time.After(30 * time.Second):
		return -1, fmt.Errorf("process %d still running", pid)
	}
}

// upgrade sends SIGUSR2 and waits for the old generation to hand over and
// exit 0; the new one then serves.
func (s *upgradeServer) upgrade(t *testing.T) {
	t.Helper()
	from := s.log.len()
	old := s.pid
	syscall.Kill(old, syscall.SIGUSR2)
	m, ok := s.log.waitForFrom(from, `msg="upgrade: done; exiting" passed=(\d+) pid=(\d+)|msg="upgrade failed`, 60*time.Second)
	if !ok || m[2] == "" {
		t.Fatalf("no upgrade:\n%s", s.log.text())
	}
	if status, err := reap(old); err != nil || status != 0 {
		t.Fatalf("the old generation %d: status %d, %v", old, status, err)
	}
	s.pid = atoi(t, m[2])
	t.Logf("upgraded %d -> %d, %s connections passed", old, s.pid, m[1])
}

// keepAliveClient is one persistent HTTP/1.1 connection.
type keepAliveClient struct {
	conn net.Conn
	r    *bufio.Reader
}

func dialKeepAlive(t *testing.T, addr string) *keepAliveClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &keepAliveClient{conn: c, r: bufio.NewReader(c)}
}

// get makes one request on the connection and checks the answer.
func (k *keepAliveClient) get(want string) error {
	k.conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(k.conn, "GET / HTTP/1.1\r\nHost: upgrade\r\n\r\n"); err != nil {
		return err
	}
	resp, err := http.ReadResponse(k.r, nil)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 || string(body) != want || resp.Close {
		return fmt.Errorf("answer %d %q (close %v)", resp.StatusCode, body, resp.Close)
	}
	return nil
}

// socketOwner finds the process among pids that holds the server's end of
// the TCP connection from the client's local port (through /proc/net/tcp and
// /proc/PID/fd), or 0.
func socketOwner(t *testing.T, serverAddr string, clientPort int, pids ...int) int {
	t.Helper()
	_, sport, _ := net.SplitHostPort(serverAddr)
	serverPort := atoi(t, sport)
	data, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	inode := ""
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 10 {
			continue
		}
		local, remote := f[1], f[2]
		if strings.HasSuffix(local, fmt.Sprintf(":%04X", serverPort)) && strings.HasSuffix(remote, fmt.Sprintf(":%04X", clientPort)) {
			inode = f[9]
		}
	}
	if inode == "" {
		t.Fatalf("no server socket for client port %d in /proc/net/tcp", clientPort)
	}
	for _, pid := range pids {
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		for _, fd := range fds {
			if link, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); link == "socket:["+inode+"]" {
				return pid
			}
		}
	}
	return 0
}

// The binary is upgraded 10 times in a row (SIGUSR2) while 200 keep-alive
// connections are kept busy and wrk runs beside them: every request is
// answered, no connection is reset or refused, every old generation exits 0,
// and a connection opened before the first upgrade is, after the last one,
// the same TCP connection (the client never reconnects; same client port)
// held and served by the newest process.
func TestBinaryUpgradeUnderLoad(t *testing.T) {
	wrk := testenv.Program(t, "wrk")
	bin := buildBinary(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "index.html"), []byte("upgraded\n"), 0o644)
	conf := filepath.Join(dir, "lwan.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("listener = \"127.0.0.1:0\"\nquiet = true\nkeep_alive_timeout = 30\n\n[[site.serve_files]]\nprefix = \"/\"\npath = %q\n", dir)), 0o644)
	srv := startUpgradeServer(t, bin, "-c", conf)

	const clients = 200
	conns := make([]*keepAliveClient, clients)
	for i := range conns {
		conns[i] = dialKeepAlive(t, srv.addr)
		if err := conns[i].get("upgraded\n"); err != nil {
			t.Fatalf("client %d before the upgrades: %v", i, err)
		}
	}
	var stop atomic.Bool
	var requests atomic.Int64
	var failures sync.Map
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				if err := c.get("upgraded\n"); err != nil {
					failures.Store(i, err)
					return
				}
				requests.Add(1)
				// Load, not a wait: 200 clients unpaced would take the
				// machine from the upgrades they are there to witness.
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	wrkOut := make(chan string, 1)
	go func() {
		out, err := exec.Command(wrk, "-t1", "-c16", "-d20s", "--timeout", "20s", "http://"+srv.addr+"/").CombinedOutput()
		wrkOut <- fmt.Sprintf("%s(exit %v)", out, err)
	}()

	first := conns[0].conn.LocalAddr().(*net.TCPAddr).Port
	generations := []int{srv.pid}
	for range 10 {
		before := requests.Load()
		srv.upgrade(t)
		generations = append(generations, srv.pid)
		for deadline := time.Now().Add(60 * time.Second); requests.Load() < before+clients; { // the clients go on between upgrades
			if time.Now().After(deadline) {
				t.Fatalf("the clients made %d requests in 60 s after an upgrade", requests.Load()-before)
			}
			if failed := firstFailure(&failures); failed != "" {
				t.Fatal(failed)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	stop.Store(true)
	wg.Wait()
	if failed := firstFailure(&failures); failed != "" {
		t.Fatal(failed)
	}
	for i, c := range conns {
		if err := c.get("upgraded\n"); err != nil {
			t.Fatalf("client %d after the upgrades: %v", i, err)
		}
	}
	if port := conns[0].conn.LocalAddr().(*net.TCPAddr).Port; port != first {
		t.Fatalf("client port %d, was %d", port, first)
	}
	if owner := socketOwner(t, srv.addr, first, generations...); owner != srv.pid {
		t.Fatalf("the first connection is held by process %d, want the newest %d (generations %v)", owner, srv.pid, generations)
	}
	out := <-wrkOut
	t.Logf("%d requests on the keep-alive connections; wrk:\n%s", requests.Load(), out)
	if !strings.Contains(out, "requests in") || strings.Contains(out, "Socket errors") || strings.Contains(out, "Non-2xx") || !strings.HasSuffix(out, "(exit <nil>)") {
		t.Fatalf("wrk saw errors:\n%s", out)
	}
}

// firstFailure describes one failed client, or is empty.
func firstFailure(failures *sync.Map) string {
	msg := ""
	failures.Range(func(k, v any) bool {
		msg = fmt.Sprintf("client %v: %v", k, v)
		return false
	})
	return msg
}

// An upgrade that cannot complete leaves the old process serving, its
// connections untouched, and says why: a configuration the new binary's -t
// refuses, a binary that exits at once, one that never says it is ready
// (killed after the timeout), a second SIGUSR2 while one is under way.
// Then a good binary upgrades with the same connection still open.
func TestBinaryUpgradeFailuresKeepServing(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "index.html"), []byte("still here\n"), 0o644)
	conf := filepath.Join(dir, "lwan.conf")
	// The client's connection idles through a 15 s readiness wait: the
	// keep-alive timeout (15 s by default) must not close it meanwhile.
	good := fmt.Sprintf("listener = \"127.0.0.1:0\"\nquiet = true\nkeep_alive_timeout = 120\n\n[[site.serve_files]]\nprefix = \"/\"\npath = %q\n", dir)
	os.WriteFile(conf, []byte(good), 0o644)
	real := bin + ".real"
	if data, err := os.ReadFile(bin); err != nil || os.WriteFile(real, data, 0o755) != nil {
		t.Fatal(err)
	}
	srv := startUpgradeServer(t, bin, "-c", conf)
	client := dialKeepAlive(t, srv.addr)
	if err := client.get("still here\n"); err != nil {
		t.Fatal(err)
	}
	// install puts a program at the binary's path, as a deployment would.
	install := func(script string) {
		tmp := bin + ".new"
		if script == "" {
			data, _ := os.ReadFile(real)
			os.WriteFile(tmp, data, 0o755)
		} else {
			os.WriteFile(tmp, []byte(script), 0o755)
		}
		if err := os.Rename(tmp, bin); err != nil {
			t.Fatal(err)
		}
	}
	// failed waits for the upgrade begun at log line from to fail saying
	// want, and checks that the old process serves on.
	failed := func(name string, from int, want string) string {
		t.Helper()
		m, ok := srv.log.waitForFrom(from, `msg="upgrade failed; this process keeps serving" err="(.*)"`, 60*time.Second)
		if !ok || !strings.Contains(m[1], want) {
			t.Fatalf("%s: no failure saying %q:\n%s", name, want, srv.log.text())
		}
		if err := client.get("still here\n"); err != nil {
			t.Fatalf("%s: the connection after the failed upgrade: %v", name, err)
		}
		if syscall.Kill(srv.pid, 0) != nil {
			t.Fatalf("%s: the old process is gone", name)
		}
		return m[1]
	}
	failUpgrade := func(name, want string) string {
		t.Helper()
		from := srv.log.len()
		syscall.Kill(srv.pid, syscall.SIGUSR2)
		return failed(name, from, want)
	}

	os.WriteFile(conf, []byte(strings.Replace(good, "keep_alive_timeout = 120", `keep_alive_timeout = "soon"`, 1)), 0o644)
	failUpgrade("bad configuration", conf+`:3: keep_alive_timeout`)
	os.WriteFile(conf, []byte(good), 0o644)

	install("#!/bin/sh\n[ \"$1\" = -t ] && exit 0\nexit 3\n")
	msg := failUpgrade("binary that exits", "exited before it was ready")
	// Started through a spawner, the new process is the test's child (the
	// subreaper), not the server's.
	if status, err := reap(atoi(t, regexp.MustCompile(`new process (\d+):`).FindStringSubmatch(msg)[1])); err != nil || status != 3 {
		t.Fatalf("the binary that exits: status %d, %v; want 3", status, err)
	}

	install("#!/bin/sh\n[ \"$1\" = -t ] && exit 0\nexec sleep 600\n")
	from := srv.log.len()
	syscall.Kill(srv.pid, syscall.SIGUSR2)
	if _, ok := srv.log.waitForFrom(from, `msg="upgrade: starting"`, 20*time.Second); !ok {
		t.Fatalf("no upgrade started:\n%s", srv.log.text())
	}
	for deadline := time.Now().Add(30 * time.Second); childNamed(os.Getpid(), "sleep") == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) { // the new process, past its -t check
			t.Fatalf("the new process did not start:\n%s", srv.log.text())
		}
	}
	syscall.Kill(srv.pid, syscall.SIGUSR2)
	if _, ok := srv.log.waitForFrom(from, `msg="upgrade: one is already under way; SIGUSR2 ignored"`, 20*time.Second); !ok {
		t.Fatalf("a second SIGUSR2 was not refused:\n%s", srv.log.text())
	}
	msg = failed("binary never ready", from, "not ready after 15s; killed")
	// The kill is sent before the failure is logged; the process dies
	// when the kernel next runs it, which on a loaded machine can be after
	// the log line is read.
	stuck := atoi(t, regexp.MustCompile(`new process (\d+):`).FindStringSubmatch(msg)[1])
	if err := waitExit(stuck, 30*time.Second); err != nil {
		t.Fatalf("the process that never got ready (%d): %v", stuck, err)
	}
	reap(stuck) // killed: no exit status

	install("")
	srv.upgrade(t)
	if err := client.get("still here\n"); err != nil {
		t.Fatalf("the connection after the upgrade: %v", err)
	}
	if owner := socketOwner(t, srv.addr, client.conn.LocalAddr().(*net.TCPAddr).Port, srv.pid); owner != srv.pid {
		t.Fatalf("the connection is not held by the new process %d", srv.pid)
	}
}

// childNamed is the pid of a child of parent whose command is comm, or 0.
func childNamed(parent int, comm string) int {
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		name, rest, ok := strings.Cut(string(stat), ") ")
		if err != nil || !ok || !strings.HasSuffix(name, "("+comm) {
			continue
		}
		if f := strings.Fields(rest); len(f) > 1 && f[1] == strconv.Itoa(parent) {
			return pid
		}
	}
	return 0
}

// waitExit waits for process pid (not necessarily a child) to end, through
// a pidfd, which becomes readable when it does.
func waitExit(pid int, timeout time.Duration) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return nil // already gone, and reaped
	}
	if err != nil {
		return fmt.Errorf("pidfd_open: %w", err)
	}
	defer unix.Close(fd)
	for deadline := time.Now().Add(timeout); ; {
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("still running after %v", timeout)
		}
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, int(left.Milliseconds())+1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("poll: %w", err)
		}
		if n > 0 {
			return nil
		}
	}
}
