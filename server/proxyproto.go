package server

import (
	"bytes"
	"encoding/binary"
	"net/netip"
)

// The PROXY protocol (HAProxy's proxy-protocol.txt, versions 1 and 2): a
// load balancer that accepts a client's connection opens one to the server
// and sends, before anything else, a header with the client's address.
// lwango reads it (with proxy_protocol = true) as the first phase of every
// connection, before the TLS handshake or the first request, and from then
// on treats that address as the client's.

// proxyV2Signature starts every version 2 header.
var proxyV2Signature = []byte("\r\n\r\n\x00\r\nQUIT\n")

const (
	proxyV1Prefix = "PROXY "
	// proxyV1Max is the longest version 1 header, CRLF included.
	proxyV1Max = 107
	// proxyMaxHeader bounds a version 2 header with its TLVs; a longer one
	// is refused (what balancers send is a few hundred bytes at most).
	proxyMaxHeader = 2048
)

// proxyReject is why a connection's PROXY header was refused; each is
// counted.
type proxyReject uint8

const (
	proxyMissing   proxyReject = iota // the connection does not start with a PROXY header
	proxyMalformed                    // it starts like one but breaks the protocol
	proxyOversized                    // longer than the protocol (v1) or proxyMaxHeader (v2) allow
	proxyTimeout                      // not complete within the request deadline
	proxyRejectKinds
)

var proxyRejectNames = [proxyRejectKinds]string{"missing", "malformed", "oversized", "timeout"}

// proxyError is a refused header and why.
type proxyError struct {
	kind proxyReject
	msg  string
}

func (e *proxyError) Error() string { return "PROXY header " + proxyRejectNames[e.kind] + ": " + e.msg }

func malformed(msg string) error { return &proxyError{proxyMalformed, msg} }

// parseProxyHeader reads the PROXY header at the start of b. It returns the
// header's length and the client address it carries, which is not valid
// for a v2 LOCAL command, a v1 UNKNOWN or an address family other than
// TCP over IPv4 or IPv6 (the balancer's own connection: use the socket's
// peer). n == 0 with a nil error means b is a correct beginning of a header
// that has not ended yet: every byte of b belongs to it. It never looks
// past the header, so the bytes after it are left for TLS or HTTP.
func parseProxyHeader(b []byte) (n int, client netip.AddrPort, err error) {
	switch {
	case hasPrefixOf(b, proxyV2Signature):
		return parseProxyV2(b)
	case hasPrefixOf(b, []byte(proxyV1Prefix)):
		return parseProxyV1(b)
	}
	return 0, netip.AddrPort{}, &proxyError{proxyMissing, "the connection does not start with a PROXY protocol header"}
}

// hasPrefixOf reports whether b and sig agree on their common length.
func hasPrefixOf(b, sig []byte) bool {
	n := min(len(b), len(sig))
	return bytes.Equal(b[:n], sig[:n])
}

// parseProxyV1 reads "PROXY TCP4|TCP6 src dst sport dport\r\n" or
// "PROXY UNKNOWN ...\r\n".
func parseProxyV1(b []byte) (int, netip.AddrPort, error) {
	end := bytes.IndexByte(b[:min(len(b), proxyV1Max)], '\n')
	if end < 0 {
		if len(b) >= proxyV1Max {
			return 0, netip.AddrPort{}, &proxyError{proxyOversized, "version 1 header longer than 107 bytes"}
		}
		return 0, netip.AddrPort{}, nil
	}
	if end == 0 || b[end-1] != '\r' {
		return 0, netip.AddrPort{}, malformed("version 1 header does not end with CRLF")
	}
	line := b[len(proxyV1Prefix) : end-1]
	fields := bytes.Split(line, []byte(" "))
	switch string(fields[0]) {
	case "UNKNOWN":
		return end + 1, netip.AddrPort{}, nil // the rest of the line is ignored, as the protocol says
	case "TCP4", "TCP6":
	default:
		return 0, netip.AddrPort{}, malformed("version 1 protocol is not TCP4, TCP6 or UNKNOWN")
	}
	if len(fields) != 5 {
		return 0, netip.AddrPort{}, malformed("version 1 header needs protocol, two addresses and two ports, separated by single spaces")
	}
	src, err1 := netip.ParseAddr(string(fields[1]))
	dst, err2 := netip.ParseAddr(string(fields[2]))
	if err1 != nil || err2 != nil || src.Zone() != "" || dst.Zone() != "" {
		return 0, netip.AddrPort{}, malformed("version 1 address is not an IP address")
	}
	want4 := fields[0][3] == '4'
	if src.Is4() != want4 || dst.Is4() != want4 {
		return 0, netip.AddrPort{}, malformed("version 1 address does not match its protocol " + string(fields[0]))
	}
	sport, ok1 := parsePort(fields[3])
	_, ok2 := parsePort(fields[4])
	if !ok1 || !ok2 {
		return 0, netip.AddrPort{}, malformed("version 1 port is not a number 0..65535")
	}
	return end + 1, netip.AddrPortFrom(src, sport), nil
}

// parsePort reads a decimal port, 0..65535, without sign or leading zeros.
func parsePort(s []byte) (uint16, bool) {
	if len(s) == 0 || len(s) > 5 || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return uint16(n), n <= 65535
}

// Version 2 commands and address families (proxy-protocol.txt §2.2).
const (
	proxyV2Local   = 0x20
	proxyV2Proxy   = 0x21
	proxyV2TCP4    = 0x11
	proxyV2TCP6    = 0x21
	proxyV2Unspec  = 0x00
	proxyV2Stream  = 0x1
	proxyV2HeadLen = 16
)

// parseProxyV2 reads the binary header: signature, version and command,
// family and transport, length, addresses and TLVs (checked to fit the
// length exactly, and skipped).
func parseProxyV2(b []byte) (int, netip.AddrPort, error) {
	if len(b) < proxyV2HeadLen {
		return 0, netip.AddrPort{}, nil
	}
	verCmd, family := b[12], b[13]
	if verCmd != proxyV2Local && verCmd != proxyV2Proxy {
		return 0, netip.AddrPort{}, malformed("version 2 header with an unknown version or command")
	}
	total := proxyV2HeadLen + int(binary.BigEndian.Uint16(b[14:16]))
	if total > proxyMaxHeader {
		return 0, netip.AddrPort{}, &proxyError{proxyOversized, "version 2 header longer than 2048 bytes"}
	}
	if len(b) < total {
		return 0, netip.AddrPort{}, nil
	}
	body := b[proxyV2HeadLen:total]
	if verCmd == proxyV2Local {
		return total, netip.AddrPort{}, nil // the balancer's own connection (a health check)
	}
	var client netip.AddrPort
	var rest []byte
	switch family {
	case proxyV2TCP4:
		if len(body) < 12 {
			return 0, netip.AddrPort{}, malformed("version 2 TCP over IPv4 with fewer than 12 address bytes")
		}
		client = netip.AddrPortFrom(netip.AddrFrom4([4]byte(body[0:4])), binary.BigEndian.Uint16(body[8:10]))
		rest = body[12:]
	case proxyV2TCP6:
		if len(body) < 36 {
			return 0, netip.AddrPort{}, malformed("version 2 TCP over IPv6 with fewer than 36 address bytes")
		}
		client = netip.AddrPortFrom(netip.AddrFrom16([16]byte(body[0:16])).Unmap(), binary.BigEndian.Uint16(body[32:34]))
		rest = body[36:]
	default:
		if family&0x0f > proxyV2Stream || family>>4 > 3 {
			return 0, netip.AddrPort{}, malformed("version 2 header for a datagram transport or an unknown family")
		}
		// UNSPEC or a UNIX socket: no IP address to take; the socket's is used.
		return total, netip.AddrPort{}, nil
	}
	if err := checkTLVs(rest); err != nil {
		return 0, netip.AddrPort{}, err
	}
	return total, client, nil
}

// checkTLVs walks the type-length-value records after the addresses: each
// must fit in what is left of the header.
func checkTLVs(b []byte) error {
	for len(b) > 0 {
		if len(b) < 3 {
			return malformed("version 2 TLV cut short")
		}
		n := 3 + int(binary.BigEndian.Uint16(b[1:3]))
		if n > len(b) {
			return malformed("version 2 TLV longer than the header")
		}
		b = b[n:]
	}
	return nil
}
