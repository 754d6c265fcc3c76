package tlsstate

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"
)

// Config is one listener's TLS configuration. It is read-only once handed to
// NewServer and may be shared by every connection of every loop.
type Config struct {
	// Certificates are tried in order (a leaf valid for the client's SNI
	// first); at least one is required.
	Certificates []*Certificate
	// CipherSuites in server preference order; nil means DefaultCipherSuites.
	CipherSuites []CipherSuite
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
	// Now is the clock for the handshake deadline; nil means time.Now.
	Now func() time.Time
	// HandshakeTimeout bounds a handshake from NewServer to Complete (the
	// event loop enforces it through Server.Deadline); 0 means 10 s.
	HandshakeTimeout time.Duration
	// MaxEarlyData is how many bytes of 0-RTT data (which this server never
	// accepts) are skipped before the connection is refused (RFC 8446
	// §4.2.10); 0 means 16 KiB.
	MaxEarlyData int
	// RekeyAfterRecords is how many records are sent under one key before
	// the record layer sends a KeyUpdate; 0 means the suite's safe default.
	RekeyAfterRecords uint64
	// MaxKeyUpdates is how many KeyUpdates a peer may send in a row without
	// application data in between; 0 means 32.
	MaxKeyUpdates int
}

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
		if suiteByID(s) == nil {
			return fmt.Errorf("tls: cipher suite %v is not supported", s)
		}
	}
	for _, g := range c.Groups {
		if !g.known() {
			return fmt.Errorf("tls: group %v is not supported", g)
		}
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

func (c *Config) handshakeTimeout() time.Duration {
	if c.HandshakeTimeout == 0 {
		return 10 * time.Second
	}
	return c.HandshakeTimeout
}

func (c *Config) maxEarlyData() int {
	if c.MaxEarlyData == 0 {
		return 16 << 10
	}
	return c.MaxEarlyData
}

func (c *Config) maxKeyUpdates() int {
	if c.MaxKeyUpdates == 0 {
		return 32
	}
	return c.MaxKeyUpdates
}
