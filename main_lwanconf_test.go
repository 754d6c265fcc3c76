package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"lwango/internal/testenv"
)

// A configuration file in Lwan's own syntax is detected by its content and
// served (curl through a real socket); lwango convert prints its TOML
// equivalent, which serves the same; a handler lwango lacks is named with
// the file and line, by -t and by convert.
func TestBinaryLwanSyntax(t *testing.T) {
	curl := testenv.Program(t, "curl")
	bin := buildBinary(t)
	dir := t.TempDir()
	root := filepath.Join(dir, "www")
	os.MkdirAll(root, 0o755)
	os.WriteFile(filepath.Join(root, "index.html"), []byte("lwan syntax\n"), 0o644)
	conf := filepath.Join(dir, "lwan.conf")
	text := "# Lwan's syntax\nconstants {\n  root = " + root + "\n}\nkeep_alive_timeout = 15\nquiet = true\nthreads = 1\nexpires = 1M 1w\n" +
		"listener 127.0.0.1:0\n\nsite {\n    serve_files / {\n        path = ${root}\n        serve precompressed files = true\n    }\n" +
		"    redirect /old { to = /new\n code = 307 }\n    rewrite /blog {\n        pattern (%d+) { rewrite as = /index.html?p=%1 }\n    }\n}\n" +
		"headers {\n    X-Lwan-Syntax = ${LWANGO_TEST_HEADER:yes}\n}\n"
	os.WriteFile(conf, []byte(text), 0o644)

	if out, err := exec.Command(bin, "-t", "-c", conf).CombinedOutput(); err != nil {
		t.Fatalf("-t: %v: %s", err, out)
	}
	converted, err := exec.Command(bin, "convert", conf).Output()
	if err != nil {
		t.Fatalf("convert: %v", err)
	}
	for _, want := range []string{"listener = \"127.0.0.1:0\"", "[[site.redirect]]\nprefix = \"/old\"\nto = \"/new\"\ncode = 307",
		"match = \"([[:digit:]]+)\"\nrewrite_as = \"/index.html?p=$1\"", "X-Lwan-Syntax = \"yes\"", "path = \"" + root + "\""} {
		if !strings.Contains(string(converted), want) {
			t.Errorf("convert output lacks %q:\n%s", want, converted)
		}
	}
	tomlConf := filepath.Join(dir, "converted.toml")
	os.WriteFile(tomlConf, converted, 0o644)

	for _, c := range []string{conf, tomlConf} {
		addr := startBinary(t, bin, "-c", c)
		out, err := exec.Command(curl, "-sS", "-i", "http://"+addr+"/").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "200 OK") || !strings.Contains(string(out), "X-Lwan-Syntax: yes") ||
			!strings.HasSuffix(string(out), "lwan syntax\n") {
			t.Errorf("%s: GET /: %v\n%s", c, err, out)
		}
		out, err = exec.Command(curl, "-sS", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "http://"+addr+"/old").CombinedOutput()
		if err != nil || string(out) != "307 http://"+addr+"/new" {
			t.Errorf("%s: GET /old: %v %s", c, err, out)
		}
		out, err = exec.Command(curl, "-sS", "http://"+addr+"/blog/42").CombinedOutput()
		if err != nil || string(out) != "lwan syntax\n" {
			t.Errorf("%s: GET /blog/42: %v %q", c, err, out)
		}
	}

	bad := filepath.Join(dir, "lua.conf")
	os.WriteFile(bad, []byte("listener 127.0.0.1:0\nsite {\n  lua /lua {\n    script file = test.lua\n  }\n}\n"), 0o644)
	for _, args := range [][]string{{"-t", "-c", bad}, {"convert", bad}} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Fatalf("%v: exit %v, want 1: %s", args, err, out)
		}
		if want := bad + ":3: site: Lwan module \"lua\" is not available in lwango"; !strings.Contains(string(out), want) {
			t.Errorf("%v: %s\nwant %s", args, out, want)
		}
	}
}
