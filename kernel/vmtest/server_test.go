package vmtest

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"lwango/internal/testenv"
)

// guestTests lists the TestKTLS* functions in the files matching pattern,
// whatever their build tags.
func guestTests(t *testing.T, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("no files match %s (%v)", pattern, err)
	}
	var names []string
	re := regexp.MustCompile(`(?m)^func (TestKTLS\w*)\(t \*testing\.T\)`)
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			names = append(names, m[1])
		}
	}
	return names
}

// checkGuestRun fails t unless the guest run of pkg's test binary exited 0,
// printed PASS, skipped and failed nothing, and passed every test in want
// (with want nil, at least one test).
func checkGuestRun(t *testing.T, pkg string, r Result, want []string) {
	t.Helper()
	if r.ExitCode != 0 {
		t.Errorf("%s.test exited with status %d in the guest", pkg, r.ExitCode)
	}
	for _, name := range want {
		if !strings.Contains(r.Output, "--- PASS: "+name+" ") {
			t.Errorf("%s did not pass in the guest", name)
		}
	}
	if want == nil && !strings.Contains(r.Output, "--- PASS: ") {
		t.Error("no test of the pattern ran in the guest") // a LWANGO_GUEST_RUN that matches nothing
	}
	if !regexp.MustCompile(`(?m)^PASS$`).MatchString(r.Output) {
		t.Error("guest test binary did not print PASS")
	}
	if strings.Contains(r.Output, "--- SKIP") || strings.Contains(r.Output, "--- FAIL") {
		t.Error("guest output has skipped or failed tests")
	}
	if !t.Failed() {
		t.Logf("all %d TestKTLS* tests of package %s passed in the guest", len(want), pkg)
	}
}

// TestServerPackageInGuest runs the server package's kernel TLS tests
// (server/*ktls*_test.go, vmguest tag) in a QEMU guest whose kernel has
// tls.ko, once on each of Kernels: the real server, its own handshake, keys
// handed to the kernel, Go's crypto/tls and openssl s_client as clients, and
// strace to show that sendfile keeps the file out of the process. openssl
// and strace are copied from the host; a missing one is a failure.
// LWANGO_GUEST_RUN replaces the -test.run pattern (to iterate on a few
// tests); LWANGO_GUEST_KERNEL picks one kernel by name.
func TestServerPackageInGuest(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the QEMU guest suite (boots a VM)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), guestTimeout(t, 40*time.Minute))
	defer cancel()
	log := testLog{t}
	bin := filepath.Join(t.TempDir(), "server.test")
	if err := BuildTestBinary(ctx, "lwango/server", "vmguest", bin, log); err != nil {
		t.Fatal(err)
	}
	var hostFiles []string
	env := []string{}
	for _, tool := range []struct{ name, env string }{
		{"openssl", "LWANGO_GUEST_OPENSSL"},
		{"strace", "LWANGO_GUEST_STRACE"},
	} {
		path := testenv.Program(t, tool.name) // copied into the guest
		files, err := WithLibraries(path)
		if err != nil {
			t.Fatal(err)
		}
		hostFiles = append(hostFiles, files...)
		env = append(env, tool.env+"="+path)
	}
	want := guestTests(t, "../../server/*ktls*_test.go")
	run := "^TestKTLS"
	if only := os.Getenv("LWANGO_GUEST_RUN"); only != "" {
		run, want = only, nil // iterating on some tests: run just those
	}
	kernels := selectedKernels()
	for _, k := range kernels {
		t.Run(k.Name, func(t *testing.T) {
			log := testLog{t}
			img, err := Prepare(ctx, DefaultCacheDir(), k, log)
			if err != nil {
				t.Fatal(err)
			}
			jobs, wants := serverGuestJobs(bin, run, want, append(env, "LWANGO_GUEST_KERNEL="+k.Name))
			results, err := img.Run(ctx, jobs, Options{Timeout: 19 * time.Minute, Memory: "1G", HostFiles: hostFiles, Console: log})
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range results {
				checkGuestRun(t, "server", r, wants[i])
			}
		})
	}
}

// keyReadbackTest shows that, without the seccomp filter, a server process
// can read its kernel TLS keys back. It starts that server as a child of
// the test process, and a seccomp filter is inherited across fork and exec:
// once any other test has started a server with protect_keys on (the
// default) in the test process, the child is filtered too. So it runs first,
// in a test process of its own.
const keyReadbackTest = "TestKTLSGuestKeysCannotBeReadBack"

// serverGuestJobs returns the guest jobs for the server package's tests
// matching run, and the tests each must pass: keyReadbackTest alone in a
// fresh process, then the others. With want nil (LWANGO_GUEST_RUN given),
// one job runs exactly what was asked.
func serverGuestJobs(bin, run string, want, env []string) ([]Job, [][]string) {
	args := func(extra ...string) []string {
		return append([]string{"-test.v", "-test.count=1", "-test.timeout", "18m"}, extra...)
	}
	if want == nil {
		return []Job{{Name: "server.test", Binary: bin, Args: args("-test.run", run), Env: env}}, [][]string{nil}
	}
	var rest []string
	for _, name := range want {
		if name != keyReadbackTest {
			rest = append(rest, name)
		}
	}
	only := "^" + keyReadbackTest + "$"
	return []Job{
			{Name: "server-keyreadback.test", Binary: bin, Args: args("-test.run", only), Env: env},
			{Name: "server.test", Binary: bin, Args: args("-test.run", run, "-test.skip", only), Env: env},
		}, [][]string{
			{keyReadbackTest},
			rest,
		}
}
