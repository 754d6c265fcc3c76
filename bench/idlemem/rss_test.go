package main

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The tree of a shell waiting for its sleep is the two of them, and its
// resident memory is exactly theirs summed. Both are read once each is
// blocked in its system call (the shell waiting in wait4 or, as dash
// does, rt_sigsuspend; sleep in clock_nanosleep or nanosleep): a process caught
// starting up, or one that allocates, changes its resident memory between
// two reads (comparing the tree with a running test process's own memory
// failed about 1 run in 300 that way, with the sleep caught just after its
// exec at 12 KiB).
func TestTreeRSSCountsChildren(t *testing.T) {
	shell := exec.Command("sh", "-c", "sleep 30 & wait")
	if err := shell.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		shell.Process.Kill()
		shell.Wait()
	}()
	root := shell.Process.Pid
	deadline := time.Now().Add(10 * time.Second)
	for {
		if tree := processTree(root); len(tree) == 2 && blockedIn(tree[0], syscall.SYS_WAIT4, syscall.SYS_RT_SIGSUSPEND) && blockedIn(tree[1], syscall.SYS_CLOCK_NANOSLEEP, syscall.SYS_NANOSLEEP) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tree of %d is %v, not a shell waiting for its sleep", root, processTree(root))
		}
		time.Sleep(10 * time.Millisecond)
	}
	bytes, processes, err := treeRSS(root)
	if err != nil {
		t.Fatal(err)
	}
	tree := processTree(root)
	shellRSS, err1 := processRSS(tree[0])
	sleepRSS, err2 := processRSS(tree[1])
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if processes != 2 || sleepRSS == 0 || bytes != shellRSS+sleepRSS {
		t.Fatalf("tree RSS %d of %d processes, want 2 and the shell's %d + the sleep's %d", bytes, processes, shellRSS, sleepRSS)
	}
}

// blockedIn reports whether process pid is blocked in one of the given
// system calls (/proc/PID/syscall names the call a blocked process is in).
func blockedIn(pid int, calls ...uintptr) bool {
	content, err := os.ReadFile(fmt.Sprintf("/proc/%d/syscall", pid))
	fields := strings.Fields(string(content))
	return err == nil && len(fields) > 0 && slices.Contains(calls, uintptr(atoi(fields[0])))
}

// atoi is strconv.Atoi, -1 for what is not a number ("running").
func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

func TestTreeRSSOfAMissingProcess(t *testing.T) {
	child := exec.Command("true")
	if err := child.Run(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := treeRSS(child.Process.Pid); err == nil {
		t.Fatal("no error for a process that has exited")
	}
}
