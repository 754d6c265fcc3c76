package vmtest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lwango/internal/testenv"
)

// testLog is an io.Writer that logs each write as one test log entry.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Helper()
	l.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// guestTimeout is the time left for one guest suite: at most max, and
// within the test binary's deadline.
func guestTimeout(t *testing.T, max time.Duration) time.Duration {
	if d, ok := t.Deadline(); ok {
		return min(max, time.Until(d)-10*time.Second)
	}
	return max
}

// selectedKernels is Kernels, or only the one LWANGO_GUEST_KERNEL names (to iterate).
func selectedKernels() []Kernel {
	only := os.Getenv("LWANGO_GUEST_KERNEL")
	if only == "" {
		return Kernels
	}
	for _, k := range Kernels {
		if k.Name == only {
			return []Kernel{k}
		}
	}
	return nil
}

// TestKernelPackageInGuest runs every kTLS test of package kernel, including
// the vmguest-only ones, inside a QEMU guest whose kernel has tls.ko loaded,
// once on each of Kernels.
func TestKernelPackageInGuest(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the QEMU guest suite (boots a VM; about 30 s under TCG)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), guestTimeout(t, 15*time.Minute))
	defer cancel()
	log := testLog{t}
	start := time.Now()
	bin := filepath.Join(t.TempDir(), "kernel.test")
	if err := BuildTestBinary(ctx, "lwango/kernel", "vmguest", bin, log); err != nil {
		t.Fatal(err)
	}
	t.Logf("guest test binary built in %v", time.Since(start).Round(time.Millisecond))

	// openssl s_client is the TLS 1.3 peer that can insist on AES-256-GCM (Go's client cannot).
	openssl := testenv.Program(t, "openssl")
	hostFiles, err := WithLibraries(openssl)
	if err != nil {
		t.Fatal(err)
	}
	// The ABI tests compare the package with the host's uapi header.
	hostFiles = append(hostFiles, "/usr/include/linux/tls.h")
	want := guestTests(t, "../ktls*_test.go") // every one must run and pass in the guest

	for _, k := range selectedKernels() {
		t.Run(k.Name, func(t *testing.T) {
			log := testLog{t}
			start := time.Now()
			img, err := Prepare(ctx, DefaultCacheDir(), k, log)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("image ready in %v: %s", time.Since(start).Round(time.Millisecond), strings.ReplaceAll(img.Manifest, "\n", "; "))
			results, err := img.Run(ctx, []Job{{
				Name:   "kernel.test",
				Binary: bin,
				Args:   []string{"-test.v", "-test.count=1", "-test.run", "^TestKTLS", "-test.timeout", "5m"},
				Env:    []string{"LWANGO_GUEST_OPENSSL=" + openssl, "LWANGO_GUEST_KERNEL=" + k.Name},
			}}, Options{Timeout: 6 * time.Minute, HostFiles: hostFiles, Console: log})
			if err != nil {
				t.Fatal(err)
			}
			checkGuestRun(t, "kernel", results[0], want)
		})
	}
}
