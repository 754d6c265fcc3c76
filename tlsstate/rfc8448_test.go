package tlsstate

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"os"
	"strings"
	"testing"
)

// rfc8448 loads the RFC 8448 §3 trace from testdata.
func rfc8448(t testing.TB) map[string][]byte {
	t.Helper()
	f, err := os.Open("testdata/rfc8448-simple-1rtt.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v := map[string][]byte{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<16)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		name, hexText, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("bad vector line %q", line)
		}
		b, err := hex.DecodeString(hexText)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		v[name] = b
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return v
}

func wantBytes(t *testing.T, name string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s:\n got %x\nwant %x", name, got, want)
	}
}

func transcriptHash(s *suiteInfo, msgs ...[]byte) []byte {
	h := s.newHash()
	for _, m := range msgs {
		h.Write(m)
	}
	return h.Sum(nil)
}

// TestRFC8448KeySchedule checks every secret, key, IV and Finished value of
// the RFC 8448 §3 trace, computed from the trace's messages.
func TestRFC8448KeySchedule(t *testing.T) {
	v := rfc8448(t)
	s := suiteByID(AES128GCMSHA256)

	early := s.earlySecret()
	wantBytes(t, "early secret", early, v["early_secret"])
	hs := s.nextStageSecret(early, v["shared_secret"])
	wantBytes(t, "handshake secret", hs, v["handshake_secret"])
	wantBytes(t, "handshake secret without PSK (constants computed once)", s.handshakeSecret(nil, v["shared_secret"]), v["handshake_secret"])
	wantBytes(t, "empty transcript hash", s.emptyHash(), transcriptHash(s))

	helloHash := transcriptHash(s, v["client_hello"], v["server_hello"])
	cHS := s.deriveSecret(hs, "c hs traffic", helloHash)
	sHS := s.deriveSecret(hs, "s hs traffic", helloHash)
	wantBytes(t, "client handshake traffic secret", cHS, v["client_handshake_traffic_secret"])
	wantBytes(t, "server handshake traffic secret", sHS, v["server_handshake_traffic_secret"])

	key, iv := s.trafficKey(sHS)
	wantBytes(t, "server handshake key", key, v["server_handshake_key"])
	wantBytes(t, "server handshake iv", iv, v["server_handshake_iv"])
	key, iv = s.trafficKey(cHS)
	wantBytes(t, "client handshake key", key, v["client_handshake_key"])
	wantBytes(t, "client handshake iv", iv, v["client_handshake_iv"])
	wantBytes(t, "server finished key", s.expandLabel(sHS, "finished", nil, s.hashLen), v["server_finished_key"])

	beforeServerFinished := transcriptHash(s, v["client_hello"], v["server_hello"], v["encrypted_extensions"], v["certificate"], v["certificate_verify"])
	wantBytes(t, "server Finished", s.finishedVerifyData(sHS, beforeServerFinished), v["server_finished"][4:])

	master := s.nextStageSecret(hs, nil)
	wantBytes(t, "master secret", master, v["master_secret"])
	throughServerFinished := transcriptHash(s, v["client_hello"], v["server_hello"], v["encrypted_extensions"], v["certificate"], v["certificate_verify"], v["server_finished"])
	cAP := s.deriveSecret(master, "c ap traffic", throughServerFinished)
	sAP := s.deriveSecret(master, "s ap traffic", throughServerFinished)
	wantBytes(t, "client application traffic secret", cAP, v["client_application_traffic_secret"])
	wantBytes(t, "server application traffic secret", sAP, v["server_application_traffic_secret"])
	wantBytes(t, "client Finished", s.finishedVerifyData(cHS, throughServerFinished), v["client_finished"][4:])

	key, iv = s.trafficKey(sAP)
	wantBytes(t, "server application key", key, v["server_application_key"])
	wantBytes(t, "server application iv", iv, v["server_application_iv"])
	key, iv = s.trafficKey(cAP)
	wantBytes(t, "client application key", key, v["client_application_key"])
	wantBytes(t, "client application iv", iv, v["client_application_iv"])
}

// TestRFC8448RecordProtection seals the server's flight and opens the
// client's Finished with the trace's handshake keys: nonce construction,
// additional data and inner content type must match byte for byte.
func TestRFC8448RecordProtection(t *testing.T) {
	v := rfc8448(t)
	s := suiteByID(AES128GCMSHA256)
	tx, err := newRecordCipher(s, v["server_handshake_key"], v["server_handshake_iv"])
	if err != nil {
		t.Fatal(err)
	}
	flight := bytes.Join([][]byte{v["encrypted_extensions"], v["certificate"], v["certificate_verify"], v["server_finished"]}, nil)
	out, err := tx.seal(nil, typeHandshake, flight)
	if err != nil {
		t.Fatal(err)
	}
	wantBytes(t, "server flight record", out, v["server_flight_record"])

	rx, err := newRecordCipher(s, v["client_handshake_key"], v["client_handshake_iv"])
	if err != nil {
		t.Fatal(err)
	}
	rec, n, aerr := nextRecord(v["client_finished_record"], maxCiphertext13)
	if aerr != nil || n != len(v["client_finished_record"]) {
		t.Fatalf("framing: n=%d err=%v", n, aerr)
	}
	typ, content, aerr := rx.open(make([]byte, 0, 64), rec)
	if aerr != nil || typ != typeHandshake {
		t.Fatalf("open: type %d err %v", typ, aerr)
	}
	wantBytes(t, "client Finished plaintext", content, v["client_finished"])
}

// TestRFC8448ServerHello drives the Server with the trace's ClientHello,
// its server random and its server X25519 private key: the ServerHello must
// be the RFC's byte for byte, and the protected flight must open under the
// RFC's server handshake key and IV (so the handshake key schedule ran on
// the same transcript and shared secret).
func TestRFC8448ServerHello(t *testing.T) {
	v := rfc8448(t)
	cfg := testConfig("ecdsa-p256")
	cfg.Rand = bytes.NewReader(append(append([]byte(nil), v["server_random"]...), v["server_x25519_private"]...))
	srv := NewServer(cfg)
	consumed, out, p := srv.Advance(v["client_hello_record"], nil)
	if p != NeedInput || consumed != len(v["client_hello_record"]) {
		t.Fatalf("progress %v consumed %d err %v", p, consumed, srv.Failure())
	}
	sh := v["server_hello_record"]
	wantBytes(t, "ServerHello record", out[:min(len(out), len(sh))], sh)
	out = out[len(sh):]
	wantBytes(t, "compatibility CCS", out[:6], changeCipherSpecRecord)
	out = out[6:]

	s := suiteByID(AES128GCMSHA256)
	rx, err := newRecordCipher(s, v["server_handshake_key"], v["server_handshake_iv"])
	if err != nil {
		t.Fatal(err)
	}
	rec, n, aerr := nextRecord(out, maxCiphertext13)
	if aerr != nil || n != len(out) {
		t.Fatalf("flight is not one record: n=%d of %d, %v", n, len(out), aerr)
	}
	typ, content, aerr := rx.open(make([]byte, 0, len(out)), rec)
	if aerr != nil || typ != typeHandshake {
		t.Fatalf("flight does not open with the RFC's key: %v", aerr)
	}
	if content[0] != msgEncryptedExtensions || !bytes.Equal(content[:6], []byte{8, 0, 0, 2, 0, 0}) {
		t.Errorf("EncryptedExtensions %x", content[:6])
	}
}
