package main

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Relative paths in a configuration file are resolved against the file's
// directory, whatever the working directory: the served root, the password
// file, the certificate and key, the ticket key file. -t agrees with the
// start, the startup lines name the file and the resolved root, and an
// error about a relative path names the path it tried and file:line:key.
func TestBinaryRelativePathsFollowTheConfigFile(t *testing.T) {
	bin := buildBinary(t)
	confDir := t.TempDir()
	elsewhere := t.TempDir() // the working directory: none of the files are here
	for _, d := range []string{"www", "tls", "secrets"} {
		if err := os.MkdirAll(filepath.Join(confDir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(confDir, "www", "index.html"), []byte("found beside the configuration\n"), 0o644)
	writeCertificate(t, filepath.Join(confDir, "tls", "server.crt"), filepath.Join(confDir, "tls", "server.key"), "relative")
	keys := make([]byte, 80)
	rand.Read(keys)
	os.WriteFile(filepath.Join(confDir, "secrets", "ticket.key"), keys, 0o600)
	os.WriteFile(filepath.Join(confDir, "secrets", "passwords"), []byte("alice = wonderland\n"), 0o600)
	conf := filepath.Join(confDir, "lwan.conf")
	os.WriteFile(conf, []byte(`listener = "127.0.0.1:0"
quiet = true
threads = 1
[tls_listener]
address = "127.0.0.1:0"
cert = "tls/server.crt"
key = "./tls/server.key"
ticket_key_file = "secrets/ticket.key"
[[site.serve_files]]
prefix = "/"
path = "www"
[[site.serve_files]]
prefix = "/private"
path = "./www"
[site.serve_files.authorization]
password_file = "secrets/passwords"
`), 0o644)

	check := exec.Command(bin, "-t", "-c", conf)
	check.Dir = elsewhere
	if out, err := check.CombinedOutput(); err != nil || !strings.Contains(string(out), "is good") {
		t.Fatalf("-t from another directory: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-c", conf)
	cmd.Dir = elsewhere
	cmd.Stdout = io.Discard
	p := startServerCmd(t, cmd)
	log := p.logText(0)
	for _, want := range []string{
		`msg="serving files" prefix=/ root=` + filepath.Join(confDir, "www") + " key=site.serve_files[0]",
		`msg="serving files" prefix=/private root=` + filepath.Join(confDir, "www") + " key=site.serve_files[1]",
		"config=" + conf,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the startup log does not say %q:\n%s", want, log)
		}
	}

	c := dialTLS(t, p.https, &tls.Config{ServerName: "localhost"})
	if cn := c.commonName(); cn != "relative" {
		t.Fatalf("certificate %q, want the one in tls/ beside the configuration", cn)
	}
	if resp, body := c.get(t, "/"); resp.StatusCode != 200 || body != "found beside the configuration\n" {
		t.Fatalf("GET /: %d %q", resp.StatusCode, body)
	}
	if resp, _ := c.get(t, "/private/"); resp.StatusCode != 401 {
		t.Fatalf("GET /private/ without credentials: %d, want 401", resp.StatusCode)
	}
	auth := base64.StdEncoding.EncodeToString([]byte("alice:wonderland"))
	fmt.Fprintf(c.conn, "GET /private/ HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic %s\r\n\r\n", auth)
	if resp, body := c.readResponse(t); resp.StatusCode != 200 || body != "found beside the configuration\n" {
		t.Fatalf("GET /private/ as alice: %d %q", resp.StatusCode, body)
	}

	// The ticket key file is the one beside the configuration: a second
	// process with the same file resumes the first one's session.
	cache := tls.NewLRUClientSessionCache(4)
	first := dialTLS(t, p.https, &tls.Config{ServerName: "localhost", ClientSessionCache: cache, MaxVersion: tls.VersionTLS12})
	first.get(t, "/")
	first.conn.Close()
	cmd2 := exec.Command(bin, "-c", conf)
	cmd2.Dir = elsewhere
	cmd2.Stdout = io.Discard
	second := dialTLS(t, startServerCmd(t, cmd2).https, &tls.Config{ServerName: "localhost", ClientSessionCache: cache, MaxVersion: tls.VersionTLS12})
	second.get(t, "/")
	if !second.conn.ConnectionState().DidResume {
		t.Fatal("a second process with the same relative ticket_key_file did not resume the first one's session")
	}

	// A relative path that does not exist beside the configuration is
	// named resolved, with the file, line and key.
	os.Remove(filepath.Join(confDir, "secrets", "passwords"))
	bad := exec.Command(bin, "-t", "-c", conf)
	bad.Dir = elsewhere
	out, err := bad.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("-t without the password file: exit %v, want 1\n%s", err, out)
	}
	if !strings.Contains(string(out), conf+":16: site.serve_files[1].authorization.password_file: open "+filepath.Join(confDir, "secrets", "passwords")+": no such file") {
		t.Fatalf("-t does not name the line, key and resolved file:\n%s", out)
	}
}

// The built-in configuration serves ./wwwroot of the working directory;
// where there is none, lwango says which directory it looked in and that
// -r names another.
func TestBinaryBuiltInRootMissingSaysUseR(t *testing.T) {
	bin := buildBinary(t)
	empty := t.TempDir()
	for _, args := range [][]string{{"-t"}, {"-l", "127.0.0.1:0", "-L", "127.0.0.1:0"}} {
		cmd := exec.Command(bin, args...)
		cmd.Dir = empty
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Fatalf("%v: exit %v, want 1\n%s", args, err, out)
		}
		for _, want := range []string{"site.serve_files[0].path: open ./wwwroot: no such file or directory", "working directory, " + empty, "-r ROOT"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("%v: output does not say %q:\n%s", args, want, out)
			}
		}
	}
	// With the root there, the startup line says built-in and where.
	os.MkdirAll(filepath.Join(empty, "wwwroot"), 0o755)
	cmd := exec.Command(bin, "-l", "127.0.0.1:0", "-L", "127.0.0.1:0")
	cmd.Dir = empty
	cmd.Stdout = io.Discard
	log := startServerCmd(t, cmd).logText(0)
	for _, want := range []string{`msg="serving files" prefix=/ root=` + filepath.Join(empty, "wwwroot"), "config=built-in"} {
		if !strings.Contains(log, want) {
			t.Errorf("the startup log does not say %q:\n%s", want, log)
		}
	}
}
