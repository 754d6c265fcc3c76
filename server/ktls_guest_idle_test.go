//go:build vmguest

package server

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"lwango/site"
)

// idleKTLSConns is how many idle keep-alive connections of each kind
// TestKTLSGuestIdleConnections holds open (issue 14: 5 000 on kernel TLS).
const idleKTLSConns = 5000

// idleServerEnv names the configuration file idleServerProcess serves.
const idleServerEnv = "LWANGO_HELPER_IDLE_SERVER"

func init() { helperProcesses[idleServerEnv] = idleServerProcess }

// idleServerProcess is a server process (helperProcesses) for the idle
// kernel TLS tests: it serves the configuration conf, prints "serving
// PLAIN TLS" (the two listeners' addresses), and answers each line on its
// standard input with its memory (memorySample) after two garbage
// collections that return free memory to the system. It stops when its
// standard input closes.
func idleServerProcess(conf string) error {
	cfg, err := site.Load(conf)
	if err != nil {
		return err
	}
	// A minute for each handshake, not the default ten seconds: an
	// emulated guest on a loaded host can stall that long (a handshake
	// cut by its deadline was seen as the client's request failing with
	// a broken pipe).
	srv, err := New(cfg, Options{RequestTimeout: time.Minute})
	if err != nil {
		return err
	}
	srv.Start()
	tlsAddr, _ := srv.TLSAddr()
	fmt.Printf("serving %s %s\n", srv.Addr(), tlsAddr)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		runtime.GC()
		runtime.GC()
		debug.FreeOSMemory()
		m, err := sampleMemory()
		if err != nil {
			return err
		}
		fmt.Printf("heap %d anon %d file %d runtime %d\n", m.heap, m.anon, m.file, m.runtime)
	}
	return srv.Shutdown(time.Minute)
}

// memorySample is a process's memory: its live Go heap and its resident
// set, anonymous (heap, stacks, the connection table, runtime metadata)
// and file-backed (the pages of the binary it has run) apart.
//
// runtime is the memory the Go runtime holds and has not returned to the
// system (heap spans in use or free, stacks, metadata): what of the
// anonymous resident set is Go's.
type memorySample struct{ heap, anon, file, runtime int64 }

// sampleMemory measures this process (RssAnon and RssFile of
// /proc/self/status).
func sampleMemory() (memorySample, error) {
	samples := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(samples)
	m := memorySample{heap: heapBytes(), runtime: int64(samples[0].Value.Uint64() - samples[1].Value.Uint64())}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return m, err
	}
	for line := range strings.Lines(string(status)) {
		name, value, _ := strings.Cut(line, ":")
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		switch name {
		case "RssAnon":
			m.anon = kb << 10
		case "RssFile":
			m.file = kb << 10
		}
	}
	if m.anon == 0 || m.file == 0 {
		return m, errors.New("no RssAnon or RssFile in /proc/self/status")
	}
	return m, nil
}

// idleServer is a running idleServerProcess.
type idleServer struct {
	cmd        *exec.Cmd
	in         io.WriteCloser
	out        *bufio.Scanner
	plain, tls string
}

// startIdleServer starts an idleServerProcess with ktls = mode, on one
// loop, with a keep-alive timeout longer than the test, X25519 only and
// AES-128-GCM (the cheapest handshake and cipher under emulation).
func startIdleServer(t *testing.T, mode string) *idleServer {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "idle.conf")
	os.WriteFile(conf, fmt.Appendf(nil, `listener = "127.0.0.1:0"
threads = 1
quiet = true
keep_alive_timeout = 3600
[tls_listener]
address = "127.0.0.1:0"
ktls = %q
groups = ["x25519"]
ciphers = ["TLS_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]
[[site.hello]]
prefix = "/hello"
`, mode), 0o644)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), idleServerEnv+"="+conf)
	cmd.Stderr = os.Stderr
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &idleServer{cmd: cmd, in: in, out: bufio.NewScanner(out)}
	t.Cleanup(func() {
		in.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("server process: %v", err)
		}
	})
	if !s.out.Scan() {
		t.Fatal("the server process did not start")
	}
	if _, err := fmt.Sscanf(s.out.Text(), "serving %s %s", &s.plain, &s.tls); err != nil {
		t.Fatalf("server process said %q: %v", s.out.Text(), err)
	}
	return s
}

// measure returns the server process's memory.
func (s *idleServer) measure(t *testing.T) memorySample {
	t.Helper()
	io.WriteString(s.in, "measure\n")
	if !s.out.Scan() {
		t.Fatal("the server process did not answer")
	}
	var m memorySample
	if _, err := fmt.Sscanf(s.out.Text(), "heap %d anon %d file %d runtime %d", &m.heap, &m.anon, &m.file, &m.runtime); err != nil {
		t.Fatalf("server process said %q: %v", s.out.Text(), err)
	}
	return m
}

// idleDialer opens keep-alive connections, each after one GET /hello
// answered: plain ones (the zero idleDialer), or TLS of one version whose
// secrets go to keyLog. Its session cache lets every TLS connection after
// the first resume (a TLS 1.3 ticket still makes a fresh X25519 exchange,
// and so fresh keys: what is measured and searched for is the same as
// with full handshakes, without the certificate's signature and its check).
type idleDialer struct {
	version uint16
	keyLog  io.Writer
	cache   tls.ClientSessionCache
}

// open opens n connections to addr, 16 at a time, and closes them when
// the test ends.
func (ic *idleDialer) open(t *testing.T, addr string, n int) {
	t.Helper()
	conns := make([]net.Conn, n)
	t.Cleanup(func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	})
	if ic.version != 0 && ic.cache == nil {
		ic.cache = tls.NewLRUClientSessionCache(64)
	}
	const parallel = 16
	var wg sync.WaitGroup
	errs := make(chan error, parallel)
	for w := range parallel {
		wg.Go(func() {
			for i := w; i < n; i += parallel {
				c, err := ic.dial(addr)
				if err == nil {
					conns[i] = c
					err = requestHello(c)
				}
				if err != nil {
					errs <- fmt.Errorf("connection %d: %v", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func (ic *idleDialer) dial(addr string) (net.Conn, error) {
	d := &net.Dialer{KeepAlive: -1} // three setsockopt calls fewer
	if ic.version == 0 {
		return d.Dial("tcp", addr)
	}
	// X25519 for the key exchange; P-256 offered too, for TLS 1.2's
	// ECDSA certificate.
	c, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{InsecureSkipVerify: true, MinVersion: ic.version, MaxVersion: ic.version,
		CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP256}, KeyLogWriter: ic.keyLog, ClientSessionCache: ic.cache})
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(5 * time.Minute))
	return c, nil
}

// processCPU is the user and system time process pid has run for.
func processCPU(t *testing.T, pid int) time.Duration {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// The fields after the command name, which ends with the last ')':
	// utime and stime are the 14th and 15th of the line, in clock ticks.
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ
}

// raiseFileLimit lets this process (and the server process it starts)
// hold the connections of both ends.
func raiseFileLimit(t *testing.T, n uint64) {
	t.Helper()
	lim := unix.Rlimit{Cur: n, Max: n}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("RLIMIT_NOFILE %d: %v", n, err)
	}
}

// TestKTLSGuestIdleConnections holds 5 000 idle keep-alive connections of
// plain HTTP and then 5 000 on kernel TLS 1.3 (Go's client, one request
// each) to a server process, and measures what each costs that process: an
// idle kernel TLS connection keeps no more Go heap than an idle plain one
// (none: its loop entry's tag holds its cipher suite and record count, all
// it needs), and the resident memory of each is logged. Each
// kind is warmed up first (a few connections opened and closed), so that
// the memory their first use brings in (code pages, pools, the heap a
// handshake grows) is not counted as the connections'. Then, after 250
// more connections on TLS 1.2, it reads the server process's memory
// (/proc/PID/mem, every readable mapping) and finds none of the secrets
// and keys the clients' key log gives (traffic secrets, keys and IVs, the
// TLS 1.2 master secret, the AES key schedules as Go lays them out). The
// same search in a server that keeps its records in user space finds
// them, so the search can fail. Timings and CPU times are logged (the
// handshakes under emulation are most of the test's time).
//
// The search finds nothing only in a build that erases what handshakes
// leave in memory (eraseAfter, GOEXPERIMENT=runtimesecret, which
// kernel/vmtest sets for every guest build): without it, copies of keys
// and IVs from Go's HKDF and AES-GCM code stay on the loop's stacks and in
// freed heap objects (seen: a server handshake IV in 2 of ~9 runs). With
// it they are gone by the next garbage collection, after which the search
// runs.
func TestKTLSGuestIdleConnections(t *testing.T) {
	if !memoryErasure {
		t.Fatal("built without GOEXPERIMENT=runtimesecret: the server does not erase what its handshakes leave in memory, which this test searches")
	}
	raiseFileLimit(t, 4*idleKTLSConns+1024)
	srv := startIdleServer(t, "require")
	start := time.Now()
	lap := func(what string) {
		t.Logf("%v (CPU: test process %v, server process %v): %s", time.Since(start).Round(100*time.Millisecond),
			processCPU(t, os.Getpid()), processCPU(t, srv.cmd.Process.Pid), what)
	}
	var keyLog syncBuffer
	plain := &idleDialer{}
	tls13 := &idleDialer{version: tls.VersionTLS13, keyLog: &keyLog}
	tls12 := &idleDialer{version: tls.VersionTLS12, keyLog: &keyLog}
	plain.open(t, srv.plain, 16)
	tls13.open(t, srv.tls, 16)
	lap("warmed up")
	m0 := srv.measure(t)
	plain.open(t, srv.plain, idleKTLSConns)
	lap(fmt.Sprintf("%d plain connections open", idleKTLSConns))
	m1 := srv.measure(t)
	tls13.open(t, srv.tls, idleKTLSConns)
	lap(fmt.Sprintf("%d kernel TLS 1.3 connections open", idleKTLSConns))
	m2 := srv.measure(t)
	// TLS 1.2 (its key derived from a master secret): searched, not
	// measured.
	tls12.open(t, srv.tls, idleKTLSConns/20)
	lap(fmt.Sprintf("%d kernel TLS 1.2 connections open", idleKTLSConns/20))

	perConn := func(a, b int64) float64 { return float64(b-a) / idleKTLSConns }
	t.Logf("%d idle keep-alive connections, per connection: plain HTTP Go heap %.1f B, resident anonymous %.0f B (the Go runtime's %.0f B), file %.0f B; kernel TLS 1.3 Go heap %.1f B, resident anonymous %.0f B (the Go runtime's %.0f B), file %.0f B",
		idleKTLSConns, perConn(m0.heap, m1.heap), perConn(m0.anon, m1.anon), perConn(m0.runtime, m1.runtime), perConn(m0.file, m1.file),
		perConn(m1.heap, m2.heap), perConn(m1.anon, m2.anon), perConn(m1.runtime, m2.runtime), perConn(m1.file, m2.file))

	// What the handshakes erased lazily is gone after the next garbage
	// collection (which the runtime forces at least every 2 minutes):
	// heap objects allocated under erasure are erased when swept, and a
	// signal stack that saved a handshake's registers is overwritten when
	// one starts. The search is for what stays after that.
	srv.measure(t)
	needles := keyLogNeedles(t, keyLog.String())
	lap(fmt.Sprintf("%d needles derived", len(needles)))
	found := scanProcessMemory(t, srv.cmd.Process.Pid, needles)
	lap(fmt.Sprintf("searched the server process's memory for %d secrets and keys of %d kernel TLS connections: %s",
		len(needles), idleKTLSConns+idleKTLSConns/20, found))
	if found.total > 0 {
		t.Errorf("key material of kernel TLS connections found in the server process: %s", found)
	}
	// The Go heap is the connections' state, to the byte (both kinds also
	// have their 32-byte loop table entry, allocated at start). The
	// resident set is logged, not bounded: it moves by a few hundred bytes
	// per connection either way with what the runtime keeps after a wave
	// of handshakes (spans partly free, metadata) and with the table's
	// pages as descriptors reach them (seen: plain 160-481 B, kernel TLS
	// 16-261 B, of which the runtime's own up to 179 B).
	if h1, h2 := perConn(m0.heap, m1.heap), perConn(m1.heap, m2.heap); h2 > max(h1, 0)+4 {
		t.Errorf("an idle kernel TLS connection keeps %.1f B of Go heap; an idle plain one %.1f B", h2, h1)
	}

	// The control: records in user space keep their keys in the process.
	control := startIdleServer(t, "off")
	var controlLog syncBuffer
	(&idleDialer{version: tls.VersionTLS13, keyLog: &controlLog}).open(t, control.tls, 20)
	controlFound := scanProcessMemory(t, control.cmd.Process.Pid, keyLogNeedles(t, controlLog.String()))
	lap(fmt.Sprintf("control, 20 connections with user-space records: %s", controlFound))
	if controlFound.byLabel["CLIENT_TRAFFIC_SECRET_0 key"] == 0 || controlFound.byLabel["SERVER_TRAFFIC_SECRET_0 key"] == 0 {
		t.Errorf("the search did not find the traffic keys of user-space TLS connections: it cannot be trusted (%s)", controlFound)
	}
}

// needle is one secret or key of one connection.
type needle struct {
	label string
	b     []byte
	line  int // the key log's line it comes from (1 is the first)
}

// keyLogNeedles turns an NSS key log into what to search for: each TLS 1.3
// traffic secret with the AES-128-GCM key and IV derived from it (and the
// key as Go's generic AES key schedule stores it, as 32-bit words in
// machine order), and each TLS 1.2 master secret.
func keyLogNeedles(t *testing.T, keyLog string) []needle {
	t.Helper()
	var out []needle
	n := 0
	for line := range strings.Lines(keyLog) {
		n++
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		secret, err := hex.DecodeString(f[2])
		if err != nil {
			t.Fatal(err)
		}
		if f[0] == "CLIENT_RANDOM" {
			out = append(out, needle{"TLS1.2 master secret", secret, n})
			continue
		}
		out = append(out, needle{f[0], secret, n})
		key := expandLabel(t, secret, "key", 16)
		out = append(out, needle{f[0] + " key", key, n},
			needle{f[0] + " iv", expandLabel(t, secret, "iv", 12), n},
			needle{f[0] + " key schedule", wordSwapped(key), n})
	}
	return out
}

// wordSwapped is b read as big-endian 32-bit words stored little-endian.
func wordSwapped(b []byte) []byte {
	out := make([]byte, len(b))
	for i := 0; i+4 <= len(b); i += 4 {
		binary.LittleEndian.PutUint32(out[i:], binary.BigEndian.Uint32(b[i:]))
	}
	return out
}

// memoryFindings counts the needles found, by label.
type memoryFindings struct {
	scanned int64
	total   int
	byLabel map[string]int
	// where says, for the first few needles found, which key log line
	// they come from and in which mapping they were, so that a find can
	// be traced (a stack, the heap, a runtime arena).
	where []string
}

func (f memoryFindings) String() string {
	labels := make([]string, 0, len(f.byLabel))
	for l, n := range f.byLabel {
		labels = append(labels, l+" "+strconv.Itoa(n))
	}
	slices.Sort(labels)
	where := ""
	if len(f.where) > 0 {
		where = "; " + strings.Join(f.where, "; ")
	}
	return fmt.Sprintf("%d MiB read, %d found (%s)%s", f.scanned>>20, f.total, strings.Join(labels, ", "), where)
}

// scanProcessMemory reads every readable mapping of process pid through
// /proc/PID/mem and counts the needles it holds, each at most once.
//
// Every needle is at least minNeedle bytes long, so of any minNeedle-3
// positions in a row one is the start of a 4-byte window inside a needle
// that begins at the first: only every (minNeedle-3)th position is looked
// up, in a bitmap of the needles' windows and then a map from window to
// needle and offset, and a hit is checked in full. (Under emulation a
// lookup at every byte took most of the test's time.) All-zero pages are
// skipped: no key has four zero bytes in a row but by a 1-in-10^8 chance.
func scanProcessMemory(t *testing.T, pid int, needles []needle) memoryFindings {
	t.Helper()
	const minNeedle = 12 // an AES-GCM IV
	const stride = minNeedle - 3
	type at struct{ needle, offset int }
	windows := map[uint32][]at{}
	bitmap := make([]uint64, 1<<24/64)
	longest := 0
	for i, n := range needles {
		if len(n.b) < minNeedle {
			t.Fatalf("needle %s is %d bytes long, shorter than %d", n.label, len(n.b), minNeedle)
		}
		for o := range stride {
			w := binary.LittleEndian.Uint32(n.b[o:])
			bitmap[w&0xffffff/64] |= 1 << (w & 63)
			windows[w] = append(windows[w], at{i, o})
		}
		longest = max(longest, len(n.b))
	}
	maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		t.Fatal(err)
	}
	mem, err := os.Open(fmt.Sprintf("/proc/%d/mem", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	seen := make([]bool, len(needles))
	f := memoryFindings{byLabel: map[string]int{}}
	const chunkSize = 1 << 20
	chunk := make([]byte, chunkSize+longest) // overlapping: a needle across chunks is whole in one
	zero := make([]byte, 4096)
	for line := range strings.Lines(string(maps)) {
		fields := strings.Fields(line)
		if len(fields) < 5 || fields[1][0] != 'r' || strings.HasSuffix(line, "[vsyscall]\n") || strings.Contains(line, "[vvar") {
			continue
		}
		var start, end uint64
		if _, err := fmt.Sscanf(fields[0], "%x-%x", &start, &end); err != nil {
			t.Fatal(err)
		}
		for addr := start; addr < end; addr += chunkSize {
			n, err := mem.ReadAt(chunk[:min(uint64(len(chunk)), end-addr)], int64(addr))
			if err != nil && !errors.Is(err, io.EOF) && n == 0 {
				continue // a page the kernel will not read (a guard, say)
			}
			f.scanned += int64(min(n, chunkSize))
			b := chunk[:n]
			for page := 0; page < n; page += 4096 {
				pageEnd := min(page+4096, n)
				if bytes.Equal(b[page:pageEnd], zero[:pageEnd-page]) {
					continue
				}
				for i := (page + stride - 1) / stride * stride; i < pageEnd && i+4 <= n; i += stride {
					w := binary.LittleEndian.Uint32(b[i:])
					if bitmap[w&0xffffff/64]&(1<<(w&63)) == 0 {
						continue
					}
					for _, a := range windows[w] {
						if p := i - a.offset; p >= 0 && !seen[a.needle] && bytes.HasPrefix(b[p:], needles[a.needle].b) {
							seen[a.needle] = true
							f.total++
							f.byLabel[needles[a.needle].label]++
							if len(f.where) < 10 {
								f.where = append(f.where, fmt.Sprintf("%s of key log line %d at %#x in %s",
									needles[a.needle].label, needles[a.needle].line, addr+uint64(p), strings.TrimSpace(line)))
							}
						}
					}
				}
			}
		}
	}
	return f
}
