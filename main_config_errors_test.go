package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
