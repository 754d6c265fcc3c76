package tlsstate

import (
	"bytes"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
)

// TestResume12GoClient: Go's TLS 1.2 client with a session cache resumes
// from our RFC 5077 tickets with ECDSA and RSA certificates; the resumed
// connection carries a request and a response through the record layer,
// whose sequence numbers start where the Session says (1 in each
// direction after the abbreviated handshake too).
func TestResume12GoClient(t *testing.T) {
	for _, certName := range []string{"ecdsa-p256", "rsa-2048"} {
		t.Run(certName, func(t *testing.T) {
			cfg := ticketConfig(certName, randomTicketKeys(t))
			ccfg := resumingClient(cfg.Certificates[0], VersionTLS12)
			first := connectGo(t, cfg, ccfg)
			if first.cs.DidResume || first.sess.Resumed || first.sess.Version != VersionTLS12 {
				t.Fatalf("first connection: resumed %v, version %x", first.cs.DidResume, first.sess.Version)
			}
			for i := range 3 {
				c := connectGo(t, cfg, ccfg)
				if !c.cs.DidResume || !c.sess.Resumed {
					t.Fatalf("connection %d: client DidResume %v, server Resumed %v", i+2, c.cs.DidResume, c.sess.Resumed)
				}
				if c.txSeqAtComplete != 1 || c.cs.CipherSuite != uint16(first.sess.CipherSuite) {
					t.Errorf("resumed TX.Seq %d, suite %x", c.txSeqAtComplete, c.cs.CipherSuite)
				}
			}
		})
	}
}

// TestResume12Expiry: a TLS 1.2 ticket past its lifetime gives a full
// handshake.
func TestResume12Expiry(t *testing.T) {
	clock := newFakeClock()
	cfg := ticketConfig("ecdsa-p256", randomTicketKeys(t))
	cfg.Now = clock.Now
	cfg.TicketLifetime = time.Hour
	ccfg := resumingClient(cfg.Certificates[0], VersionTLS12)
	connectGo(t, cfg, ccfg)
	clock.advance(30 * time.Minute)
	if c := connectGo(t, cfg, ccfg); !c.cs.DidResume {
		t.Fatal("a young ticket did not resume")
	}
	clock.advance(61 * time.Minute)
	if c := connectGo(t, cfg, ccfg); c.cs.DidResume {
		t.Fatal("resumed from a ticket past its lifetime")
	}
}

// scripted12 runs a full scripted TLS 1.2 handshake with hello edited by
// edit and returns the client, the server and the server's last output.
func scripted12(t *testing.T, cfg *Config, edit func(*helloSpec)) (*testClient12, *Server, []byte) {
	t.Helper()
	c := &testClient12{t: t}
	h := newHello12(randomBytes(32))
	edit(h)
	srv := NewServer(cfg)
	_, out, p := srv.Advance(c.helloRecord(h), nil)
	if p != NeedInput {
		t.Fatalf("ClientHello: %v %v", p, srv.Failure())
	}
	c.readServerFlight(out, cfg.Certificates[0])
	_, out, p = srv.Advance(c.finalFlight(), nil)
	if p != Complete {
		t.Fatalf("final flight: %v %v", p, srv.Failure())
	}
	return c, srv, out
}

// splitTicket12 takes the plaintext NewSessionTicket record off the front
// of out, adds it to the client's transcript and returns the ticket.
func (c *testClient12) splitTicket12(out []byte) (ticket []byte, lifetime uint32, rest []byte) {
	c.t.Helper()
	rec, n, err := nextRecord(out, maxCiphertext12)
	if err != nil || n == 0 || rec.typ != typeHandshake || rec.payload[0] != msgNewSessionTicket {
		c.t.Fatalf("no NewSessionTicket record before ChangeCipherSpec: %x", out)
	}
	s := cryptobyte.String(rec.payload[4:])
	var body cryptobyte.String
	if !s.ReadUint32(&lifetime) || !s.ReadUint16LengthPrefixed(&body) || !s.Empty() {
		c.t.Fatal("malformed NewSessionTicket")
	}
	c.transcript.Write(rec.payload)
	return body, lifetime, out[n:]
}

func withTicket(ticket []byte) func(*helloSpec) {
	return func(h *helloSpec) {
		h.sessionID = bytes.Repeat([]byte{0x5e}, 32)
		h.set(extSessionTicket, ticket)
	}
}

// resumeScripted12 offers ticket with the master secret the client expects
// it to carry, and plays the abbreviated handshake. It reports whether the
// server resumed; if it did not, it checks that the server answered with a
// full handshake's flight.
func resumeScripted12(t *testing.T, cfg *Config, ticket, master []byte, edit func(*helloSpec)) bool {
	t.Helper()
	c, srv, fin := startResumed12(t, cfg, ticket, master, edit)
	if c == nil {
		return false
	}
	in := append(plainRecord(typeChangeCipherSpec, []byte{1}), c.protect(typeHandshake, fin)...)
	if _, out, p := srv.Advance(in, nil); p != Complete || len(out) != 0 {
		t.Fatalf("client Finished: %v %v, %d bytes out", p, srv.Failure(), len(out))
	}
	sess := srv.Session()
	if !sess.Resumed || sess.TX.Seq != 1 || sess.RX.Seq != 1 {
		t.Errorf("resumed session: %v, TX.Seq %d, RX.Seq %d", sess.Resumed, sess.TX.Seq, sess.RX.Seq)
	}
	return true
}

// startResumed12 plays the abbreviated handshake up to the client's
// ChangeCipherSpec: it returns the client (nil if the server did a full
// handshake, which it checks), the server waiting for the client's
// Finished, and that Finished.
func startResumed12(t *testing.T, cfg *Config, ticket, master []byte, edit func(*helloSpec)) (*testClient12, *Server, []byte) {
	t.Helper()
	c := &testClient12{t: t}
	h := newHello12(randomBytes(32))
	withTicket(ticket)(h)
	if edit != nil {
		edit(h)
	}
	srv := NewServer(cfg)
	_, out, p := srv.Advance(c.helloRecord(h), nil)
	if p != NeedInput {
		t.Fatalf("ClientHello: %v %v", p, srv.Failure())
	}
	rec, n, _ := nextRecord(out, maxCiphertext12)
	if rec.typ != typeHandshake || rec.payload[0] != msgServerHello {
		t.Fatalf("no ServerHello: %x", out)
	}
	hello := rec.payload
	// ServerHello: version, random, session ID.
	sid := hello[4+2+32+1 : 4+2+32+1+int(hello[4+2+32])]
	if !bytes.Equal(sid, h.sessionID) {
		c.readServerFlight(out, cfg.Certificates[0]) // a full handshake, checked whole
		return nil, nil, nil
	}
	// Resumed: ServerHello and NewSessionTicket may share a record.
	msgs := rec.payload
	out = out[n:]
	for !bytes.HasPrefix(out, changeCipherSpecRecord) {
		rec, n, err := nextRecord(out, maxCiphertext12)
		if err != nil || n == 0 || rec.typ != typeHandshake {
			t.Fatalf("resumed flight: %x", out)
		}
		msgs = append(msgs, rec.payload...)
		out = out[n:]
	}
	c.serverRandom = hello[6:38]
	c.suite = suite12ByID(CipherSuite(uint16(hello[4+2+32+1+len(sid)])<<8 | uint16(hello[4+2+32+1+len(sid)+1])))
	c.transcript = c.suite.newHash()
	c.transcript.Write(c.hello)
	var types []uint8
	for len(msgs) > 0 {
		l := 4 + (int(msgs[1])<<16 | int(msgs[2])<<8 | int(msgs[3]))
		types = append(types, msgs[0])
		c.transcript.Write(msgs[:l])
		msgs = msgs[l:]
	}
	if !bytes.Equal(types, []uint8{msgServerHello, msgNewSessionTicket}) {
		t.Fatalf("resumed flight messages %v, want ServerHello, NewSessionTicket", types)
	}
	c.master = master
	kb := c.suite.keyBlock(master, c.random, c.serverRandom)
	c.tx, _ = newRecordCipher12(c.suite, kb.clientKey, kb.clientIV)
	c.rx, _ = newRecordCipher12(c.suite, kb.serverKey, kb.serverIV)
	serverFin := finishedMessage(c.suite.finishedVerifyData(master, serverFinishedLabel, c.transcript.Sum(nil)))
	c.readServerFinish(out)
	c.transcript.Write(serverFin)
	fin := append([]byte{msgFinished, 0, 0, verifyDataLen12}, c.suite.finishedVerifyData(master, clientFinishedLabel, c.transcript.Sum(nil))...)
	return c, srv, fin
}

// TestResume12AlertAfterServerCCS: in the abbreviated handshake the server's
// ChangeCipherSpec and Finished go out first, so an alert while it waits for
// the client's Finished is protected under the server's write key, as
// record 1 (RFC 5246 §7.1: after ChangeCipherSpec every record uses the new
// keys), never in plaintext.
func TestResume12AlertAfterServerCCS(t *testing.T) {
	cfg := ticketConfig("ecdsa-p256", randomTicketKeys(t))
	c, _, out := scripted12(t, cfg, withTicket(nil))
	ticket, _, _ := c.splitTicket12(out)
	cases := []struct {
		name  string
		input func(c *testClient12, fin []byte) []byte
		want  Alert
	}{
		{"wrong Finished", func(c *testClient12, fin []byte) []byte {
			bad := bytes.Clone(fin)
			bad[5] ^= 1
			return append(plainRecord(typeChangeCipherSpec, []byte{1}), c.protect(typeHandshake, bad)...)
		}, AlertDecryptError},
		{"Finished before ChangeCipherSpec", func(c *testClient12, fin []byte) []byte {
			return plainRecord(typeHandshake, fin)
		}, AlertUnexpectedMessage},
		{"empty alert", func(c *testClient12, fin []byte) []byte { return plainRecord(typeAlert, nil) }, AlertUnexpectedMessage},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc, srv, fin := startResumed12(t, cfg, ticket, c.master, nil)
			if rc == nil {
				t.Fatal("did not resume")
			}
			_, out, p := srv.Advance(tc.input(rc, fin), nil)
			if p != Failed {
				t.Fatalf("progress %v, want Failed", p)
			}
			if len(out) > 0 && out[0] == byte(typeAlert) && len(out) == 7 {
				t.Fatalf("alert sent in plaintext after the server's ChangeCipherSpec: %x", out)
			}
			level, a, rest := rc.openAlert(out)
			if level != alertLevelFatal || a != tc.want || len(rest) != 0 {
				t.Fatalf("alert level %d %v (rest %x), want fatal %v; err %v", level, a, rest, tc.want, srv.Failure())
			}
		})
	}
}

// TestResume12Scripted: tickets only for sessions with the extended master
// secret; the NewSessionTicket precedes ChangeCipherSpec and is part of the
// transcript of the server's Finished; the abbreviated handshake works, and
// every ticket that fails a check gives a full handshake.
func TestResume12Scripted(t *testing.T) {
	cfg := ticketConfig("ecdsa-p256", randomTicketKeys(t))
	cfg.TicketLifetime = time.Hour

	c, _, out := scripted12(t, cfg, withTicket(nil))
	if _, ok := c.serverExts[extSessionTicket]; !ok {
		t.Fatal("ServerHello does not promise a ticket")
	}
	ticket, lifetime, rest := c.splitTicket12(out)
	if lifetime != 3600 || len(ticket) == 0 {
		t.Fatalf("ticket of %d bytes, lifetime %d", len(ticket), lifetime)
	}
	c.readServerFinish(rest)
	master := c.master

	c, _, out = scripted12(t, cfg, func(h *helloSpec) { withTicket(nil)(h); h.remove(extExtendedMasterSec) })
	if _, ok := c.serverExts[extSessionTicket]; ok {
		t.Error("a ticket promised to a session without the extended master secret")
	}
	c.readServerFinish(out) // CCS first: no NewSessionTicket

	if !resumeScripted12(t, cfg, ticket, master, nil) {
		t.Fatal("a valid ticket did not resume")
	}

	tampered := bytes.Clone(ticket)
	tampered[20] ^= 1
	state := func(edit func(*ticketState)) []byte {
		st := &ticketState{version: VersionTLS12, suite: c.suite.id, issued: time.Now(), authenticated: time.Now(),
			lifetime: time.Hour, ems: true, serverName: "localhost", secret: bytes.Clone(master)}
		edit(st)
		label := ticketLabel12
		if st.version == VersionTLS13 {
			label = ticketLabel13
		}
		return cfg.sealTicket(st, label)
	}
	full := []struct {
		name   string
		ticket []byte
		edit   func(*helloSpec)
	}{
		{"tampered", tampered, nil},
		{"no extended master secret now", ticket, func(h *helloSpec) { h.remove(extExtendedMasterSec) }},
		{"session without extended master secret", state(func(st *ticketState) { st.ems = false }), nil},
		{"expired", state(func(st *ticketState) { st.issued = time.Now().Add(-2 * time.Hour) }), nil},
		{"other server name", state(func(st *ticketState) { st.serverName = "example.com" }), nil},
		{"TLS 1.3 ticket", state(func(st *ticketState) { st.version = VersionTLS13 }), nil},
		{"suite not offered", ticket, func(h *helloSpec) {
			var kept []uint16
			for _, s := range h.suites {
				if s != uint16(c.suite.id) {
					kept = append(kept, s)
				}
			}
			h.suites = kept
		}},
	}
	if !resumeScripted12(t, cfg, state(func(*ticketState) {}), master, nil) {
		t.Fatal("a ticket forged with the server's own keys did not resume (the test's forgeries would prove nothing)")
	}
	for _, tc := range full {
		t.Run(tc.name, func(t *testing.T) {
			if resumeScripted12(t, cfg, tc.ticket, master, tc.edit) {
				t.Error("resumed")
			}
		})
	}
}

// TestZeroedTicketKeys: keys zeroed by a reload while handshakes still use
// them cost the tickets, never the handshake: TLS 1.3 sends none (TX.Seq
// stays 0), TLS 1.2 keeps its promise with an empty ticket (RFC 5077 §3.3).
func TestZeroedTicketKeys(t *testing.T) {
	keys := randomTicketKeys(t)
	cfg := ticketConfig("ecdsa-p256", keys)
	keys.Zero()

	run, out := completeScripted(t, cfg)
	if len(out) != 0 || run.server.Session().TX.Seq != 0 {
		t.Errorf("TLS 1.3: %d bytes after the handshake", len(out))
	}

	c, _, out := scripted12(t, cfg, withTicket(nil))
	ticket, _, rest := c.splitTicket12(out)
	if len(ticket) != 0 {
		t.Errorf("TLS 1.2: a %d-byte ticket from zeroed keys", len(ticket))
	}
	c.readServerFinish(rest)
}
