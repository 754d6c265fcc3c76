package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"lwango/internal/testenv"
)

// A [straitjacket] that cannot be entered stops the start with an error
// naming the file, the line and the key at fault, and -t fails with the
// same error. Neither check needs root: the user is looked up and the
// chroot directory does not exist.
func TestBinaryStraitjacketErrorNamesFileLineKey(t *testing.T) {
	bin := buildBinary(t)
	missing := filepath.Join(t.TempDir(), "no-such-dir")
	for _, c := range []struct{ body, want string }{
		{"user = \"no-such-user-lwango\"\n", ":5: straitjacket.user: user: unknown user no-such-user-lwango"},
		{"chroot = \"" + missing + "\"\n", ":5: straitjacket.chroot: chroot " + missing + ": no such file or directory"},
	} {
		conf := filepath.Join(t.TempDir(), "jail.conf")
		text := "listener = \"127.0.0.1:0\"\nquiet = true\nthreads = 1\n[straitjacket]\n" + c.body
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"-c", conf}, {"-t", "-c", conf}} {
			out, err := exec.Command(bin, args...).CombinedOutput()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
				t.Fatalf("%v %s: exit %v, want status 1\n%s", args, c.body, err, out)
			}
			if !strings.Contains(string(out), conf+c.want) {
				t.Errorf("%v: output %q, want %s%s", args, out, conf, c.want)
			}
		}
	}
}

// Binding a port below 1024 as a user without the privilege fails naming
// the file, line and key, and says why.
func TestBinaryPrivilegedPortAsNonRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Missing(t, "the test drops to user nobody with setpriv, which needs root (CI runs as root)")
	}
	setpriv := testenv.Program(t, "setpriv")
	if start, err := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start"); err != nil || strings.TrimSpace(string(start)) != "1024" {
		t.Fatalf("net.ipv4.ip_unprivileged_port_start is %q (%v), not 1024: port 81 would not be privileged", start, err)
	}
	// nobody must be able to run the binary and read the configuration.
	dir, err := os.MkdirTemp("", "lwango-port")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "lwango")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	conf := filepath.Join(dir, "low.conf")
	os.WriteFile(conf, []byte("quiet = true\nthreads = 1\nlistener = \"127.0.0.1:81\"\n"), 0o644)
	out, err := exec.Command(setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
		bin, "-c", conf).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want status 1\n%s", err, out)
	}
	if want := conf + ":3: listener: "; !strings.Contains(string(out), want) || !strings.Contains(string(out), "a port below 1024 needs root or CAP_NET_BIND_SERVICE") {
		t.Fatalf("output %q does not name %s and say a port below 1024 needs root", out, want)
	}
}

// An error about a directory to serve names the line of its path key, not
// the line of its table's header; -t and the start agree.
func TestBinaryMissingDirectoryNamesPathLine(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	missing := filepath.Join(dir, "no-such-root")
	conf := filepath.Join(dir, "missing.conf")
	os.WriteFile(conf, []byte("listener = \"127.0.0.1:0\"\nquiet = true\n\n[[site.serve_files]]\nprefix = \"/\"\npath = \""+missing+"\"\n"), 0o644)
	for _, args := range [][]string{{"-t", "-c", conf}, {"-c", conf}} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Fatalf("%v: exit %v, want status 1\n%s", args, err, out)
		}
		if want := conf + ":6: site.serve_files[0].path: "; !strings.Contains(string(out), want) {
			t.Errorf("%v: output %q does not name %s", args, out, want)
		}
	}
}
