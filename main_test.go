package main

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildBinary builds lwango into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "lwango")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func TestBinaryCheckAndServe(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()

	t.Run("-t default", func(t *testing.T) {
		out, err := exec.Command(bin, "-t").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "configuration <default> is good") {
			t.Fatalf("%v: %s", err, out)
		}
	})
	t.Run("-t bad file", func(t *testing.T) {
		bad := filepath.Join(dir, "bad.conf")
		os.WriteFile(bad, []byte("quiet = true\nkeep_alive_timeout = \"soon\"\n"), 0o644)
		out, err := exec.Command(bin, "-t", "-c", bad).CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Fatalf("exit %v, want status 1", err)
		}
		if want := bad + ":2: keep_alive_timeout:"; !strings.Contains(string(out), want) {
			t.Fatalf("output %q does not name %q", out, want)
		}
	})
	t.Run("-t bad listener", func(t *testing.T) {
		out, err := exec.Command(bin, "-t", "-l", "nowhere").CombinedOutput()
		if err == nil || !strings.Contains(string(out), "-l") {
			t.Fatalf("%v: %s", err, out)
		}
	})

	t.Run("serve and stop", func(t *testing.T) {
		root := filepath.Join(dir, "root")
		os.MkdirAll(root, 0o755)
		os.WriteFile(filepath.Join(root, "index.html"), []byte("hello from the binary\n"), 0o644)
		cmd := exec.Command(bin, "-l", "127.0.0.1:0", "-r", root)
		stderr, _ := cmd.StderrPipe()
		cmd.Stdout = io.Discard
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill()
		lines := bufio.NewScanner(stderr)
		addr := ""
		serving := regexp.MustCompile(`msg="lwango serving" http=(\S+)`)
		for addr == "" && lines.Scan() {
			if m := serving.FindStringSubmatch(lines.Text()); m != nil {
				addr = m[1]
			}
		}
		if addr == "" {
			t.Fatal("the server never said where it listens")
		}
		go io.Copy(io.Discard, stderr)

		client := &http.Client{Timeout: 10 * time.Second}
		resp, err := client.Get("http://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "hello from the binary\n" {
			t.Fatalf("GET /: %d %q", resp.StatusCode, body)
		}
		// The client's connection stays open and idle: SIGTERM must still
		// end the process promptly and cleanly.
		start := time.Now()
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
		if el := time.Since(start); el > 5*time.Second {
			t.Fatalf("took %v to stop", el)
		}
	})
}
