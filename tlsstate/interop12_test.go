package tlsstate

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// helloSniffer notes the randoms of the first ClientHello read and the
// first ServerHello written on the server's side of a connection (both
// start a record: 5 header bytes, 4 message header bytes, 2 version bytes).
type helloSniffer struct {
	net.Conn
	clientRandom, serverRandom []byte
}

func (c *helloSniffer) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if c.clientRandom == nil && n >= 43 {
		c.clientRandom = bytes.Clone(p[11:43])
	}
	return n, err
}

func (c *helloSniffer) Write(p []byte) (int, error) {
	if c.serverRandom == nil && len(p) >= 43 {
		c.serverRandom = bytes.Clone(p[11:43])
	}
	return c.Conn.Write(p)
}

// goClient12 is one finished TLS 1.2 handshake with Go's client.
type goClient12 struct {
	sess   *Session
	cs     tls.ConnectionState
	client *tls.Conn
	server *helloSniffer
	rest   []byte
}

func handshake12WithGoClient(t *testing.T, cfg *Config, ccfg *tls.Config) goClient12 {
	t.Helper()
	cconn, sconn := tcpPair(t)
	sniffer := &helloSniffer{Conn: sconn}
	client := tls.Client(cconn, ccfg)
	errc := make(chan error, 1)
	go func() { errc <- client.Handshake() }()
	srv, p, rest, err := runServerHandshake(sniffer, cfg)
	if err != nil || p != Complete {
		t.Fatalf("server: progress %v, io error %v, handshake error %v", p, err, srv.Failure())
	}
	if err := <-errc; err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	return goClient12{srv.Session(), client.ConnectionState(), client, sniffer, rest}
}

// clientConfig12 is clientConfig for a Go client that speaks TLS 1.2 only.
func clientConfig12(cert *Certificate, keyLog io.Writer, suite CipherSuite, group Group) *tls.Config {
	ccfg := clientConfig(cert, keyLog)
	ccfg.MinVersion, ccfg.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
	ccfg.CipherSuites = []uint16{uint16(suite)}
	ccfg.CurvePreferences = []tls.CurveID{groupCurveIDs[group]}
	return ccfg
}

// TestInterop12Matrix: Go's TLS 1.2 client against every suite × group ×
// certificate kind. The client verifies our ServerKeyExchange signature and
// Finished; we check that the keys handed out are the ones derived from the
// master secret the client logged, that the extended master secret was used
// (Go refuses keying-material export without it) and that data flows both
// ways through the user-space record layer at the right sequence numbers.
func TestInterop12Matrix(t *testing.T) {
	for _, suite := range DefaultCipherSuites12 {
		certName := "ecdsa-p256"
		if suite12ByID(suite).auth == authRSA {
			certName = "rsa-2048"
		}
		for _, group := range []Group{X25519, P256, P384, P521} {
			t.Run(fmt.Sprintf("%v/%v", suite, group), func(t *testing.T) {
				cfg := testConfig(certName)
				cfg.Groups = []Group{group}
				var kl keyLog
				ccfg := clientConfig12(cfg.Certificates[0], &kl, suite, group)
				if group != P256 {
					// A TLS 1.2 client must also list the curve of an
					// ECDSA certificate (RFC 8422 §5.1).
					ccfg.CurvePreferences = append(ccfg.CurvePreferences, tls.CurveP256)
				}
				g := handshake12WithGoClient(t, cfg, ccfg)
				sess, cs := g.sess, g.cs
				if cs.Version != tls.VersionTLS12 || cs.CipherSuite != uint16(suite) || cs.CurveID != groupCurveIDs[group] {
					t.Fatalf("client saw version %x suite %x curve %v", cs.Version, cs.CipherSuite, cs.CurveID)
				}
				if sess.Version != VersionTLS12 || sess.CipherSuite != suite || sess.ALPN != "http/1.1" || sess.ServerName != "localhost" {
					t.Errorf("session %v %v %q %q", sess.Version, sess.CipherSuite, sess.ALPN, sess.ServerName)
				}
				if _, err := cs.ExportKeyingMaterial("test", nil, 16); err != nil {
					t.Errorf("extended master secret not negotiated: %v", err)
				}
				checkSessionAgainstKeyLog(t, g, kl.get("CLIENT_RANDOM"))
				exchangeData12(t, g, cfg)
			})
		}
	}
}

// secp521r1 comes last in the default groups: Go's TLS 1.2 client that
// lists it first gets the first default group it also supports.
func TestInterop12DefaultGroupsP521Last(t *testing.T) {
	for _, tc := range []struct {
		offer []tls.CurveID
		want  tls.CurveID
	}{
		{[]tls.CurveID{tls.CurveP521, tls.CurveP384, tls.CurveP256}, tls.CurveP256},
		{[]tls.CurveID{tls.CurveP521, tls.CurveP384}, tls.CurveP384},
		{[]tls.CurveID{tls.CurveP521}, tls.CurveP521},
	} {
		cfg := testConfig("rsa-2048") // the default groups
		ccfg := clientConfig12(cfg.Certificates[0], io.Discard, ECDHERSAWithAES128GCMSHA256, P521)
		ccfg.CurvePreferences = tc.offer
		if cs := handshake12WithGoClient(t, cfg, ccfg).cs; cs.CurveID != tc.want {
			t.Errorf("client offering %v: %v, want %v", tc.offer, cs.CurveID, tc.want)
		}
	}
}

// checkSessionAgainstKeyLog re-derives the key block from the client's
// logged master secret and the randoms and compares it with the Session.
func checkSessionAgainstKeyLog(t *testing.T, g goClient12, master []byte) {
	t.Helper()
	sess := g.sess
	if len(master) != masterSecretLen {
		t.Fatalf("client logged no master secret")
	}
	suite := suite12ByID(sess.CipherSuite)
	kb := suite.keyBlock(master, g.server.clientRandom, g.server.serverRandom)
	if !bytes.Equal(kb.clientKey, sess.RX.Key) || !bytes.Equal(kb.clientIV, sess.RX.IV) ||
		!bytes.Equal(kb.serverKey, sess.TX.Key) || !bytes.Equal(kb.serverIV, sess.TX.IV) {
		t.Errorf("session keys differ from the key block of the client's master secret")
	}
	if len(sess.RX.Key) != suite.keyLen || len(sess.TX.IV) != suite.fixedIVLen || sess.RX.Secret != nil {
		t.Errorf("key sizes %d/%d", len(sess.RX.Key), len(sess.TX.IV))
	}
	if sess.RX.Seq != 1 || sess.TX.Seq != 1 {
		t.Errorf("sequence numbers rx %d tx %d, want 1 after the Finished records", sess.RX.Seq, sess.TX.Seq)
	}
}

// exchangeData12 sends a request from the Go client and a response from our
// record layer, then close_notify both ways.
func exchangeData12(t *testing.T, g goClient12, cfg *Config) {
	t.Helper()
	sess, client, conn, rest := g.sess, g.client, g.server, g.rest
	r, err := NewChannel(sess, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Zero()
	request := bytes.Repeat([]byte("GET / HTTP/1.1\r\n"), 2000) // several records
	go client.Write(request)
	buf := append(make([]byte, 0, 1<<16), rest...)
	var got []byte
	for len(got) < len(request) {
		n, plain, reply, err := r.Open(buf, got, nil)
		if err != nil || len(reply) > 0 {
			t.Fatalf("Open: %v, reply %x", err, reply)
		}
		got = plain
		buf = append(buf[:0], buf[n:]...)
		if n == 0 {
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			m, err := conn.Read(buf[len(buf):cap(buf)])
			if err != nil {
				t.Fatal(err)
			}
			buf = buf[:len(buf)+m]
		}
	}
	if !bytes.Equal(got, request) {
		t.Fatal("request garbled")
	}
	response := bytes.Repeat([]byte("lwango "), 5000)
	out, err := r.Seal(nil, response)
	if err != nil {
		t.Fatal(err)
	}
	out = r.CloseNotify(out)
	if sess.TX.Seq != 1+3+1 {
		t.Errorf("TX seq %d after three records and close_notify, want 5", sess.TX.Seq)
	}
	if _, err := conn.Write(out); err != nil {
		t.Fatal(err)
	}
	client.SetReadDeadline(time.Now().Add(5 * time.Second))
	read, err := io.ReadAll(client)
	if err != nil || !bytes.Equal(read, response) {
		t.Fatalf("client read %d bytes, %v", len(read), err)
	}
}
