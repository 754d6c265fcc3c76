package vmtest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Image is a bootable guest: Debian's stock kernel as an uncompressed vmlinux
// (booted through PVH, which skips the in-kernel xz decompressor: ~3 s under
// TCG) and a gzip initramfs with a static busybox and the kernel's TLS and
// crypto modules.
type Image struct {
	// Vmlinux is the uncompressed kernel.
	Vmlinux string
	// BaseInitramfs is the gzip newc archive shared by all runs; its size is a multiple of 4.
	BaseInitramfs string
	// Manifest says which Debian packages the image was built from.
	Manifest string
}

// imageFormat names the cached image directories (one per Kernel); change it
// whenever the image layout changes so that old caches are not used.
const imageFormat = "image-v2"

// Kernel is a Debian kernel the guest can boot.
type Kernel struct {
	// Name is short and unique ("6.1", "7.2"): a subtest name and part of the cache directory.
	Name string
	// Suite, when set, is the Debian suite the packages come from, through a
	// private apt sources list on the host's Debian mirror (see aptSuite); the
	// host's apt state is neither read nor changed. Empty: the host's sources.
	Suite string
	// Packages hold vmlinuz and the modules; empty: the version that the
	// host's linux-image-amd64 metapackage depends on.
	Packages []string
}

// Kernels are the two kernels every kTLS guest test runs on: Debian 12's
// (Linux 6.1, no kTLS rekey) and Debian sid's 7.2 (kTLS rekey, Linux >= 6.14).
var Kernels = []Kernel{
	{Name: "6.1"},
	{Name: "7.2", Suite: "sid", Packages: []string{
		"linux-binary-7.2.13+deb14-cloud-amd64",  // vmlinuz (zstd)
		"linux-modules-7.2.13+deb14-cloud-amd64", // tls.ko.xz and the crypto modules
	}},
}

// Module directories (under lib/modules/VERSION/kernel) copied into the guest:
// tls.ko and every crypto module the kernel may request for the TLS ciphers.
var guestModuleDirs = []string{"net/tls", "crypto", "arch/x86/crypto", "lib/crypto"}

// DefaultCacheDir is where images are kept unless LWANGO_VM_CACHE says otherwise:
// $XDG_CACHE_HOME/lwango-vmtest (or ~/.cache/...), else /tmp/lwango-vm-cache.
func DefaultCacheDir() string {
	if dir := os.Getenv("LWANGO_VM_CACHE"); dir != "" {
		return dir
	}
	if dir, err := os.UserCacheDir(); err == nil {
		return filepath.Join(dir, "lwango-vmtest")
	}
	return filepath.Join(os.TempDir(), "lwango-vm-cache")
}

// Prepare returns the image of kernel k in cacheDir, building it first if
// needed: it fetches the kernel packages (see Kernel) and busybox-static with
// `apt-get download` (after one `apt-get update` when apt has no package
// lists), unpacks them with dpkg, and writes the image. Nothing is installed
// on the host. Concurrent callers serialise on a lock file. Delete cacheDir
// to pick up a newer Debian kernel.
func Prepare(ctx context.Context, cacheDir string, k Kernel, log io.Writer) (*Image, error) {
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("vmtest: cache: %w", err)
	}
	unlock, err := lockDir(ctx, cacheDir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	dir := filepath.Join(cacheDir, imageFormat+"-"+k.Name)
	img := &Image{
		Vmlinux:       filepath.Join(dir, "vmlinux"),
		BaseInitramfs: filepath.Join(dir, "base.cpio.gz"),
	}
	if manifest, err := os.ReadFile(filepath.Join(dir, "MANIFEST")); err == nil {
		img.Manifest = string(manifest)
		return img, nil
	}
	// Builds interrupted by a kill leave directories behind; nobody else holds the lock.
	if stale, err := filepath.Glob(filepath.Join(cacheDir, "build-*")); err == nil {
		for _, d := range stale {
			os.RemoveAll(d)
		}
	}
	start := time.Now()
	fmt.Fprintf(log, "vmtest: building guest image in %s\n", dir)
	build, err := os.MkdirTemp(cacheDir, "build-")
	if err != nil {
		return nil, fmt.Errorf("vmtest: %w", err)
	}
	defer os.RemoveAll(build)
	manifest, err := buildImage(ctx, cacheDir, build, k, log)
	if err != nil {
		return nil, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("vmtest: %w", err)
	}
	if err := os.Rename(filepath.Join(build, "image"), dir); err != nil {
		return nil, fmt.Errorf("vmtest: %w", err)
	}
	img.Manifest = manifest
	fmt.Fprintf(log, "vmtest: image built in %v:\n%s", time.Since(start).Round(time.Millisecond), manifest)
	return img, nil
}

// lockDir takes an exclusive flock on dir/lock, polling until ctx ends.
func lockDir(ctx context.Context, dir string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("vmtest: %w", err)
	}
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("vmtest: lock %s: %w", f.Name(), err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("vmtest: waiting for lock %s: %w", f.Name(), ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// buildImage downloads and unpacks the packages in build and writes build/image.
func buildImage(ctx context.Context, cacheDir, build string, k Kernel, log io.Writer) (manifest string, err error) {
	debs := filepath.Join(build, "debs")
	if err := os.Mkdir(debs, 0o755); err != nil {
		return "", err
	}
	packages := k.Packages
	if len(packages) == 0 {
		kernelPkg, err := kernelPackage(ctx, log)
		if err != nil {
			return "", err
		}
		packages = []string{kernelPkg}
	}
	var aptOptions []string // the host's apt sources, or the suite's private ones
	if k.Suite != "" {
		if aptOptions, err = aptSuite(ctx, filepath.Join(cacheDir, "apt-"+k.Suite), k.Suite, log); err != nil {
			return "", err
		}
	}
	if _, err := run(ctx, debs, log, "apt-get", append(append(aptOptions, "download"), packages...)...); err != nil {
		return "", err
	}
	// busybox-static always comes from the host's own suite.
	if _, err := run(ctx, debs, log, "apt-get", "download", "busybox-static"); err != nil {
		return "", err
	}
	packages = append(packages, "busybox-static")
	files, err := filepath.Glob(filepath.Join(debs, "*.deb"))
	if err != nil || len(files) != len(packages) {
		return "", fmt.Errorf("vmtest: apt-get download left %v (%v), want %d .deb files", files, err, len(packages))
	}
	unpacked := filepath.Join(build, "x")
	for _, deb := range files {
		if _, err := run(ctx, build, log, "dpkg-deb", "-x", deb, unpacked); err != nil {
			return "", err
		}
		manifest += filepath.Base(deb) + "\n"
	}
	modulesRoot, kernelVersion, err := findModules(unpacked)
	if err != nil {
		return "", err
	}
	image := filepath.Join(build, "image")
	if err := os.Mkdir(image, 0o755); err != nil {
		return "", err
	}
	vmlinuz := filepath.Join(unpacked, "boot", "vmlinuz-"+kernelVersion)
	if _, err := os.Stat(vmlinuz); err != nil {
		vmlinuz = filepath.Join(modulesRoot, kernelVersion, "vmlinuz") // newer packages (linux-binary-*)
	}
	if err := extractVmlinux(ctx, vmlinuz, filepath.Join(image, "vmlinux"), log); err != nil {
		return "", err
	}
	root := filepath.Join(build, "root")
	busybox := filepath.Join(unpacked, "bin", "busybox")
	if err := stageRoot(ctx, root, busybox, modulesRoot, kernelVersion, log); err != nil {
		return "", err
	}
	if err := writeBaseInitramfs(root, filepath.Join(image, "base.cpio.gz")); err != nil {
		return "", err
	}
	manifest += "kernel " + kernelVersion + "\n"
	return manifest, os.WriteFile(filepath.Join(image, "MANIFEST"), []byte(manifest), 0o644)
}

// kernelPackage names the versioned kernel image package that Debian's
// linux-image-amd64 metapackage depends on, running `apt-get update` once if
// apt has no package lists yet.
func kernelPackage(ctx context.Context, log io.Writer) (string, error) {
	depends := regexp.MustCompile(`(?m)^\s*Depends: (linux-image-\d\S*)`)
	out, err := run(ctx, "", io.Discard, "apt-cache", "depends", "linux-image-amd64")
	if m := depends.FindStringSubmatch(out); err == nil && m != nil {
		return m[1], nil
	}
	fmt.Fprintf(log, "vmtest: apt knows no linux-image-amd64 (%v); running apt-get update\n", err)
	if _, err := run(ctx, "", log, "apt-get", "update", "-q"); err != nil {
		return "", fmt.Errorf("%w (apt-get update needs root)", err)
	}
	out, err = run(ctx, "", io.Discard, "apt-cache", "depends", "linux-image-amd64")
	if m := depends.FindStringSubmatch(out); err == nil && m != nil {
		return m[1], nil
	}
	return "", fmt.Errorf("vmtest: cannot resolve Debian's linux-image-amd64 (%v): %s", err, out)
}

// findModules locates lib/modules/VERSION in an unpacked kernel package.
func findModules(unpacked string) (modulesRoot, version string, err error) {
	for _, lib := range []string{"lib/modules", "usr/lib/modules"} {
		entries, err := os.ReadDir(filepath.Join(unpacked, lib))
		if err == nil && len(entries) == 1 {
			return filepath.Join(unpacked, lib), entries[0].Name(), nil
		}
	}
	return "", "", fmt.Errorf("vmtest: no single lib/modules/VERSION in the kernel package")
}

// bzImagePayload returns the compressed kernel inside a bzImage, located by
// its boot protocol header (Documentation/arch/x86/boot.rst: setup_sects,
// payload_offset, payload_length; protocol 2.08 and later), without the
// 4-byte decompressed size that the kernel's build appends to the stream.
func bzImagePayload(data []byte) ([]byte, error) {
	if len(data) < 0x250 || string(data[0x202:0x206]) != "HdrS" || binary.LittleEndian.Uint16(data[0x206:]) < 0x208 {
		return nil, errors.New("not a bzImage of boot protocol 2.08 or later")
	}
	setupSects := int(data[0x1f1])
	if setupSects == 0 {
		setupSects = 4
	}
	start := (setupSects+1)*512 + int(binary.LittleEndian.Uint32(data[0x248:]))
	end := start + int(binary.LittleEndian.Uint32(data[0x24c:]))
	if end-4 <= start || end > len(data) {
		return nil, fmt.Errorf("payload [%d, %d) outside the file's %d bytes", start, end, len(data))
	}
	return data[start : end-4], nil
}

// decompressors of the bzImage payloads Debian ships: xz (Linux 6.1) and zstd (Linux 7).
var decompressors = []struct {
	magic string
	cmd   []string
}{
	{"\xfd7zXZ\x00", []string{"xz", "-dc", "--single-stream"}},
	{"\x28\xb5\x2f\xfd", []string{"zstd", "-dc"}},
}

// extractVmlinux decompresses the ELF kernel embedded in a bzImage with xz(1)
// or zstd(1), whichever its payload needs.
func extractVmlinux(ctx context.Context, vmlinuz, out string, log io.Writer) error {
	data, err := os.ReadFile(vmlinuz)
	if err != nil {
		return fmt.Errorf("vmtest: %w", err)
	}
	payload, err := bzImagePayload(data)
	if err != nil {
		return fmt.Errorf("vmtest: %s: %w", vmlinuz, err)
	}
	var argv []string
	for _, d := range decompressors {
		if bytes.HasPrefix(payload, []byte(d.magic)) {
			argv = d.cmd
		}
	}
	if argv == nil {
		return fmt.Errorf("vmtest: %s: payload compressed with neither xz nor zstd (starts %x)", vmlinuz, payload[:min(6, len(payload))])
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = bytes.NewReader(payload)
	cmd.Stdout = f
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("vmtest: %s of %s: %v: %s (apt-get install xz-utils zstd)", strings.Join(argv, " "), vmlinuz, err, stderr.Bytes())
	}
	head := make([]byte, 4)
	if _, err := f.ReadAt(head, 0); err != nil || string(head) != "\x7fELF" {
		return fmt.Errorf("vmtest: %s did not decompress to an ELF vmlinux (%x, %v)", vmlinuz, head, err)
	}
	return f.Close()
}

// stageRoot lays out the guest's base file system: busybox and the modules,
// with modules.dep and modules.alias from busybox depmod so that the kernel
// can autoload crypto algorithms (request_module -> /sbin/modprobe).
func stageRoot(ctx context.Context, root, busybox, modulesRoot, version string, log io.Writer) error {
	for _, d := range []string{"bin", "sbin", "usr/bin", "usr/sbin", "dev", "proc", "sys", "tmp", "run"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	if err := copyFile(busybox, filepath.Join(root, "bin", "busybox"), 0o755); err != nil {
		return err
	}
	for _, dir := range guestModuleDirs {
		rel := filepath.Join("lib", "modules", version, "kernel", dir)
		if err := copyTree(filepath.Join(modulesRoot, version, "kernel", dir), filepath.Join(root, rel)); err != nil {
			return err
		}
	}
	if err := decompressModules(ctx, filepath.Join(root, "lib", "modules", version), log); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(root, "lib", "modules", version, "kernel", "net", "tls", "tls.ko")); err != nil {
		return fmt.Errorf("vmtest: the kernel package has no tls module: %w", err)
	}
	_, err := run(ctx, "", log, busybox, "depmod", "-b", root, version)
	return err
}

// decompressModules turns every .ko.xz under dir into a .ko (newer Debian
// kernels compress their modules; busybox's modprobe wants them plain).
func decompressModules(ctx context.Context, dir string, log io.Writer) error {
	var compressed []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".ko.xz") {
			compressed = append(compressed, p)
		}
		return err
	})
	if err != nil || len(compressed) == 0 {
		return err
	}
	_, err = run(ctx, "", log, "xz", append([]string{"-d"}, compressed...)...)
	return err
}

// writeBaseInitramfs archives root as gzip newc, padded to a multiple of 4
// bytes so that a per-run archive can be appended.
func writeBaseInitramfs(root, out string) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := bufio.NewWriter(f)
	gz, err := gzip.NewWriterLevel(buf, gzip.BestSpeed)
	if err != nil {
		return err
	}
	c := &cpioWriter{w: gz}
	if err := c.Tree(root, ""); err != nil {
		return err
	}
	if err := firstError(c.Close(), gz.Close(), buf.Flush()); err != nil {
		return err
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	if rem := size % 4; rem != 0 {
		if _, err := f.Write(make([]byte, 4-rem)); err != nil {
			return err
		}
	}
	return f.Close()
}

// copyTree copies the directories and regular files under src to dst.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			return copyFile(p, target, 0o644)
		default:
			return fmt.Errorf("vmtest: %s: unexpected file type %v", p, d.Type())
		}
	})
}

func copyFile(src, dst string, perm os.FileMode) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, perm)
}

func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// run executes a command in dir, copying its stderr to log, and returns its stdout.
func run(ctx context.Context, dir string, log io.Writer, name string, args ...string) (string, error) {
	return runEnv(ctx, dir, log, nil, name, args...)
}

// runEnv is run with an explicit environment (nil: the current one).
func runEnv(ctx context.Context, dir string, log io.Writer, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = io.MultiWriter(&stderr, log)
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("vmtest: %s %s: %v: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return stdout.String(), nil
}
