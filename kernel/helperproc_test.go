package kernel

import (
	"fmt"
	"os"
	"testing"
)

// helperProcesses are the child processes some tests start from this test
// binary (one that installs a seccomp filter for good). Each is chosen by
// its environment variable, runs instead of the tests and exits: it is not
// a test, so a run of the tests never counts it as one that passed.
var helperProcesses = map[string]func(arg string) error{}

func TestMain(m *testing.M) {
	for env, run := range helperProcesses {
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
