package server

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
)

// proxyV2 builds a version 2 header: command byte, family byte, address
// block and TLVs.
func proxyV2(cmd, family byte, addrs, tlvs []byte) []byte {
	b := append([]byte(nil), proxyV2Signature...)
	b = append(b, cmd, family)
	b = binary.BigEndian.AppendUint16(b, uint16(len(addrs)+len(tlvs)))
	b = append(b, addrs...)
	return append(b, tlvs...)
}

func v4Block(src, dst string, sport, dport uint16) []byte {
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	b := append(s[:], d[:]...)
	b = binary.BigEndian.AppendUint16(b, sport)
	return binary.BigEndian.AppendUint16(b, dport)
}

func v6Block(src, dst string, sport, dport uint16) []byte {
	s, d := netip.MustParseAddr(src).As16(), netip.MustParseAddr(dst).As16()
	b := append(s[:], d[:]...)
	b = binary.BigEndian.AppendUint16(b, sport)
	return binary.BigEndian.AppendUint16(b, dport)
}

// tlv is one type-length-value record.
func tlv(typ byte, value []byte) []byte {
	b := binary.BigEndian.AppendUint16([]byte{typ}, uint16(len(value)))
	return append(b, value...)
}

func TestParseProxyHeader(t *testing.T) {
	after := []byte("GET / HTTP/1.1\r\n\r\n")
	for _, c := range []struct {
		name   string
		header []byte
		client string // "" for none (use the socket's peer)
	}{
		{"v1 TCP4", []byte("PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\n"), "192.0.2.7:56324"},
		{"v1 TCP6", []byte("PROXY TCP6 2001:db8::7 2001:db8::1 65535 80\r\n"), "[2001:db8::7]:65535"},
		{"v1 UNKNOWN", []byte("PROXY UNKNOWN\r\n"), ""},
		{"v1 UNKNOWN with addresses", []byte("PROXY UNKNOWN ffff:f...f:ffff 1.2.3.4 65535 65535\r\n"), ""},
		{"v1 longest", []byte("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"), "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"},
		{"v2 TCP4", proxyV2(0x21, 0x11, v4Block("203.0.113.9", "10.0.0.1", 40000, 8080), nil), "203.0.113.9:40000"},
		{"v2 TCP6", proxyV2(0x21, 0x21, v6Block("2001:db8::9", "2001:db8::1", 1, 443), nil), "[2001:db8::9]:1"},
		{"v2 TCP6 v4-mapped", proxyV2(0x21, 0x21, v6Block("::ffff:192.0.2.1", "::ffff:10.0.0.1", 2, 443), nil), "192.0.2.1:2"},
		{"v2 TCP4 with TLVs", proxyV2(0x21, 0x11, v4Block("203.0.113.9", "10.0.0.1", 40000, 8080),
			append(append(tlv(0x02, []byte("example.com")), tlv(0x04, nil)...), tlv(0x20, make([]byte, 300))...)), "203.0.113.9:40000"},
		{"v2 LOCAL", proxyV2(0x20, 0x00, nil, nil), ""},
		{"v2 LOCAL with an address block", proxyV2(0x20, 0x11, v4Block("1.2.3.4", "5.6.7.8", 1, 2), nil), ""},
		{"v2 UNSPEC", proxyV2(0x21, 0x00, nil, nil), ""},
		{"v2 UNIX stream", proxyV2(0x21, 0x31, make([]byte, 216), nil), ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := append(append([]byte(nil), c.header...), after...)
			n, client, err := parseProxyHeader(in)
			if err != nil || n != len(c.header) {
				t.Fatalf("got n=%d err=%v, want n=%d", n, err, len(c.header))
			}
			if got := client.String(); (c.client == "" && client.IsValid()) || (c.client != "" && got != c.client) {
				t.Fatalf("client %s, want %q", got, c.client)
			}
			// Every proper prefix is an unfinished header, all of it header.
			for i := 1; i < len(c.header); i++ {
				if n, _, err := parseProxyHeader(c.header[:i]); n != 0 || err != nil {
					t.Fatalf("prefix of %d bytes: n=%d err=%v", i, n, err)
				}
			}
		})
	}
}

func TestParseProxyHeaderRefused(t *testing.T) {
	long := bytes.Repeat([]byte("1"), 100)
	for _, c := range []struct {
		name   string
		header []byte
		kind   proxyReject
	}{
		{"HTTP request", []byte("GET / HTTP/1.1\r\n\r\n"), proxyMissing},
		{"TLS ClientHello", []byte{0x16, 0x03, 0x01, 0x00, 0xc8, 0x01}, proxyMissing},
		{"lower-case v1", []byte("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), proxyMissing},
		{"v1 without CR", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"), proxyMalformed},
		{"v1 UDP4", []byte("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n"), proxyMalformed},
		{"v1 TCP4 with IPv6", []byte("PROXY TCP4 2001:db8::1 5.6.7.8 1 2\r\n"), proxyMalformed},
		{"v1 TCP6 with IPv4", []byte("PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n"), proxyMalformed},
		{"v1 bad address", []byte("PROXY TCP4 1.2.3.400 5.6.7.8 1 2\r\n"), proxyMalformed},
		{"v1 zone", []byte("PROXY TCP6 fe80::1%eth0 fe80::2 1 2\r\n"), proxyMalformed},
		{"v1 port too big", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n"), proxyMalformed},
		{"v1 port with a sign", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n"), proxyMalformed},
		{"v1 port leading zero", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n"), proxyMalformed},
		{"v1 two spaces", []byte("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n"), proxyMalformed},
		{"v1 missing port", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"), proxyMalformed},
		{"v1 extra field", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n"), proxyMalformed},
		{"v1 no CRLF in 107 bytes", append([]byte("PROXY TCP4 "), long...), proxyOversized},
		{"v2 version 1", proxyV2(0x11, 0x11, v4Block("1.2.3.4", "5.6.7.8", 1, 2), nil), proxyMalformed},
		{"v2 command 2", proxyV2(0x22, 0x11, v4Block("1.2.3.4", "5.6.7.8", 1, 2), nil), proxyMalformed},
		{"v2 UDP4", proxyV2(0x21, 0x12, v4Block("1.2.3.4", "5.6.7.8", 1, 2), nil), proxyMalformed},
		{"v2 family 4", proxyV2(0x21, 0x41, nil, nil), proxyMalformed},
		{"v2 TCP4 short address block", proxyV2(0x21, 0x11, make([]byte, 11), nil), proxyMalformed},
		{"v2 TCP6 short address block", proxyV2(0x21, 0x21, make([]byte, 35), nil), proxyMalformed},
		{"v2 TLV cut short", proxyV2(0x21, 0x11, v4Block("1.2.3.4", "5.6.7.8", 1, 2), []byte{0x02, 0x00}), proxyMalformed},
		{"v2 TLV past the header", proxyV2(0x21, 0x11, v4Block("1.2.3.4", "5.6.7.8", 1, 2), []byte{0x02, 0x00, 0x09, 'a'}), proxyMalformed},
		{"v2 longer than 2048 bytes", proxyV2(0x21, 0x11, v4Block("1.2.3.4", "5.6.7.8", 1, 2), tlv(0xe0, make([]byte, 2030)))[:20], proxyOversized},
	} {
		t.Run(c.name, func(t *testing.T) {
			n, client, err := parseProxyHeader(c.header)
			var pe *proxyError
			if !errors.As(err, &pe) || pe.kind != c.kind || n != 0 || client.IsValid() {
				t.Fatalf("got n=%d client=%v err=%v, want a %s error", n, client, err, proxyRejectNames[c.kind])
			}
		})
	}
}

// FuzzParseProxyHeader: no input panics; a header's length never exceeds
// the input or the bounds, and a header that parsed also parses when more
// bytes follow it.
func FuzzParseProxyHeader(f *testing.F) {
	f.Add([]byte("PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\nGET"))
	f.Add([]byte("PROXY UNKNOWN\r\n"))
	f.Add(proxyV2(0x21, 0x11, v4Block("203.0.113.9", "10.0.0.1", 40000, 8080), tlv(0x02, []byte("x"))))
	f.Add(proxyV2(0x21, 0x21, v6Block("2001:db8::9", "2001:db8::1", 1, 443), nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, client, err := parseProxyHeader(b)
		if err != nil && (n != 0 || client.IsValid()) {
			t.Fatalf("error with n=%d client=%v", n, client)
		}
		if n > len(b) || n > proxyMaxHeader {
			t.Fatalf("header of %d bytes in %d", n, len(b))
		}
		if n > 0 {
			n2, client2, err2 := parseProxyHeader(append(b[:n:n], "trailing"...))
			if n2 != n || client2 != client || err2 != nil {
				t.Fatalf("with bytes after it: %d %v %v, was %d %v", n2, client2, err2, n, client)
			}
		}
	})
}
