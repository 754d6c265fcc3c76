package site

import (
	"errors"
	"net"
	"strconv"
	"strings"
)

// Address is a listening address: "*:8080" (every interface),
// "host:port" or "[v6]:port".
type Address struct {
	Host string // empty for every interface ("*"); an IPv6 literal has no brackets
	Port int    // 0 asks the kernel for a free port
}

// ParseAddress parses a listener address.
func ParseAddress(s string) (Address, error) {
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
	case strings.ContainsAny(host, " \t/"):
		return Address{}, errors.New("bad host in " + strconv.Quote(s))
	case strings.Contains(host, ":") && net.ParseIP(host) == nil:
		return Address{}, errors.New("bad IPv6 address in " + strconv.Quote(s))
	}
	return Address{Host: host, Port: n}, nil
}

// String formats the address the way it is written in the configuration.
func (a Address) String() string {
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
