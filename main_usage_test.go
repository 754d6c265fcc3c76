package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"testing"

	"lwango/internal/testenv"
)

// sourceNames returns the sorted distinct first submatches of re in the
// package's non-test Go files.
func sourceNames(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	files, _ := filepath.Glob("*.go")
	seen := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			seen[m[1]] = true
		}
	}
	var names []string
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// lwango -h exits 0 and lists every flag the program defines and every
// signal it handles (both read from the source, so a new one must be
// documented), and the convert command.
func TestHelpListsEveryFlagAndSignal(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-h"}, &stdout, &stderr); code != 0 {
		t.Fatalf("-h: exit %d, stderr %q", code, stderr.String())
	}
	help := stdout.String()
	flagDefs := regexp.MustCompile(`flags\.(?:String|Bool|Int|Duration|Func)(?:Var)?\((?:&[\w.]+, )?"(\w+)"`)
	flagNames := sourceNames(t, flagDefs)
	if len(flagNames) < 8 {
		t.Fatalf("found only the flags %v in the source", flagNames)
	}
	for _, f := range flagNames {
		if !regexp.MustCompile(`(?m)^  -` + f + `\b`).MatchString(help) {
			t.Errorf("-h does not list -%s:\n%s", f, help)
		}
	}
	sigNames := sourceNames(t, regexp.MustCompile(`syscall\.(SIG[A-Z0-9]+)`))
	if len(sigNames) < 3 {
		t.Fatalf("found only the signals %v in the source", sigNames)
	}
	for _, s := range sigNames {
		if !strings.Contains(help, s) {
			t.Errorf("-h does not list %s:\n%s", s, help)
		}
	}
	if !strings.Contains(help, "convert FILE") {
		t.Errorf("-h does not list the convert command:\n%s", help)
	}
	// A flag that does not exist is still an error (status 2).
	if code := run([]string{"-no-such-flag"}, &stdout, &stderr); code != 2 {
		t.Errorf("bad flag: exit %d, want 2", code)
	}
}

// lwango -v prints the module version, the git revision and commit time
// the binary was built from, and the Go version.
func TestBinaryVersion(t *testing.T) {
	git := testenv.Program(t, "git")
	head, err := exec.Command(git, "rev-parse", "HEAD").Output()
	if err != nil {
		testenv.Missing(t, "not a git checkout, so the build has no revision to print: %v", err)
	}
	if fi, err := os.Stat(".git"); err != nil || !fi.IsDir() {
		// Go stamps the revision only where .git is a directory, not in a
		// git worktree (where it is a file).
		testenv.Missing(t, "the checkout's .git is not a directory, so go build records no revision")
	}
	bin := filepath.Join(t.TempDir(), "lwango")
	if out, err := exec.Command("go", "build", "-buildvcs=true", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "-v").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^lwango (\(devel\)|v\S+)\n`).Match(out) {
		t.Errorf("-v does not start with the module version:\n%s", out)
	}
	for _, want := range []string{"revision " + strings.TrimSpace(string(head)), "\ncommitted 20",
		"built with " + runtime.Version() + " for linux/"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("-v output lacks %q:\n%s", want, out)
		}
	}
}
