package vmtest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// guestProg builds testdata/guestprog as a static binary.
func guestProg(t *testing.T, ctx context.Context) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "guestprog")
	if _, err := runEnv(ctx, "testdata/guestprog", testLog{t}, append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS="),
		"go", "build", "-o", bin, "."); err != nil {
		t.Fatal(err)
	}
	return bin
}

func preparedImage(t *testing.T, ctx context.Context) *Image {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skipping a QEMU guest boot")
	}
	img, err := Prepare(ctx, DefaultCacheDir(), Kernels[0], testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestRunPassesExitStatusesThrough: two jobs in one boot, their statuses,
// arguments, environment, working directory and output kept apart.
func TestRunPassesExitStatusesThrough(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	img := preparedImage(t, ctx)
	bin := guestProg(t, ctx)
	results, err := img.Run(ctx, []Job{
		{Name: "ok", Binary: bin, Args: []string{"exit", "0"}},
		{Name: "three", Binary: bin, Args: []string{"exit", "3"}, Env: []string{"GUESTPROG_ENV=it's here"}, Dir: "/proc"},
	}, Options{Console: testLog{t}})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 || results[0].Name != "ok" || results[1].Name != "three" {
		t.Fatalf("results %+v", results)
	}
	if results[0].ExitCode != 0 || results[0].Output != "guestprog: exit 0 in /tmp with GUESTPROG_ENV=\"\"\n" {
		t.Errorf("job ok: %+v", results[0])
	}
	if results[1].ExitCode != 3 || results[1].Output != "guestprog: exit 3 in /proc with GUESTPROG_ENV=\"it's here\"\n" {
		t.Errorf("job three: %+v", results[1])
	}
}

// TestRunKillsAHungGuest: a guest that hangs costs its timeout, not the
// test binary's: a job that never ends, the run's timeout; a guest that has
// not reached its /init by the boot timeout (here far shorter than any
// boot), the boot timeout, and the error says so with the console's last
// lines (the kernel's boot messages: where it stopped).
func TestRunKillsAHungGuest(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	img := preparedImage(t, ctx)
	bin := guestProg(t, ctx)
	for _, c := range []struct {
		name  string
		args  []string
		opt   Options
		err   string
		bound time.Duration
	}{
		{"job", []string{"hang"}, Options{Timeout: 8 * time.Second}, "guest killed after", 20 * time.Second},
		{"boot", []string{"exit", "0"}, Options{Timeout: 2 * time.Minute, BootTimeout: 300 * time.Millisecond},
			"did not say READY within the boot timeout of 300ms", time.Minute},
	} {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			c.opt.Console = testLog{t}
			_, err := img.Run(ctx, []Job{{Name: "hang", Binary: bin, Args: c.args}}, c.opt)
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("Run of a hung guest: %v", err)
			}
			if elapsed := time.Since(start); elapsed > c.bound {
				t.Errorf("Run returned after %v with options %+v", elapsed, c.opt)
			}
			t.Log(err)
		})
	}
}
