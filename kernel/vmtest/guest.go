package vmtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Job is one program run inside the guest, after tls.ko is loaded and lo is up.
type Job struct {
	// Name identifies the job in the console markers and its guest path /run/bin/Name.
	Name string
	// Binary is the host path of a static linux/amd64 executable (CGO_ENABLED=0).
	Binary string
	// Args are its arguments; Env adds KEY=VALUE pairs to its environment.
	Args, Env []string
	// Dir is its working directory in the guest; default /tmp.
	Dir string
}

// Options tune a guest run. The zero value is usable.
type Options struct {
	// Timeout bounds the whole run, boot to poweroff; default 5 minutes.
	Timeout time.Duration
	// BootTimeout bounds the boot, until the guest's /init says it is
	// ready (a boot takes seconds even under emulation on a loaded host):
	// a guest that hangs before is killed then, and the error quotes the
	// console's last lines; default 3 minutes.
	BootTimeout time.Duration
	// Memory is qemu's -m; default 512M. CPUs is -smp; default 2.
	Memory string
	CPUs   int
	// Accel overrides the accelerator, e.g. "tcg -cpu max" or "kvm -cpu host";
	// default LWANGO_VM_ACCEL, else KVM only on kvm_intel/kvm_amd, else TCG.
	Accel string
	// HostFiles are absolute host paths (files or directories) copied to the same paths in the guest.
	HostFiles []string
	// Console receives the guest console, line by line, as it arrives.
	Console io.Writer
}

// Result is how one job ended.
type Result struct {
	Name string
	// ExitCode is the job's exit status as the guest shell saw it.
	ExitCode int
	// Output is the console output between the job's start and end markers.
	Output string
}

var jobName = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// Run boots img with jobs and returns one Result per job, in order. A job's
// non-zero exit status is a Result, not an error; an error means the harness
// or the guest failed (qemu missing, module load failure, timeout, a job that
// never reported).
func (img *Image) Run(ctx context.Context, jobs []Job, opt Options) ([]Result, error) {
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		return nil, fmt.Errorf("vmtest: qemu-system-x86_64 not found (apt-get install qemu-system-x86): %w", err)
	}
	if opt.Timeout == 0 {
		opt.Timeout = 5 * time.Minute
	}
	if opt.BootTimeout == 0 {
		opt.BootTimeout = 3 * time.Minute
	}
	if opt.Console == nil {
		opt.Console = io.Discard
	}
	nonce := make([]byte, 6)
	rand.Read(nonce)
	marker := "VMTEST-" + hex.EncodeToString(nonce)

	work, err := os.MkdirTemp("", "lwango-vmtest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	initrd := filepath.Join(work, "initrd")
	if err := img.writeInitramfs(initrd, jobs, opt.HostFiles, marker); err != nil {
		return nil, err
	}

	ctx, cancel := context.WithTimeout(ctx, opt.Timeout)
	defer cancel()
	args := append(strings.Fields("-accel "+accelerator(opt.Accel)), "-M", "pc",
		"-m", cmp(opt.Memory, "512M"), "-smp", strconv.Itoa(cmp(opt.CPUs, 2)),
		"-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio", "-no-reboot",
		"-kernel", img.Vmlinux, "-initrd", initrd,
		// The boot's kernel messages go to the console (no quiet), so that a
		// boot that hangs shows where (/init quietens the kernel before the
		// jobs, whose output its messages would interleave with); panic=-1
		// with -no-reboot ends qemu on a panic; cryptomgr.notests saves ~1 s
		// under TCG; no_timer_check: on a loaded host, emulated time is too
		// irregular for the IO-APIC timer check, which then panics ("IO-APIC +
		// timer doesn't work", seen with Linux 7.2).
		"-append", "console=ttyS0 panic=-1 cryptomgr.notests no_timer_check")
	cmd := exec.CommandContext(ctx, qemu, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(opt.Console, "vmtest: %s %s\n", qemu, strings.Join(args, " "))
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("vmtest: start qemu: %w", err)
	}
	console := newConsoleParser(marker, opt.Console)
	bootHung := make(chan bool, 1)
	go func() {
		boot := time.NewTimer(opt.BootTimeout)
		defer boot.Stop()
		select {
		case <-console.ready:
		case <-ctx.Done():
		case <-boot.C:
			bootHung <- true
			cancel() // kills qemu: the console ends
		}
	}()
	console.read(stdout)
	waitErr := cmd.Wait()
	elapsed := time.Since(start).Round(10 * time.Millisecond)
	fmt.Fprintf(opt.Console, "vmtest: guest ran %v\n", elapsed)

	switch {
	case len(bootHung) > 0:
		return nil, fmt.Errorf("vmtest: guest killed after %v: its /init did not say READY within the boot timeout of %v%s",
			elapsed, opt.BootTimeout, console.tail())
	case ctx.Err() != nil:
		return nil, fmt.Errorf("vmtest: guest killed after %v (%v)%s", elapsed, ctx.Err(), console.tail())
	case console.setupFailure != "":
		return nil, fmt.Errorf("vmtest: guest setup failed: %s%s", console.setupFailure, console.tail())
	case !console.done:
		return nil, fmt.Errorf("vmtest: guest ended without finishing (qemu: %v; stderr: %s)%s",
			waitErr, bytes.TrimSpace(stderr.Bytes()), console.tail())
	}
	results := make([]Result, len(jobs))
	for i, j := range jobs {
		r, ok := console.results[j.Name]
		if !ok {
			return nil, fmt.Errorf("vmtest: job %s never reported an exit status%s", j.Name, console.tail())
		}
		results[i] = *r
	}
	return results, nil
}

// cmp returns v, or def when v is the zero value.
func cmp[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// accelerator picks qemu's -accel argument. KVM is used only with hardware
// virtualisation (kvm_intel or kvm_amd): under other KVM implementations, such
// as the kvm_pvm of some cloud VMs, a stock kernel dies with "KVM internal error".
func accelerator(override string) string {
	if override != "" {
		return override
	}
	if env := os.Getenv("LWANGO_VM_ACCEL"); env != "" {
		return env
	}
	if f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0); err == nil {
		f.Close()
		for _, m := range []string{"kvm_intel", "kvm_amd"} {
			if _, err := os.Stat("/sys/module/" + m); err == nil {
				return "kvm -cpu host"
			}
		}
	}
	return "tcg -cpu max"
}

// guestInit is the guest's /init. It lets only the kernel's errors reach the
// console from then on (the quiet of the kernel command line, but after the
// boot's messages), loads tls.ko and the accelerated crypto modules udev
// would load, brings up lo, runs /run/jobs and powers off. MARKER is
// replaced by the run's console marker.
const guestInit = `#!/bin/busybox sh
/bin/busybox --install -s
mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sys /sys
dmesg -n 4
ip link set lo up || echo "MARKER SETUP-FAILED ip link set lo up"
modprobe tls || echo "MARKER SETUP-FAILED modprobe tls"
for mod in aesni-intel ghash-clmulni-intel chacha-x86_64 poly1305-x86_64; do modprobe -q $mod; done
echo "MARKER READY $(uname -r)"
. /run/jobs
echo "MARKER DONE"
poweroff -f
`

// writeInitramfs writes the base image followed by an uncompressed archive
// with /init, the job binaries, /run/jobs and the host files.
func (img *Image) writeInitramfs(out string, jobs []Job, hostFiles []string, marker string) error {
	base, err := os.ReadFile(img.BaseInitramfs)
	if err != nil {
		return fmt.Errorf("vmtest: %w", err)
	}
	var buf bytes.Buffer
	buf.Write(base)
	c := &cpioWriter{w: &buf, offset: int64(len(base))}
	c.File("init", 0o755, []byte(strings.ReplaceAll(guestInit, "MARKER", marker)))
	c.Dir("run/bin", 0o755)
	var script strings.Builder
	for _, j := range jobs {
		if !jobName.MatchString(j.Name) {
			return fmt.Errorf("vmtest: job name %q: want [A-Za-z0-9._-]+", j.Name)
		}
		bin, err := os.ReadFile(j.Binary)
		if err != nil {
			return fmt.Errorf("vmtest: job %s: %w", j.Name, err)
		}
		if len(bin) < 4 || string(bin[:4]) != "\x7fELF" {
			return fmt.Errorf("vmtest: job %s: %s is not an ELF executable", j.Name, j.Binary)
		}
		c.File("run/bin/"+j.Name, 0o755, bin)
		fmt.Fprintf(&script, "echo %q\ncd %s && env", marker+" BEGIN "+j.Name, shellQuote(cmp(j.Dir, "/tmp")))
		for _, kv := range j.Env {
			script.WriteString(" " + shellQuote(kv))
		}
		script.WriteString(" /run/bin/" + j.Name)
		for _, a := range j.Args {
			script.WriteString(" " + shellQuote(a))
		}
		fmt.Fprintf(&script, "\necho \"%s EXIT %s $?\"\ncd /\n", marker, j.Name)
	}
	c.File("run/jobs", 0o644, []byte(script.String()))
	dirs := map[string]bool{".": true, "run": true, "run/bin": true}
	for _, f := range hostFiles {
		if !filepath.IsAbs(f) {
			return fmt.Errorf("vmtest: host file %q is not an absolute path", f)
		}
		name := strings.TrimPrefix(path.Clean(f), "/")
		addParents(c, dirs, path.Dir(name))
		if err := addHostPath(c, dirs, f, name); err != nil {
			return err
		}
	}
	if err := c.Close(); err != nil {
		return err
	}
	return os.WriteFile(out, buf.Bytes(), 0o644)
}

// addParents adds the directory dir and its missing parents, once each.
func addParents(c *cpioWriter, dirs map[string]bool, dir string) {
	if dirs[dir] {
		return
	}
	addParents(c, dirs, path.Dir(dir))
	dirs[dir] = true
	c.Dir(dir, 0o755)
}

// addHostPath adds the host file or directory f as name, following symlinks.
func addHostPath(c *cpioWriter, dirs map[string]bool, f, name string) error {
	info, err := os.Stat(f)
	if err != nil {
		return fmt.Errorf("vmtest: host file: %w", err)
	}
	if !info.IsDir() {
		data, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("vmtest: host file: %w", err)
		}
		c.File(name, info.Mode(), data)
		return nil
	}
	addParents(c, dirs, name)
	entries, err := os.ReadDir(f)
	if err != nil {
		return fmt.Errorf("vmtest: host dir: %w", err)
	}
	for _, e := range entries {
		if err := addHostPath(c, dirs, filepath.Join(f, e.Name()), path.Join(name, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// shellQuote quotes s for the guest's busybox sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// WithLibraries returns the dynamic executable bin followed by the shared
// libraries and loader it needs (from ldd), for Options.HostFiles.
func WithLibraries(bin string) ([]string, error) {
	out, err := exec.Command("ldd", bin).Output()
	if err != nil {
		return nil, fmt.Errorf("vmtest: ldd %s: %w", bin, err)
	}
	files := []string{bin}
	for _, lib := range regexp.MustCompile(`(/\S+)\s+\(0x`).FindAllStringSubmatch(string(out), -1) {
		files = append(files, lib[1])
	}
	return files, nil
}
