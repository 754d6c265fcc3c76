package tlsstate

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"

	"lwango/tlsstate/ticket"
)

// Config is one listener's TLS configuration. It is read-only once handed to
// NewServer and may be shared by every connection of every loop. To reload
// (new certificates, new ticket key file), build and Validate a new Config
// and swap the pointer that new connections read (an atomic.Pointer per
// listener): a handshake in progress keeps the Config it started with.
// Keep the same TicketKeys across reloads that do not change the key file,
// or every session issued so far stops resuming.
type Config struct {
	// Certificates are chosen by the client's server name (SNI): one whose
	// leaf names it exactly, else one with a matching "*." wildcard, else
	// the first, the default; among equals, the first whose key can sign
	// with a scheme the client accepts. At least one is required.
	Certificates []*Certificate
	// CipherSuites in server preference order, TLS 1.3 and TLS 1.2 suites
	// in one list (each version uses its own); nil means
	// DefaultCipherSuites and DefaultCipherSuites12.
	CipherSuites []CipherSuite
	// MinVersion and MaxVersion bound the protocol versions spoken
	// (VersionTLS12 or VersionTLS13); 0 means TLS 1.2 and TLS 1.3.
	MinVersion, MaxVersion uint16
	// RequireExtendedMasterSecret refuses TLS 1.2 clients that do not offer
	// the extended master secret (RFC 7627) with handshake_failure.
	RequireExtendedMasterSecret bool
	// Groups in server preference order; nil means DefaultGroups. A group for
	// which the client sent a key share is chosen in this order; if there is
	// none, the first group the client supports is asked for with a
	// HelloRetryRequest.
	Groups []Group
	// NextProtos are the ALPN protocols in server preference order; nil
	// means just "http/1.1".
	NextProtos []string
	// Rand is the source of server randoms and ephemeral keys; nil means
	// crypto/rand. Per handshake it is read in this order: 32 bytes of
	// ServerHello.random, then the ephemeral private scalar.
	Rand io.Reader
	// Now is the clock tickets are issued and judged by; nil means
	// time.Now. (The handshake deadline is the event loop's: a handshake
	// runs under the connection's request-read deadline.)
	Now func() time.Time
	// MaxEarlyData is how many bytes of 0-RTT data (which this server never
	// accepts) are skipped before the connection is refused (RFC 8446
	// §4.2.10); 0 means 16 KiB.
	MaxEarlyData int
	// RekeyAfterRecords is how many records are sent under one key before
	// the record layer sends a KeyUpdate; 0 means the suite's safe default.
	RekeyAfterRecords uint64

	// TicketKeys seal and open session tickets; nil means no resumption:
	// no tickets are issued and none is accepted. The keys may be shared
	// by the Configs of every listener and every instance of a fleet (a
	// ticket key file), so that each resumes the others' sessions. Random
	// keys rotate in place (the owner calls Rotate on its tick); to load
	// new keys, build a new Config and swap it in for new connections.
	TicketKeys *ticket.Keys
	// SessionTickets is how many NewSessionTickets a TLS 1.3 handshake
	// sends (clients use each ticket once); 0 means 2. TLS 1.2 sends one.
	SessionTickets int
	// TicketLifetime is how long a ticket resumes its session; 0 means
	// 24 hours. It is capped at 7 days (RFC 8446 §4.6.1) and at the
	// TicketKeys' accept window (ticket.Keys.LifetimeLimit), so a ticket
	// never outlives the key that sealed it.
	TicketLifetime time.Duration
}

// maxSessionTickets bounds Config.SessionTickets: a few tickets cover a
// browser's parallel connections; more only cost CPU and bytes.
const maxSessionTickets = 16

// Validate reports a configuration the server cannot run with.
func (c *Config) Validate() error {
	if len(c.Certificates) == 0 {
		return errors.New("tls: no certificate configured")
	}
	for i, cert := range c.Certificates {
		if err := cert.check(); err != nil {
			return fmt.Errorf("certificate %d: %w", i, err)
		}
	}
	for _, s := range c.CipherSuites {
		if suiteByID(s) == nil && suite12ByID(s) == nil {
			return fmt.Errorf("tls: cipher suite %v is not supported", s)
		}
	}
	for _, v := range []uint16{c.MinVersion, c.MaxVersion} {
		if v != 0 && v != VersionTLS12 && v != VersionTLS13 {
			return fmt.Errorf("tls: protocol version %#04x is not supported (want TLS 1.2 or 1.3)", v)
		}
	}
	if c.minVersion() > c.maxVersion() {
		return errors.New("tls: MinVersion is above MaxVersion")
	}
	if !c.tls13Enabled() && !c.tls12Enabled() {
		return errors.New("tls: no cipher suite for the enabled protocol versions")
	}
	for _, g := range c.Groups {
		if !g.known() {
			return fmt.Errorf("tls: group %v is not supported", g)
		}
	}
	if c.SessionTickets < 0 || c.SessionTickets > maxSessionTickets {
		return fmt.Errorf("tls: %d session tickets per handshake (want 0 for the default, up to %d)", c.SessionTickets, maxSessionTickets)
	}
	if c.TicketLifetime < 0 {
		return fmt.Errorf("tls: negative ticket lifetime %v", c.TicketLifetime)
	}
	return nil
}

func (c *Config) cipherSuites() []CipherSuite {
	if c.CipherSuites == nil {
		return DefaultCipherSuites
	}
	return c.CipherSuites
}

func (c *Config) groups() []Group {
	if c.Groups == nil {
		return DefaultGroups
	}
	return c.Groups
}

var defaultNextProtos = []string{"http/1.1"}

func (c *Config) nextProtos() []string {
	if c.NextProtos == nil {
		return defaultNextProtos
	}
	return c.NextProtos
}

func (c *Config) rand() io.Reader {
	if c.Rand == nil {
		return rand.Reader
	}
	return c.Rand
}

func (c *Config) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

func (c *Config) maxEarlyData() int {
	if c.MaxEarlyData == 0 {
		return 16 << 10
	}
	return c.MaxEarlyData
}

func (c *Config) sessionTickets() int {
	if c.SessionTickets == 0 {
		return 2
	}
	return c.SessionTickets
}

// ticketLifetime is the lifetime of a ticket issued now, in whole seconds;
// 0 means issue none (no ticket keys, or a key schedule that accepts
// retired keys for less than a second).
func (c *Config) ticketLifetime() time.Duration {
	d := c.TicketLifetime
	if d == 0 {
		d = defaultTicketLifetime
	}
	d = min(d, maxTicketLifetime)
	if c.TicketKeys == nil {
		return 0
	}
	if limit, limited := c.TicketKeys.LifetimeLimit(); limited {
		d = min(d, limit)
	}
	return d.Truncate(time.Second)
}
