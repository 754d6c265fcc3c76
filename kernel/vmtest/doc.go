// Package vmtest runs programs, usually Go test binaries, inside a throwaway
// QEMU guest booted from one of Debian's stock kernels with tls.ko loaded, so
// that kernel TLS can be tested on machines (and in CI) whose own kernel lacks
// it. Kernels lists the two every suite runs on: Debian 12's Linux 6.1 (no
// kTLS rekey) and Debian sid's 7.2 (kTLS rekey, Linux >= 6.14).
//
// On first use Prepare fetches the kernel packages and busybox-static with
// `apt-get download` (nothing is installed on the host; sid's packages come
// through a private sources list, package lists and cache on the host's
// Debian mirror, so the host's apt state is untouched) and builds an image in
// a cache outside the repository (DefaultCacheDir). Each Run appends the job
// binaries to the image's initramfs, boots it (KVM only on kvm_intel/kvm_amd,
// otherwise TCG; PVH boot of an uncompressed vmlinux; about 2.5 s of boot under
// TCG), streams the serial console and returns every job's exit status.
//
// The package's own test, TestKernelPackageInGuest, builds the kernel
// package's tests with the vmguest build tag, runs its TestKTLS* tests in a
// guest on each kernel and fails unless each of them ran and passed on both. It runs under plain
// `go test ./...` (so CI runs it; a missing qemu, kernel or openssl is a
// failure) and is skipped only with -short:
//
//	go test -v -run TestKernelPackageInGuest ./kernel/vmtest/
//
// TestServerPackageInGuest does the same for the server package's kernel TLS
// tests (server/*ktls*_test.go): the real server hands the keys of its own
// handshakes to the kernel. It copies openssl and strace into the guest, and
// LWANGO_GUEST_RUN replaces its -test.run pattern when iterating:
//
//	go test -v -run TestServerPackageInGuest ./kernel/vmtest/
//
// Environment: LWANGO_GUEST_KERNEL runs the suites on one kernel only ("6.1"
// or "7.2", when iterating; the guest sees it too); LWANGO_VM_CACHE overrides
// the cache directory (delete it to pick up a newer Debian kernel);
// LWANGO_VM_ACCEL overrides the accelerator, e.g. "tcg -cpu max".
package vmtest
