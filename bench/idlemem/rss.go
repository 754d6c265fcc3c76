package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// treeRSS returns the summed VmRSS, in bytes, of process pid and all its
// descendants, and how many processes that was.
func treeRSS(pid int) (bytes int64, processes int, err error) {
	for _, member := range processTree(pid) {
		rss, err := processRSS(member)
		if err != nil {
			return 0, 0, err
		}
		bytes += rss
		processes++
	}
	if processes == 0 {
		return 0, 0, fmt.Errorf("process %d not found", pid)
	}
	return bytes, processes, nil
}

// processTree lists pid followed by its descendants, read from
// /proc/PID/task/TID/children.
func processTree(pid int) []int {
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
		return nil
	}
	tree := []int{pid}
	for next := 0; next < len(tree); next++ {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", tree[next]))
		for _, task := range tasks {
			content, err := os.ReadFile(task)
			if err != nil {
				continue
			}
			for _, field := range strings.Fields(string(content)) {
				if child, err := strconv.Atoi(field); err == nil {
					tree = append(tree, child)
				}
			}
		}
	}
	return tree
}

// processRSS reads VmRSS from /proc/PID/status, in bytes.
func processRSS(pid int) (int64, error) {
	file, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer file.Close()
	scanner := bufio.NewScanner(file)
	for scanner.Scan() {
		line := scanner.Text()
		if !strings.HasPrefix(line, "VmRSS:") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 3 || fields[2] != "kB" {
			return 0, fmt.Errorf("process %d: unexpected VmRSS line %q", pid, line)
		}
		kibibytes, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("process %d: %w", pid, err)
		}
		return kibibytes << 10, nil
	}
	if err := scanner.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("process %d: no VmRSS (a zombie?)", pid)
}
