package tlsstate

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"
)

// plainRec is one record as the peer means it: its content type and content.
type plainRec struct {
	typ     contentType
	content []byte
}

// channelPeer is the client end of a channel under test, holding copies of
// the session's keys: it protects what it sends for the user-space path
// and opens what the channel answers there.
type channelPeer struct {
	t       *testing.T
	version uint16
	tx13    *recordCipher
	rx13    *recordCipher
	tx12    *recordCipher12
	rx12    *recordCipher12
}

// newChannelPair makes a channel of the version with random keys, in user
// space, and its peer.
func newChannelPair(t *testing.T, version uint16) (*Channel, *channelPeer) {
	t.Helper()
	random := func(n int) []byte {
		b := make([]byte, n)
		rand.Read(b)
		return b
	}
	sess := &Session{Version: version}
	p := &channelPeer{t: t, version: version}
	switch version {
	case VersionTLS13:
		suite := suiteByID(AES128GCMSHA256)
		sess.CipherSuite = suite.id
		sess.RX, sess.TX = newTrafficKeys(suite, random(suite.hashLen)), newTrafficKeys(suite, random(suite.hashLen))
		p.tx13, _ = newRecordCipher(suite, sess.RX.Key, sess.RX.IV)
		p.rx13, _ = newRecordCipher(suite, sess.TX.Key, sess.TX.IV)
	case VersionTLS12:
		suite := suite12ByID(ECDHERSAWithAES128GCMSHA256)
		sess.CipherSuite = suite.id
		sess.RX = TrafficKeys{Key: random(16), IV: random(4), Seq: 1}
		sess.TX = TrafficKeys{Key: random(16), IV: random(4), Seq: 1}
		p.tx12, _ = newRecordCipher12(suite, sess.RX.Key, sess.RX.IV)
		p.rx12, _ = newRecordCipher12(suite, sess.TX.Key, sess.TX.IV)
		p.tx12.seq, p.rx12.seq = 1, 1
	}
	ch, err := NewChannel(sess, &Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ch.Zero)
	return ch, p
}

// protect seals records as the peer sends them.
func (p *channelPeer) protect(recs []plainRec) []byte {
	var out []byte
	var err error
	for _, r := range recs {
		if p.version == VersionTLS13 {
			out, err = p.tx13.seal(out, r.typ, r.content)
		} else {
			var aerr *AlertError
			if out, aerr = p.tx12.seal(out, r.typ, r.content); aerr != nil {
				err = aerr
			}
		}
		if err != nil {
			p.t.Fatal(err)
		}
	}
	return out
}

// openReply opens the records the channel sealed in reply.
func (p *channelPeer) openReply(reply []byte) []plainRec {
	var recs []plainRec
	for len(reply) > 0 {
		rec, n, err := nextRecord(reply, maxCiphertext12)
		if err != nil || n == 0 {
			p.t.Fatalf("reply is not whole records: %x", reply)
		}
		var r plainRec
		var aerr *AlertError
		if p.version == VersionTLS13 {
			r.typ, r.content, aerr = p.rx13.open(nil, rec)
		} else {
			r.typ = rec.typ
			r.content, aerr = p.rx12.open(nil, rec)
		}
		if aerr != nil {
			p.t.Fatalf("reply record does not open: %v", aerr)
		}
		recs = append(recs, r)
		reply = reply[n:]
	}
	return recs
}

// unprotected reads the records the channel framed for the kernel to send.
func unprotected(t *testing.T, reply []byte) []plainRec {
	var recs []plainRec
	for len(reply) > 0 {
		rec, n, err := nextRecord(reply, maxPlaintext)
		if err != nil || n == 0 {
			t.Fatalf("reply is not whole records: %x", reply)
		}
		recs = append(recs, plainRec{rec.typ, rec.payload})
		reply = reply[n:]
	}
	return recs
}

// outcome is what the channel made of a run of records: the application
// data it let through, what it sent, and how it ended.
type outcome struct {
	data    string
	replies string
	err     string
}

func describe(data []byte, replies []plainRec, err error) outcome {
	o := outcome{data: string(data)}
	for _, r := range replies {
		o.replies += fmt.Sprintf("%d:%x ", r.typ, r.content)
	}
	var aerr *AlertError
	var perr *PeerAlertError
	switch {
	case err == nil:
	case err == io.EOF:
		o.err = "EOF"
	case errors.As(err, &aerr):
		o.err = "sent " + aerr.Alert.String()
	case errors.As(err, &perr):
		o.err = "received " + perr.Alert.String()
	default:
		o.err = err.Error()
	}
	return o
}

// runUserSpace sends the records through Open, as user-space TLS does.
func runUserSpace(t *testing.T, version uint16, recs []plainRec) outcome {
	ch, peer := newChannelPair(t, version)
	in := peer.protect(recs)
	n, plain, reply, err := ch.Open(in, make([]byte, 0, 1<<15), nil)
	if err == nil && n != len(in) {
		t.Fatalf("user space consumed %d of %d bytes without an error", n, len(in))
	}
	if err != nil {
		// A channel that has ended takes nothing more.
		if m, _, more, err2 := ch.Open(peer.protect([]plainRec{{typeApplicationData, []byte("late")}}), nil, nil); m != 0 || len(more) != 0 || err2 == nil {
			t.Errorf("after %v: Open took %d bytes, replied %x, err %v", err, m, more, err2)
		}
	}
	return describe(plain, peer.openReply(reply), err)
}

// runKernel hands the records to Control one by one, as the kernel path
// does after recvmsg reported each with its content type, once both
// directions' keys are in the kernel.
func runKernel(t *testing.T, version uint16, recs []plainRec) outcome {
	ch, _ := newChannelPair(t, version)
	accept := func(*Session, *TrafficKeys) error { return nil }
	if ch.HandOff(Transmit, accept) != nil || ch.HandOff(Receive, accept) != nil {
		t.Fatal("hand-off")
	}
	var data, reply []byte
	var err error
	for _, r := range recs {
		if reply, err = ch.Control(uint8(r.typ), r.content, reply); err != nil {
			break
		}
		if r.typ == typeApplicationData {
			data = append(data, r.content...)
		}
	}
	if err != nil {
		if more, err2 := ch.Control(uint8(typeApplicationData), []byte("late"), nil); len(more) != 0 || err2 == nil {
			t.Errorf("after %v: Control replied %x, err %v", err, more, err2)
		}
	}
	return describe(data, unprotected(t, reply), err)
}

func rec(typ contentType, content string) plainRec { return plainRec{typ, []byte(content)} }

var (
	appData        = rec(typeApplicationData, "GET /")
	emptyData      = rec(typeApplicationData, "")
	closeNotify    = rec(typeAlert, "\x01\x00")
	userCanceled   = rec(typeAlert, "\x01\x5a")
	warningFailure = rec(typeAlert, "\x01\x28")
	fatalMAC       = rec(typeAlert, "\x02\x14")
	keyUpdate0     = rec(typeHandshake, "\x18\x00\x00\x01\x00")
	keyUpdate1     = rec(typeHandshake, "\x18\x00\x00\x01\x01")
	renegotiation  = rec(typeHandshake, "\x01\x00\x00\x02ab")
)

func repeat(r plainRec, n int) []plainRec {
	recs := make([]plainRec, n)
	for i := range recs {
		recs[i] = r
	}
	return recs
}

// TestChannelPostHandshake is the one table of what happens after the
// handshake, run against both ways into the channel: records opened in
// user space (Open) and records the kernel hands up after decrypting them
// (Control). Both must give the same answer; the only rows that differ say
// why in kernel: a KeyUpdate needs the traffic secret, which the process no
// longer has once the keys are in the kernel, so there the channel closes
// cleanly instead (issue 14 adds rekeying).
func TestChannelPostHandshake(t *testing.T) {
	const v12, v13 = VersionTLS12, VersionTLS13
	const unexpected, decodeError = "sent unexpected_message", "sent decode_error"
	alertReply := func(a Alert) string { b := alertBody(a); return fmt.Sprintf("21:%x ", b[:]) }
	cases := []struct {
		name     string
		versions []uint16
		recs     []plainRec
		want     outcome
		kernel   *outcome // when the kernel path must differ, and why (see above)
	}{
		{"application data", []uint16{v12, v13}, []plainRec{appData, appData}, outcome{data: "GET /GET /"}, nil},
		{"close_notify", []uint16{v12, v13}, []plainRec{appData, closeNotify}, outcome{data: "GET /", err: "EOF"}, nil},
		{"records after close_notify are not read", []uint16{v12, v13}, []plainRec{closeNotify, appData}, outcome{err: "EOF"}, nil},
		{"user_canceled is ignored", []uint16{v12, v13}, []plainRec{userCanceled, appData}, outcome{data: "GET /"}, nil},
		{"TLS 1.2 warning is ignored", []uint16{v12}, []plainRec{warningFailure, appData}, outcome{data: "GET /"}, nil},
		{"TLS 1.3 warning is fatal", []uint16{v13}, []plainRec{warningFailure}, outcome{err: "received handshake_failure"}, nil},
		{"fatal alert", []uint16{v12, v13}, []plainRec{fatalMAC, appData}, outcome{err: "received bad_record_mac"}, nil},
		{"alert of one byte", []uint16{v12, v13}, []plainRec{rec(typeAlert, "\x02")}, outcome{replies: alertReply(AlertDecodeError), err: decodeError}, nil},
		{"alert of three bytes", []uint16{v12, v13}, []plainRec{rec(typeAlert, "\x02\x14\x00")}, outcome{replies: alertReply(AlertDecodeError), err: decodeError}, nil},
		{"empty alert record", []uint16{v12, v13}, []plainRec{rec(typeAlert, "")}, outcome{replies: alertReply(AlertUnexpectedMessage), err: unexpected}, nil},
		{"empty handshake record", []uint16{v12, v13}, []plainRec{rec(typeHandshake, "")}, outcome{replies: alertReply(AlertUnexpectedMessage), err: unexpected}, nil},
		{"empty application data records are allowed", []uint16{v12, v13}, append(repeat(emptyData, MaxRecordsWithoutData), appData), outcome{data: "GET /"}, nil},
		{"too many records without data", []uint16{v12, v13}, repeat(emptyData, MaxRecordsWithoutData+1), outcome{replies: alertReply(AlertUnexpectedMessage), err: unexpected}, nil},
		{"warnings count as records without data", []uint16{v12, v13}, repeat(userCanceled, MaxRecordsWithoutData+1), outcome{replies: alertReply(AlertUnexpectedMessage), err: unexpected}, nil},
		{"data resets the count", []uint16{v12, v13}, append(append(repeat(emptyData, MaxRecordsWithoutData), appData), repeat(emptyData, MaxRecordsWithoutData)...), outcome{data: "GET /"}, nil},
		{"change_cipher_spec", []uint16{v12, v13}, []plainRec{rec(typeChangeCipherSpec, "\x01")}, outcome{replies: alertReply(AlertUnexpectedMessage), err: unexpected}, nil},
		{"renegotiation refused, data goes on", []uint16{v12}, []plainRec{renegotiation, appData}, outcome{data: "GET /", replies: alertReply(AlertNoRenegotiation)}, nil},
		{"renegotiation across records", []uint16{v12}, []plainRec{rec(typeHandshake, "\x01\x00"), rec(typeHandshake, "\x00\x02a"), rec(typeHandshake, "b"), appData}, outcome{data: "GET /", replies: alertReply(AlertNoRenegotiation)}, nil},
		{"renegotiation flood", []uint16{v12}, repeat(renegotiation, MaxRecordsWithoutData+1), outcome{replies: repeatString(alertReply(AlertNoRenegotiation), MaxRecordsWithoutData) + alertReply(AlertUnexpectedMessage), err: unexpected}, nil},
		{"ClientHello too long", []uint16{v12}, []plainRec{rec(typeHandshake, "\x01\x01\x00\x01")}, outcome{replies: alertReply(AlertDecodeError), err: decodeError}, nil},
		{"data inside a fragmented ClientHello", []uint16{v12}, []plainRec{rec(typeHandshake, "\x01\x00"), appData}, outcome{replies: alertReply(AlertUnexpectedMessage), err: unexpected}, nil},
		{"data inside a fragmented KeyUpdate", []uint16{v13}, []plainRec{rec(typeHandshake, "\x18\x00"), appData}, outcome{replies: alertReply(AlertUnexpectedMessage), err: unexpected}, nil},
		{"HelloRequest from the client", []uint16{v12}, []plainRec{rec(typeHandshake, "\x00\x00\x00\x00")}, outcome{replies: alertReply(AlertUnexpectedMessage), err: unexpected}, nil},
		{"ClientHello in TLS 1.3 (renegotiation)", []uint16{v13}, []plainRec{renegotiation}, outcome{replies: alertReply(AlertUnexpectedMessage), err: unexpected}, nil},
		{"NewSessionTicket from the client", []uint16{v13}, []plainRec{rec(typeHandshake, "\x04\x00\x00\x00")}, outcome{replies: alertReply(AlertUnexpectedMessage), err: unexpected}, nil},
		{"KeyUpdate request_update 2", []uint16{v13}, []plainRec{rec(typeHandshake, "\x18\x00\x00\x01\x02")}, outcome{replies: alertReply(AlertIllegalParameter), err: "sent illegal_parameter"}, nil},
		{"KeyUpdate of length 2", []uint16{v13}, []plainRec{rec(typeHandshake, "\x18\x00\x00\x02\x00\x00")}, outcome{replies: alertReply(AlertDecodeError), err: decodeError}, nil},
		{"data after KeyUpdate in its record", []uint16{v13}, []plainRec{rec(typeHandshake, "\x18\x00\x00\x01\x00\x18")}, outcome{replies: alertReply(AlertUnexpectedMessage), err: unexpected},
			&outcome{err: "EOF"}},
		{"KeyUpdate", []uint16{v13}, []plainRec{appData, keyUpdate0}, outcome{data: "GET /"},
			&outcome{data: "GET /", err: "EOF"}},
		{"KeyUpdate with update_requested", []uint16{v13}, []plainRec{keyUpdate1}, outcome{replies: "22:1800000100 "},
			&outcome{err: "EOF"}},
	}
	for _, tc := range cases {
		for _, v := range tc.versions {
			t.Run(fmt.Sprintf("%s/%s", tc.name, VersionName(v)), func(t *testing.T) {
				if got := runUserSpace(t, v, tc.recs); got != tc.want {
					t.Errorf("user space: %+v\n                  want %+v", got, tc.want)
				}
				want := tc.want
				if tc.kernel != nil {
					want = *tc.kernel
				}
				if got := runKernel(t, v, tc.recs); got != want {
					t.Errorf("kernel:     %+v\n                  want %+v", got, want)
				}
			})
		}
	}
}

func repeatString(s string, n int) string { return string(bytes.Repeat([]byte(s), n)) }

// TestChannelKernelKeyUpdateVerdict: when the owner follows KeyUpdates in
// the kernel (ktls_key_update = "rekey"), Control does not close on a
// KeyUpdate but gives a verdict: the next receive key, and our own
// KeyUpdate when update_requested (none after our close_notify). Malformed
// ones get the same alerts as in user space; a flood of them is cut off by
// the one limit of records without application data.
func TestChannelKernelKeyUpdateVerdict(t *testing.T) {
	keyUpdate := func(b byte) []byte { return []byte{msgKeyUpdate, 0, 0, 1, b} }
	ch, err := KernelChannel(VersionTLS13, AES128GCMSHA256)
	if err != nil {
		t.Fatal(err)
	}
	ch.FollowKeyUpdatesInKernel()
	for _, c := range []struct {
		request byte
		want    KeyUpdateVerdict
	}{{0, KeyUpdateVerdict{Received: true}}, {1, KeyUpdateVerdict{Received: true, UpdateRequested: true}}} {
		reply, err := ch.Control(uint8(typeHandshake), keyUpdate(c.request), nil)
		if err != nil || len(reply) != 0 {
			t.Fatalf("request_update %d: reply %x, error %v", c.request, reply, err)
		}
		if got := ch.TakeKeyUpdate(); got != c.want {
			t.Errorf("request_update %d: verdict %+v, want %+v", c.request, got, c.want)
		}
		if got := ch.TakeKeyUpdate(); got != (KeyUpdateVerdict{}) {
			t.Errorf("verdict not cleared: %+v", got)
		}
	}
	// Split across records, the verdict comes with the last byte.
	if _, err := ch.Control(uint8(typeHandshake), []byte{msgKeyUpdate, 0}, nil); err != nil || ch.TakeKeyUpdate().Received {
		t.Fatalf("first piece: %v", err)
	}
	if _, err := ch.Control(uint8(typeHandshake), []byte{0, 1, 0}, nil); err != nil || !ch.TakeKeyUpdate().Received {
		t.Fatalf("last piece: %v", err)
	}
	ch.CloseNotify(nil)
	if _, err := ch.Control(uint8(typeHandshake), keyUpdate(1), nil); err != nil {
		t.Fatal(err)
	}
	if got := ch.TakeKeyUpdate(); got != (KeyUpdateVerdict{Received: true}) {
		t.Errorf("after our close_notify: verdict %+v, want no KeyUpdate of ours", got)
	}

	for _, c := range []struct {
		name    string
		records [][]byte
		alert   Alert
	}{
		{"request_update 2", [][]byte{keyUpdate(2)}, AlertIllegalParameter},
		{"data after KeyUpdate", [][]byte{append(keyUpdate(0), msgKeyUpdate)}, AlertUnexpectedMessage},
		{"flood", slices.Repeat([][]byte{keyUpdate(0)}, MaxRecordsWithoutData+1), AlertUnexpectedMessage},
	} {
		ch, _ := KernelChannel(VersionTLS13, AES128GCMSHA256)
		ch.FollowKeyUpdatesInKernel()
		var err error
		for _, rec := range c.records {
			if _, err = ch.Control(uint8(typeHandshake), rec, nil); err != nil {
				break
			}
			ch.TakeKeyUpdate()
		}
		var aerr *AlertError
		if !errors.As(err, &aerr) || aerr.Alert != c.alert {
			t.Errorf("%s: error %v, want %v", c.name, err, c.alert)
		}
	}
}

// KernelChannel takes a version with one of its own suites (what another
// process passed) and keeps both in its Session; anything else is refused.
func TestKernelChannelVersionAndSuite(t *testing.T) {
	for _, c := range []struct {
		version uint16
		suite   CipherSuite
		ok      bool
	}{
		{VersionTLS13, AES256GCMSHA384, true},
		{VersionTLS12, ECDHEECDSAWithChaCha20Poly1305SHA256, true},
		{VersionTLS13, ECDHEECDSAWithChaCha20Poly1305SHA256, false},
		{VersionTLS12, AES256GCMSHA384, false},
		{VersionTLS13, 0, false},
		{0x0302, AES128GCMSHA256, false},
	} {
		ch, err := KernelChannel(c.version, c.suite)
		if (err == nil) != c.ok {
			t.Fatalf("version %#04x, suite %v: error %v, want ok %v", c.version, c.suite, err, c.ok)
		}
		if c.ok && (ch.Version() != c.version || ch.Session().CipherSuite != c.suite || !ch.Quiescent()) {
			t.Fatalf("version %#04x, suite %v: channel has %#04x, %v (quiescent %v)", c.version, c.suite, ch.Version(), ch.Session().CipherSuite, ch.Quiescent())
		}
	}
}
