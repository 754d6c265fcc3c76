package site

import "testing"

const keysExample = `listener = "*:8080"

[tls_listener]
address = "*:8443"
ciphers = ["TLS_AES_128_GCM_SHA256"]

[straitjacket]
user = "nobody"
`

func TestConfigErrorfNamesFileLineKey(t *testing.T) {
	cfg, err := Parse("lwan.conf", []byte(keysExample))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ key, want string }{
		{"listener", "lwan.conf:1: listener: bad"},
		{"tls_listener.address", "lwan.conf:4: tls_listener.address: bad"},
		{"tls_listener.ciphers", "lwan.conf:5: tls_listener.ciphers: bad"},
		{"tls_listener", "lwan.conf:3: tls_listener: bad"},
		// A key left out is reported at its table's header.
		{"tls_listener.ktls", "lwan.conf:3: tls_listener.ktls: bad"},
		{"straitjacket", "lwan.conf:7: straitjacket: bad"},
		// Nothing of it in the file: no line.
		{"proxy_protocol", "lwan.conf: proxy_protocol: bad"},
	} {
		if got := cfg.Errorf(tt.key, "bad").Error(); got != tt.want {
			t.Errorf("Errorf(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

func TestConfigErrorfNamesTheFlagThatReplacedAKey(t *testing.T) {
	cfg, err := Parse("lwan.conf", []byte(keysExample))
	if err != nil {
		t.Fatal(err)
	}
	before := *cfg
	if err := cfg.Apply(Overrides{Listener: "*:9090", TLSListener: "*:9443"}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ key, want string }{
		{"listener", "command line: -l: bad"},
		{"tls_listener.address", "command line: -L: bad"},
		// The [tls_listener] table is still the file's.
		{"tls_listener.ciphers", "lwan.conf:5: tls_listener.ciphers: bad"},
		{"tls_listener", "lwan.conf:3: tls_listener: bad"},
	} {
		if got := cfg.Errorf(tt.key, "bad").Error(); got != tt.want {
			t.Errorf("Errorf(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
	// A copy taken before Apply keeps the file's lines.
	if got := before.Errorf("listener", "bad").Error(); got != "lwan.conf:1: listener: bad" {
		t.Errorf("copy before Apply: Errorf(listener) = %q", got)
	}

	// -L without a [tls_listener]: the whole table is the flag's.
	noTLS, err := Parse("lwan.conf", []byte(`listener = "*:8080"`))
	if err != nil {
		t.Fatal(err)
	}
	if err := noTLS.Apply(Overrides{TLSListener: "*:9443"}); err != nil {
		t.Fatal(err)
	}
	if got := noTLS.Errorf("tls_listener.ktls", "bad").Error(); got != "command line: -L: bad" {
		t.Errorf("Errorf(tls_listener.ktls) after -L = %q", got)
	}
}

func TestConfigErrorfWithoutAFile(t *testing.T) {
	cfg := &Config{File: "built"}
	if got := cfg.Errorf("listener", "bad %d", 7).Error(); got != "built: listener: bad 7" {
		t.Errorf("Errorf on a Config built in code = %q", got)
	}
}
