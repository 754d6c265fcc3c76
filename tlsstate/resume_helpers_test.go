package tlsstate

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"lwango/tlsstate/ticket"
)

// Helpers for the session-resumption tests: configurations with ticket
// keys, a settable clock, and a Go client that stays connected long enough
// to read its tickets and exchange a request and a response.

// fakeClock is a settable clock for Config.Now, safe to move while a
// handshake runs in another goroutine.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// randomTicketKeys is an in-memory key set on the default schedule.
func randomTicketKeys(t testing.TB) *ticket.Keys {
	t.Helper()
	k, err := ticket.NewRandom(rand.Reader, time.Now(), ticket.DefaultSchedule)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// loadKeyFile writes a new ticket key file of two random keys and loads it.
func loadKeyFile(t testing.TB) *ticket.Keys {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ticket.key")
	if err := os.WriteFile(path, randomBytes(2*ticket.KeySize), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := ticket.FromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// ticketConfig is testConfig(cert) issuing and accepting tickets under keys.
func ticketConfig(cert string, keys *ticket.Keys) *Config {
	cfg := testConfig(cert)
	cfg.TicketKeys = keys
	return cfg
}

// goConn is one connection of Go's client to our server, after a request
// ("ping") and a response ("pong") went through our record layer.
type goConn struct {
	sess *Session
	// txSeqAtComplete is the Session's TX.Seq as the handshake handed it
	// over, before the record layer sent anything.
	txSeqAtComplete uint64
	cs              tls.ConnectionState
}

// connectGo runs a handshake of Go's client against cfg, then the client
// writes "ping" and reads "pong". Reading the response makes the client
// process the NewSessionTickets that precede it, which land in
// ccfg.ClientSessionCache.
func connectGo(t *testing.T, cfg *Config, ccfg *tls.Config) goConn {
	t.Helper()
	cconn, sconn := tcpPair(t)
	client := tls.Client(cconn, ccfg)
	errc := make(chan error, 1)
	go func() {
		cconn.SetDeadline(time.Now().Add(10 * time.Second))
		if err := client.Handshake(); err != nil {
			errc <- err
			return
		}
		if _, err := io.WriteString(client, "ping"); err != nil {
			errc <- err
			return
		}
		got := make([]byte, 4)
		if _, err := io.ReadFull(client, got); err != nil {
			errc <- err
			return
		}
		if string(got) != "pong" {
			errc <- fmt.Errorf("client read %q", got)
			return
		}
		errc <- nil
	}()
	srv, p, rest, err := runServerHandshake(sconn, cfg)
	if err != nil || p != Complete {
		t.Fatalf("server: progress %v, io error %v, handshake error %v (client: %v)", p, err, srv.Failure(), <-errc)
	}
	sess := srv.Session()
	c := goConn{sess: sess, txSeqAtComplete: sess.TX.Seq}
	if err := pingPong(sconn, sess, cfg, rest); err != nil {
		t.Fatalf("server records: %v (client: %v)", err, <-errc)
	}
	if err := <-errc; err != nil {
		t.Fatalf("client: %v", err)
	}
	c.cs = client.ConnectionState()
	client.Close()
	return c
}

// pingPong reads "ping" through the user-space record layer started from
// sess and answers "pong".
func pingPong(conn net.Conn, sess *Session, cfg *Config, rest []byte) error {
	r, err := NewChannel(sess, cfg)
	if err != nil {
		return err
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	buf := append(make([]byte, 0, 1<<16), rest...)
	var plain []byte
	for !bytes.Equal(plain, []byte("ping")) {
		n, p, reply, err := r.Open(buf, plain, nil)
		plain = p
		buf = append(buf[:0], buf[n:]...)
		if len(reply) > 0 {
			conn.Write(reply)
		}
		if err != nil {
			return err
		}
		if bytes.Equal(plain, []byte("ping")) {
			break
		}
		m, err := conn.Read(buf[len(buf):cap(buf)])
		if err != nil {
			return err
		}
		buf = buf[:len(buf)+m]
	}
	out, err := r.Seal(nil, []byte("pong"))
	if err != nil {
		return err
	}
	_, err = conn.Write(out)
	return err
}

// resumingClient is clientConfig with a session cache, for TLS 1.3 or,
// with version VersionTLS12, TLS 1.2 only.
func resumingClient(cert *Certificate, version uint16) *tls.Config {
	ccfg := clientConfig(cert, nil)
	ccfg.ClientSessionCache = tls.NewLRUClientSessionCache(8)
	if version == VersionTLS12 {
		ccfg.MinVersion, ccfg.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
	}
	return ccfg
}
