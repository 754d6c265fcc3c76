package server

import (
	"bytes"
	"crypto/tls"
	"sync"
	"testing"
	"time"
)

// ticketNames is a client session cache that remembers the name of the
// ticket key (the first 16 bytes of every ticket) of the last session the
// server gave it.
type ticketNames struct {
	tls.ClientSessionCache
	mu   sync.Mutex
	last []byte
}

func (c *ticketNames) Put(key string, cs *tls.ClientSessionState) {
	if cs != nil {
		if ticket, _, err := cs.ResumptionState(); err == nil && len(ticket) >= 16 {
			c.mu.Lock()
			c.last = bytes.Clone(ticket[:16])
			c.mu.Unlock()
		}
	}
	c.ClientSessionCache.Put(key, cs)
}

func (c *ticketNames) lastName() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// Random ticket keys (no ticket_key_file) rotate on the server's tick: 12
// hours on, a new key seals the tickets while the replaced one still opens
// its own; 24 hours after it was replaced it is dropped and its sessions
// fall back to a full handshake.
func TestRandomTicketKeysRotate(t *testing.T) {
	s := startTLS(t, certLines(t, "ecdsa-p256"), Options{})
	newSession := func() (*tls.Config, []byte) {
		cache := &ticketNames{ClientSessionCache: tls.NewLRUClientSessionCache(4)}
		cfg := &tls.Config{MinVersion: tls.VersionTLS13, ClientSessionCache: cache}
		getHello(t, s.tlsAddr, cfg)
		return cfg, cache.lastName()
	}
	first, firstName := newSession()
	stale, _ := newSession()
	if firstName == nil {
		t.Fatal("no session ticket")
	}

	start := time.Now()
	s.srv.rotateTicketKeys(start.Add(11 * time.Hour))
	if _, name := newSession(); !bytes.Equal(name, firstName) {
		t.Fatal("the ticket key changed before 12 hours")
	}
	s.srv.rotateTicketKeys(start.Add(13 * time.Hour))
	_, secondName := newSession()
	if bytes.Equal(secondName, firstName) {
		t.Fatal("the ticket key did not change after 12 hours")
	}
	if !getHello(t, s.tlsAddr, first) {
		t.Fatal("a session sealed under the replaced key did not resume")
	}
	s.srv.rotateTicketKeys(start.Add(13*time.Hour + 25*time.Hour))
	if getHello(t, s.tlsAddr, stale) {
		t.Fatal("a session sealed under a key replaced more than 24 hours ago resumed")
	}
}
