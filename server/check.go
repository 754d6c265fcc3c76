package server

import (
	"lwango/kernel"
	"lwango/site"
)

// Check validates what New would refuse, without binding anything: every
// handler of cfg can be built, the listener addresses are ones the server
// can listen on, and the TLS certificate loads and matches its key.
// Errors name the file and the key.
func Check(cfg *site.Config) error {
	if err := cfg.Check(); err != nil {
		return err
	}
	if cfg.ProxyProtocol {
		return &site.Error{File: cfg.File, Key: "proxy_protocol", Msg: "the PROXY protocol is not supported yet"}
	}
	if _, err := kernel.ParseListenAddr(cfg.Listener.String()); err != nil {
		return &site.Error{File: cfg.File, Key: "listener", Msg: err.Error()}
	}
	if cfg.TLS != nil {
		if _, err := kernel.ParseListenAddr(cfg.TLS.Address.String()); err != nil {
			return &site.Error{File: cfg.File, Key: "tls_listener.address", Msg: err.Error()}
		}
		if _, err := tlsListenerConfig(cfg, 0); err != nil {
			return err
		}
	}
	return nil
}
