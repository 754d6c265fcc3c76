package kernel

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ListenOptions tune a listening socket.
type ListenOptions struct {
	// DeferAcceptSeconds, when positive, sets TCP_DEFER_ACCEPT: the kernel
	// hands a connection to accept only once it has data (or after about this
	// many seconds).
	DeferAcceptSeconds int
	// Exclusive binds without SO_REUSEPORT and sets it only after the bind:
	// the bind fails with EADDRINUSE when any socket already listens on the
	// address (another server, even one that set SO_REUSEPORT itself), while
	// the sockets bound after this one, with SO_REUSEPORT, join it. The
	// first socket of every listener is bound this way, so that a second
	// server on a port is refused instead of sharing its connections.
	Exclusive bool
}

// ParseListenAddr parses a listener address as lwan.conf writes it:
// "*:8080" (every IPv4 and IPv6 address), ":8080" (the same), "host:port",
// "1.2.3.4:port", "[::1]:port" or "localhost:port". Port 0 asks the kernel to
// pick one.
func ParseListenAddr(addr string) (netip.AddrPort, error) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return netip.AddrPort{}, fmt.Errorf("listener address %q: missing :port", addr)
	}
	host, portText := addr[:i], addr[i+1:]
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("listener address %q: bad port %q", addr, portText)
	}
	var ip netip.Addr
	switch {
	case host == "" || host == "*" || host == "[::]":
		ip = netip.IPv6Unspecified()
	case host == "localhost":
		ip = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	case strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]"):
		ip, err = netip.ParseAddr(host[1 : len(host)-1])
		if err != nil || !ip.Is6() {
			return netip.AddrPort{}, fmt.Errorf("listener address %q: bad IPv6 address", addr)
		}
	default:
		ip, err = netip.ParseAddr(host)
		if err != nil || ip.Is6() {
			return netip.AddrPort{}, fmt.Errorf("listener address %q: bad IPv4 address %q (write IPv6 as [addr]:port)", addr, host)
		}
	}
	return netip.AddrPortFrom(ip, uint16(port)), nil
}

// Listen opens a non-blocking listening TCP socket on ap with SO_REUSEADDR,
// SO_REUSEPORT (so that every event loop can own a socket on the same port;
// see ListenOptions.Exclusive) and TCP_NODELAY (inherited by accepted
// sockets). The unspecified IPv6 address listens on IPv4 too. The backlog
// is the system's somaxconn.
func Listen(ap netip.AddrPort, opts ListenOptions) (fd int, err error) {
	family := unix.AF_INET
	if ap.Addr().Is6() {
		family = unix.AF_INET6
	}
	fd, err = unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return -1, fmt.Errorf("socket: %w", err)
	}
	defer func() {
		if err != nil {
			unix.Close(fd)
			fd = -1
		}
	}()
	set := func(level, opt, value int, name string) error {
		if err := unix.SetsockoptInt(fd, level, opt, value); err != nil {
			return fmt.Errorf("setsockopt %s: %w", name, err)
		}
		return nil
	}
	if err = set(unix.SOL_SOCKET, unix.SO_REUSEADDR, 1, "SO_REUSEADDR"); err != nil {
		return
	}
	if !opts.Exclusive {
		if err = set(unix.SOL_SOCKET, unix.SO_REUSEPORT, 1, "SO_REUSEPORT"); err != nil {
			return
		}
	}
	if err = set(unix.IPPROTO_TCP, unix.TCP_NODELAY, 1, "TCP_NODELAY"); err != nil {
		return
	}
	if opts.DeferAcceptSeconds > 0 {
		if err = set(unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, opts.DeferAcceptSeconds, "TCP_DEFER_ACCEPT"); err != nil {
			return
		}
	}
	var sa unix.Sockaddr
	if family == unix.AF_INET6 {
		if err = set(unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0, "IPV6_V6ONLY"); err != nil {
			return
		}
		sa = &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	} else {
		sa = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	}
	if err = unix.Bind(fd, sa); err != nil {
		if err == unix.EADDRINUSE {
			return -1, fmt.Errorf("bind %s: %w (another server listens there)", ap, err)
		}
		if err == unix.EACCES && ap.Port() < 1024 {
			return -1, fmt.Errorf("bind %s: %w (a port below 1024 needs root or CAP_NET_BIND_SERVICE)", ap, err)
		}
		return -1, fmt.Errorf("bind %s: %w", ap, err)
	}
	if opts.Exclusive {
		if err = set(unix.SOL_SOCKET, unix.SO_REUSEPORT, 1, "SO_REUSEPORT"); err != nil {
			return
		}
	}
	if err = unix.Listen(fd, Somaxconn()); err != nil {
		return -1, fmt.Errorf("listen %s: %w", ap, err)
	}
	return fd, nil
}

// AdoptListener prepares a listening socket this process inherited (from
// systemd, or from the process it upgrades) for an event loop: it must be a
// TCP socket in the listening state; it is made non-blocking and
// close-on-exec.
func AdoptListener(fd int) error {
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		return fmt.Errorf("inherited descriptor %d: %w", fd, err)
	}
	listening, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
	if err != nil {
		return fmt.Errorf("inherited descriptor %d: %w", fd, err)
	}
	if typ != unix.SOCK_STREAM || listening != 1 {
		return fmt.Errorf("inherited descriptor %d is not a listening stream socket", fd)
	}
	if ap, err := LocalAddr(fd); err != nil || !ap.IsValid() {
		return fmt.Errorf("inherited descriptor %d is not a TCP socket", fd)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		return fmt.Errorf("inherited descriptor %d: %w", fd, err)
	}
	unix.CloseOnExec(fd)
	return nil
}

// Dup duplicates a descriptor (close-on-exec).
func Dup(fd int) (int, error) {
	return unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
}

// Somaxconn is the kernel's listen backlog ceiling, from
// /proc/sys/net/core/somaxconn (4096 if it cannot be read).
func Somaxconn() int {
	b, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err != nil {
		return 4096
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n <= 0 {
		return 4096
	}
	return n
}

// LocalAddr is the address a socket is bound to.
func LocalAddr(fd int) (netip.AddrPort, error) {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return netip.AddrPort{}, err
	}
	return sockaddrToAddrPort(sa), nil
}

func sockaddrToAddrPort(sa unix.Sockaddr) netip.AddrPort {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), uint16(sa.Port))
	}
	return netip.AddrPort{}
}

// Accept takes one pending connection from a listening socket as a
// non-blocking, close-on-exec descriptor. It returns EAGAIN when none is
// waiting. It does not fetch the peer's address (see AppendPeerAddr), so it
// allocates nothing.
func Accept(listener int) (int, error) {
	for {
		fd, _, errno := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(listener), 0, 0, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
		if errno == 0 {
			return int(fd), nil
		}
		if errno != unix.EINTR {
			return -1, errno
		}
	}
}

// AppendPeerAddr appends the IP address of fd's peer to dst, or "-" if it is
// unknown, without allocating.
func AppendPeerAddr(dst []byte, fd int) []byte {
	if a := PeerAddr(fd); a.IsValid() {
		return a.Addr().AppendTo(dst)
	}
	return append(dst, '-')
}

// PeerAddr returns the address and port of fd's peer (an IPv4-mapped IPv6
// address unmapped), or the zero AddrPort if it is unknown, without
// allocating.
func PeerAddr(fd int) netip.AddrPort {
	var rsa unix.RawSockaddrAny
	size := uint32(unix.SizeofSockaddrAny)
	_, _, errno := unix.RawSyscall(unix.SYS_GETPEERNAME, uintptr(fd), uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&size)))
	if errno != 0 {
		return netip.AddrPort{}
	}
	switch rsa.Addr.Family {
	case unix.AF_INET:
		in4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(&rsa))
		return netip.AddrPortFrom(netip.AddrFrom4(in4.Addr), networkPort(in4.Port))
	case unix.AF_INET6:
		in6 := (*unix.RawSockaddrInet6)(unsafe.Pointer(&rsa))
		return netip.AddrPortFrom(netip.AddrFrom16(in6.Addr).Unmap(), networkPort(in6.Port))
	}
	return netip.AddrPort{}
}

// networkPort reads a sockaddr's port, stored in network byte order.
func networkPort(p uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(&p))
	return uint16(b[0])<<8 | uint16(b[1])
}
