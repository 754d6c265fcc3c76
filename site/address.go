package site

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Address is a listening address: "*:8080" (every interface),
// "host:port" or "[v6]:port"; or "systemd:NAME", a socket systemd passes by
// socket activation (FileDescriptorName=NAME in the socket unit).
type Address struct {
	// Host is empty for every interface ("*"), "localhost" (127.0.0.1), or
	// an IP literal (IPv6 without brackets). A host name in the
	// configuration is resolved when it is parsed and stored as the address
	// chosen (see ParseAddress).
	Host string
	Port int // 0 asks the kernel for a free port
	// Systemd is the name of the socket systemd passes; Host and Port are
	// then unused.
	Systemd string
}

// resolveTimeout bounds the lookup of a listener's host name.
const resolveTimeout = 5 * time.Second

// ParseAddress parses a listener address. A host that is neither "*",
// "localhost" nor an IP literal is a host name, resolved now with the
// system's resolver (as Lwan and nginx resolve their listen addresses when
// they read the configuration): the server listens on its first IPv4
// address, or on its first IPv6 address when it has no IPv4 one. A name
// that does not resolve is an error, so that checking a configuration
// (lwango -t) and starting from it agree.
func ParseAddress(s string) (Address, error) {
	if name, ok := strings.CutPrefix(s, systemdPrefix); ok {
		if name == "" || len(name) > 255 || strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			return Address{}, errors.New("bad socket name in " + strconv.Quote(s) + ": want systemd:NAME, NAME as FileDescriptorName= in the socket unit")
		}
		return Address{Systemd: name}, nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return Address{}, errors.New("bad address " + strconv.Quote(s) + ": want \"*:port\", \"host:port\" or \"[v6]:port\"")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 || port == "" || port[0] == '+' {
		return Address{}, errors.New("bad port in " + strconv.Quote(s) + ": want 0..65535")
	}
	switch {
	case host == "*":
		host = ""
	case host == "":
		return Address{}, errors.New("bad address " + strconv.Quote(s) + ": no host; write \"*:" + port + "\" for every interface")
	case host == "localhost":
	case strings.Contains(host, ":"):
		ip, err := netip.ParseAddr(host)
		if err != nil || ip.Zone() != "" {
			return Address{}, errors.New("bad IPv6 address in " + strconv.Quote(s))
		}
	case isIPv4(host):
	case !isHostName(host):
		return Address{}, errors.New("bad host in " + strconv.Quote(s) + ": want \"*\", an IP address or a host name")
	default:
		if host, err = resolve(host); err != nil {
			return Address{}, err
		}
	}
	return Address{Host: host, Port: n}, nil
}

// isIPv4 reports whether s is an IPv4 literal in dotted decimal.
func isIPv4(s string) bool {
	ip, err := netip.ParseAddr(s)
	return err == nil && ip.Is4()
}

// isHostName reports whether s is a DNS host name (RFC 1123): dot-separated
// labels of letters, digits and inner hyphens, with an optional final dot,
// the last label not all digits (so that "10.0.1" is not taken for a name).
// Anything else is refused before the resolver is asked.
func isHostName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	numeric := false
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		numeric = true
		for _, c := range []byte(label) {
			switch {
			case '0' <= c && c <= '9':
			case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '-':
				numeric = false
			default:
				return false
			}
		}
	}
	return !numeric
}

// resolve looks name up and returns the address to listen on: the first
// IPv4 one, else the first IPv6 one, as a literal.
func resolve(name string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", name)
	if err != nil {
		return "", fmt.Errorf("cannot resolve host %q: %v", name, err)
	}
	for _, ip := range addrs {
		if ip.Unmap().Is4() {
			return ip.Unmap().String(), nil
		}
	}
	for _, ip := range addrs {
		if ip.Is6() && ip.Zone() == "" {
			return ip.String(), nil
		}
	}
	return "", fmt.Errorf("host %q has no address to listen on", name)
}

// systemdPrefix starts the address of a socket passed by systemd.
const systemdPrefix = "systemd:"

// String formats the address the way it is written in the configuration.
func (a Address) String() string {
	if a.Systemd != "" {
		return systemdPrefix + a.Systemd
	}
	host := a.Host
	if host == "" {
		host = "*"
	}
	return net.JoinHostPort(host, strconv.Itoa(a.Port))
}

// Dial returns the address in the form net.Dial and net.Listen take
// (":port" for every interface).
func (a Address) Dial() string {
	return net.JoinHostPort(a.Host, strconv.Itoa(a.Port))
}
