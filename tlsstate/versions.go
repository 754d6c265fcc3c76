package tlsstate

// Version negotiation between TLS 1.3 and TLS 1.2 on one listener, and the
// per-version views of the Config.

// Signalling cipher suite values (not real suites).
const (
	// scsvRenegotiation is TLS_EMPTY_RENEGOTIATION_INFO_SCSV (RFC 5746 §3.3).
	scsvRenegotiation uint16 = 0x00ff
	// scsvFallback is TLS_FALLBACK_SCSV (RFC 7507 §2).
	scsvFallback uint16 = 0x5600
)

func (c *Config) minVersion() uint16 {
	if c.MinVersion == 0 {
		return VersionTLS12
	}
	return c.MinVersion
}

func (c *Config) maxVersion() uint16 {
	if c.MaxVersion == 0 {
		return VersionTLS13
	}
	return c.MaxVersion
}

// cipherSuites12 is the configured TLS 1.2 suites in preference order.
func (c *Config) cipherSuites12() []CipherSuite {
	if c.CipherSuites == nil {
		return DefaultCipherSuites12
	}
	var out []CipherSuite
	for _, s := range c.CipherSuites {
		if suite12ByID(s) != nil {
			out = append(out, s)
		}
	}
	return out
}

// tls13Enabled: MaxVersion allows TLS 1.3 and a TLS 1.3 suite is
// configured.
func (c *Config) tls13Enabled() bool {
	if c.maxVersion() < VersionTLS13 {
		return false
	}
	for _, s := range c.cipherSuites() {
		if suiteByID(s) != nil {
			return true
		}
	}
	return false
}

// tls12Enabled: MinVersion allows TLS 1.2 and a TLS 1.2 suite is
// configured.
func (c *Config) tls12Enabled() bool {
	return c.minVersion() <= VersionTLS12 && c.maxVersion() >= VersionTLS12 && len(c.cipherSuites12()) > 0
}

// highestVersion is the best version this listener speaks.
func (c *Config) highestVersion() uint16 {
	if c.tls13Enabled() {
		return VersionTLS13
	}
	return VersionTLS12
}

// clientMaxVersion is the highest real protocol version the client offers:
// from supported_versions when present (RFC 8446 §4.2.1), ignoring GREASE
// and draft values, else legacy_version.
func (ch *clientHello) clientMaxVersion() uint16 {
	if !ch.hasSupportedVersions {
		return ch.legacyVersion
	}
	var best uint16
	for _, v := range ch.supportedVersions {
		if v>>8 == 3 && v <= VersionTLS13 && v > best {
			best = v
		}
	}
	return best
}

// offersSuite reports whether the client's cipher_suites lists id.
func (ch *clientHello) offersSuite(id uint16) bool {
	for _, s := range ch.cipherSuites {
		if s == id {
			return true
		}
	}
	return false
}

// chooseVersion picks the protocol version for a first ClientHello: TLS 1.3
// whenever both sides can; else TLS 1.2 when the client offers it (in
// supported_versions, or by a legacy_version of 0x0303 or more without
// it); else protocol_version. A fallback signal from a client whose best
// version is below ours is inappropriate_fallback (RFC 7507 §3).
func chooseVersion(cfg *Config, ch *clientHello) (uint16, *AlertError) {
	// RFC 8446 Appendix D.5: a legacy_version of SSL 3.0 or lower is
	// protocol_version, whatever supported_versions says.
	if ch.legacyVersion <= 0x0300 {
		return 0, fatal(AlertProtocolVersion, "legacy_version SSL 3.0 or lower")
	}
	if ch.offersSuite(scsvFallback) && ch.clientMaxVersion() < cfg.highestVersion() {
		return 0, fatal(AlertInappropriateFallback, "TLS_FALLBACK_SCSV from a client below our best version")
	}
	if cfg.tls13Enabled() && ch.hasSupportedVersions && ch.offersVersion(VersionTLS13) {
		return VersionTLS13, nil
	}
	offers12 := ch.legacyVersion >= VersionTLS12
	if ch.hasSupportedVersions {
		offers12 = ch.offersVersion(VersionTLS12)
	}
	if offers12 && cfg.tls12Enabled() {
		return VersionTLS12, nil
	}
	return 0, fatal(AlertProtocolVersion, "no protocol version in common")
}
