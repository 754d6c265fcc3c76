//go:build vmguest

package server

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"lwango/kernel"
	"lwango/tlsstate"
)

// rekeyLines configures a server that follows KeyUpdates where the kernel can.
const rekeyLines = "ciphers = [\"TLS_AES_128_GCM_SHA256\"]\nktls_key_update = \"rekey\""

// guestKernelRekeys says whether this guest's kernel can take new keys (Linux 7.2 here, not 6.1).
func guestKernelRekeys(t *testing.T) bool {
	switch k := os.Getenv("LWANGO_GUEST_KERNEL"); k {
	case "6.1":
		return false
	case "7.2":
		return true
	default:
		t.Fatalf("LWANGO_GUEST_KERNEL = %q; kernel/vmtest sets it", k)
		return false
	}
}

// checkKeyUpdateSetting: the startup line says what a KeyUpdate does here.
func checkKeyUpdateSetting(t *testing.T, g *guestServer) {
	t.Helper()
	want := "ktls_key_update=rekey"
	if !guestKernelRekeys(t) {
		want = `ktls_key_update="close (rekey is set, but this kernel cannot take new keys`
	}
	if !strings.Contains(g.log.String(), want) {
		t.Fatalf("startup log lacks %s: %s", want, g.log.String())
	}
}

// TestKTLSGuestGoClientKeyUpdates: Go's client, its sending side moved to
// the kernel so that it can send KeyUpdates (crypto/tls has no API for
// them), sends 40 KeyUpdates, each followed by a request under its next
// key; the server installs each next receive key in the kernel and
// answers every request. Then 20 KeyUpdates in a row without a request:
// the flood is cut off with unexpected_message. The kernel's rekey counters
// move. On Linux 6.1, where no kernel key can change, the first KeyUpdate
// ends the connection cleanly (close_notify, reason logged) whatever the
// setting.
func TestKTLSGuestGoClientKeyUpdates(t *testing.T) {
	g := startGuestServer(t, rekeyLines)
	checkKeyUpdateSetting(t, g)
	var keyLog bytes.Buffer
	conn := dialGuest(t, g.tlsAddr, tls.VersionTLS13, &keyLog)
	r := bufio.NewReader(conn)
	if body := fetch(t, conn, r, "/hello"); string(body) != "Hello, World!" {
		t.Fatalf("before: %q", body)
	}
	before := tlsStats(t)
	secret := keyLogSecret(t, keyLog.Bytes(), "CLIENT_TRAFFIC_SECRET_0")
	fd := clientKernelTX(t, conn, keyLog.Bytes(), 1) // the request was record 0
	keyUpdate := []byte{24, 0, 0, 1, 0}              // update_not_requested
	nextKey := func() {
		secret = expandLabel(t, secret, "traffic upd", 32)
		keys, err := kernel.TLS13Keys(kernel.TLS_CIPHER_AES_GCM_128, expandLabel(t, secret, "key", 16), expandLabel(t, secret, "iv", 12), 0)
		if err == nil {
			err = kernel.InstallTX(fd, keys)
		}
		if err != nil {
			t.Fatalf("client's next key: %v", err)
		}
	}

	if !guestKernelRekeys(t) {
		if _, err := kernel.SendRecord(fd, kernel.RecordHandshake, keyUpdate); err != nil {
			t.Fatal(err)
		}
		if rest, err := io.ReadAll(r); len(rest) != 0 || err != nil {
			t.Fatalf("after a KeyUpdate on Linux 6.1: read %q, %v; want a clean end (close_notify)", rest, err)
		}
		waitFor(t, func() bool { return strings.Contains(g.log.String(), "peer KeyUpdate") }, "the reason in the server log")
		return
	}
	const rounds = 40
	for i := range rounds {
		if _, err := kernel.SendRecord(fd, kernel.RecordHandshake, keyUpdate); err != nil {
			t.Fatal(err)
		}
		nextKey()
		if _, err := unix.Write(fd, []byte("GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("response %d after a KeyUpdate: %v", i, err)
		}
		if body, err := io.ReadAll(resp.Body); err != nil || string(body) != "Hello, World!" {
			t.Fatalf("response %d after a KeyUpdate: %q, %v", i, body, err)
		}
	}
	after := tlsStats(t)
	if moved := after["TlsRxRekeyOk"] - before["TlsRxRekeyOk"]; moved < rounds {
		t.Errorf("TlsRxRekeyOk moved by %d, want at least %d (TlsRxRekeyReceived %d -> %d)", moved, rounds, before["TlsRxRekeyReceived"], after["TlsRxRekeyReceived"])
	}
	t.Logf("%d KeyUpdates followed; tls_stat TlsRxRekeyOk %d -> %d, TlsRxRekeyReceived %d -> %d", rounds,
		before["TlsRxRekeyOk"], after["TlsRxRekeyOk"], before["TlsRxRekeyReceived"], after["TlsRxRekeyReceived"])

	for range tlsstate.MaxRecordsWithoutData + 4 { // a flood: KeyUpdates and nothing else, past the channel's one limit
		if _, err := kernel.SendRecord(fd, kernel.RecordHandshake, keyUpdate); err != nil {
			break // the server may have cut us off already
		}
		nextKey()
	}
	if rest, err := io.ReadAll(r); len(rest) != 0 || err == nil || !strings.Contains(err.Error(), "unexpected message") {
		t.Fatalf("after a flood of KeyUpdates: read %q, %v; want unexpected_message", rest, err)
	}
	waitFor(t, func() bool { return strings.Contains(g.log.String(), "too many records without application data") }, "the flood in the server log")
}

// TestKTLSGuestOpenSSLKeyUpdateRekey: openssl s_client fetches a page,
// sends a KeyUpdate ("k"), or one with update_requested ("K": the server
// must send its own KeyUpdate and move to its next transmit key before the
// next response), then fetches the page again on the same connection,
// which ends cleanly. On Linux 6.1 the KeyUpdate ends the connection
// cleanly instead (close_notify, reason logged).
func TestKTLSGuestOpenSSLKeyUpdateRekey(t *testing.T) {
	for _, command := range []string{"k", "K"} {
		t.Run(command, func(t *testing.T) {
			g := startGuestServer(t, rekeyLines)
			checkKeyUpdateSetting(t, g)
			before := tlsStats(t)
			client := startOpenSSL(t, g.tlsAddr)
			io.WriteString(client.stdin, "GET /small.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
			waitFor(t, client.has("small file\n", 1), "the first response")
			io.WriteString(client.stdin, command+"\n")
			waitFor(t, client.has("KEYUPDATE", 1), "openssl's KeyUpdate")
			if guestKernelRekeys(t) {
				io.WriteString(client.stdin, "GET /small.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
			}
			err := client.wait(t)
			got := client.all()
			if err != nil || !bytes.Contains(got, []byte("closed\n")) {
				t.Fatalf("openssl: %v; want a clean end (\"closed\"):\n%s", err, tail(got))
			}
			if !guestKernelRekeys(t) {
				waitFor(t, func() bool { return strings.Contains(g.log.String(), "peer KeyUpdate") }, "the reason in the server log")
				return
			}
			if n := bytes.Count(got, []byte("small file\n")); n != 2 {
				t.Fatalf("%d responses, want 2 (one after the KeyUpdate):\n%s", n, tail(got))
			}
			after := tlsStats(t)
			if after["TlsRxRekeyOk"] == before["TlsRxRekeyOk"] {
				t.Error("TlsRxRekeyOk did not move")
			}
			if command == "K" && after["TlsTxRekeyOk"] == before["TlsTxRekeyOk"] {
				t.Error("update_requested: TlsTxRekeyOk did not move (the server did not send its own KeyUpdate)")
			}
		})
	}
}

// TestKTLSGuestDownloadSpansRekeys: a 64 MiB file, sent with sendfile by a
// server that moves to its next transmit key every 1000 records (at least
// four KeyUpdates of its own in this response), reaches Go's client byte
// for byte, and the kernel counts the transmit rekeys. On Linux 6.1 the
// server cannot rekey (the startup line says so): the same download goes
// out under one key, whose limit is then the suite's (a connection that
// cannot rekey never passes its limit: with 1000 it would be cut there,
// see TestKTLSGuestRecordLimitWithoutKeyUpdate).
func TestKTLSGuestDownloadSpansRekeys(t *testing.T) {
	var limit uint64
	if guestKernelRekeys(t) {
		limit = 1000
	}
	g := startGuestServerOptions(t, rekeyLines, Options{RekeyAfterRecords: limit})
	checkKeyUpdateSetting(t, g)
	data := make([]byte, 64<<20)
	rand.Read(data)
	if err := os.WriteFile(filepath.Join(g.site.dir, "64m.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(data)
	data = nil
	before := tlsStats(t)
	conn := dialGuest(t, g.tlsAddr, tls.VersionTLS13, nil)
	r := bufio.NewReader(conn)
	if _, err := io.WriteString(conn, "GET /64m.bin HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	if err != nil || n != 64<<20 || !bytes.Equal(h.Sum(nil), want[:]) {
		t.Fatalf("64 MiB download: %d bytes, %v, hash equal %v", n, err, bytes.Equal(h.Sum(nil), want[:]))
	}
	// The connection still works after the rekeys.
	if body := fetch(t, conn, r, "/hello"); string(body) != "Hello, World!" {
		t.Fatalf("after the download: %q", body)
	}
	after := tlsStats(t)
	rekeys := after["TlsTxRekeyOk"] - before["TlsTxRekeyOk"]
	t.Logf("64 MiB byte for byte; TlsTxRekeyOk %d -> %d", before["TlsTxRekeyOk"], after["TlsTxRekeyOk"])
	switch {
	case guestKernelRekeys(t) && rekeys < 4:
		t.Errorf("the server rekeyed %d times during 64 MiB at 1000 records per key, want at least 4", rekeys)
	case !guestKernelRekeys(t):
		if _, ok := after["TlsTxRekeyOk"]; ok {
			t.Error("Linux 6.1 has rekey counters?")
		}
	}
}

// TestKTLSGuestRecordLimitWithoutKeyUpdate: a kernel TLS connection that
// cannot move to a next key (TLS 1.2 has no KeyUpdate; under
// ktls_key_update = "close", the default, the process keeps no TLS 1.3
// secret) and nears the record limit of its key (160 records here, counted
// conservatively; 100 KiB responses cost 7 or more) takes no new request:
// each response in flight is finished byte for byte, then the connection
// ends with close_notify and the reason is logged. The records the server
// sent under its application key (TLS 1.3's session tickets and TLS 1.2's
// Finished included), counted on the wire, stay within the limit.
func TestKTLSGuestRecordLimitWithoutKeyUpdate(t *testing.T) {
	const limit = 160
	for _, c := range []struct {
		name, tlsLines string
		version        uint16
	}{
		{"TLS 1.2", guestCases[3].tlsLines, tls.VersionTLS12},
		{"TLS 1.3 close", guestCases[0].tlsLines, tls.VersionTLS13},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := startGuestServerOptions(t, c.tlsLines, Options{RekeyAfterRecords: limit})
			raw, err := net.Dial("tcp", g.tlsAddr)
			if err != nil {
				t.Fatal(err)
			}
			wire := &recordWatch{Conn: raw}
			conn := tls.Client(wire, &tls.Config{InsecureSkipVerify: true, MinVersion: c.version, MaxVersion: c.version})
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(2 * time.Minute))
			r := bufio.NewReader(conn)
			near := func() bool { return strings.Contains(g.log.String(), "near the record limit") }
			responses := getMediumUntilEnd(t, conn, r, g.site.medium, limit, func(responses int) bool {
				_, err := r.Peek(1)
				return err == io.EOF && responses > 0 // the end before this request's answer: the limit was near
			})
			waitFor(t, near, "the reason in the server log")
			t.Logf("%d responses, then the end; %d records under the server's key, limit %d", responses, wire.records, limit)
			if wire.records > limit || wire.records < limit/2 {
				t.Errorf("the server sent %d records under its key; want at most the limit, %d, and at least half of it", wire.records, limit)
			}
			// The last record is close_notify: an alert record in TLS 1.2, a
			// protected record of its length in TLS 1.3.
			if c.version == tls.VersionTLS12 && wire.lastType != recordTypeAlert || c.version == tls.VersionTLS13 && wire.lastLen != closeNotifyRecord {
				t.Errorf("the last record (type %d, %d bytes) is not close_notify", wire.lastType, wire.lastLen)
			}
		})
	}
}
