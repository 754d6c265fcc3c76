package kernel

import (
	"os"
	"strings"
	"testing"
)

// TestKTLSProbeFeatures: on a kernel with kTLS every version and cipher is
// taken in both directions, and rekey is found exactly on the kernels that
// have it (Linux 7.2 in the guest, not 6.1). Without kTLS the probe says so.
func TestKTLSProbeFeatures(t *testing.T) {
	f := ProbeFeatures()
	t.Logf("features: %s", f)
	if f.Available != kernelHasTLS(t) {
		t.Fatalf("Available = %v, but %s exists = %v", f.Available, tlsStatPath, kernelHasTLS(t))
	}
	if !f.Available {
		if len(f.Ciphers) != 0 || f.Rekey || f.String() != f.Reason {
			t.Errorf("without kTLS: %+v", f)
		}
		return
	}
	if len(f.Ciphers) != len(ProbedCiphers) {
		t.Fatalf("%d probes, want %d", len(f.Ciphers), len(ProbedCiphers))
	}
	for _, c := range f.Ciphers {
		if !f.Supports(c.Version, c.Cipher) {
			t.Errorf("%s %s not taken in both directions: %+v", VersionName(c.Version), CipherName(c.Cipher), c)
		}
	}
	if want := RekeySupported(); f.Rekey != want {
		t.Errorf("Rekey = %v, but the rekey counters in tls_stat say %v", f.Rekey, want)
	}
	switch os.Getenv("LWANGO_GUEST_KERNEL") { // set by kernel/vmtest
	case "6.1":
		if f.Rekey {
			t.Error("rekey found on Linux 6.1")
		}
	case "7.2":
		if !f.Rekey || !f.RXExpectNoPad {
			t.Errorf("Linux 7.2: rekey %v, rx_expect_no_pad %v; want both", f.Rekey, f.RXExpectNoPad)
		}
	}
	s := f.String()
	for _, want := range []string{"TX+RX: TLS1.3 AES-GCM-128, TLS1.3 AES-GCM-256, TLS1.3 CHACHA20-POLY1305, TLS1.2 AES-GCM-128", "TLS 1.3 rekey: ", "TLS_RX_EXPECT_NO_PAD: yes"} {
		if !strings.Contains(s, want) {
			t.Errorf("String() = %q, want it to contain %q", s, want)
		}
	}
}
