package loop

import (
	"runtime"
	"testing"
)

// Start leaves the Go runtime a P besides the loops' (see spareProcessor).
func TestStartLeavesAProcessorSpare(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	startGroup(t, Config{Threads: 2, NoPinning: true})
	if n := runtime.GOMAXPROCS(0); n != 3 {
		t.Fatalf("GOMAXPROCS = %d with 2 loops, want 3", n)
	}
}
