package server

import (
	"log/slog"

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
}

// ulpProbe reports whether the kernel has the tls ULP, and why:
// kernel.ULPAvailable, or a stand-in in tests.
type ulpProbe func() (bool, string)

// newKernelTLSPolicy applies a tls_listener's ktls setting to what the
// kernel offers and logs one line saying which record layer is in effect
// and why. ktls = "require" on a kernel without the tls ULP is a startup
// error naming the configuration key.
//
//	auto:    kernel TLS when the kernel takes the keys, else user space per connection
//	require: kernel TLS or nothing
//	off:     user space
func newKernelTLSPolicy(cfg *site.Config, probe ulpProbe, log *slog.Logger) (kernelTLSPolicy, error) {
	mode := cfg.TLS.KTLS
	address := cfg.TLS.Address.String()
	if mode == site.KTLSOff {
		log.Info("TLS records in user space: ktls = \"off\"", "address", address)
		return kernelTLSPolicy{}, nil
	}
	ok, reason := probe()
	switch {
	case ok:
		log.Info("TLS records in the kernel (kTLS) after each handshake: "+reason, "address", address, "ktls", ktlsSetting(mode))
		return kernelTLSPolicy{handOff: true, required: mode == site.KTLSRequire}, nil
	case mode == site.KTLSRequire:
		return kernelTLSPolicy{}, cfg.Errorf("tls_listener.ktls", `"require", but %s; load it or set ktls = "auto"`, reason)
	}
	log.Warn("TLS records in user space: "+reason, "address", address, "ktls", "auto")
	return kernelTLSPolicy{}, nil
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
func (p kernelTLSPolicy) tryKernel(fd int, records *tlsstate.Records, leftover []byte, log *slog.Logger) (*ktlsTransport, error) {
	if !p.handOff {
		return nil, nil
	}
	if log == nil {
		log = slog.Default()
	}
	t, err := handOffToKernel(fd, records, leftover, log)
	if err != nil && !p.required {
		log.Debug("TLS connection stays in user space", "reason", err)
		return nil, nil
	}
	return t, err
}
