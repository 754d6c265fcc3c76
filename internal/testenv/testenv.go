// Package testenv is the tests' one answer to "something this test needs is
// not on this machine" (a real client such as curl or openssl, a privilege).
//
// CI installs everything the tests need (.ci/run exports CI=true before it
// runs test.sh), so there a missing requirement fails the test: a test that
// did not run must never be counted as passed. Anywhere else the test is
// skipped with a message that says what is missing and why it is needed.
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
