package server

import (
	"crypto/rand"
	"log/slog"
	"time"

	"lwango/kernel"
	"lwango/site"
	"lwango/tlsstate"
)

// newTLSListener prepares what the connections of the [tls_listener] share.
// Handshakes must finish within handshakeTimeout (the loop enforces it with
// the request-read deadline, under which a handshake runs).
func newTLSListener(cfg *site.Config, handshakeTimeout time.Duration) (*tlsListener, error) {
	tc, err := tlsListenerConfig(cfg, handshakeTimeout)
	if err != nil {
		return nil, err
	}
	policy, err := newKernelTLSPolicy(cfg, kernel.ULPAvailable, slog.Default())
	if err != nil {
		return nil, err
	}
	return &tlsListener{config: tc, kernel: policy}, nil
}

// tlsListenerConfig turns a [tls_listener] section into the handshake's
// configuration: the certificate (from cert/key, or a self-signed one made
// in memory when neither is set), the cipher suites, groups and protocol
// versions in the configured order, and the handshake deadline. A key that
// does not match its certificate is an error naming both files.
func tlsListenerConfig(cfg *site.Config, handshakeTimeout time.Duration) (*tlsstate.Config, error) {
	t := cfg.TLS
	cert, err := tlsCertificate(cfg)
	if err != nil {
		return nil, err
	}
	tc := &tlsstate.Config{
		Certificates:     []*tlsstate.Certificate{cert},
		MinVersion:       uint16(t.MinVersion),
		MaxVersion:       uint16(t.MaxVersion),
		HandshakeTimeout: handshakeTimeout,
	}
	for _, name := range t.Ciphers {
		suite, ok := tlsstate.CipherSuiteByName(name)
		if !ok {
			return nil, &site.Error{File: cfg.File, Key: "tls_listener.ciphers", Msg: "cipher suite " + name + " is not implemented"}
		}
		tc.CipherSuites = append(tc.CipherSuites, suite)
	}
	for _, name := range t.Groups {
		group, ok := tlsstate.GroupByName(name)
		if !ok {
			return nil, &site.Error{File: cfg.File, Key: "tls_listener.groups", Msg: "group " + name + " is not implemented"}
		}
		tc.Groups = append(tc.Groups, group)
	}
	if err := tc.Validate(); err != nil {
		return nil, &site.Error{File: cfg.File, Key: "tls_listener", Msg: err.Error()}
	}
	return tc, nil
}

// tlsCertificate loads the configured certificate and key, or makes the
// self-signed localhost certificate when none is configured (and says so:
// no browser trusts it).
func tlsCertificate(cfg *site.Config) (*tlsstate.Certificate, error) {
	t := cfg.TLS
	if t.Cert == "" && t.Key == "" {
		cert, err := tlsstate.SelfSignedCertificate(rand.Reader, time.Now())
		if err != nil {
			return nil, &site.Error{File: cfg.File, Key: "tls_listener", Msg: "generating a self-signed certificate: " + err.Error()}
		}
		slog.Warn("tls_listener has no cert and key: serving HTTPS with a self-signed ECDSA P-256 certificate for localhost generated in memory; clients will not trust it",
			"address", t.Address.String())
		return cert, nil
	}
	cert, err := tlsstate.LoadCertificateFiles(t.Cert, t.Key)
	if err != nil {
		return nil, &site.Error{File: cfg.File, Key: "tls_listener.cert/key", Msg: err.Error()}
	}
	return cert, nil
}
