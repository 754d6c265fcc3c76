package tlsstate

import (
	"strings"
	"testing"
)

func TestConfigVersionsValidate(t *testing.T) {
	cases := []struct {
		name   string
		change func(c *Config)
		errSub string // "" means valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"TLS 1.2 only", func(c *Config) { c.MaxVersion = VersionTLS12 }, ""},
		{"TLS 1.3 only", func(c *Config) { c.MinVersion = VersionTLS13 }, ""},
		{"mixed suite list", func(c *Config) { c.CipherSuites = []CipherSuite{AES128GCMSHA256, ECDHERSAWithAES128GCMSHA256} }, ""},
		{"TLS 1.1", func(c *Config) { c.MinVersion = 0x0302 }, "not supported"},
		{"min above max", func(c *Config) { c.MinVersion, c.MaxVersion = VersionTLS13, VersionTLS12 }, "above"},
		{"CBC suite", func(c *Config) { c.CipherSuites = []CipherSuite{0xc013} }, "not supported"},
		{"TLS 1.2 only, TLS 1.3 suites only", func(c *Config) {
			c.MaxVersion = VersionTLS12
			c.CipherSuites = []CipherSuite{AES128GCMSHA256}
		}, "no cipher suite"},
		{"TLS 1.3 only, TLS 1.2 suites only", func(c *Config) {
			c.MinVersion = VersionTLS13
			c.CipherSuites = []CipherSuite{ECDHEECDSAWithAES128GCMSHA256}
		}, "no cipher suite"},
	}
	for _, tc := range cases {
		cfg := testConfig("ecdsa-p256")
		tc.change(cfg)
		err := cfg.Validate()
		if tc.errSub == "" && err != nil || tc.errSub != "" && (err == nil || !strings.Contains(err.Error(), tc.errSub)) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestCipherSuiteNames12(t *testing.T) {
	for _, s := range suites12 {
		id, ok := CipherSuiteByName(strings.ToLower(s.name))
		if !ok || id != s.id || id.String() != s.name {
			t.Errorf("%s: %v %v %q", s.name, id, ok, id.String())
		}
	}
	if _, ok := CipherSuiteByName("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"); ok {
		t.Error("a CBC suite has a name")
	}
}

// TestChooseVersion: the version a first ClientHello gets, by what it
// offers and what the listener allows.
func TestChooseVersion(t *testing.T) {
	cases := []struct {
		name       string
		legacy     uint16
		versions   []uint16 // nil: no supported_versions
		fallback   bool
		minV, maxV uint16
		want       uint16
		wantAlert  Alert
	}{
		{"1.3 and 1.2 offered", 0x0303, []uint16{0x0304, 0x0303}, false, 0, 0, VersionTLS13, 0},
		{"1.3 offered, listener 1.2 only", 0x0303, []uint16{0x0304, 0x0303}, false, 0, VersionTLS12, VersionTLS12, 0},
		{"1.3 only offered, listener 1.2 only", 0x0303, []uint16{0x0304}, false, 0, VersionTLS12, 0, AlertProtocolVersion},
		{"legacy 1.2", 0x0303, nil, false, 0, 0, VersionTLS12, 0},
		{"legacy 0x0304 without supported_versions", 0x0304, nil, false, 0, 0, VersionTLS12, 0},
		{"legacy 1.2, listener 1.3 only", 0x0303, nil, false, VersionTLS13, 0, 0, AlertProtocolVersion},
		{"GREASE and 1.2", 0x0303, []uint16{0x1a1a, 0x0303}, false, 0, 0, VersionTLS12, 0},
		{"TLS 1.1", 0x0302, nil, false, 0, 0, 0, AlertProtocolVersion},
		{"fallback to 1.2 while we do 1.3", 0x0303, nil, true, 0, 0, 0, AlertInappropriateFallback},
		{"fallback to 1.2, listener 1.2 only", 0x0303, nil, true, 0, VersionTLS12, VersionTLS12, 0},
		{"fallback SCSV with 1.3 offered", 0x0303, []uint16{0x0304, 0x0303}, true, 0, 0, VersionTLS13, 0},
	}
	for _, tc := range cases {
		cfg := testConfig("ecdsa-p256")
		cfg.MinVersion, cfg.MaxVersion = tc.minV, tc.maxV
		ch := &clientHello{legacyVersion: tc.legacy, cipherSuites: []uint16{0x1301, 0xc02b}}
		if tc.versions != nil {
			ch.hasSupportedVersions, ch.supportedVersions = true, tc.versions
		}
		if tc.fallback {
			ch.cipherSuites = append(ch.cipherSuites, scsvFallback)
		}
		v, err := chooseVersion(cfg, ch)
		if tc.wantAlert != 0 {
			if err == nil || err.Alert != tc.wantAlert {
				t.Errorf("%s: %x %v, want %v", tc.name, v, err, tc.wantAlert)
			}
		} else if err != nil || v != tc.want {
			t.Errorf("%s: %x %v, want %x", tc.name, v, err, tc.want)
		}
	}
}
