package loop

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"lwango/coro"
	"lwango/kernel"
)

// lineState is the test protocol's per-connection state: input not yet
// answered and output not yet written.
type lineState struct {
	in, out []byte
	closing bool
}

// lineHandler answers each line with the line upper-cased; "quit" gets "bye"
// and a graceful close, "abort" an abortive one, "big" a large answer,
// "fill" as much as the socket takes and a graceful close, "stopping?" what
// Loop.Stopping says, "ktls" "OK" after setting KernelTLS, "tag" "OK" after
// setting the tag 0xa5c3, "tag?" the tag, the descriptor and whether the
// loop's EventsRead flag is set.
type lineHandler struct {
	opened, closed, expired *atomic.Int64
	bigSize                 int
	// unsentAtClose is the socket's send queue (SIOCOUTQ) when Closed
	// was last called.
	unsentAtClose *atomic.Int64
}

func (h lineHandler) Serve(l *Loop[lineState], c *Conn[lineState]) coro.Want {
	if c.State == nil {
		c.State = &lineState{}
		h.opened.Add(1)
	}
	s := c.State
	for {
		for len(s.out) > 0 {
			// At most 64 KiB a call: under the race detector a write
			// checks its whole buffer, however little the kernel takes.
			n, err := unix.Write(c.Fd(), s.out[:min(len(s.out), 64<<10)])
			if errors.Is(err, unix.EAGAIN) {
				return coro.WantWrite
			}
			if err != nil {
				return coro.Abort
			}
			s.out = s.out[n:]
		}
		if s.closing {
			return coro.Done
		}
		if i := bytes.IndexByte(s.in, '\n'); i >= 0 {
			line := string(s.in[:i])
			s.in = s.in[i+1:]
			switch line {
			case "quit":
				s.out = []byte("bye\n")
				s.closing = true
			case "abort":
				return coro.Abort
			case "big":
				s.out = bytes.Repeat([]byte("x"), h.bigSize)
			case "fill":
				// As much as the socket takes now, then a graceful close.
				chunk := bytes.Repeat([]byte("x"), 64<<10)
				for {
					if _, err := unix.Write(c.Fd(), chunk); err != nil {
						break
					}
				}
				return coro.Done
			case "tag":
				c.SetTag(0xa5c3)
				s.out = []byte("OK\n")
			case "tag?":
				s.out = fmt.Appendf(nil, "%d %d %v\n", c.Tag(), c.Fd(), c.Has(EventsRead))
			case "stopping?":
				s.out = []byte(fmt.Sprintln(l.Stopping()))
			case "ktls":
				c.Set(KernelTLS)
				s.out = []byte("OK\n")
			default:
				s.out = []byte(strings.ToUpper(line) + "\n")
			}
			continue
		}
		var buf [512]byte
		n, err := unix.Read(c.Fd(), buf[:])
		if errors.Is(err, unix.EAGAIN) {
			if len(s.in) > 0 {
				c.Set(RequestPending)
			} else {
				c.Clear(RequestPending)
			}
			return coro.WantRead
		}
		if err != nil || n == 0 {
			return coro.Done
		}
		s.in = append(s.in, buf[:n]...)
	}
}

func (h lineHandler) Expired(l *Loop[lineState], c *Conn[lineState]) {
	h.expired.Add(1)
	unix.Write(c.Fd(), []byte("timeout\n"))
}

func (h lineHandler) Closed(l *Loop[lineState], c *Conn[lineState]) {
	if c.State != nil {
		unsent, _ := kernel.Unsent(c.Fd())
		h.unsentAtClose.Store(int64(unsent))
		h.closed.Add(1)
	}
}

// smallWindow is the receive buffer dialSmallWindow asks for.
const smallWindow = 64 << 10

// bigAnswer is larger than what a loopback connection's socket buffers hold
// when the client's receive buffer is small (dialSmallWindow): twice the
// server's largest send buffer (tcp_wmem's maximum) and the client's window,
// plus 1 MiB.
var bigAnswer = func() int {
	wmem, err := os.ReadFile("/proc/sys/net/ipv4/tcp_wmem")
	if err != nil {
		panic(err)
	}
	fields := strings.Fields(string(wmem))
	maxSend, err := strconv.Atoi(fields[len(fields)-1])
	if err != nil {
		panic(fmt.Sprintf("tcp_wmem %q: %v", wmem, err))
	}
	return 2*(maxSend+smallWindow) + 1<<20
}()

// dialSmallWindow connects with a small receive buffer, set before connect
// so that the kernel neither autotunes it nor scales the window past it:
// what the server has sent but the client not read is then bounded by it
// and the server's send buffer, less than bigAnswer. Reads may take a
// minute (the race detector on a loaded machine).
func dialSmallWindow(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, smallWindow)
		}); err != nil {
			return err
		}
		return serr
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(time.Minute))
	return c.(*net.TCPConn)
}

type testGroup struct {
	*Group[lineState]
	addr                    string
	opened, closed, expired atomic.Int64
	unsentAtClose           atomic.Int64
}

func startGroup(t *testing.T, cfg Config) *testGroup {
	t.Helper()
	return startGroupWith(t, cfg, func(h lineHandler) Handler[lineState] { return h })
}

// startGroupWith is startGroup with the line handler wrapped.
func startGroupWith(t *testing.T, cfg Config, wrap func(lineHandler) Handler[lineState]) *testGroup {
	t.Helper()
	if cfg.Listeners == nil {
		cfg.Listeners = []Listener{{Addr: "127.0.0.1:0"}}
	}
	if cfg.Tick == 0 {
		cfg.Tick = 10 * time.Millisecond
	}
	if cfg.KeepAliveTimeout == 0 {
		cfg.KeepAliveTimeout = 5 * time.Second
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 5 * time.Second
	}
	tg := &testGroup{}
	g, err := New(cfg, func(*Loop[lineState]) Handler[lineState] {
		return wrap(lineHandler{opened: &tg.opened, closed: &tg.closed, expired: &tg.expired, bigSize: bigAnswer, unsentAtClose: &tg.unsentAtClose})
	})
	if err != nil {
		t.Fatal(err)
	}
	tg.Group = g
	tg.addr = g.Addrs()[0].String()
	g.Start()
	t.Cleanup(func() {
		g.Stop()
		done := make(chan struct{})
		go func() { g.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("the loops did not return after Stop")
		}
	})
	return tg
}

func dial(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c.(*net.TCPConn)
}

func roundTrip(t *testing.T, c net.Conn, line string) string {
	t.Helper()
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		t.Fatal(err)
	}
	var got []byte
	buf := make([]byte, 1)
	for {
		if _, err := c.Read(buf); err != nil {
			t.Fatalf("after %q: read %q then %v", line, got, err)
		}
		got = append(got, buf[0])
		if buf[0] == '\n' {
			return string(got)
		}
	}
}

// expectEOF reads until end of stream and returns what came before it.
func expectEOF(t *testing.T, c net.Conn) string {
	t.Helper()
	rest, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("expected end of stream, got %v after %q", err, rest)
	}
	return string(rest)
}

func TestConnIsSmall(t *testing.T) {
	if size := unsafe.Sizeof(Conn[lineState]{}); size > 32 {
		t.Fatalf("Conn is %d bytes, want at most 32", size)
	}
}

func TestServesManyConnectionsOnEveryLoop(t *testing.T) {
	g := startGroup(t, Config{Threads: 2})
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", g.addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			for j := range 20 {
				msg := fmt.Sprintf("conn %d line %d", i, j)
				fmt.Fprintf(c, "%s\n", msg)
				buf := make([]byte, len(msg)+1)
				if _, err := io.ReadFull(c, buf); err != nil || string(buf) != strings.ToUpper(msg)+"\n" {
					errs <- fmt.Errorf("got %q, %v", buf, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var accepted uint64
	for _, l := range g.Loops() {
		accepted += l.Stats().Accepted.Load()
	}
	if accepted != 64 {
		t.Fatalf("accepted %d connections, want 64", accepted)
	}
}

func TestPipelinedLinesAndGracefulClose(t *testing.T) {
	g := startGroup(t, Config{Threads: 1})
	c := dial(t, g.addr)
	io.WriteString(c, "a\nb\nc\nquit\n")
	if got := expectEOF(t, c); got != "A\nB\nC\nbye\n" {
		t.Fatalf("got %q", got)
	}
}

// After "quit", the client keeps sending a megabyte the server never reads:
// the lingering close drains it, so the answer is not destroyed by a reset.
func TestGracefulCloseDrainsUnreadInput(t *testing.T) {
	g := startGroup(t, Config{Threads: 1})
	c := dial(t, g.addr)
	junk := append([]byte("quit\n"), bytes.Repeat([]byte("junk"), 1<<18)...)
	written := make(chan error, 1)
	go func() {
		_, err := c.Write(junk)
		c.CloseWrite()
		written <- err
	}()
	time.Sleep(50 * time.Millisecond) // let the reset, if any, arrive before we read
	if got := expectEOF(t, c); got != "bye\n" {
		t.Fatalf("got %q", got)
	}
	if err := <-written; err != nil {
		t.Fatalf("client write: %v", err)
	}
}

func TestHalfClosedPeerStillGetsItsAnswer(t *testing.T) {
	g := startGroup(t, Config{Threads: 1})
	c := dial(t, g.addr)
	io.WriteString(c, "hello\n")
	c.CloseWrite()
	if got := expectEOF(t, c); got != "HELLO\n" {
		t.Fatalf("got %q", got)
	}
}

func TestAbortCloses(t *testing.T) {
	g := startGroup(t, Config{Threads: 1})
	c := dial(t, g.addr)
	if got := roundTrip(t, c, "x"); got != "X\n" {
		t.Fatalf("got %q", got)
	}
	io.WriteString(c, "abort\n")
	buf := make([]byte, 1)
	if n, err := c.Read(buf); n != 0 || err == nil {
		t.Fatalf("read %d, %v after abort; want the connection closed", n, err)
	}
}

func TestIdleTimeoutCloses(t *testing.T) {
	g := startGroup(t, Config{Threads: 1, KeepAliveTimeout: 100 * time.Millisecond})
	c := dial(t, g.addr)
	start := time.Now()
	if got := roundTrip(t, c, "x"); got != "X\n" {
		t.Fatalf("got %q", got)
	}
	expectEOF(t, c)
	if idle := time.Since(start); idle < 100*time.Millisecond {
		t.Fatalf("closed after %v, before the keep-alive timeout", idle)
	}
	waitFor(t, func() bool { return g.closed.Load() == 1 }, "Closed hook")
	if g.expired.Load() != 0 {
		t.Fatal("Expired called for an idle connection")
	}
}

func TestActivityPostponesIdleTimeout(t *testing.T) {
	// A pause of a quarter of the timeout leaves three quarters (750 ms)
	// for a loaded machine to stall the test before the next request.
	g := startGroup(t, Config{Threads: 1, KeepAliveTimeout: time.Second})
	c := dial(t, g.addr)
	for range 8 { // 8×250 ms = twice the timeout, never idle for a whole one
		if got := roundTrip(t, c, "ping"); got != "PING\n" {
			t.Fatalf("got %q", got)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// A client trickling a line byte by byte is cut off at the request deadline
// (activity does not postpone it), while another client is served meanwhile.
func TestRequestDeadlineCutsOffTrickle(t *testing.T) {
	g := startGroup(t, Config{Threads: 1, RequestTimeout: 200 * time.Millisecond})
	slow := dial(t, g.addr)
	closed := make(chan string)
	go func() {
		got, _ := io.ReadAll(slow)
		closed <- string(got)
	}()
	start := time.Now()
	other := dial(t, g.addr)
	for {
		select {
		case got := <-closed:
			if got != "timeout\n" {
				t.Fatalf("trickling client got %q, want timeout", got)
			}
			if el := time.Since(start); el < 200*time.Millisecond {
				t.Fatalf("cut off after %v, before the deadline", el)
			}
			if g.expired.Load() != 1 {
				t.Fatalf("Expired called %d times", g.expired.Load())
			}
			return
		default:
		}
		if time.Since(start) > 5*time.Second {
			t.Fatal("trickling client never cut off")
		}
		slow.Write([]byte("z"))
		if got := roundTrip(t, other, "other"); got != "OTHER\n" {
			t.Fatalf("other client got %q", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// idleAndBusy opens two connections to addr: idle, after one round trip
// with word, and busy, whose large answer is under way (its first
// busyHeadRead bytes read) behind a small receive window.
func idleAndBusy(t *testing.T, addr, word string) (idle, busy net.Conn) {
	t.Helper()
	idle = dial(t, addr)
	if got := roundTrip(t, idle, word); got != strings.ToUpper(word)+"\n" {
		t.Fatalf("got %q", got)
	}
	busy = dialSmallWindow(t, addr)
	io.WriteString(busy, "big\n")
	if _, err := io.ReadFull(busy, make([]byte, busyHeadRead)); err != nil {
		t.Fatal(err)
	}
	return idle, busy
}

// busyHeadRead is how much of the busy connection's answer idleAndBusy reads.
const busyHeadRead = 1000

// Stop closes idle connections at once and lets a large answer finish.
func TestStopFinishesInFlightAndClosesIdle(t *testing.T) {
	g := startGroup(t, Config{Threads: 2})
	idle, busy := idleAndBusy(t, g.addr, "idle")
	g.Stop()
	if rest := expectEOF(t, idle); rest != "" {
		t.Fatalf("idle connection got %q", rest)
	}
	idle.Close()
	waitFor(t, func() bool { return g.closed.Load() == 1 }, "the idle connection's Closed")
	// The answer is larger than both sockets' buffers (the client's is
	// small and fixed): the server is still writing it, and Stop must not
	// cut it short.
	time.Sleep(50 * time.Millisecond)
	if g.closed.Load() != 1 {
		t.Fatal("Stop closed the busy connection")
	}
	rest, err := io.ReadAll(busy)
	if err != nil || busyHeadRead+len(rest) != bigAnswer {
		t.Fatalf("busy connection got %d bytes, %v; want all of %d", busyHeadRead+len(rest), err, bigAnswer)
	}
	busy.Close() // ends the server's lingering close
	g.Wait()
	if _, err := net.Dial("tcp", g.addr); err == nil {
		t.Fatal("listener still accepting after Stop")
	}
	if o, c := g.opened.Load(), g.closed.Load(); o != 2 || c != 2 {
		t.Fatalf("opened %d, Closed called %d times", o, c)
	}
	var accepted, closedCount uint64
	for _, l := range g.Loops() {
		accepted += l.Stats().Accepted.Load()
		closedCount += l.Stats().Closed.Load()
	}
	if accepted != 2 || closedCount != 2 {
		t.Fatalf("stats: accepted %d, closed %d", accepted, closedCount)
	}
}

func TestSamePortOnEveryLoopAndIPv6(t *testing.T) {
	g := startGroup(t, Config{Threads: 3, Listeners: []Listener{{Addr: "*:0"}, {Addr: "[::1]:0", HTTPS: true}}})
	if len(g.Addrs()) != 2 || g.Addrs()[0].Port() == 0 || g.Addrs()[1].Port() == 0 {
		t.Fatalf("Addrs = %v", g.Addrs())
	}
	for _, l := range g.Loops() {
		if len(l.listeners) != 2 {
			t.Fatalf("loop %d has %d listeners", l.ID(), len(l.listeners))
		}
		for i, fd := range l.listeners {
			ap, err := kernel.LocalAddr(fd)
			if err != nil || ap.Port() != g.Addrs()[i].Port() {
				t.Fatalf("loop %d listener %d bound to %v, %v", l.ID(), i, ap, err)
			}
		}
	}
	for _, addr := range []string{fmt.Sprintf("127.0.0.1:%d", g.Addrs()[0].Port()), g.Addrs()[1].String()} {
		c := dial(t, addr)
		if got := roundTrip(t, c, "v"); got != "V\n" {
			t.Fatalf("%s: got %q", addr, got)
		}
	}
}

func TestConnectionsFromHTTPSListenerAreFlaggedTLS(t *testing.T) {
	var sawTLS atomic.Int32
	var sawPlain atomic.Int32
	g, err := New(Config{
		Listeners:        []Listener{{Addr: "127.0.0.1:0"}, {Addr: "127.0.0.1:0", HTTPS: true}},
		Threads:          1,
		KeepAliveTimeout: time.Second,
		RequestTimeout:   time.Second,
	}, func(*Loop[lineState]) Handler[lineState] {
		return flagRecorder{tls: &sawTLS, plain: &sawPlain}
	})
	if err != nil {
		t.Fatal(err)
	}
	g.Start()
	defer func() { g.Stop(); g.Wait() }()
	for _, ap := range g.Addrs() {
		c := dial(t, ap.String())
		c.Write([]byte("x"))
		expectEOF(t, c)
		c.Close()
	}
	if sawTLS.Load() != 1 || sawPlain.Load() != 1 {
		t.Fatalf("TLS-flagged connections %d, plain %d; want 1 each", sawTLS.Load(), sawPlain.Load())
	}
}

type flagRecorder struct{ tls, plain *atomic.Int32 }

func (f flagRecorder) Serve(l *Loop[lineState], c *Conn[lineState]) coro.Want {
	if c.Has(TLS) {
		f.tls.Add(1)
	} else {
		f.plain.Add(1)
	}
	return coro.Done
}
func (flagRecorder) Expired(*Loop[lineState], *Conn[lineState]) {}
func (flagRecorder) Closed(*Loop[lineState], *Conn[lineState])  {}

func TestBadConfig(t *testing.T) {
	h := func(*Loop[lineState]) Handler[lineState] { return flagRecorder{} }
	for name, cfg := range map[string]Config{
		"no listener": {KeepAliveTimeout: time.Second, RequestTimeout: time.Second},
		"bad address": {Listeners: []Listener{{Addr: "nowhere"}}, KeepAliveTimeout: time.Second, RequestTimeout: time.Second},
		"no timeout":  {Listeners: []Listener{{Addr: "127.0.0.1:0"}}},
	} {
		if g, err := New(cfg, h); err == nil {
			g.Stop()
			t.Errorf("%s: New succeeded", name)
		}
	}
}

func TestDateFormat(t *testing.T) {
	at := time.Date(2026, time.March, 4, 5, 6, 7, 0, time.FixedZone("X", 3600))
	c := newClock(at)
	if got := string(c.date); got != "Wed, 04 Mar 2026 04:06:07 GMT" {
		t.Fatalf("date %q", got)
	}
	if got := string(c.common); got != "04/Mar/2026:04:06:07 +0000" {
		t.Fatalf("common log time %q", got)
	}
	c.update(at.Add(time.Second))
	if got := string(c.date); got != "Wed, 04 Mar 2026 04:06:08 GMT" {
		t.Fatalf("date after a second %q", got)
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// Stop arrives in the same epoll batch as events of the idle connections it
// closes; those must not be served after the close (which once counted
// them closed twice and kept the loop from ever returning).
func TestStopAmidEventsOfIdleConnections(t *testing.T) {
	for round := range 20 {
		g := startGroup(t, Config{Threads: 1})
		var conns []*net.TCPConn
		for range 50 {
			c := dial(t, g.addr)
			if got := roundTrip(t, c, "x"); got != "X\n" {
				t.Fatalf("got %q", got)
			}
			conns = append(conns, c)
		}
		g.Stop()
		for _, c := range conns {
			c.Close()
		}
		done := make(chan struct{})
		go func() { g.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("round %d: the loop did not return after Stop", round)
		}
		if o, c := g.opened.Load(), g.closed.Load(); o != c {
			t.Fatalf("round %d: %d connections opened, Closed called %d times", round, o, c)
		}
	}
}

// A peer that never closes its side after a graceful close is let go at
// the linger timeout.
func TestLingerTimeout(t *testing.T) {
	g := startGroup(t, Config{Threads: 1, LingerTimeout: 100 * time.Millisecond})
	c := dial(t, g.addr)
	start := time.Now()
	io.WriteString(c, "quit\n")
	if got := expectEOF(t, c); got != "bye\n" {
		t.Fatalf("got %q", got)
	}
	closed := func() bool { return g.Loops()[0].Stats().Closed.Load() == 1 }
	if closed() {
		t.Fatal("closed before the client closed or the linger timeout")
	}
	waitFor(t, closed, "the lingering connection's release")
	if el := time.Since(start); el < 100*time.Millisecond {
		t.Fatalf("released after %v, before the linger timeout", el)
	}
}

// TestHoldMillisCountsFromTheLastEvents: the P is held for what is left of
// holdTime since the loop's last events, in whole milliseconds rounded up,
// and given up once holdTime has passed (also when there never were any).
func TestHoldMillisCountsFromTheLastEvents(t *testing.T) {
	for _, tc := range []struct {
		idle time.Duration
		want int
	}{
		{0, int(holdTime / time.Millisecond)},
		{time.Millisecond, int(holdTime/time.Millisecond) - 1},
		{holdTime - time.Microsecond, 1},
		{holdTime, 0},
		{time.Since(time.Time{}), 0}, // no events yet
	} {
		if got := holdMillis(tc.idle); got != tc.want {
			t.Errorf("holdMillis(%v) = %d, want %d", tc.idle, got, tc.want)
		}
	}
}
