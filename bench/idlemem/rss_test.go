package main

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

func TestTreeRSSCountsChildren(t *testing.T) {
	child := exec.Command("sleep", "30")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		child.Process.Kill()
		child.Wait()
	}()
	self := os.Getpid()
	deadline := time.Now().Add(5 * time.Second)
	for {
		bytes, processes, err := treeRSS(self)
		if err != nil {
			t.Fatal(err)
		}
		if processes == 2 {
			alone, err := processRSS(self)
			if err != nil {
				t.Fatal(err)
			}
			if bytes <= alone {
				t.Fatalf("tree RSS %d not above the test process's own %d", bytes, alone)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("tree of %d has %d processes, want 2 (itself and sleep)", self, processes)
		}
		time.Sleep(10 * time.Millisecond)
	}
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
