package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"lwango/internal/testenv"
)

// A second server on a port the first one serves does not start (SO_REUSEPORT
// would otherwise let the kernel split the connections between the two):
// it exits 1 naming the listener, for the cleartext and the TLS listener,
// and the first goes on serving every connection.
func TestBinaryRefusesAPortInUse(t *testing.T) {
	bin := buildBinary(t)
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "index.html"), []byte("first\n"), 0o644)
	first := startServerProcess(t, bin, "-l", "127.0.0.1:0", "-L", "127.0.0.1:0", "-r", root)

	for _, c := range []struct {
		args        []string
		names, addr string
	}{
		{[]string{"-l", first.http, "-L", "127.0.0.1:0"}, "-l", first.http},
		{[]string{"-l", "127.0.0.1:0", "-L", first.https}, "-L", first.https},
	} {
		// Before the fix the second server started and served: the
		// timeout makes that a failure rather than a hang.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		out, err := exec.CommandContext(ctx, bin, append(c.args, "-r", root)...).CombinedOutput()
		cancel()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Fatalf("%v: exit %v, want status 1\n%s", c.args, err, out)
		}
		if !strings.Contains(string(out), "address already in use") || !strings.Contains(string(out), c.names) || !strings.Contains(string(out), c.addr) {
			t.Fatalf("%v: the error does not say the address is in use, naming %s and %s:\n%s", c.args, c.names, c.addr, out)
		}
	}
	for range 20 { // each on a new connection, so that any other socket in the group would get some
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
		resp, err := client.Get("http://" + first.http + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "first\n" {
			t.Fatalf("GET /: %d %q", resp.StatusCode, body)
		}
	}
}

// notifySocket is a NOTIFY_SOCKET the test listens on, as systemd does: with
// SO_PASSCRED, so that the kernel tells which process sent each message, and
// closing the descriptors a message carries once it is read (which answers
// a BARRIER=1, sd_notify_barrier(3)).
type notifySocket struct {
	path string
	conn *net.UnixConn
}

// notification is one message and the process that sent it.
type notification struct {
	pid  int
	text string
}

func listenNotify(t *testing.T) *notifySocket {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	raw, err := conn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	raw.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1) })
	if serr != nil {
		t.Fatalf("SO_PASSCRED: %v", serr)
	}
	return &notifySocket{path: path, conn: conn}
}

// next returns the next message's text, failing the test after 20 s
// without one.
func (n *notifySocket) next(t *testing.T) string {
	t.Helper()
	return n.nextFrom(t).text
}

// nextFrom returns the next message and its sender, failing the test after
// 20 s without one.
func (n *notifySocket) nextFrom(t *testing.T) notification {
	t.Helper()
	buf := make([]byte, 4096)
	oob := make([]byte, 1024)
	n.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	size, oobn, _, _, err := n.conn.ReadMsgUnix(buf, oob)
	if err != nil {
		t.Fatalf("no notification: %v", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		t.Fatalf("notification's control messages: %v", err)
	}
	msg := notification{text: string(buf[:size])}
	for _, m := range msgs {
		if fds, err := unix.ParseUnixRights(&m); err == nil {
			for _, fd := range fds {
				unix.Close(fd)
			}
		} else if cred, err := unix.ParseUnixCredentials(&m); err == nil {
			msg.pid = int(cred.Pid)
		}
	}
	if msg.pid == 0 {
		t.Fatalf("notification %q without its sender's credentials", msg.text)
	}
	return msg
}

// systemd's socket activation, through systemd-socket-activate: lwango serves
// HTTP and HTTPS on the sockets it is passed by name (`systemd:NAME` in
// listener and tls_listener.address), the connection that started it
// included, and tells the service manager it is ready, reloading (with
// MONOTONIC_USEC) and stopping over the NOTIFY_SOCKET the test listens on.
func TestBinarySystemdSocketActivation(t *testing.T) {
	activate := testenv.Program(t, "systemd-socket-activate")
	bin := buildBinary(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "index.html"), []byte("activated\n"), 0o644)
	conf := filepath.Join(dir, "lwan.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`listener = "systemd:web"
quiet = true

[tls_listener]
address = "systemd:web-tls"

[[site.serve_files]]
prefix = "/"
path = %q
`, dir)), 0o644)
	if out, err := exec.Command(bin, "-t", "-c", conf).CombinedOutput(); err != nil {
		t.Fatalf("-t: %v\n%s", err, out)
	}
	notify := listenNotify(t)

	cmd, addrs, stderr := startActivated(t, activate, []string{"web", "web-tls"}, notify, bin, "-c", conf)
	httpAddr, httpsAddr := addrs[0], addrs[1]

	// The first connection makes systemd-socket-activate start lwango; it
	// waits in the passed socket's queue and is served.
	if code, body := get(t, "http://"+httpAddr+"/"); code != 200 || body != "activated\n" {
		t.Fatalf("GET over the activated socket: %d %q", code, body)
	}
	if got := notify.next(t); !strings.Contains(got, "READY=1") {
		t.Fatalf("first notification %q, want READY=1\n%s", got, stderr.text())
	}
	if !stderr.waitFor(`msg="lwango serving" http=` + regexp.QuoteMeta(httpAddr) + ` https=` + regexp.QuoteMeta(httpsAddr)) {
		t.Fatalf("lwango does not say it serves the passed sockets:\n%s", stderr.text())
	}
	https := dialTLS(t, httpsAddr, nil)
	if resp, body := https.get(t, "/"); resp.StatusCode != 200 || body != "activated\n" {
		t.Fatalf("GET over the activated TLS socket: %d %q", resp.StatusCode, body)
	}

	cmd.Process.Signal(syscall.SIGHUP)
	reloading := notify.next(t)
	if !regexp.MustCompile(`(?m)^RELOADING=1$`).MatchString(reloading) || !regexp.MustCompile(`(?m)^MONOTONIC_USEC=[1-9][0-9]*$`).MatchString(reloading) {
		t.Fatalf("notification on SIGHUP %q, want RELOADING=1 and MONOTONIC_USEC", reloading)
	}
	if got := notify.next(t); got != "READY=1" {
		t.Fatalf("notification after the reload %q, want READY=1", got)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if got := notify.next(t); got != "STOPPING=1" {
		t.Fatalf("notification on SIGTERM %q, want STOPPING=1", got)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.text())
	}
}

// startActivated starts bin with args under systemd-socket-activate
// (activate), which listens on a loopback socket for each name and starts
// bin, in its own process, on the first connection, with those sockets
// and NOTIFY_SOCKET set to notify. It returns the command and the
// sockets' addresses; the process is killed at the end of the test if it
// still runs.
func startActivated(t *testing.T, activate string, names []string, notify *notifySocket, bin string, args ...string) (*exec.Cmd, []string, *logLines) {
	t.Helper()
	for attempt := 0; ; attempt++ { // the ports are free when picked; another program may take one before it binds
		addrs := make([]string, len(names))
		cmdArgs := []string{"--fdname=" + strings.Join(names, ":"), "-E", "NOTIFY_SOCKET=" + notify.path}
		for i := range names {
			addrs[i] = "127.0.0.1:" + freePort(t)
			cmdArgs = append(cmdArgs, "-l", addrs[i])
		}
		cmd := exec.Command(activate, append(append(cmdArgs, bin), args...)...)
		stderr := captureLog(t, cmd)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if stderr.waitFor(`Listening on ` + regexp.QuoteMeta(addrs[len(addrs)-1])) {
			t.Cleanup(func() {
				if cmd.ProcessState == nil {
					cmd.Process.Kill()
					cmd.Wait()
				}
			})
			return cmd, addrs, stderr
		}
		cmd.Process.Kill()
		cmd.Wait()
		if attempt == 3 {
			t.Fatalf("systemd-socket-activate did not listen:\n%s", stderr.text())
		}
	}
}

// A listener naming a socket systemd did not pass fails the start, naming
// the file, the line and the key.
func TestBinarySystemdSocketMissing(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "lwan.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("quiet = true\nlistener = \"systemd:web\"\n\n[[site.serve_files]]\nprefix = \"/\"\npath = %q\n", dir)), 0o644)
	out, err := exec.Command(bin, "-c", conf).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want status 1\n%s", err, out)
	}
	if want := conf + `:2: listener: systemd passed no socket named \"web\"`; !strings.Contains(string(out), want) {
		t.Fatalf("output does not say %q:\n%s", want, out)
	}
}

// logLines keeps what a process writes to its stderr, read as it comes so
// that the process never blocks on a full pipe.
type logLines struct {
	mu   sync.Mutex
	all  []string
	done bool
}

// captureLog collects cmd's stderr (call before Start), and that of the
// processes that inherit it, until the test ends. The pipe is the test's,
// not cmd's: cmd.Wait closes a StderrPipe as soon as the process exits,
// and lines it wrote just before (an old generation's "upgrade: done;
// exiting") were lost when the reader had not got to them yet.
func captureLog(t *testing.T, cmd *exec.Cmd) *logLines {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = w
	t.Cleanup(func() { w.Close(); r.Close() })
	l := &logLines{}
	go func() {
		s := bufio.NewScanner(r)
		for s.Scan() {
			l.mu.Lock()
			l.all = append(l.all, s.Text())
			l.mu.Unlock()
		}
		l.mu.Lock()
		l.done = true
		l.mu.Unlock()
	}()
	return l
}

// waitFor waits until a line matches pattern (true), or 20 s pass or the
// output ends without one (false).
func (l *logLines) waitFor(pattern string) bool {
	_, ok := l.waitForFrom(0, pattern, 20*time.Second)
	return ok
}

// waitForFrom waits until a line from line number from on matches pattern
// and returns its submatches.
func (l *logLines) waitForFrom(from int, pattern string, timeout time.Duration) ([]string, bool) {
	re := regexp.MustCompile(pattern)
	for deadline := time.Now().Add(timeout); ; time.Sleep(10 * time.Millisecond) {
		l.mu.Lock()
		lines, done := l.all[min(from, len(l.all)):], l.done
		for _, line := range lines {
			if m := re.FindStringSubmatch(line); m != nil {
				l.mu.Unlock()
				return m, true
			}
		}
		l.mu.Unlock()
		if done || time.Now().After(deadline) {
			return nil, false
		}
	}
}

// len is how many lines have been read so far.
func (l *logLines) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.all)
}

// text is every line read so far.
func (l *logLines) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.all, "\n")
}
