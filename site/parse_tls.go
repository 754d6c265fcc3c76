package site

import (
	"fmt"
	"sort"
	"strings"
)

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
var knownGroups = []string{"X25519MLKEM768", "x25519", "secp256r1", "secp384r1", "secp521r1"}

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
	t := &TLSListener{HSTS: raw.HSTS, RedirectHTTP: raw.RedirectHTTP, RequireExtendedMasterSecret: raw.RequireEMS,
		ProtectKeys: raw.ProtectKeys == nil || *raw.ProtectKeys, RXExpectNoPad: raw.RXExpectNoPad, HTTP2: true}
	if raw.HTTP2 != nil {
		t.HTTP2 = *raw.HTTP2
	}
	if raw.Address == "" {
		v.fail("tls_listener.address", "missing; e.g. address = \"*:8443\"")
	} else {
		t.Address = v.address("tls_listener.address", raw.Address)
	}
	t.Certs = v.certificates(raw)
	if len(t.Certs) > 0 {
		t.Cert, t.Key = t.Certs[0].Cert, t.Certs[0].Key
	}
	t.SessionTickets = 2
	if raw.SessionTickets != nil {
		t.SessionTickets = *raw.SessionTickets
		if t.SessionTickets < 0 || t.SessionTickets > maxSessionTickets {
			v.fail("tls_listener.session_tickets", "must be 0 (no session resumption) to %d, got %d", maxSessionTickets, t.SessionTickets)
		}
	}
	if raw.TicketKeyFile != "" {
		if t.SessionTickets == 0 {
			v.fail("tls_listener.ticket_key_file", "set, but session_tickets = 0 disables session tickets; remove one of them")
		}
		t.TicketKeyFile = v.path(raw.TicketKeyFile)
		t.TicketKeyFileLine = v.pos.line("tls_listener.ticket_key_file")
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
	switch raw.KeyUpdate {
	case "", "close":
	case "rekey":
		t.KTLSRekey = true
	default:
		v.fail("tls_listener.ktls_key_update", "must be \"close\" or \"rekey\", got %q", raw.KeyUpdate)
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

// maxSessionTickets bounds session_tickets, as tlsstate does.
const maxSessionTickets = 16

// certificates reads the listener's certificates: cert and key as two file
// names, or cert as [[tls_listener.cert]] tables each with cert and key.
func (v *validator) certificates(raw *fileTLSListener) []CertFiles {
	switch cert := raw.Cert.(type) {
	case nil:
		if raw.Key != "" {
			v.fail("tls_listener.cert", "missing: key is set, so cert must be too")
		}
		return nil
	case string:
		switch {
		case cert == "" && raw.Key == "":
			return nil
		case cert == "":
			v.fail("tls_listener.cert", "missing: key is set, so cert must be too")
		case raw.Key == "":
			v.fail("tls_listener.key", "missing: cert is set, so key must be too")
		}
		return []CertFiles{{Cert: v.path(cert), Key: v.path(raw.Key), ConfigKey: "tls_listener.cert", Line: v.pos.line("tls_listener.cert")}}
	case []any:
		if raw.Key != "" {
			v.fail("tls_listener.key", "a key belongs in each [[tls_listener.cert]] table beside its cert")
		}
		if len(cert) == 0 {
			v.fail("tls_listener.cert", "empty list; leave it out for a self-signed certificate")
		}
		certs := make([]CertFiles, 0, len(cert))
		for i, entry := range cert {
			key := fmt.Sprintf("tls_listener.cert[%d]", i)
			certs = append(certs, v.certificateTable(key, entry))
		}
		return certs
	}
	v.fail("tls_listener.cert", "must be a PEM file name (with key beside it) or [[tls_listener.cert]] tables of cert and key")
	return nil
}

// certificateTable reads one [[tls_listener.cert]] table.
func (v *validator) certificateTable(key string, entry any) CertFiles {
	c := CertFiles{ConfigKey: key, Line: v.pos.line(key)}
	table, ok := entry.(map[string]any)
	if !ok {
		v.fail(key, "must be a table with cert and key")
		return c
	}
	names := make([]string, 0, len(table))
	for name := range table {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		value, isString := table[name].(string)
		switch {
		case name != "cert" && name != "key":
			v.fail(key+"."+name, "unknown key (a certificate has cert and key)")
		case !isString:
			v.fail(key+"."+name, "wrong type: want a string, the name of a PEM file")
		case value == "":
			v.fail(key+"."+name, "empty file name")
		case name == "cert":
			c.Cert = v.path(value)
		default:
			c.Key = v.path(value)
		}
	}
	switch {
	case c.Cert == "" && table["cert"] == nil:
		v.fail(key+".cert", "missing; the certificate chain's PEM file")
	case c.Key == "" && table["key"] == nil:
		v.fail(key+".key", "missing; the private key's PEM file")
	}
	return c
}
