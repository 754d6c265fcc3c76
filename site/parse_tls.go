package site

import "strings"

// knownCiphers are the cipher suites a [tls_listener] may name, by IANA name.
var knownCiphers = []string{
	"TLS_AES_128_GCM_SHA256",
	"TLS_AES_256_GCM_SHA384",
	"TLS_CHACHA20_POLY1305_SHA256",
	"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
	"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
	"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
	"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
	"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
	"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
}

// knownGroups are the key exchange groups a [tls_listener] may name, by
// IANA name.
var knownGroups = []string{"X25519MLKEM768", "x25519", "secp256r1", "secp384r1"}

// canonical returns the entry of known equal to s ignoring case.
func canonical(known []string, s string) (string, bool) {
	for _, k := range known {
		if strings.EqualFold(k, s) {
			return k, true
		}
	}
	return "", false
}

func (v *validator) tlsListener(raw *fileTLSListener) *TLSListener {
	t := &TLSListener{HSTS: raw.HSTS, RedirectHTTP: raw.RedirectHTTP, Cert: raw.Cert, Key: raw.Key}
	if raw.Address == "" {
		v.fail("tls_listener.address", "missing; e.g. address = \"*:8443\"")
	} else {
		t.Address = v.address("tls_listener.address", raw.Address)
	}
	switch {
	case raw.Cert != "" && raw.Key == "":
		v.fail("tls_listener.key", "missing: cert is set, so key must be too")
	case raw.Cert == "" && raw.Key != "":
		v.fail("tls_listener.cert", "missing: key is set, so cert must be too")
	}
	t.Ciphers = v.names("tls_listener.ciphers", "cipher suite", knownCiphers, raw.Ciphers)
	t.Groups = v.names("tls_listener.groups", "group", knownGroups, raw.Groups)
	t.MinVersion = v.tlsVersion("tls_listener.min_version", raw.MinVersion, TLS12)
	t.MaxVersion = v.tlsVersion("tls_listener.max_version", raw.MaxVersion, TLS13)
	if t.MinVersion > t.MaxVersion {
		v.fail("tls_listener.min_version", "min_version %q is above max_version %q", raw.MinVersion, raw.MaxVersion)
	}
	switch raw.KTLS {
	case "", "auto":
		t.KTLS = KTLSAuto
	case "require":
		t.KTLS = KTLSRequire
	case "off":
		t.KTLS = KTLSOff
	default:
		v.fail("tls_listener.ktls", "must be \"auto\", \"require\" or \"off\", got %q", raw.KTLS)
	}
	return t
}

func (v *validator) names(key, what string, known, names []string) []string {
	if names == nil {
		return nil
	}
	if len(names) == 0 {
		v.fail(key, "empty list; leave the key out for the defaults")
	}
	out := make([]string, 0, len(names))
	seen := map[string]bool{}
	for _, n := range names {
		c, ok := canonical(known, n)
		if !ok {
			v.fail(key, "unknown %s %q (known: %s)", what, n, strings.Join(known, ", "))
			continue
		}
		if seen[c] {
			v.fail(key, "%s %q is listed twice", what, n)
		}
		seen[c] = true
		out = append(out, c)
	}
	return out
}

func (v *validator) tlsVersion(key, s string, def TLSVersion) TLSVersion {
	switch s {
	case "":
		return def
	case "1.2":
		return TLS12
	case "1.3":
		return TLS13
	}
	v.fail(key, "must be \"1.2\" or \"1.3\", got %q", s)
	return def
}
