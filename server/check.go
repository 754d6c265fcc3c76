package server

import (
	"log/slog"

	"lwango/kernel"
	"lwango/site"
)

// Check validates what New would refuse, without binding anything: every
// handler of cfg can be built, the listener addresses are ones the server
// can listen on, every TLS certificate loads and matches its key, the
// ticket key file is good and ktls = "require" has a kernel that can.
// Errors name the file, the line and the key.
func Check(cfg *site.Config) error {
	if err := cfg.Check(); err != nil {
		return err
	}
	if err := checkAddress(cfg.Listener); err != nil {
		return cfg.Errorf("listener", "%v", err)
	}
	if cfg.TLS != nil {
		if err := checkAddress(cfg.TLS.Address); err != nil {
			return cfg.Errorf("tls_listener.address", "%v", err)
		}
		st, err := buildTLSSettings(cfg, nil, kernel.ProbeFeatures, slog.New(slog.DiscardHandler))
		if err != nil {
			return err
		}
		st.dropNewKeys(nil)
	}
	return nil
}

// checkAddress reports whether the server can listen on a: a socket
// systemd passes is only known when the server starts.
func checkAddress(a site.Address) error {
	if a.Systemd != "" {
		return nil
	}
	_, err := kernel.ParseListenAddr(a.String())
	return err
}
