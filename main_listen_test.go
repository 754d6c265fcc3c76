package main

import (
	"bufio"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"lwango/internal/testenv"
)

// loopbackHostName returns a name whose first IPv4 address in /etc/hosts
// is 127.0.0.1 (other than localhost, which lwango reads as 127.0.0.1
// without asking the resolver). Without one the test cannot run: it fails
// under CI, whose /etc/hosts has such names, and is skipped elsewhere
// (testenv.Missing).
func loopbackHostName(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("/etc/hosts")
	if err != nil {
		testenv.Missing(t, "no /etc/hosts to resolve a name from without the network: %v", err)
	}
	firstIPv4 := map[string]string{}
	var names []string
	for line := range strings.SplitSeq(string(data), "\n") {
		fields := strings.Fields(strings.SplitN(line, "#", 2)[0])
		if len(fields) < 2 || !strings.Contains(fields[0], ".") {
			continue
		}
		for _, name := range fields[1:] {
			if _, seen := firstIPv4[name]; !seen {
				firstIPv4[name] = fields[0]
				names = append(names, name)
			}
		}
	}
	for _, name := range names {
		if name != "localhost" && firstIPv4[name] == "127.0.0.1" && !strings.Contains(name, "_") {
			return name
		}
	}
	testenv.Missing(t, "/etc/hosts maps no name but localhost to 127.0.0.1 first")
	return ""
}

// startBinary runs bin with args and returns the HTTP address it says it
// serves on; the process is stopped with SIGTERM when the test ends.
func startBinary(t *testing.T, bin string, args ...string) string {
	t.Helper()
	addr, _ := startBinaryPID(t, bin, args...)
	return addr
}

// startBinaryPID is startBinary, also returning the process ID.
func startBinaryPID(t *testing.T, bin string, args ...string) (addr, pid string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	stderr, _ := cmd.StderrPipe()
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Errorf("exit after SIGTERM: %v", err)
		}
	})
	lines := bufio.NewScanner(stderr)
	serving := regexp.MustCompile(`msg="lwango serving" http=(\S+)`)
	var seen strings.Builder
	for lines.Scan() {
		seen.WriteString(lines.Text() + "\n")
		if m := serving.FindStringSubmatch(lines.Text()); m != nil {
			go io.Copy(io.Discard, stderr)
			return m[1], strconv.Itoa(cmd.Process.Pid)
		}
	}
	t.Fatalf("the server never said where it listens:\n%s", seen.String())
	return "", ""
}

// A listener given as a host name is resolved when the configuration is
// read: lwango -t accepts it and the server then listens on its address;
// a name that does not resolve fails -t and the start alike, naming the
// file, the line and the key (or the flag).
func TestBinaryListenerHostName(t *testing.T) {
	name := loopbackHostName(t)
	bin := buildBinary(t)
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	os.MkdirAll(root, 0o755)
	os.WriteFile(filepath.Join(root, "index.html"), []byte("served by name\n"), 0o644)
	conf := func(file, listener string) string {
		path := filepath.Join(dir, file)
		os.WriteFile(path, []byte("quiet = true\nlistener = \""+listener+"\"\n[[site.serve_files]]\nprefix = \"/\"\npath = \""+root+"\"\n"), 0o644)
		return path
	}

	good := conf("good.conf", name+":0")
	if out, err := exec.Command(bin, "-t", "-c", good).CombinedOutput(); err != nil || !strings.Contains(string(out), "is good") {
		t.Fatalf("-t %s listener: %v\n%s", name, err, out)
	}
	for _, args := range [][]string{{"-c", good}, {"-c", good, "-l", name + ":0"}} {
		addr := startBinary(t, bin, args...)
		ap, err := netip.ParseAddrPort(addr)
		if err != nil || ap.Addr() != netip.MustParseAddr("127.0.0.1") {
			t.Fatalf("%v: serving on %q, want 127.0.0.1 (%s in /etc/hosts)", args, addr, name)
		}
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "served by name\n" {
			t.Fatalf("%v: GET /: %d %q", args, resp.StatusCode, body)
		}
	}

	bad := conf("bad.conf", "no-such-host.invalid:8080")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-t", "-c", bad}, bad + ":2: listener: cannot resolve host \"no-such-host.invalid\""},
		{[]string{"-c", bad}, bad + ":2: listener: cannot resolve host \"no-such-host.invalid\""},
		{[]string{"-t", "-c", good, "-l", "no-such-host.invalid:80"}, "command line: -l: cannot resolve host \"no-such-host.invalid\""},
		{[]string{"-c", good, "-l", "no-such-host.invalid:80"}, "command line: -l: cannot resolve host \"no-such-host.invalid\""},
	} {
		out, err := exec.Command(bin, tc.args...).CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Fatalf("%v: exit %v, want status 1\n%s", tc.args, err, out)
		}
		if !strings.Contains(string(out), tc.want) {
			t.Fatalf("%v: output does not say %q:\n%s", tc.args, tc.want, out)
		}
	}
}
