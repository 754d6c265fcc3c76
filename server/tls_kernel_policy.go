package server

import (
	"log/slog"

	"lwango/kernel"
	"lwango/site"
	"lwango/tlsstate"
)

// kernelTLSPolicy is how a TLS listener's connections use kernel TLS,
// decided once at startup from its ktls setting and the running kernel.
type kernelTLSPolicy struct {
	// handOff: try kernel TLS after each handshake.
	handOff bool
	// required: a connection whose keys the kernel refuses is closed with
	// an alert instead of going on in user space.
	required bool
	// rxNoPad: TLS_RX_EXPECT_NO_PAD on TLS 1.3 connections.
	rxNoPad bool
	// rekey: a client's TLS 1.3 KeyUpdate is followed (ktls_key_update =
	// "rekey" on a kernel that can install new keys); otherwise it closes
	// the connection. rekeyAfter overrides the suite's record limit per
	// transmit key (Options.RekeyAfterRecords, for tests).
	rekey      bool
	rekeyAfter uint64
}

// featureProbe reports what the kernel's TLS offers: kernel.ProbeFeatures,
// or a stand-in in tests.
type featureProbe func() kernel.Features

// newKernelTLSPolicy applies a tls_listener's ktls settings to what the
// kernel offers and logs one line saying which record layer is in effect
// and why, with the kernel's TLS features (versions and ciphers taken in
// each direction, rekey, TLS_RX_EXPECT_NO_PAD) and what becomes of a client
// KeyUpdate. ktls = "require" on a kernel without the tls ULP is a startup
// error naming the configuration key.
//
//	auto:    kernel TLS when the kernel takes the keys, else user space per connection
//	require: kernel TLS or nothing
//	off:     user space
func newKernelTLSPolicy(cfg *site.Config, probe featureProbe, log *slog.Logger) (kernelTLSPolicy, error) {
	mode := cfg.TLS.KTLS
	address := cfg.TLS.Address.String()
	if mode == site.KTLSOff {
		log.Info("TLS records in user space: ktls = \"off\"", "address", address)
		return kernelTLSPolicy{}, nil
	}
	f := probe()
	switch {
	case f.Available:
		p := kernelTLSPolicy{handOff: true, required: mode == site.KTLSRequire,
			rxNoPad: cfg.TLS.RXExpectNoPad && f.RXExpectNoPad, rekey: cfg.TLS.KTLSRekey && f.Rekey}
		log.Info("TLS records in the kernel (kTLS) after each handshake: "+f.String(), "address", address,
			"ktls", ktlsSetting(mode), "ktls_key_update", keyUpdateEffect(cfg.TLS.KTLSRekey, f.Rekey),
			"ktls_rx_expect_no_pad", p.rxNoPad, "memory_erasure", memoryErasureEffect())
		return p, nil
	case mode == site.KTLSRequire:
		return kernelTLSPolicy{}, cfg.Errorf("tls_listener.ktls", `"require", but %s; load it or set ktls = "auto"`, f.Reason)
	}
	log.Warn("TLS records in user space: "+f.Reason, "address", address, "ktls", "auto")
	return kernelTLSPolicy{}, nil
}

// keyUpdateEffect says in the startup line what a client KeyUpdate does.
func keyUpdateEffect(rekey, kernelRekeys bool) string {
	switch {
	case !rekey:
		return "close"
	case kernelRekeys:
		return "rekey"
	}
	return "close (rekey is set, but this kernel cannot take new keys: Linux 6.14 or later needed)"
}

// memoryErasureEffect says in the startup line whether what a handshake
// leaves in memory is erased (eraseAfter): without it, copies of key
// material Go's crypto code left on a stack or in freed heap objects stay
// in the process until overwritten, after the keys went to the kernel.
func memoryErasureEffect() string {
	if memoryErasure {
		return "on"
	}
	return "off (built without GOEXPERIMENT=runtimesecret: copies of key material may stay in memory until overwritten)"
}

// ktlsSetting is the configuration value of a mode.
func ktlsSetting(mode site.KTLSMode) string {
	switch mode {
	case site.KTLSRequire:
		return "require"
	case site.KTLSOff:
		return "off"
	}
	return "auto"
}

// tryKernel moves a connection whose handshake just completed to kernel
// TLS as the policy says (see handOffToKernel for records and leftover).
// It returns nil, nil when the connection stays in user space: the policy
// says so, or the kernel refused the keys under "auto". Under "require" a
// refusal is an error; the caller sends a fatal alert through its record
// layer and closes.
func (p kernelTLSPolicy) tryKernel(fd int, ch *tlsstate.Channel, leftover []byte, log *slog.Logger) (*kernelRecords, error) {
	if !p.handOff {
		return nil, nil
	}
	if log == nil {
		log = slog.Default()
	}
	t, err := handOffToKernel(fd, ch, leftover, p, log)
	if err != nil && !p.required {
		log.Debug("TLS connection stays in user space", "reason", err)
		return nil, nil
	}
	return t, err
}

// protectKeys applies tls_listener.protect_keys before the server serves:
// kernel.DenyKeyReadback (a seccomp filter on every thread under which
// getsockopt(SOL_TLS, TLS_TX/TLS_RX) fails, so that no code in the process
// can read the kernel's TLS keys back; and a non-dumpable process), or a
// warning that it is off. The filter cannot be removed: once installed it
// stays for the life of the process, whatever a reload says.
func protectKeys(cfg *site.Config, log *slog.Logger) error {
	if cfg.TLS == nil {
		return nil
	}
	if !cfg.TLS.ProtectKeys {
		log.Warn("tls_listener.protect_keys = false: kernel TLS keys can be read back with getsockopt(SOL_TLS) by any code in this process, and the process can be dumped; for debugging only")
		return nil
	}
	if err := kernel.DenyKeyReadback(); err != nil {
		return cfg.Errorf("tls_listener.protect_keys", "%v (protect_keys = false serves without it, for debugging only)", err)
	}
	return nil
}
