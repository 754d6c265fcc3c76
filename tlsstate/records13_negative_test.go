package tlsstate

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"
)

// recordPeer is the client's side of a synthetic session: it seals what the
// client would send and opens what the server replies.
type recordPeer struct {
	t      *testing.T
	suite  *suiteInfo
	tx, rx *recordCipher
	txKeys TrafficKeys
	rxKeys TrafficKeys
}

func newRecordsPair(t *testing.T, cfg *Config) (*Channel, *recordPeer) {
	t.Helper()
	suite := suiteByID(AES256GCMSHA384)
	secret := func() []byte {
		b := make([]byte, suite.hashLen)
		rand.Read(b)
		return b
	}
	sess := &Session{Version: VersionTLS13, CipherSuite: suite.id,
		RX: newTrafficKeys(suite, secret()), TX: newTrafficKeys(suite, secret())}
	peer := &recordPeer{t: t, suite: suite,
		txKeys: newTrafficKeys(suite, bytes.Clone(sess.RX.Secret)),
		rxKeys: newTrafficKeys(suite, bytes.Clone(sess.TX.Secret))}
	peer.tx, _ = newRecordCipher(suite, peer.txKeys.Key, peer.txKeys.IV)
	peer.rx, _ = newRecordCipher(suite, peer.rxKeys.Key, peer.rxKeys.IV)
	r, err := NewChannel(sess, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r, peer
}

func (p *recordPeer) seal(typ contentType, content []byte) []byte {
	out, err := p.tx.seal(nil, typ, content)
	if err != nil {
		p.t.Fatal(err)
	}
	return out
}

// open reads every record of the server's reply.
func (p *recordPeer) open(reply []byte) (types []contentType, contents [][]byte) {
	p.t.Helper()
	for len(reply) > 0 {
		rec, n, err := nextRecord(reply, maxCiphertext13)
		if err != nil || n == 0 {
			p.t.Fatalf("reply framing: %x", reply)
		}
		typ, content, err := p.rx.open(nil, rec)
		if err != nil {
			p.t.Fatalf("reply does not open: %v", err)
		}
		types = append(types, typ)
		contents = append(contents, bytes.Clone(content))
		reply = reply[n:]
	}
	return types, contents
}

// update moves one of the peer's ciphers to the next secret, as the server
// does on KeyUpdate.
func (p *recordPeer) update(keys *TrafficKeys, c **recordCipher) {
	*keys = newTrafficKeys(p.suite, p.suite.nextTrafficSecret(keys.Secret))
	*c, _ = newRecordCipher(p.suite, keys.Key, keys.IV)
}

func TestRecordsAlerts(t *testing.T) {
	keyUpdate := func(v byte) []byte { return []byte{24, 0, 0, 1, v} }
	cases := []struct {
		name  string
		input func(p *recordPeer) []byte
		want  Alert
	}{
		{"unprotected alert", func(*recordPeer) []byte { return plainRecord(typeAlert, []byte{1, 0}) }, AlertUnexpectedMessage},
		{"unprotected CCS", func(*recordPeer) []byte { return plainRecord(typeChangeCipherSpec, []byte{1}) }, AlertUnexpectedMessage},
		{"unprotected handshake", func(*recordPeer) []byte { return plainRecord(typeHandshake, keyUpdate(0)) }, AlertUnexpectedMessage},
		{"unknown record type", func(*recordPeer) []byte { return []byte{99, 3, 3, 0, 1, 0} }, AlertUnexpectedMessage},
		{"record over 2^14+256", func(*recordPeer) []byte { return []byte{23, 3, 3, 0x41, 0x01} }, AlertRecordOverflow},
		{"bad MAC", func(p *recordPeer) []byte {
			r := p.seal(typeApplicationData, []byte("hello"))
			r[len(r)-1] ^= 1
			return r
		}, AlertBadRecordMAC},
		{"protected CCS", func(p *recordPeer) []byte { return p.seal(typeChangeCipherSpec, []byte{1}) }, AlertUnexpectedMessage},
		{"ClientHello (renegotiation)", func(p *recordPeer) []byte { return p.seal(typeHandshake, []byte{1, 0, 0, 0}) }, AlertUnexpectedMessage},
		{"NewSessionTicket from the client", func(p *recordPeer) []byte { return p.seal(typeHandshake, []byte{4, 0, 0, 0}) }, AlertUnexpectedMessage},
		{"KeyUpdate request_update 2", func(p *recordPeer) []byte { return p.seal(typeHandshake, keyUpdate(2)) }, AlertIllegalParameter},
		{"KeyUpdate of length 2", func(p *recordPeer) []byte { return p.seal(typeHandshake, []byte{24, 0, 0, 2, 0, 0}) }, AlertDecodeError},
		{"data after KeyUpdate in its record", func(p *recordPeer) []byte {
			return p.seal(typeHandshake, append(keyUpdate(0), 24))
		}, AlertUnexpectedMessage},
		{"application data inside a fragmented KeyUpdate", func(p *recordPeer) []byte {
			return append(p.seal(typeHandshake, keyUpdate(0)[:2]), p.seal(typeApplicationData, []byte("x"))...)
		}, AlertUnexpectedMessage},
		// RFC 8446 §5.4: empty handshake and alert records.
		{"empty handshake record", func(p *recordPeer) []byte { return p.seal(typeHandshake, nil) }, AlertUnexpectedMessage},
		{"empty alert record", func(p *recordPeer) []byte { return p.seal(typeAlert, nil) }, AlertUnexpectedMessage},
		{"alert of three bytes", func(p *recordPeer) []byte { return p.seal(typeAlert, []byte{1, 0, 0}) }, AlertDecodeError},
		{"inner plaintext over 2^14+1", func(p *recordPeer) []byte { return p.seal(typeApplicationData, make([]byte, maxPlaintext+1)) }, AlertRecordOverflow},
		{"flood of empty records", func(p *recordPeer) []byte {
			var in []byte
			for range MaxRecordsWithoutData + 1 {
				in = append(in, p.seal(typeApplicationData, nil)...)
			}
			return in
		}, AlertUnexpectedMessage},
		{"flood of KeyUpdates", func(p *recordPeer) []byte {
			var in []byte
			for range 33 {
				in = append(in, p.seal(typeHandshake, keyUpdate(0))...)
				p.update(&p.txKeys, &p.tx)
			}
			return in
		}, AlertUnexpectedMessage},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, peer := newRecordsPair(t, &Config{})
			_, _, reply, err := r.Open(tc.input(peer), make([]byte, 0, 1<<15), nil)
			var aerr *AlertError
			if !errors.As(err, &aerr) || aerr.Alert != tc.want {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			types, contents := peer.open(reply)
			if len(types) != 1 || types[0] != typeAlert || !bytes.Equal(contents[0], []byte{2, byte(tc.want)}) {
				t.Fatalf("reply %v %x, want one fatal %v alert", types, contents, tc.want)
			}
			if _, _, reply, err2 := r.Open(peer.seal(typeApplicationData, []byte("more")), nil, nil); err2 != err || len(reply) != 0 {
				t.Errorf("dead record layer answered: %v", err2)
			}
			if _, err := r.Seal(nil, []byte("x")); err != ErrClosed {
				t.Errorf("Seal on a dead record layer: %v", err)
			}
			if out := r.CloseNotify(nil); len(out) != 0 {
				t.Errorf("close_notify after a fatal alert: %x", out)
			}
		})
	}
}

func TestRecordsPeerAlerts(t *testing.T) {
	r, peer := newRecordsPair(t, &Config{})
	in := append(peer.seal(typeAlert, []byte{1, byte(AlertUserCanceled)}), peer.seal(typeAlert, []byte{2, byte(AlertInternalError)})...)
	_, _, reply, err := r.Open(in, nil, nil)
	var perr *PeerAlertError
	if !errors.As(err, &perr) || perr.Alert != AlertInternalError || len(reply) != 0 {
		t.Fatalf("err %v reply %x", err, reply)
	}
}

// TestRecordsKeyUpdateRequested: a KeyUpdate split over two records asks for
// an update; the reply is our KeyUpdate under the old key, and both
// directions then run on the next secrets.
func TestRecordsKeyUpdateRequested(t *testing.T) {
	r, peer := newRecordsPair(t, &Config{})
	in := append(peer.seal(typeHandshake, []byte{24, 0}), peer.seal(typeHandshake, []byte{0, 1, 1})...)
	peer.update(&peer.txKeys, &peer.tx)
	in = append(in, peer.seal(typeApplicationData, []byte("after update"))...)
	n, plain, reply, err := r.Open(in, nil, nil)
	if err != nil || n != len(in) || string(plain) != "after update" {
		t.Fatalf("Open: %v %d %q", err, n, plain)
	}
	types, contents := peer.open(reply)
	if len(types) != 1 || types[0] != typeHandshake || !bytes.Equal(contents[0], []byte{24, 0, 0, 1, 0}) {
		t.Fatalf("reply %v %x", types, contents)
	}
	peer.update(&peer.rxKeys, &peer.rx)
	out, err := r.Seal(nil, []byte("response"))
	if err != nil {
		t.Fatal(err)
	}
	if _, contents = peer.open(out); string(contents[0]) != "response" {
		t.Fatalf("response %q", contents[0])
	}
	if !bytes.Equal(r.Session().RX.Secret, peer.txKeys.Secret) || r.Session().RX.Seq != 1 || r.Session().TX.Seq != 1 {
		t.Errorf("session not current: RX seq %d TX seq %d", r.Session().RX.Seq, r.Session().TX.Seq)
	}
}

// TestRecordsSealSplitsAndRekeys: records are at most 2^14 bytes of data and
// a KeyUpdate precedes the record that would pass the threshold.
func TestRecordsSealSplitsAndRekeys(t *testing.T) {
	r, peer := newRecordsPair(t, &Config{RekeyAfterRecords: 2})
	data := pattern(3*maxPlaintext+10, 3)
	out, err := r.Seal(nil, data)
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	var kinds []contentType
	for len(out) > 0 {
		rec, n, _ := nextRecord(out, maxCiphertext13)
		typ, content, aerr := peer.rx.open(nil, rec)
		if aerr != nil {
			t.Fatal(aerr)
		}
		kinds = append(kinds, typ)
		if typ == typeHandshake {
			peer.update(&peer.rxKeys, &peer.rx)
		} else {
			if len(content) > maxPlaintext {
				t.Fatalf("record of %d bytes", len(content))
			}
			got = append(got, content...)
		}
		out = out[n:]
	}
	want := []contentType{23, 23, 22, 23, 23}
	if !bytes.Equal(got, data) || len(kinds) != len(want) {
		t.Fatalf("kinds %v", kinds)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("kinds %v, want %v", kinds, want)
		}
	}
}

// TestRecordsOpenStopsWhenFull: Open does not grow a buffer that already
// holds data; the rest stays unconsumed for the next call.
func TestRecordsOpenStopsWhenFull(t *testing.T) {
	r, peer := newRecordsPair(t, &Config{})
	in := append(peer.seal(typeApplicationData, make([]byte, 1000)), peer.seal(typeApplicationData, make([]byte, 1000))...)
	plain := make([]byte, 0, 1500)
	n, plain, _, err := r.Open(in, plain, nil)
	if err != nil || len(plain) != 1000 || n != len(in)/2 || cap(plain) != 1500 {
		t.Fatalf("n %d len %d cap %d err %v", n, len(plain), cap(plain), err)
	}
	n2, plain, _, err := r.Open(in[n:], plain[:0], nil)
	if err != nil || n2 != len(in)/2 || len(plain) != 1000 {
		t.Fatalf("second Open: %d %d %v", n2, len(plain), err)
	}
	_, _, _, err = r.Open(peer.seal(typeAlert, []byte{1, 0}), nil, nil)
	if err != io.EOF {
		t.Fatalf("close_notify: %v", err)
	}
}

// TestRecordsHalfClose: after the peer's close_notify the server may still
// send what it owes, then its own close_notify (RFC 8446 §6.1).
func TestRecordsHalfClose(t *testing.T) {
	r, peer := newRecordsPair(t, &Config{})
	in := append(peer.seal(typeApplicationData, []byte("GET / HTTP/1.1\r\n\r\n")), peer.seal(typeAlert, []byte{1, 0})...)
	in = append(in, peer.seal(typeApplicationData, []byte("ignored"))...)
	_, plain, reply, err := r.Open(in, nil, nil)
	if err != io.EOF || string(plain) != "GET / HTTP/1.1\r\n\r\n" || len(reply) != 0 {
		t.Fatalf("%v %q %x", err, plain, reply)
	}
	out, err := r.Seal(nil, []byte("HTTP/1.1 200 OK\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	out = r.CloseNotify(out)
	types, contents := peer.open(out)
	if len(types) != 2 || string(contents[0]) != "HTTP/1.1 200 OK\r\n\r\n" || types[1] != typeAlert || !bytes.Equal(contents[1], []byte{1, 0}) {
		t.Fatalf("%v %q", types, contents)
	}
	if _, _, _, err := r.Open(nil, nil, nil); err != io.EOF {
		t.Errorf("after close: %v", err)
	}
}
