package tlsstate

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"testing"
	"time"

	"lwango/tlsstate/ticket"
)

// TestResume13GoClient: Go's client with a session cache resumes from our
// tickets, with ECDSA and RSA certificates; the resumed handshake still
// runs ECDHE (psk_dhe_ke), sends no certificate, and the connection carries
// a request and a response through the record layer. The tickets went out
// as record 0 of the server's application key, so the Session handed over
// at Complete says TX.Seq 1; "pong" sealed from there decrypts in the
// client, which it would not at any other sequence number.
func TestResume13GoClient(t *testing.T) {
	for _, certName := range []string{"ecdsa-p256", "rsa-2048"} {
		t.Run(certName, func(t *testing.T) {
			cfg := ticketConfig(certName, randomTicketKeys(t))
			ccfg := resumingClient(cfg.Certificates[0], VersionTLS13)

			first := connectGo(t, cfg, ccfg)
			if first.cs.DidResume || first.sess.Resumed {
				t.Fatal("first connection resumed")
			}
			if first.txSeqAtComplete != 1 {
				t.Errorf("TX.Seq at Complete %d, want 1 (one record of tickets)", first.txSeqAtComplete)
			}
			for i := range 3 {
				c := connectGo(t, cfg, ccfg)
				if !c.cs.DidResume || !c.sess.Resumed {
					t.Fatalf("connection %d: client DidResume %v, server Resumed %v", i+2, c.cs.DidResume, c.sess.Resumed)
				}
				if c.cs.CurveID == 0 {
					t.Error("resumed without an ECDHE exchange")
				}
				if c.txSeqAtComplete != 1 {
					t.Errorf("resumed TX.Seq at Complete %d, want 1", c.txSeqAtComplete)
				}
				if c.sess.ServerName != "localhost" || c.sess.ALPN != "http/1.1" {
					t.Errorf("resumed session %q %q", c.sess.ServerName, c.sess.ALPN)
				}
			}
		})
	}
}

// TestResume13TicketCount: SessionTickets sets how many tickets follow the
// handshake; without ticket keys none is sent and TX.Seq stays 0.
func TestResume13TicketCount(t *testing.T) {
	cfg := testConfig("ecdsa-p256")
	c := connectGo(t, cfg, resumingClient(cfg.Certificates[0], VersionTLS13))
	if c.txSeqAtComplete != 0 {
		t.Errorf("no ticket keys: TX.Seq %d, want 0", c.txSeqAtComplete)
	}
	ccfg := resumingClient(cfg.Certificates[0], VersionTLS13)
	if c := connectGo(t, cfg, ccfg); c.cs.DidResume {
		t.Error("resumed without ticket keys")
	}
	if c := connectGo(t, cfg, ccfg); c.cs.DidResume {
		t.Error("resumed without ticket keys")
	}

	for _, n := range []int{1, 5} {
		cfg := ticketConfig("ecdsa-p256", randomTicketKeys(t))
		cfg.SessionTickets = n
		srv, out := completeScripted(t, cfg)
		tickets := srv.client.readTickets(out)
		if len(tickets) != n {
			t.Errorf("SessionTickets %d: got %d tickets", n, len(tickets))
		}
	}
}

// TestResume13SharedKeyFile: two servers whose keys come from the same key
// file resume each other's sessions; a server with another file does not.
func TestResume13SharedKeyFile(t *testing.T) {
	dir := t.TempDir()
	fileA, fileB := filepath.Join(dir, "a.key"), filepath.Join(dir, "b.key")
	for _, f := range []string{fileA, fileB} {
		if err := os.WriteFile(f, randomBytes(2*ticket.KeySize), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	load := func(path string) *ticket.Keys {
		k, err := ticket.FromFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	for _, version := range []uint16{VersionTLS13, VersionTLS12} {
		t.Run(versionName(version), func(t *testing.T) {
			one := ticketConfig("ecdsa-p256", load(fileA))
			two := ticketConfig("ecdsa-p256", load(fileA))
			other := ticketConfig("ecdsa-p256", load(fileB))
			ccfg := resumingClient(one.Certificates[0], version)
			connectGo(t, one, ccfg)
			if c := connectGo(t, other, ccfg); c.cs.DidResume {
				t.Error("a server with another key file resumed the session")
			}
			// The full handshake with other replaced the cached session;
			// start again from one.
			connectGo(t, one, ccfg)
			if c := connectGo(t, two, ccfg); !c.cs.DidResume {
				t.Error("a server with the same key file did not resume the session")
			}
		})
	}
}

// TestResume13Expiry: a ticket past its lifetime, or one whose age the
// client reports far from the server's count, gives a full handshake.
func TestResume13Expiry(t *testing.T) {
	cases := []struct {
		name    string
		advance time.Duration
		resume  bool
	}{
		{"young", 2 * time.Second, true},
		{"age mismatch", time.Minute, false},
		{"expired", 2 * time.Hour, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			cfg := ticketConfig("ecdsa-p256", randomTicketKeys(t))
			cfg.Now = clock.Now
			cfg.TicketLifetime = time.Hour
			ccfg := resumingClient(cfg.Certificates[0], VersionTLS13)
			connectGo(t, cfg, ccfg)
			clock.advance(tc.advance)
			if c := connectGo(t, cfg, ccfg); c.cs.DidResume != tc.resume {
				t.Errorf("DidResume %v, want %v", c.cs.DidResume, tc.resume)
			}
		})
	}
}

// TestResume13SuiteHash: a session resumes under another suite with the
// same hash (RFC 8446 §4.2.11), not under one with another hash.
func TestResume13SuiteHash(t *testing.T) {
	keys := randomTicketKeys(t)
	cases := []struct {
		later  CipherSuite
		resume bool
	}{
		{ChaCha20Poly1305SHA256, true},
		{AES256GCMSHA384, false},
	}
	for _, tc := range cases {
		t.Run(tc.later.String(), func(t *testing.T) {
			first := ticketConfig("ecdsa-p256", keys)
			first.CipherSuites = []CipherSuite{AES128GCMSHA256}
			later := ticketConfig("ecdsa-p256", keys)
			later.CipherSuites = []CipherSuite{tc.later}
			ccfg := resumingClient(first.Certificates[0], VersionTLS13)
			connectGo(t, first, ccfg)
			c := connectGo(t, later, ccfg)
			if c.cs.DidResume != tc.resume || c.sess.CipherSuite != tc.later {
				t.Errorf("DidResume %v with %v, want %v", c.cs.DidResume, c.sess.CipherSuite, tc.resume)
			}
		})
	}
}

// TestResume13ServerName: a session is resumed only under the server name
// it was issued for.
func TestResume13ServerName(t *testing.T) {
	cfg := ticketConfig("ecdsa-p256", randomTicketKeys(t))
	ccfg := resumingClient(cfg.Certificates[0], VersionTLS13)
	connectGo(t, cfg, ccfg)
	// Go's cache is keyed by ServerName; a custom cache replays the
	// session under another name.
	ccfg.ClientSessionCache = &renamingCache{ClientSessionCache: ccfg.ClientSessionCache, from: "localhost"}
	other := ccfg.Clone()
	other.ServerName = "other.example"
	if c := connectGo(t, cfg, other); c.cs.DidResume {
		t.Error("resumed a session under another server name")
	}
}

// renamingCache answers lookups for any name with the session cached under
// from.
type renamingCache struct {
	tls.ClientSessionCache
	from string
}

func (c *renamingCache) Get(string) (*tls.ClientSessionState, bool) {
	return c.ClientSessionCache.Get(c.from)
}

func versionName(v uint16) string {
	if v == VersionTLS12 {
		return "TLS1.2"
	}
	return "TLS1.3"
}
