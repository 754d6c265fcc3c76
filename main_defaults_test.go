package main

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"lwango/internal/testenv"
)

// get fetches url and returns the status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// Without -c the built-in configuration serves ./wwwroot (the repository's
// own, from the directory lwango runs in); -r replaces that root.
func TestBinaryDefaultRoot(t *testing.T) {
	bin := buildBinary(t)
	index, err := os.ReadFile("wwwroot/index.html")
	if err != nil {
		t.Fatal(err)
	}
	addr := startBinary(t, bin, "-l", "127.0.0.1:0", "-L", "127.0.0.1:0") // no fixed ports in tests
	if status, body := get(t, "http://"+addr+"/"); status != 200 || body != string(index) {
		t.Fatalf("GET / from the default root: %d %q", status, body)
	}

	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "index.html"), []byte("another root\n"), 0o644)
	addr = startBinary(t, bin, "-l", "127.0.0.1:0", "-L", "127.0.0.1:0", "-r", root)
	if status, body := get(t, "http://"+addr+"/"); status != 200 || body != "another root\n" {
		t.Fatalf("GET / with -r: %d %q", status, body)
	}
}

// [straitjacket] drops privileges after the sockets are bound: the running
// process is chrooted and runs as the configured user, and still serves the
// directory it opened before.
func TestBinaryStraitjacket(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Missing(t, "chroot and setuid need root (CI runs as root)")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Fatalf("no user nobody: %v", err)
	}
	bin := buildBinary(t)
	jail := t.TempDir()
	os.Chmod(jail, 0o755)
	www := filepath.Join(jail, "www")
	os.MkdirAll(www, 0o755)
	os.WriteFile(filepath.Join(www, "index.html"), []byte("from the jail\n"), 0o644)
	conf := filepath.Join(t.TempDir(), "jail.conf")
	os.WriteFile(conf, []byte(`listener = "127.0.0.1:0"
quiet = true
threads = 1
[straitjacket]
user = "nobody"
chroot = "`+jail+`"
[[site.serve_files]]
prefix = "/"
path = "`+www+`"
`), 0o644)
	if out, err := exec.Command(bin, "-t", "-c", conf).CombinedOutput(); err != nil {
		t.Fatalf("-t: %v\n%s", err, out)
	}
	addr, pid := startBinaryPID(t, bin, "-c", conf)
	if status, body := get(t, "http://"+addr+"/"); status != 200 || body != "from the jail\n" {
		t.Fatalf("GET /: %d %q", status, body)
	}
	statusFile, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(statusFile), "\n") {
		if f := strings.Fields(line); len(f) == 5 && (f[0] == "Uid:" || f[0] == "Gid:") {
			want := nobody.Uid
			if f[0] == "Gid:" {
				want = nobody.Gid
			}
			if f[1] != want || f[2] != want || f[3] != want {
				t.Errorf("%s, want %s everywhere", line, want)
			}
		}
	}
	if root, err := os.Readlink("/proc/" + pid + "/root"); err != nil || root != jail {
		t.Errorf("process root %q (%v), want %s", root, err, jail)
	}
}

// threads = 0 runs one event loop per CPU the process may use, each on a
// thread pinned to its own CPU.
func TestBinaryOneLoopPerCPU(t *testing.T) {
	var allowed unix.CPUSet
	if err := unix.SchedGetaffinity(0, &allowed); err != nil {
		t.Fatal(err)
	}
	if allowed.Count() < 2 {
		testenv.Missing(t, "%d CPU allowed: with one, every thread looks pinned (CI's machine has 2)", allowed.Count())
	}
	bin := buildBinary(t)
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "index.html"), []byte("pinned\n"), 0o644)
	conf := filepath.Join(t.TempDir(), "cpus.conf")
	os.WriteFile(conf, []byte("listener = \"127.0.0.1:0\"\nquiet = true\nthreads = 0\n[[site.serve_files]]\nprefix = \"/\"\npath = \""+root+"\"\n"), 0o644)
	addr, pid := startBinaryPID(t, bin, "-c", conf)
	if status, body := get(t, "http://"+addr+"/"); status != 200 || body != "pinned\n" {
		t.Fatalf("GET /: %d %q", status, body)
	}
	tasks, err := os.ReadDir("/proc/" + pid + "/task")
	if err != nil {
		t.Fatal(err)
	}
	pinned := map[string]int{} // CPU -> threads pinned to it alone
	for _, task := range tasks {
		status, err := os.ReadFile("/proc/" + pid + "/task/" + task.Name() + "/status")
		if err != nil {
			continue // the thread ended meanwhile
		}
		for line := range strings.SplitSeq(string(status), "\n") {
			if list, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
				list = strings.TrimSpace(list)
				if !strings.ContainsAny(list, ",-") {
					pinned[list]++
				}
			}
		}
	}
	if len(pinned) != allowed.Count() {
		t.Fatalf("threads pinned per CPU %v, want one on each of %d CPUs", pinned, allowed.Count())
	}
	for cpu, n := range pinned {
		if n != 1 || !allowed.IsSet(atoi(t, cpu)) {
			t.Fatalf("threads pinned per CPU %v, want one on each allowed CPU", pinned)
		}
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
