package kernel

import (
	"testing"

	"lwango/internal/testenv"
)

// helperProcesses are the child processes some tests start from this test
// binary (one that installs a seccomp filter for good): see testenv.Main.
var helperProcesses = map[string]func(arg string) error{}

func TestMain(m *testing.M) { testenv.Main(m, helperProcesses) }
