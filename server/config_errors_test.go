package server

import (
	"net"
	"strings"
	"testing"
	"time"

	"lwango/site"
)

// Errors about the configuration found by Check and New, after the file was
// parsed, name the file, the key's line and the key (testConfig's extra
// text starts on line 3 of test.conf).
func TestConfigErrorsNameFileLineKey(t *testing.T) {
	ts := newTestSite(t)
	for _, c := range []struct {
		name, extra string
		edit        func(*site.Config) // a Config changed in code, past the file's checks
		want        string
	}{
		{"cipher not implemented", "[tls_listener]\naddress = \"127.0.0.1:0\"\nciphers = [\n  \"TLS_AES_128_GCM_SHA256\",\n]\n",
			func(cfg *site.Config) { cfg.TLS.Ciphers = append(cfg.TLS.Ciphers, "TLS_NO_SUCH_SUITE") },
			"test.conf:5: tls_listener.ciphers[1]: cipher suite TLS_NO_SUCH_SUITE is not implemented"},
		{"group not implemented", "[tls_listener]\naddress = \"127.0.0.1:0\"\ngroups = [\"x25519\", \"secp256r1\"]\n",
			func(cfg *site.Config) { cfg.TLS.Groups[1] = "ffdhe2048" },
			"test.conf:5: tls_listener.groups[1]: group ffdhe2048 is not implemented"},
		{"no suite for the versions", "[tls_listener]\naddress = \"127.0.0.1:0\"\nmin_version = \"1.3\"\nciphers = [\"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\"]\n",
			nil, "test.conf:3: tls_listener: tls: no cipher suite for the enabled protocol versions"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig(t, ts, c.extra)
			if c.edit != nil {
				c.edit(cfg)
			}
			if err := Check(cfg); err == nil || err.Error() != c.want {
				t.Errorf("Check: %v\nwant %s", err, c.want)
			}
			srv, err := New(cfg, Options{})
			if err == nil {
				srv.Shutdown(time.Second)
				t.Fatal("New accepted the configuration")
			}
			if err.Error() != c.want {
				t.Errorf("New: %v\nwant %s", err, c.want)
			}
		})
	}
}

// A listener whose port is taken fails New naming the listener's key and
// line: listener for the cleartext one, tls_listener.address for TLS.
func TestBindErrorNamesTheListenerKey(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	addr := taken.Addr().String()
	ts := newTestSite(t)

	cfg := testConfig(t, ts, "")
	cfg.Listener.Port = taken.Addr().(*net.TCPAddr).Port
	_, err = New(cfg, Options{})
	if err == nil || !strings.HasPrefix(err.Error(), "test.conf:1: listener: listener "+addr+": ") {
		t.Errorf("cleartext bind: %v", err)
	}

	cfg = testConfig(t, ts, "[tls_listener]\naddress = \""+addr+"\"\n")
	_, err = New(cfg, Options{})
	if err == nil || !strings.HasPrefix(err.Error(), "test.conf:4: tls_listener.address: listener "+addr+": ") {
		t.Errorf("TLS bind: %v", err)
	}
}
