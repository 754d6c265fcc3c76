package tlsstate

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"testing"
)

var groupCurveIDs = map[Group]tls.CurveID{
	X25519MLKEM768: tls.X25519MLKEM768,
	X25519:         tls.X25519,
	P256:           tls.CurveP256,
	P384:           tls.CurveP384,
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
		t.Fatalf("server: progress %v, io error %v, handshake error %v", p, err, srv.Err())
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
