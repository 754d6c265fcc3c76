// Package testenv is the tests' one answer to "something this test needs is
// not on this machine" (a real client such as curl or openssl, a privilege).
//
// CI installs everything the tests need (.ci/run exports CI=true before it
// runs test.sh), so there a missing requirement fails the test: a test that
// did not run must never be counted as passed. Anywhere else the test is
// skipped with a message that says what is missing and why it is needed.
//
// Main is the TestMain of packages whose tests start helper processes from
// their own test binary.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the tests run under CI (the environment has CI=true).
func InCI() bool { return os.Getenv("CI") == "true" }

// Program returns the path of the named program. When it is not on PATH the
// test fails under CI and is skipped elsewhere, naming the program.
func Program(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		Missing(t, "%s is not installed (test.sh and .ci/run install it): %v", name, err)
	}
	return path
}

// Missing stops a test that cannot run here for the reason given by format
// and args: it fails under CI, where nothing may be missing, and is skipped
// elsewhere. It does not return.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	why := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatalf("CI=true and this test cannot run: %s", why)
	}
	t.Skipf("skipped, cannot run here: %s (under CI=true this fails)", why)
}

// Main is a test binary's TestMain for a package whose tests start helper
// processes from the test binary itself (a client holding thousands of
// connections, a process that installs a seccomp filter for good). Each
// helper is chosen by its environment variable: when one is set, Main runs
// that helper with the variable's value instead of the tests and exits 0,
// or 1 with its error. A helper is not a test, so a run of the tests never
// counts it as one that passed.
func Main(m *testing.M, helpers map[string]func(arg string) error) {
	for env, run := range helpers {
		if arg := os.Getenv(env); arg != "" {
			if err := run(arg); err != nil {
				fmt.Fprintf(os.Stderr, "%s=%s: %v\n", env, arg, err)
				os.Exit(1)
			}
			os.Exit(0)
		}
	}
	os.Exit(m.Run())
}
