package tlsstate

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"testing"
)

// rfc8448Session is the trace's application-data state, as a handshake
// would hand it over. The server has already sent one record (its
// NewSessionTicket), so TX starts at sequence number 1.
func rfc8448Session(v map[string][]byte) *Session {
	return &Session{
		Version:     VersionTLS13,
		CipherSuite: AES128GCMSHA256,
		RX:          TrafficKeys{Secret: bytes.Clone(v["client_application_traffic_secret"]), Key: bytes.Clone(v["client_application_key"]), IV: bytes.Clone(v["client_application_iv"])},
		TX:          TrafficKeys{Secret: bytes.Clone(v["server_application_traffic_secret"]), Key: bytes.Clone(v["server_application_key"]), IV: bytes.Clone(v["server_application_iv"]), Seq: 1},
	}
}

// TestRFC8448Records replays the trace's application data and closure.
func TestRFC8448Records(t *testing.T) {
	v := rfc8448(t)
	r, err := NewChannel(rfc8448Session(v), &Config{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := r.Seal(nil, v["client_application_payload"])
	if err != nil {
		t.Fatal(err)
	}
	wantBytes(t, "server application record", out, v["server_application_record_seq1"])

	in := append(bytes.Clone(v["client_application_record"]), v["client_close_notify_record_seq1"]...)
	n, plain, reply, err := r.Open(in, make([]byte, 0, 1<<14), nil)
	if !errors.Is(err, io.EOF) || n != len(in) || len(reply) != 0 {
		t.Fatalf("Open: consumed %d of %d, err %v, reply %x", n, len(in), err, reply)
	}
	wantBytes(t, "client application data", plain, v["client_application_payload"])
	wantBytes(t, "close_notify answer", r.CloseNotify(nil), v["server_close_notify_record_seq2"])
	if rx, tx := r.Session().RX.Seq, r.Session().TX.Seq; rx != 2 || tx != 3 {
		t.Errorf("sequence numbers RX %d TX %d, want 2 and 3", rx, tx)
	}
	if _, err := r.Seal(nil, []byte("late")); err != ErrClosed {
		t.Errorf("Seal after close_notify: %v", err)
	}
}

// TestRecordsWithGoClient: 10 MiB each way, server-side rekeying every 64
// records, a KeyUpdate asked of the client, and close_notify both ways.
func TestRecordsWithGoClient(t *testing.T) {
	const size = 10 << 20
	cfg := testConfig("ecdsa-p256")
	cfg.RekeyAfterRecords = 64
	cconn, sconn := tcpPair(t)
	client := tls.Client(cconn, clientConfig(cfg.Certificates[0], nil))
	upload := pattern(size, 7)
	download := pattern(size, 13)
	clientDone := make(chan error, 1)
	go func() {
		if _, err := client.Write(upload); err != nil {
			clientDone <- err
			return
		}
		got, err := io.ReadAll(client)
		if err != nil {
			clientDone <- err
			return
		}
		if !bytes.Equal(got, download) {
			clientDone <- errors.New("client received corrupted data")
			return
		}
		clientDone <- client.Close()
	}()

	srv, p, rest, err := runServerHandshake(sconn, cfg)
	if err != nil || p != Complete {
		t.Fatalf("handshake: %v %v %v", p, err, srv.Failure())
	}
	r, err := NewChannel(srv.Session(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Zero()
	firstRX := bytes.Clone(r.Session().RX.Secret)
	firstTX := bytes.Clone(r.Session().TX.Secret)
	conn := progressConn{sconn} // a deadline for each read and write, none for the whole transfer

	received := make([]byte, 0, size+1<<15)
	buf := append(make([]byte, 0, 1<<17), rest...)
	readUntil := func(done func(error) bool) {
		t.Helper()
		for {
			n, plain, reply, err := r.Open(buf, received, nil)
			received = plain
			buf = append(buf[:0], buf[n:]...)
			if len(reply) > 0 {
				conn.Write(reply)
			}
			if done(err) {
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			m, rerr := conn.Read(buf[len(buf):cap(buf)])
			if rerr != nil {
				t.Fatalf("read: %v (received %d)", rerr, len(received))
			}
			buf = buf[:len(buf)+m]
		}
	}
	readUntil(func(error) bool { return len(received) >= size })
	if !bytes.Equal(received, upload) {
		t.Fatal("server received corrupted data")
	}

	// A KeyUpdate with update_requested: the client answers with its own.
	out, err := r.sendKeyUpdate(nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if out, err = r.Seal(out, download); err != nil {
		t.Fatal(err)
	}
	out = r.CloseNotify(out)
	if _, err := conn.Write(out); err != nil {
		t.Fatal(err)
	}
	readUntil(func(err error) bool { return errors.Is(err, io.EOF) })
	if err := <-clientDone; err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(r.Session().RX.Secret, firstRX) {
		t.Error("the client's KeyUpdate did not move the receive key")
	}
	// 640 full records at 64 per key: about ten KeyUpdates.
	if bytes.Equal(r.Session().TX.Secret, firstTX) || r.Session().TX.Seq > 65 {
		t.Errorf("no rekeying: TX sequence %d", r.Session().TX.Seq)
	}
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	x := seed
	for i := range b {
		x = x*31 + byte(i>>8)
		b[i] = x
	}
	return b
}
