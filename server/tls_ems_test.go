package server

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lwango/internal/testenv"
)

// noEMSConf is an OpenSSL configuration whose clients leave the extended
// master secret (RFC 7627) out of their TLS 1.2 ClientHello.
const noEMSConf = `openssl_conf = init
[init]
ssl_conf = ssl
[ssl]
system_default = defaults
[defaults]
Options = -ExtendedMasterSecret
`

// opensslWithoutEMS runs openssl s_client -tls1_2 without the extended
// master secret against addr, returning its output and whether it exited 0.
func opensslWithoutEMS(t *testing.T, addr string) (string, bool) {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "no-ems.cnf")
	if err := os.WriteFile(conf, []byte(noEMSConf), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, testenv.Program(t, "openssl"), "s_client", "-connect", addr, "-tls1_2", "-ign_eof")
	cmd.Env = append(os.Environ(), "OPENSSL_CONF="+conf)
	cmd.Stdin = strings.NewReader(helloRequest)
	out, err := cmd.CombinedOutput()
	return string(out), err == nil
}

// TestRequireExtendedMasterSecret: a TLS 1.2 client without the extended
// master secret is served by default and refused with handshake_failure
// when the listener sets require_extended_master_secret.
func TestRequireExtendedMasterSecret(t *testing.T) {
	lenient := startTLS(t, "", Options{})
	out, ok := opensslWithoutEMS(t, lenient.tlsAddr)
	if !ok {
		t.Fatalf("openssl without EMS failed against the default listener:\n%s", out)
	}
	checkHello(t, out, "Protocol  : TLSv1.2", "Extended master secret: no")

	strict := startTLS(t, "require_extended_master_secret = true\n", Options{})
	out, ok = opensslWithoutEMS(t, strict.tlsAddr)
	if ok || !strings.Contains(out, "handshake failure") || strings.Contains(out, "Hello, World!") {
		t.Fatalf("openssl without EMS was not refused with handshake_failure (exit ok=%v):\n%s", ok, out)
	}
}
