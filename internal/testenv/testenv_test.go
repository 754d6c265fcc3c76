package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMissingProgram runs this test binary again, once with CI=true and once
// without, on a program that does not exist: the first must fail, the second
// must skip, and each must say which program is missing.
func TestMissingProgram(t *testing.T) {
	if os.Getenv("TESTENV_CHILD") == "1" {
		Program(t, "lwango-no-such-program")
		t.Fatal("Program returned for a missing program")
	}
	for _, tc := range []struct {
		ci   string
		fail bool
		want string
	}{
		{"true", true, "--- FAIL: TestMissingProgram"},
		{"", false, "--- SKIP: TestMissingProgram"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMissingProgram$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), "TESTENV_CHILD=1", "CI="+tc.ci)
		out, err := cmd.CombinedOutput()
		if (err != nil) != tc.fail || !strings.Contains(string(out), tc.want) || !strings.Contains(string(out), "lwango-no-such-program is not installed") {
			t.Errorf("CI=%q: exit %v, output:\n%s", tc.ci, err, out)
		}
	}
}

// TestProgramFound: a program that is on PATH (the shell every system has) is
// returned as an absolute path, under CI and elsewhere.
func TestProgramFound(t *testing.T) {
	if p := Program(t, "sh"); !strings.HasPrefix(p, "/") {
		t.Fatalf("Program(sh) = %q", p)
	}
}
