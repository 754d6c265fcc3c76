package server

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"time"

	"lwango/kernel"
	"lwango/site"
	"lwango/tlsstate"
	"lwango/tlsstate/ticket"
)

// tlsSettings is what a TLS listener's new connections start with: the
// handshake configuration and the kernel-TLS policy. It is read-only once
// published; a reload builds a new one and swaps it whole (tlsListener), and
// a connection keeps the settings it was accepted with until it closes.
type tlsSettings struct {
	config *tlsstate.Config
	kernel kernelTLSPolicy
	// selfSigned is set when the configuration names no certificate and
	// config holds the one made in memory; a reload that still names none
	// keeps it, so that clients do not see it change.
	selfSigned bool
	// randomKeys is set when config.TicketKeys are random keys kept in
	// memory (no ticket_key_file); a reload that still names no file keeps
	// them, so that the sessions issued so far still resume.
	randomKeys bool
}

// buildTLSSettings turns a [tls_listener] section into new connections'
// settings. Everything is read anew: the certificates ([[tls_listener.cert]]
// or cert/key; a self-signed one made in memory when none is named), the
// ticket key file, the cipher suites, groups and protocol versions in the
// configured order.
//
// prev is the settings being replaced (nil at start-up): its self-signed
// certificate and its random ticket keys are kept when the configuration
// still names no certificate or no key file. Errors are *site.Error values
// naming the file, line and key. The result is validated; on error nothing
// new is kept (ticket keys read from a file are zeroed again).
func buildTLSSettings(cfg *site.Config, prev *tlsSettings, probe featureProbe, log *slog.Logger) (*tlsSettings, error) {
	t := cfg.TLS
	st := &tlsSettings{config: &tlsstate.Config{
		MinVersion:                  uint16(t.MinVersion),
		MaxVersion:                  uint16(t.MaxVersion),
		RequireExtendedMasterSecret: t.RequireExtendedMasterSecret,
		SessionTickets:              t.SessionTickets,
	}}
	if t.HTTP2 {
		st.config.NextProtos = []string{"h2", "http/1.1"} // RFC 9113 §3.2
	}
	tc := st.config
	for i, name := range t.Ciphers {
		suite, ok := tlsstate.CipherSuiteByName(name)
		if !ok {
			return nil, cfg.Errorf(fmt.Sprintf("tls_listener.ciphers[%d]", i), "cipher suite %s is not implemented", name)
		}
		tc.CipherSuites = append(tc.CipherSuites, suite)
	}
	for i, name := range t.Groups {
		group, ok := tlsstate.GroupByName(name)
		if !ok {
			return nil, cfg.Errorf(fmt.Sprintf("tls_listener.groups[%d]", i), "group %s is not implemented", name)
		}
		tc.Groups = append(tc.Groups, group)
	}
	if err := st.loadCertificates(cfg, prev, log); err != nil {
		return nil, err
	}
	if err := st.loadTicketKeys(cfg, prev); err != nil {
		return nil, err
	}
	fail := func(err error) (*tlsSettings, error) {
		st.dropNewKeys(prev)
		return nil, err
	}
	if err := tc.Validate(); err != nil {
		return fail(cfg.Errorf("tls_listener", "%v", err))
	}
	policy, err := newKernelTLSPolicy(cfg, probe, log)
	if err != nil {
		return fail(err)
	}
	if prev != nil {
		policy.rekeyAfter = prev.kernel.rekeyAfter
	}
	st.kernel = policy
	return st, nil
}

// loadCertificates reads the configured certificates, or keeps (or makes)
// the self-signed localhost certificate when none is configured, and says
// so: no browser trusts it.
func (st *tlsSettings) loadCertificates(cfg *site.Config, prev *tlsSettings, log *slog.Logger) error {
	certs, err := cfg.LoadCertificates()
	if err != nil {
		return err
	}
	if len(certs) > 0 {
		st.config.Certificates = certs
		return nil
	}
	st.selfSigned = true
	if prev != nil && prev.selfSigned {
		st.config.Certificates = prev.config.Certificates
		return nil
	}
	cert, err := tlsstate.SelfSignedCertificate(rand.Reader, time.Now())
	if err != nil {
		return cfg.Errorf("tls_listener", "generating a self-signed certificate: %v", err)
	}
	log.Warn("tls_listener has no cert and key: serving HTTPS with a self-signed ECDSA P-256 certificate for localhost generated in memory; clients will not trust it",
		"address", cfg.TLS.Address.String())
	st.config.Certificates = []*tlsstate.Certificate{cert}
	return nil
}

// loadTicketKeys reads the ticket key file; without one (and unless
// session_tickets = 0 turns resumption off) it keeps the previous random
// keys or makes new ones, rotated on ticket.DefaultSchedule by the server's
// ticker.
func (st *tlsSettings) loadTicketKeys(cfg *site.Config, prev *tlsSettings) error {
	if cfg.TLS.SessionTickets == 0 {
		return nil
	}
	keys, err := cfg.LoadTicketKeys()
	if err != nil {
		return err
	}
	if keys != nil {
		st.config.TicketKeys = keys
		return nil
	}
	st.randomKeys = true
	if prev != nil && prev.randomKeys {
		st.config.TicketKeys = prev.config.TicketKeys
		return nil
	}
	keys, err = ticket.NewRandom(rand.Reader, time.Now(), ticket.DefaultSchedule)
	if err != nil {
		return cfg.Errorf("tls_listener", "making random session ticket keys: %v", err)
	}
	st.config.TicketKeys = keys
	return nil
}

// dropNewKeys zeroes the ticket keys of settings that will not be used,
// unless they are prev's.
func (st *tlsSettings) dropNewKeys(prev *tlsSettings) {
	if keys := st.config.TicketKeys; keys != nil && (prev == nil || prev.config.TicketKeys != keys) {
		keys.Zero()
	}
}

// newTLSListener prepares what the connections of the [tls_listener] start
// with, logging which record layer is in effect.
func newTLSListener(cfg *site.Config, rekeyAfter uint64) (*tlsListener, error) {
	st, err := buildTLSSettings(cfg, nil, kernel.ProbeFeatures, slog.Default())
	if err != nil {
		return nil, err
	}
	st.kernel.rekeyAfter = rekeyAfter // before publishing: settings are read-only once published
	l := &tlsListener{}
	l.settings.Store(st)
	return l, nil
}
