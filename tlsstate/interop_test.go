package tlsstate

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"testing"
	"time"
)

var groupCurveIDs = map[Group]tls.CurveID{
	X25519MLKEM768: tls.X25519MLKEM768,
	X25519:         tls.X25519,
	P256:           tls.CurveP256,
	P384:           tls.CurveP384,
	P521:           tls.CurveP521,
}

// handshakeWithGoClient runs crypto/tls's client against our server and
// returns the server-side session with the client's view of it.
func handshakeWithGoClient(t *testing.T, cfg *Config, ccfg *tls.Config) (*Session, tls.ConnectionState, *tls.Conn, []byte) {
	t.Helper()
	cconn, sconn := tcpPair(t)
	client := tls.Client(cconn, ccfg)
	errc := make(chan error, 1)
	go func() { errc <- client.Handshake() }()
	srv, p, rest, err := runServerHandshake(sconn, cfg)
	if err != nil || p != Complete {
		t.Fatalf("server: progress %v, io error %v, handshake error %v", p, err, srv.Failure())
	}
	if err := <-errc; err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	return srv.Session(), client.ConnectionState(), client, rest
}

// TestInteropMatrix: every suite × group × certificate type against Go's
// client; the client's logged application secrets must equal ours.
func TestInteropMatrix(t *testing.T) {
	for _, suite := range DefaultCipherSuites {
		for _, group := range DefaultGroups {
			for _, certName := range []string{"ecdsa-p256", "rsa-2048", "ed25519"} {
				t.Run(fmt.Sprintf("%v/%v/%s", suite, group, certName), func(t *testing.T) {
					cfg := testConfig(certName)
					cfg.CipherSuites = []CipherSuite{suite}
					var kl keyLog
					ccfg := clientConfig(cfg.Certificates[0], &kl)
					ccfg.CurvePreferences = []tls.CurveID{groupCurveIDs[group]}
					sess, cs, _, _ := handshakeWithGoClient(t, cfg, ccfg)
					if cs.Version != tls.VersionTLS13 || cs.CipherSuite != uint16(suite) || cs.CurveID != groupCurveIDs[group] {
						t.Errorf("client saw version %x suite %x curve %v", cs.Version, cs.CipherSuite, cs.CurveID)
					}
					if cs.DidResume || cs.NegotiatedProtocol != "http/1.1" || sess.ALPN != "http/1.1" {
						t.Errorf("ALPN client %q server %q", cs.NegotiatedProtocol, sess.ALPN)
					}
					if sess.CipherSuite != suite || sess.Version != VersionTLS13 || sess.ServerName != "localhost" {
						t.Errorf("session %+v", sess)
					}
					if !bytes.Equal(kl.get("CLIENT_TRAFFIC_SECRET_0"), sess.RX.Secret) || !bytes.Equal(kl.get("SERVER_TRAFFIC_SECRET_0"), sess.TX.Secret) {
						t.Errorf("application traffic secrets differ from the client's")
					}
					if sess.RX.Seq != 0 || sess.TX.Seq != 0 || len(sess.TX.IV) != 12 {
						t.Errorf("sequence numbers %d/%d", sess.RX.Seq, sess.TX.Seq)
					}
				})
			}
		}
	}
}

// TestInteropHelloRetryRequest forces a HelloRetryRequest. Go's client sends
// its shares for X25519MLKEM768/X25519 whatever the order of
// CurvePreferences, so the retry comes from server groups that exclude the
// shares it sent.
func TestInteropHelloRetryRequest(t *testing.T) {
	cases := []struct {
		name         string
		serverGroups []Group
		clientPrefs  []tls.CurveID
		want         tls.CurveID
	}{
		{"server excludes x25519", []Group{P384, P256}, []tls.CurveID{tls.X25519, tls.CurveP256}, tls.CurveP256},
		{"p256 after hybrid and x25519 shares", []Group{P256}, []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256}, tls.CurveP256},
		{"p384 after retry", []Group{P384}, []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP384}, tls.CurveP384},
		{"p521 after retry", []Group{P521}, []tls.CurveID{tls.X25519, tls.CurveP521}, tls.CurveP521},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("ecdsa-p256")
			cfg.Groups = tc.serverGroups
			var kl keyLog
			ccfg := clientConfig(cfg.Certificates[0], &kl)
			ccfg.CurvePreferences = tc.clientPrefs
			sess, cs, _, _ := handshakeWithGoClient(t, cfg, ccfg)
			if !cs.HelloRetryRequest || cs.CurveID != tc.want {
				t.Errorf("client saw HRR=%v curve %v", cs.HelloRetryRequest, cs.CurveID)
			}
			if !bytes.Equal(kl.get("SERVER_TRAFFIC_SECRET_0"), sess.TX.Secret) {
				t.Error("secrets differ after HelloRetryRequest")
			}
		})
	}
}

// TestInteropALPNMismatch: a client offering ALPN without http/1.1 gets
// no_application_protocol before any ServerHello.
func TestInteropALPNMismatch(t *testing.T) {
	cfg := testConfig("ecdsa-p256")
	ccfg := clientConfig(cfg.Certificates[0], nil)
	ccfg.NextProtos = []string{"h2"}
	cconn, sconn := tcpPair(t)
	client := tls.Client(cconn, ccfg)
	errc := make(chan error, 1)
	go func() { errc <- client.Handshake() }()
	srv, p, _, _ := runServerHandshake(sconn, cfg)
	if f := srv.Failure(); p != Failed || !f.HasAlert || !f.Sent || f.Alert != AlertNoApplicationProtocol {
		t.Fatalf("server: %v %v", p, srv.Failure())
	}
	if err := <-errc; !isErrContaining(err, "no application protocol") {
		t.Fatalf("client error %v", err)
	}
}

// TestInteropNoALPN: a client without ALPN is served, with no protocol.
func TestInteropNoALPN(t *testing.T) {
	cfg := testConfig("ed25519")
	ccfg := clientConfig(cfg.Certificates[0], nil)
	ccfg.NextProtos = nil
	sess, cs, _, _ := handshakeWithGoClient(t, cfg, ccfg)
	if sess.ALPN != "" || cs.NegotiatedProtocol != "" {
		t.Errorf("ALPN %q/%q", sess.ALPN, cs.NegotiatedProtocol)
	}
}

// TestInteropSelfSigned: the generated localhost certificate verifies in
// Go's client against itself as the only root.
func TestInteropSelfSigned(t *testing.T) {
	cert, err := SelfSignedCertificate(rand.Reader, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cfg := &Config{Certificates: []*Certificate{cert}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert.Leaf)
	for _, name := range []string{"localhost", "127.0.0.1"} {
		ccfg := &tls.Config{RootCAs: roots, ServerName: name, MinVersion: tls.VersionTLS13}
		_, cs, _, _ := handshakeWithGoClient(t, cfg, ccfg)
		if len(cs.VerifiedChains) != 1 {
			t.Errorf("%s: not verified", name)
		}
	}
}
