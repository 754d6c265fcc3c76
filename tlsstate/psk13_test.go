package tlsstate

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
)

// Scripted TLS 1.3 resumption: our test client presents tickets (real ones,
// tampered ones, forged ones) with binders it computes itself, so that each
// check of choosePSK13 is seen to decide alone.

// scriptedRun is one scripted handshake.
type scriptedRun struct {
	client *testClient
	server *Server
}

// completeScripted runs a handshake of the test client (with edit applied
// to its ClientHello, and psk offered when set through edit) to Complete
// and returns the output that came with Complete.
func completeScripted(t *testing.T, cfg *Config, edit ...func(*testClient, *helloSpec) []byte) (*scriptedRun, []byte) {
	t.Helper()
	c, h := newTestClient(t)
	hello := c.helloRecord(h)
	for _, e := range edit {
		hello = e(c, h)
	}
	srv := NewServer(cfg)
	_, out, p := srv.Advance(hello, nil)
	if p != NeedInput {
		t.Fatalf("ClientHello: %v %v", p, srv.Failure())
	}
	c.readFlight(out)
	_, out, p = srv.Advance(c.protect(typeHandshake, c.finished), nil)
	if p != Complete {
		t.Fatalf("Finished: %v %v", p, srv.Failure())
	}
	return &scriptedRun{client: c, server: srv}, out
}

// issuedTicket is one NewSessionTicket as the client reads it, with the PSK
// it derives.
type issuedTicket struct {
	lifetime, ageAdd uint32
	nonce, ticket    []byte
	psk              []byte
	extensions       []byte
}

// readTickets opens the record of tickets that came with Complete (record 0
// of the server's application key) and parses every NewSessionTicket.
func (c *testClient) readTickets(out []byte) []issuedTicket {
	c.t.Helper()
	if len(out) == 0 {
		return nil
	}
	rx, err := cipherFromSecret(c.suite, c.serverAppSecret)
	if err != nil {
		c.t.Fatal(err)
	}
	rec, n, aerr := nextRecord(out, maxCiphertext13)
	if aerr != nil || n != len(out) {
		c.t.Fatalf("want exactly one record of tickets, got %x", out)
	}
	typ, content, aerr := rx.open(nil, rec)
	if aerr != nil || typ != typeHandshake {
		c.t.Fatalf("ticket record: %v type %d", aerr, typ)
	}
	var tickets []issuedTicket
	s := cryptobyte.String(content)
	for !s.Empty() {
		var msgType uint8
		var body cryptobyte.String
		var it issuedTicket
		var nonce, tk, exts cryptobyte.String
		if !s.ReadUint8(&msgType) || msgType != msgNewSessionTicket || !s.ReadUint24LengthPrefixed(&body) ||
			!body.ReadUint32(&it.lifetime) || !body.ReadUint32(&it.ageAdd) || !body.ReadUint8LengthPrefixed(&nonce) ||
			!body.ReadUint16LengthPrefixed(&tk) || !body.ReadUint16LengthPrefixed(&exts) || !body.Empty() {
			c.t.Fatalf("malformed NewSessionTicket in %x", content)
		}
		it.nonce, it.ticket, it.extensions = nonce, tk, exts
		it.psk = c.suite.expandLabel(c.resumptionSecret, "resumption", it.nonce, c.suite.hashLen)
		tickets = append(tickets, it)
	}
	return tickets
}

// pskOffer is what offerPSK puts in a ClientHello.
type pskOffer struct {
	identities [][]byte
	ages       []uint32
	// psk and suite compute the binder of the last identity; every other
	// identity gets a binder of zeros.
	psk   []byte
	suite *suiteInfo
	// breakBinder flips a bit of the computed binder.
	breakBinder bool
	modes       []byte
}

// offerPSK returns an edit for completeScripted (or a ClientHello record)
// that adds pre_shared_key with real binders.
func offerPSK(o pskOffer) func(*testClient, *helloSpec) []byte {
	return func(c *testClient, h *helloSpec) []byte {
		c.psk = o.psk
		if o.modes != nil {
			h.set(extPSKKeyExchangeModes, lengthPrefixed(1, o.modes))
		}
		ext := func(binders [][]byte) []byte {
			var ids, bs []byte
			for i, id := range o.identities {
				ids = append(ids, lengthPrefixed(2, id)...)
				ids = binary.BigEndian.AppendUint32(ids, o.ages[i])
				bs = append(bs, lengthPrefixed(1, binders[i])...)
			}
			return append(lengthPrefixed(2, ids), lengthPrefixed(2, bs)...)
		}
		binders := make([][]byte, len(o.identities))
		for i := range binders {
			binders[i] = make([]byte, o.suite.hashLen)
		}
		h.remove(extPreSharedKey)
		h.set(extPreSharedKey, ext(binders))
		msg := h.marshal()
		bindersLen := 2
		for _, b := range binders {
			bindersLen += 1 + len(b)
		}
		truncated := msg[:len(msg)-bindersLen]
		early := o.suite.extract(nil, o.psk)
		binderKey := o.suite.deriveSecret(early, "res binder", o.suite.emptyHash())
		last := o.suite.finishedVerifyData(binderKey, transcriptHash(o.suite, truncated))
		if o.breakBinder {
			last[0] ^= 1
		}
		binders[len(binders)-1] = last
		h.set(extPreSharedKey, ext(binders))
		return c.helloRecord(h)
	}
}

// obfuscatedAge is what a client reports for a ticket received age ago.
func obfuscatedAge(it issuedTicket, age time.Duration) uint32 {
	return uint32(age/time.Millisecond) + it.ageAdd
}

func TestPSKScripted(t *testing.T) {
	cfg := ticketConfig("ecdsa-p256", randomTicketKeys(t))
	run, out := completeScripted(t, cfg)
	tickets := run.client.readTickets(out)
	if len(tickets) != 2 {
		t.Fatalf("%d tickets, want the default 2", len(tickets))
	}
	it := tickets[0]
	suite := suiteByID(AES128GCMSHA256)
	if it.lifetime != 24*3600 || len(it.extensions) != 0 || bytes.Equal(tickets[0].ticket, tickets[1].ticket) ||
		bytes.Equal(tickets[0].psk, tickets[1].psk) || tickets[0].ageAdd == tickets[1].ageAdd {
		t.Fatalf("tickets: lifetime %d, extensions %x, distinct %v", it.lifetime, it.extensions, !bytes.Equal(tickets[0].ticket, tickets[1].ticket))
	}
	offer := func(o pskOffer) pskOffer {
		if o.identities == nil {
			o.identities = [][]byte{it.ticket}
		}
		if o.ages == nil {
			o.ages = []uint32{obfuscatedAge(it, 0)}
		}
		if o.psk == nil {
			o.psk = it.psk
		}
		if o.suite == nil {
			o.suite = suite
		}
		return o
	}

	t.Run("accepted", func(t *testing.T) {
		resumed, out := completeScripted(t, cfg, offerPSK(offer(pskOffer{})))
		c := resumed.client
		if !c.pskAccepted || !slices.Equal(c.flightTypes, []uint8{msgEncryptedExtensions, msgFinished}) {
			t.Fatalf("accepted %v, flight %v", c.pskAccepted, c.flightTypes)
		}
		sess := resumed.server.Session()
		if !sess.Resumed || sess.TX.Seq != 1 {
			t.Errorf("session resumed %v, TX.Seq %d", sess.Resumed, sess.TX.Seq)
		}
		if len(c.readTickets(out)) != 2 {
			t.Error("a resumed handshake issues fresh tickets too")
		}
	})
	t.Run("0-RTT declined, early data skipped", func(t *testing.T) {
		c, h := newTestClient(t)
		h.set(extEarlyData, nil)
		hello := offerPSK(offer(pskOffer{}))(c, h)
		srv := NewServer(cfg)
		early := plainRecord(typeApplicationData, randomBytes(200))
		_, out, p := srv.Advance(append(hello, early...), nil)
		if p != NeedInput {
			t.Fatalf("%v %v", p, srv.Failure())
		}
		c.readFlight(out)
		if !c.pskAccepted || slices.Contains(c.flightTypes, msgCertificate) {
			t.Fatalf("accepted %v, flight %v", c.pskAccepted, c.flightTypes)
		}
		// More 0-RTT records before the Finished: skipped, as they do not
		// open under the handshake key.
		in := append(plainRecord(typeApplicationData, randomBytes(300)), c.protect(typeHandshake, c.finished)...)
		if _, _, p := srv.Advance(in, nil); p != Complete || !srv.Session().Resumed {
			t.Fatalf("%v %v", p, srv.Failure())
		}
	})
	t.Run("second identity", func(t *testing.T) {
		o := offer(pskOffer{})
		o.identities = [][]byte{[]byte("not a ticket of ours"), it.ticket}
		o.ages = []uint32{0, obfuscatedAge(it, 0)}
		resumed, _ := completeScripted(t, cfg, offerPSK(o))
		if !resumed.client.pskAccepted {
			t.Fatal("the second identity was not accepted")
		}
	})

	// Each of these must fall back to a full handshake.
	tampered := bytes.Clone(it.ticket)
	tampered[len(tampered)-1] ^= 1
	forgedKeys := randomTicketKeys(t)
	forged := (&Config{TicketKeys: forgedKeys}).sealTicket(&ticketState{
		version: VersionTLS13, suite: AES128GCMSHA256, issued: time.Now(), authenticated: time.Now(),
		lifetime: time.Hour, serverName: "localhost", secret: it.psk,
	}, ticketLabel13)
	asTLS12 := cfg.sealTicket(&ticketState{
		version: VersionTLS13, suite: AES128GCMSHA256, issued: time.Now(), authenticated: time.Now(),
		lifetime: time.Hour, serverName: "localhost", secret: it.psk,
	}, ticketLabel12)
	sha384 := cfg.sealTicket(&ticketState{
		version: VersionTLS13, suite: AES256GCMSHA384, issued: time.Now(), authenticated: time.Now(),
		lifetime: time.Hour, serverName: "localhost", secret: make([]byte, 48),
	}, ticketLabel13)
	otherName := cfg.sealTicket(&ticketState{
		version: VersionTLS13, suite: AES128GCMSHA256, issued: time.Now(), authenticated: time.Now(),
		lifetime: time.Hour, serverName: "example.com", secret: it.psk,
	}, ticketLabel13)
	oldSession := cfg.sealTicket(&ticketState{
		version: VersionTLS13, suite: AES128GCMSHA256, issued: time.Now(), authenticated: time.Now().Add(-8 * 24 * time.Hour),
		lifetime: time.Hour, serverName: "localhost", secret: it.psk,
	}, ticketLabel13)
	full := []struct {
		name string
		o    pskOffer
	}{
		{"tampered ticket", pskOffer{identities: [][]byte{tampered}, ages: []uint32{obfuscatedAge(it, 0)}}},
		{"ticket from other keys", pskOffer{identities: [][]byte{forged}, ages: []uint32{0}}},
		{"TLS 1.2 label", pskOffer{identities: [][]byte{asTLS12}, ages: []uint32{0}}},
		{"SHA-384 session, SHA-256 suite", pskOffer{identities: [][]byte{sha384}, ages: []uint32{0}}},
		{"other server name", pskOffer{identities: [][]byte{otherName}, ages: []uint32{0}}},
		{"session authenticated 8 days ago", pskOffer{identities: [][]byte{oldSession}, ages: []uint32{0}}},
		{"client age far ahead", pskOffer{ages: []uint32{obfuscatedAge(it, time.Minute)}}},
		{"psk_ke only", pskOffer{modes: []byte{0}}},
	}
	for _, tc := range full {
		t.Run("full handshake: "+tc.name, func(t *testing.T) {
			o := offer(tc.o)
			run, _ := completeScripted(t, cfg, offerPSK(o))
			c := run.client
			if c.pskAccepted || !slices.Contains(c.flightTypes, msgCertificate) {
				t.Fatalf("accepted %v, flight %v: want a full handshake", c.pskAccepted, c.flightTypes)
			}
			if run.server.Session().Resumed {
				t.Error("session says resumed")
			}
		})
	}

	t.Run("bad binder is decrypt_error", func(t *testing.T) {
		c, h := newTestClient(t)
		hello := offerPSK(offer(pskOffer{breakBinder: true}))(c, h)
		expectPlainAlert(t, cfg, hello, AlertDecryptError)
	})
	t.Run("expired by the server's clock", func(t *testing.T) {
		clock := newFakeClock()
		cfg := ticketConfig("ecdsa-p256", cfg.TicketKeys)
		cfg.Now = clock.Now
		cfg.TicketLifetime = time.Minute
		run, out := completeScripted(t, cfg)
		it := run.client.readTickets(out)[0]
		if it.lifetime != 60 {
			t.Errorf("lifetime %d, want 60", it.lifetime)
		}
		clock.advance(time.Minute)
		o := pskOffer{identities: [][]byte{it.ticket}, ages: []uint32{obfuscatedAge(it, time.Minute)}, psk: it.psk, suite: suite}
		late, _ := completeScripted(t, cfg, offerPSK(o))
		if late.client.pskAccepted {
			t.Error("an expired ticket was accepted")
		}
	})
}

// TestPSKAfterHelloRetryRequest: Go's client resumes through a
// HelloRetryRequest, recomputing its binder over the retry transcript.
func TestPSKAfterHelloRetryRequest(t *testing.T) {
	cfg := ticketConfig("ecdsa-p256", randomTicketKeys(t))
	cfg.Groups = []Group{P256}
	ccfg := resumingClient(cfg.Certificates[0], VersionTLS13)
	connectGo(t, cfg, ccfg)
	c := connectGo(t, cfg, ccfg)
	if !c.cs.DidResume || !c.cs.HelloRetryRequest {
		t.Fatalf("DidResume %v after HelloRetryRequest %v", c.cs.DidResume, c.cs.HelloRetryRequest)
	}
}

// TestTicketLifetime: the advertised lifetime is the configured one, capped
// at 7 days and at the ticket keys' accept window.
func TestTicketLifetime(t *testing.T) {
	keys := randomTicketKeys(t) // accepts for 24 h
	cases := []struct {
		set, want time.Duration
	}{
		{0, 24 * time.Hour},
		{time.Hour + 1500*time.Millisecond, time.Hour + time.Second},
		{48 * time.Hour, 24 * time.Hour},
	}
	for _, tc := range cases {
		cfg := &Config{TicketKeys: keys, TicketLifetime: tc.set}
		if got := cfg.ticketLifetime(); got != tc.want {
			t.Errorf("TicketLifetime %v: %v, want %v", tc.set, got, tc.want)
		}
	}
	fileKeys := (&Config{TicketKeys: loadKeyFile(t), TicketLifetime: 30 * 24 * time.Hour}).ticketLifetime()
	if fileKeys != 7*24*time.Hour {
		t.Errorf("file keys, 30 days asked: %v, want 7 days", fileKeys)
	}
	if (&Config{}).ticketLifetime() != 0 {
		t.Error("a lifetime without keys")
	}
}

// TestSessionStateRoundTrip: what marshal writes, parseSessionState reads
// back; truncated or extended encodings are refused.
func TestSessionStateRoundTrip(t *testing.T) {
	st := &ticketState{
		version: VersionTLS12, suite: ECDHERSAWithAES128GCMSHA256,
		issued: time.UnixMilli(1700000000123), authenticated: time.UnixMilli(1690000000456),
		lifetime: 3600 * time.Second, ageAdd: 0xdeadbeef, ems: true, serverName: "a.example.com",
		secret: bytes.Repeat([]byte{7}, 48),
	}
	enc, err := st.marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, ok := parseSessionState(enc)
	if !ok || got.version != st.version || got.suite != st.suite || !got.issued.Equal(st.issued) ||
		!got.authenticated.Equal(st.authenticated) || got.lifetime != st.lifetime || got.ageAdd != st.ageAdd ||
		got.ems != st.ems || got.serverName != st.serverName || !bytes.Equal(got.secret, st.secret) {
		t.Fatalf("round trip: %+v", got)
	}
	for _, bad := range [][]byte{enc[:len(enc)-1], append(bytes.Clone(enc), 0), append([]byte{2}, enc[1:]...)} {
		if _, ok := parseSessionState(bad); ok {
			t.Errorf("accepted %x", bad)
		}
	}
}

func TestValidateTicketSettings(t *testing.T) {
	for _, cfg := range []*Config{
		{Certificates: testConfig("ecdsa-p256").Certificates, SessionTickets: -1},
		{Certificates: testConfig("ecdsa-p256").Certificates, SessionTickets: 17},
		{Certificates: testConfig("ecdsa-p256").Certificates, TicketLifetime: -time.Second},
	} {
		if err := cfg.Validate(); err == nil {
			t.Errorf("Validate accepted %d tickets, lifetime %v", cfg.SessionTickets, cfg.TicketLifetime)
		}
	}
}
