package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
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
		cmd := exec.Command(bin, "-l", "127.0.0.1:0", "-L", "127.0.0.1:0", "-r", root) // no fixed HTTPS port in tests
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

// The built-in configuration serves HTTPS at once: with no certificate
// configured the server makes a self-signed ECDSA P-256 one for localhost
// and says so.
func TestBinaryHTTPS(t *testing.T) {
	bin := buildBinary(t)
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "index.html"), []byte("hello over TLS\n"), 0o644)
	cmd := exec.Command(bin, "-l", "127.0.0.1:0", "-L", "127.0.0.1:0", "-r", root)
	stderr, _ := cmd.StderrPipe()
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stderr)
	serving := regexp.MustCompile(`msg="lwango serving" http=\S+ https=(\S+)`)
	addr, warned := "", false
	for addr == "" && lines.Scan() {
		warned = warned || strings.Contains(lines.Text(), "level=WARN") && strings.Contains(lines.Text(), "self-signed")
		if m := serving.FindStringSubmatch(lines.Text()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" || !warned {
		t.Fatalf("HTTPS address %q, self-signed warning %v", addr, warned)
	}
	go io.Copy(io.Discard, stderr)

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Get("https://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "hello over TLS\n" {
		t.Fatalf("GET /: %d %q", resp.StatusCode, body)
	}
	leaf := resp.TLS.PeerCertificates[0]
	key, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok || key.Curve != elliptic.P256() || leaf.VerifyHostname("localhost") != nil {
		t.Fatalf("certificate key %T, names %v", leaf.PublicKey, leaf.DNSNames)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
}

// A key that does not match its certificate fails -t and the start, naming
// both files.
func TestBinaryTLSKeyMismatch(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	writeKeyPair := func(name string) (string, string) {
		certFile, keyFile := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
		writeCertificate(t, certFile, keyFile, name)
		return certFile, keyFile
	}
	certFile, _ := writeKeyPair("a")
	_, otherKey := writeKeyPair("b")
	for _, args := range [][]string{
		{"-t", "-L", "127.0.0.1:0", "-P", certFile, "-K", otherKey},
		{"-l", "127.0.0.1:0", "-L", "127.0.0.1:0", "-P", certFile, "-K", otherKey},
	} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Fatalf("%v: exit %v, want status 1\n%s", args, err, out)
		}
		if !strings.Contains(string(out), certFile) || !strings.Contains(string(out), otherKey) || !strings.Contains(string(out), "does not match") {
			t.Fatalf("%v: output does not name the files and the mismatch:\n%s", args, out)
		}
	}
}
