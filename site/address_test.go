package site

import (
	"bufio"
	"net/netip"
	"os"
	"strings"
	"testing"

	"lwango/internal/testenv"
	"lwango/kernel"
)

// hostsEntries reads /etc/hosts: each name other than localhost with the
// addresses listed for it, in order. Without the file the test cannot run:
// it fails under CI, whose /etc/hosts has names, and is skipped elsewhere
// (testenv.Missing).
func hostsEntries(t *testing.T) map[string][]netip.Addr {
	t.Helper()
	f, err := os.Open("/etc/hosts")
	if err != nil {
		testenv.Missing(t, "no /etc/hosts to resolve names from without the network: %v", err)
	}
	defer f.Close()
	names := map[string][]netip.Addr{}
	lines := bufio.NewScanner(f)
	for lines.Scan() {
		fields := strings.Fields(strings.SplitN(lines.Text(), "#", 2)[0])
		if len(fields) < 2 {
			continue
		}
		ip, err := netip.ParseAddr(fields[0])
		if err != nil || ip.Zone() != "" {
			continue
		}
		for _, name := range fields[1:] {
			if name != "localhost" && isHostName(name) {
				names[name] = append(names[name], ip)
			}
		}
	}
	return names
}

// A host name is resolved when the configuration is read, to its first
// IPv4 address (or IPv6 when it has none), and the server's socket layer
// accepts the result: lwango -t and start-up agree.
func TestParseAddressResolvesHostNames(t *testing.T) {
	names := hostsEntries(t)
	if len(names) == 0 {
		testenv.Missing(t, "/etc/hosts names nothing but localhost: no name resolves without the network")
	}
	for name, listed := range names {
		a, err := ParseAddress(name + ":8080")
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		ip, err := netip.ParseAddr(a.Host)
		if err != nil {
			t.Errorf("%s: resolved to %q, not an IP literal", name, a.Host)
			continue
		}
		want4 := false
		found := false
		for _, l := range listed {
			want4 = want4 || l.Unmap().Is4()
			found = found || l.Unmap() == ip
		}
		if !found || want4 != ip.Is4() {
			t.Errorf("%s: resolved to %s; /etc/hosts lists %v (IPv4 first)", name, ip, listed)
		}
		ap, err := kernel.ParseListenAddr(a.String())
		if err != nil || ap.Addr().Unmap() != ip || ap.Port() != 8080 {
			t.Errorf("%s: the socket layer takes %q as %v, %v", name, a.String(), ap, err)
		}
	}
}

// Whatever ParseAddress accepts, the socket layer can listen on, at the
// same address; what it refuses it refuses with an error naming the text.
func TestParseAddressAgreesWithKernel(t *testing.T) {
	good := map[string]string{
		"*:8080":                "[::]:8080",
		"localhost:80":          "127.0.0.1:80",
		"127.0.0.1:0":           "127.0.0.1:0",
		"0.0.0.0:443":           "0.0.0.0:443",
		"[::1]:443":             "[::1]:443",
		"[::]:80":               "[::]:80",
		"[::ffff:10.0.0.1]:80":  "[::ffff:10.0.0.1]:80",
		"[2001:db8::7]:65535":   "[2001:db8::7]:65535",
		"[127.0.0.1]:81":        "127.0.0.1:81",
		"[0:0:0:0:0:0:0:1]:999": "[::1]:999",
	}
	for in, want := range good {
		a, err := ParseAddress(in)
		if err != nil {
			t.Errorf("ParseAddress(%q): %v", in, err)
			continue
		}
		ap, err := kernel.ParseListenAddr(a.String())
		if err != nil || ap.String() != want {
			t.Errorf("%q: the socket layer takes %q as %v, %v; want %s", in, a.String(), ap, err, want)
		}
	}
	bad := []string{
		"10.0.1:80",               // a mistyped IPv4 address is not a name
		"010.0.0.1:80",            // nor is one with a leading zero
		"[fe80::1%eth0]:80",       // zones cannot be configured
		"host_name:80",            // not a DNS name
		"-lead.example:80",        // nor is this
		"a..b:80",                 // nor this
		"exa mple:80",             // nor this
		"no-such-host.invalid:80", // RFC 6761: never resolves
	}
	for _, in := range bad {
		if a, err := ParseAddress(in); err == nil {
			t.Errorf("ParseAddress(%q) = %+v, want an error", in, a)
		} else if host := strings.Trim(strings.TrimSuffix(in, ":80"), "[]"); !strings.Contains(err.Error(), host) {
			t.Errorf("ParseAddress(%q): %v does not name the host", in, err)
		}
	}
}

// A listener naming a host that does not resolve is a configuration error
// with the file, line and key.
func TestUnresolvableListenerNamesLine(t *testing.T) {
	_, err := Parse("site.conf", []byte("quiet = true\nlistener = \"no-such-host.invalid:8080\"\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "site.conf:2: listener: cannot resolve host \"no-such-host.invalid\"") {
		t.Fatalf("error %v", err)
	}
}
