package kernel

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// CipherProbe is whether the kernel took one version and cipher's keys.
type CipherProbe struct {
	Version, Cipher uint16
	// TX and RX: setsockopt(SOL_TLS, TLS_TX/TLS_RX) accepted the keys.
	TX, RX bool
}

// Features is what the running kernel's TLS offers, as ProbeFeatures found it.
type Features struct {
	// Available: the tls ULP attaches to a TCP socket; Reason says why or why not.
	Available bool
	Reason    string
	// Ciphers are the versions × ciphers probed, in the order of ProbedCiphers.
	Ciphers []CipherProbe
	// Rekey: new TLS 1.3 transmit keys are accepted on a socket that has
	// some (TLS 1.3 KeyUpdate, Linux 6.14 and later; new receive keys are
	// only taken after a KeyUpdate arrived, so they cannot be probed).
	Rekey bool
	// RXExpectNoPad: the TLS_RX_EXPECT_NO_PAD option exists (Linux 6.0 and later).
	RXExpectNoPad bool
}

// ProbedCiphers are the versions and ciphers ProbeFeatures tries.
var ProbedCiphers = []CipherProbe{
	{Version: TLS_1_3_VERSION, Cipher: TLS_CIPHER_AES_GCM_128},
	{Version: TLS_1_3_VERSION, Cipher: TLS_CIPHER_AES_GCM_256},
	{Version: TLS_1_3_VERSION, Cipher: TLS_CIPHER_CHACHA20_POLY1305},
	{Version: TLS_1_2_VERSION, Cipher: TLS_CIPHER_AES_GCM_128},
	{Version: TLS_1_2_VERSION, Cipher: TLS_CIPHER_AES_GCM_256},
	{Version: TLS_1_2_VERSION, Cipher: TLS_CIPHER_CHACHA20_POLY1305},
}

// Supports reports whether the kernel took both directions' keys of version and cipher.
func (f Features) Supports(version, cipher uint16) bool {
	for _, c := range f.Ciphers {
		if c.Version == version && c.Cipher == cipher {
			return c.TX && c.RX
		}
	}
	return false
}

// ProbeFeatures finds out what kernel TLS can do here, for the startup log
// and the policies built on it: ULPAvailable, then for each of
// ProbedCiphers, throwaway keys installed with setsockopt on both ends of a
// fresh loopback TCP connection (which also lets a privileged process
// autoload the cipher modules), then a second set of TLS 1.3 keys on the
// same sockets (rekey) and TLS_RX_EXPECT_NO_PAD.
func ProbeFeatures() Features {
	var f Features
	f.Available, f.Reason = ULPAvailable()
	if !f.Available {
		return f
	}
	for _, c := range ProbedCiphers {
		c.TX, c.RX = probeCipher(c.Version, c.Cipher, false)
		f.Ciphers = append(f.Ciphers, c)
	}
	f.Rekey, f.RXExpectNoPad = probeCipher(TLS_1_3_VERSION, TLS_CIPHER_AES_GCM_128, true)
	return f
}

// probeCipher installs zero keys of version and cipher on a fresh loopback
// connection. Without extras it reports whether TX and RX keys were taken;
// with extras, whether new TX keys were then taken (rekey) and whether
// TLS_RX_EXPECT_NO_PAD was.
func probeCipher(version, cipher uint16, extras bool) (tx, rx bool) {
	client, server, err := ulpProbePair()
	if err != nil {
		return false, false
	}
	defer unix.Close(client)
	defer unix.Close(server)
	l := cipherLayouts[cipher]
	keys := func() *CryptoInfo {
		return &CryptoInfo{Version: version, Cipher: cipher,
			Key: make([]byte, l.keySize), IV: make([]byte, l.ivSize), Salt: make([]byte, l.saltSize)}
	}
	if EnableULP(server) != nil {
		return false, false
	}
	tx = InstallTX(server, keys()) == nil
	rx = InstallRX(server, keys()) == nil
	if !extras {
		return tx, rx
	}
	rekey := tx && InstallTX(server, keys()) == nil
	noPad := unix.SetsockoptInt(server, unix.SOL_TLS, TLS_RX_EXPECT_NO_PAD, 1) == nil
	return rekey, noPad
}

// String is the startup log's summary: which versions and ciphers the
// kernel takes in each direction, rekey, and TLS_RX_EXPECT_NO_PAD.
func (f Features) String() string {
	if !f.Available {
		return f.Reason
	}
	var both, partial, none []string
	for _, c := range f.Ciphers {
		name := VersionName(c.Version) + " " + CipherName(c.Cipher)
		switch {
		case c.TX && c.RX:
			both = append(both, name)
		case c.TX || c.RX:
			partial = append(partial, fmt.Sprintf("%s (TX %v, RX %v)", name, c.TX, c.RX))
		default:
			none = append(none, name)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s; TX+RX: %s", f.Reason, listOrNone(both))
	if len(partial) > 0 {
		fmt.Fprintf(&b, "; one direction only: %s", strings.Join(partial, ", "))
	}
	if len(none) > 0 {
		fmt.Fprintf(&b, "; refused: %s", strings.Join(none, ", "))
	}
	if f.Rekey {
		b.WriteString("; TLS 1.3 rekey: yes")
	} else {
		b.WriteString("; TLS 1.3 rekey: no (Linux < 6.14)")
	}
	fmt.Fprintf(&b, "; TLS_RX_EXPECT_NO_PAD: %s", map[bool]string{true: "yes", false: "no"}[f.RXExpectNoPad])
	return b.String()
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// VersionName is "TLS1.2" or "TLS1.3" for a crypto_info version.
func VersionName(version uint16) string {
	switch version {
	case TLS_1_2_VERSION:
		return "TLS1.2"
	case TLS_1_3_VERSION:
		return "TLS1.3"
	}
	return fmt.Sprintf("version %#04x", version)
}

// CipherName is the kernel's name of a TLS_CIPHER_* number.
func CipherName(cipher uint16) string {
	switch cipher {
	case TLS_CIPHER_AES_GCM_128:
		return "AES-GCM-128"
	case TLS_CIPHER_AES_GCM_256:
		return "AES-GCM-256"
	case TLS_CIPHER_CHACHA20_POLY1305:
		return "CHACHA20-POLY1305"
	}
	return fmt.Sprintf("cipher %d", cipher)
}
