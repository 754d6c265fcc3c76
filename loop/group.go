package loop

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"lwango/kernel"
)

// Listener is an address to accept connections on.
type Listener struct {
	// Addr is written as in lwan.conf: "*:8080", "host:port", "[::1]:port".
	Addr string
	// HTTPS marks connections accepted here with the TLS flag.
	HTTPS bool
	// Inherited are listening sockets this process was given (by systemd,
	// or by the process it upgrades), used as they are instead of binding
	// Addr. With at least as many as loops they are dealt out among the
	// loops; with fewer, every loop gets one (its own duplicate of a shared
	// socket) and waits on it with EPOLLEXCLUSIVE, so that a connection
	// wakes one loop.
	Inherited []int
}

// Config sets up a Group.
type Config struct {
	Listeners []Listener
	// Threads is the number of loops; 0 means one per CPU the process may use.
	Threads int
	// KeepAliveTimeout closes a connection idle this long: no request, and
	// nothing written or delivered (a response its kernel still sends to a
	// peer that reads is not idle; one stuck behind a peer that stopped
	// reading is).
	KeepAliveTimeout time.Duration
	// RequestTimeout is the request-read deadline: a request (or TLS
	// handshake) started and not complete after it is expired.
	RequestTimeout time.Duration
	// LingerTimeout bounds how long a gracefully closed connection's input
	// is drained while waiting for the peer to close (default
	// min(RequestTimeout, 2s)).
	LingerTimeout time.Duration
	// Tick is the timeout granularity (default one second).
	Tick time.Duration
	// MaxConnections bounds the connection table (default: the open-file
	// limit). Descriptors beyond it are closed as soon as accepted.
	MaxConnections int
	// NoPinning leaves the loops' threads free to run on any CPU.
	NoPinning bool
	// Log receives the loops' own lines (out of descriptors, a listener
	// that cannot resume, a thread that cannot be pinned); nil:
	// slog.Default(). A loop writes to it from its thread: a server whose
	// log may stall gives one that queues instead of writing.
	Log *slog.Logger
}

// Group is a set of loops sharing one connection table, each with its own
// listening socket on every configured address.
type Group[S any] struct {
	loops    []*Loop[S]
	addrs    []netip.AddrPort
	sockets  [][]int // every listening descriptor of each listener, in configuration order
	stopping atomic.Bool
	pass     PassFunc // set by HandOff before stopping
	running  sync.WaitGroup
	started  bool
}

// New binds every listener once per loop (all loops on the same port, so
// that a port 0 becomes one kernel-chosen port) and prepares the loops,
// each with the handler newHandler makes for it. Nothing runs until Start,
// so privileges may be dropped in between.
func New[S any](cfg Config, newHandler func(*Loop[S]) Handler[S]) (g *Group[S], err error) {
	if len(cfg.Listeners) == 0 {
		return nil, errors.New("loop: no listener configured")
	}
	if cfg.KeepAliveTimeout <= 0 || cfg.RequestTimeout <= 0 {
		return nil, errors.New("loop: timeouts must be positive")
	}
	if cfg.Tick <= 0 {
		cfg.Tick = time.Second
	}
	if cfg.LingerTimeout <= 0 {
		cfg.LingerTimeout = min(cfg.RequestTimeout, defaultLingerTimeout)
	}
	cpus, err := kernel.AllowedCPUs()
	if err != nil {
		return nil, fmt.Errorf("loop: %w", err)
	}
	threads := cfg.Threads
	if threads <= 0 {
		threads = len(cpus)
	}
	size, err := kernel.OpenFileLimit()
	if err != nil {
		return nil, fmt.Errorf("loop: %w", err)
	}
	if cfg.MaxConnections > 0 {
		size = min(size, cfg.MaxConnections)
	}
	table := make([]Conn[S], size)

	g = &Group[S]{}
	defer func() {
		if err != nil {
			g.closeUnstarted()
		}
	}()
	start := time.Now()
	for i := range threads {
		l := &Loop[S]{
			id:      i,
			cpu:     -1,
			group:   g,
			table:   table,
			epfd:    -1,
			wakefd:  -1,
			events:  make([]kernel.Event, 256),
			idle:    newTimeoutQueue(ticks(cfg.KeepAliveTimeout, cfg.Tick), inIdleQueue),
			request: newTimeoutQueue(ticks(cfg.RequestTimeout, cfg.Tick), inRequestQueue),
			linger:  newTimeoutQueue(ticks(cfg.LingerTimeout, cfg.Tick), inLingerQueue),
			start:   start,
			tick:    cfg.Tick,
			clock:   newClock(start),
			scratch: make([]byte, 4096),
			log:     cfg.Log,

			stallTimeout: cfg.KeepAliveTimeout,
		}
		if l.log == nil {
			l.log = slog.Default()
		}
		if !cfg.NoPinning {
			l.cpu = cpus[i%len(cpus)]
		}
		l.handler = newHandler(l)
		g.loops = append(g.loops, l)
		if l.epfd, err = kernel.EpollCreate(); err != nil {
			return g, fmt.Errorf("loop: epoll_create: %w", err)
		}
		if l.wakefd, err = kernel.EventfdCreate(); err != nil {
			return g, fmt.Errorf("loop: eventfd: %w", err)
		}
		if err = kernel.EpollAdd(l.epfd, l.wakefd, kernel.EventIn); err != nil {
			return g, fmt.Errorf("loop: epoll add eventfd: %w", err)
		}
	}
	for _, ln := range cfg.Listeners {
		ap, err := g.listen(ln, cfg, table)
		if err != nil {
			return g, fmt.Errorf("listener %s: %w", ln.Addr, err)
		}
		g.addrs = append(g.addrs, ap)
	}
	return g, nil
}

// listen gives every loop its listening sockets for ln, bound now or
// inherited, and returns the address they are bound to.
func (g *Group[S]) listen(ln Listener, cfg Config, table []Conn[S]) (netip.AddrPort, error) {
	flags := ListenerHTTP
	if ln.HTTPS {
		flags = ListenerHTTPS
	}
	var ap netip.AddrPort
	if len(ln.Inherited) == 0 {
		var err error
		if ap, err = kernel.ParseListenAddr(ln.Addr); err != nil {
			return ap, err
		}
	}
	opts := kernel.ListenOptions{DeferAcceptSeconds: max(1, int(cfg.KeepAliveTimeout/time.Second))}
	var sockets []int
	for i, l := range g.loops {
		var fds []int
		events := uint32(kernel.EventIn)
		switch n := len(ln.Inherited); {
		case n == 0:
			// The first socket is bound alone: a port another server
			// listens on fails here (see kernel.ListenOptions.Exclusive).
			opts.Exclusive = i == 0
			fd, err := kernel.Listen(ap, opts)
			if err != nil {
				return ap, err
			}
			fds = []int{fd}
		case n >= len(g.loops):
			for j := i; j < n; j += len(g.loops) {
				fds = append(fds, ln.Inherited[j])
			}
		case i < n:
			fds, events = []int{ln.Inherited[i]}, kernel.EventIn|kernel.EventExclusive
		default:
			fd, err := kernel.Dup(ln.Inherited[i%n])
			if err != nil {
				return ap, fmt.Errorf("dup: %w", err)
			}
			fds, events = []int{fd}, kernel.EventIn|kernel.EventExclusive
		}
		for _, fd := range fds {
			if len(ln.Inherited) > 0 {
				if err := kernel.AdoptListener(fd); err != nil {
					return ap, err
				}
			}
			if fd >= len(table) {
				kernel.Close(fd)
				return ap, fmt.Errorf("descriptor %d beyond the connection table", fd)
			}
			table[fd] = Conn[S]{fd: int32(fd), flags: flags, prev: -1, next: -1}
			table[fd].owner.Store(int32(l.id + 1))
			l.listeners = append(l.listeners, fd)
			l.listenEvents = append(l.listenEvents, events)
			sockets = append(sockets, fd)
			if !ap.IsValid() || ap.Port() == 0 {
				var err error
				if ap, err = kernel.LocalAddr(fd); err != nil {
					return ap, err
				}
			}
			if err := kernel.EpollAdd(l.epfd, fd, events); err != nil {
				return ap, fmt.Errorf("epoll add: %w", err)
			}
		}
	}
	g.sockets = append(g.sockets, sockets)
	return ap, nil
}

// Sockets lists every listening descriptor of each listener (all loops'),
// in configuration order, for a process that takes them over. They stay
// open until the loops stop.
func (g *Group[S]) Sockets() [][]int { return g.sockets }

// defaultLingerTimeout is how long, at most, a closed connection waits for
// its peer to close too.
const defaultLingerTimeout = 2 * time.Second

// ticks converts a timeout to whole ticks, at least one.
func ticks(d, tick time.Duration) uint32 {
	return uint32(max(1, (d+tick-1)/tick))
}

// Addrs lists the bound address of every listener, in configuration order,
// with the port the kernel chose for a port 0.
func (g *Group[S]) Addrs() []netip.AddrPort { return g.addrs }

// Loops lists the group's loops.
func (g *Group[S]) Loops() []*Loop[S] { return g.loops }

// Start runs every loop on its own goroutine, locked to its OS thread. It
// raises GOMAXPROCS, if need be, to one more than the number of loops (see
// spareProcessor).
func (g *Group[S]) Start() {
	if g.started {
		return
	}
	g.started = true
	spareProcessor(len(g.loops))
	g.running.Add(len(g.loops))
	for _, l := range g.loops {
		go l.run()
	}
}

// spareProcessor makes GOMAXPROCS at least loops+1: each loop keeps a Go
// runtime P (processor) busy, and the runtime needs one P idle besides them.
// Without it, whenever a loop sleeps in epoll_wait for longer than a sysmon
// tick (20 µs) the runtime's monitor takes the loop's P away and hands it to
// another thread, and the loop pays futex wake-ups and context switches on
// its own CPU to get it back; with an idle P the runtime leaves a P in a
// short system call alone. The extra P runs the program's other goroutines
// (signals, timers) and is idle otherwise. GOMAXPROCS is never lowered.
func spareProcessor(loops int) {
	if runtime.GOMAXPROCS(0) <= loops {
		runtime.GOMAXPROCS(loops + 1)
	}
}

// Stop asks every loop to close its listeners and idle connections, finish
// the responses in flight and return. It does not wait; see Wait.
func (g *Group[S]) Stop() {
	if !g.started {
		g.closeUnstarted()
		return
	}
	if g.stopping.Swap(true) {
		return
	}
	for _, l := range g.loops {
		kernel.EventfdSignal(l.wakefd)
	}
}

// Wait blocks until every loop has returned after Stop.
func (g *Group[S]) Wait() { g.running.Wait() }

// closeUnstarted releases the descriptors of a group that never ran.
func (g *Group[S]) closeUnstarted() {
	for _, l := range g.loops {
		for _, fd := range l.listeners {
			if fd >= 0 {
				l.table[fd].owner.Store(0)
				kernel.Close(fd)
			}
		}
		l.listeners = nil
		if l.epfd >= 0 {
			kernel.Close(l.epfd)
			l.epfd = -1
		}
		if l.wakefd >= 0 {
			kernel.Close(l.wakefd)
			l.wakefd = -1
		}
	}
}
