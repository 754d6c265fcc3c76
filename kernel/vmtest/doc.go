// Package vmtest runs programs, usually Go test binaries, inside a throwaway
// QEMU guest booted from Debian's stock kernel with tls.ko loaded, so that
// kernel TLS can be tested on machines (and in CI) whose own kernel lacks it.
//
// On first use Prepare fetches the kernel image and busybox-static with
// `apt-get download` (nothing is installed on the host) and builds an image in
// a cache outside the repository (DefaultCacheDir). Each Run appends the job
// binaries to the image's initramfs, boots it (KVM only on kvm_intel/kvm_amd,
// otherwise TCG; PVH boot of an uncompressed vmlinux; about 2.5 s of boot under
// TCG), streams the serial console and returns every job's exit status.
//
// The package's own test, TestKernelPackageInGuest, builds the kernel
// package's tests with the vmguest build tag, runs its TestKTLS* tests in the
// guest and fails unless each of them ran and passed. It runs under plain
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
// Environment: LWANGO_VM_CACHE overrides the cache directory (delete it to
// pick up a newer Debian kernel); LWANGO_VM_ACCEL overrides the accelerator,
// e.g. "tcg -cpu max".
package vmtest
