package server

import (
	"testing"

	"lwango/internal/testenv"
)

// helperProcesses are the child processes some tests start from this test
// binary (a client holding thousands of connections, a server run under
// strace): see testenv.Main.
var helperProcesses = map[string]func(arg string) error{}

func TestMain(m *testing.M) { testenv.Main(m, helperProcesses) }
