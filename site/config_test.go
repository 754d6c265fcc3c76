package site

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// issueExample is the configuration shape the issue gives.
const issueExample = `keep_alive_timeout = 15
threads = 0
expires = "1M 1w"
listener = "*:8080"
[tls_listener]
address = "*:8443"
cert = "cert.pem"
key = "key.pem"
[headers]
Server = "lwango"
[straitjacket]
user = "nobody"
chroot = "/srv/www"
[[site.serve_files]]
prefix = "/"
path = "./wwwroot"
[[site.redirect]]
prefix = "/old"
to = "/new"
code = 301
[[site.hello]]
prefix = "/hello"
`

func TestParseIssueExample(t *testing.T) {
	cfg, err := Parse("lwan.conf", []byte(issueExample))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		File:              "lwan.conf",
		KeepAliveTimeout:  15 * time.Second,
		Expires:           37 * 24 * time.Hour,
		RequestBufferSize: 4096,
		MaxPostDataSize:   40960,
		TrimIdleMemory:    30 * time.Second,
		Listener:          Address{Port: 8080},
		TLS: &TLSListener{
			Address: Address{Port: 8443}, Cert: "cert.pem", Key: "key.pem",
			Certs:          []CertFiles{{Cert: "cert.pem", Key: "key.pem", ConfigKey: "tls_listener.cert", Line: 7}},
			SessionTickets: 2,
			MinVersion:     TLS12, MaxVersion: TLS13, KTLS: KTLSAuto, HTTP2: true, ProtectKeys: true,
		},
		Headers:      []HeaderField{{"Server", "lwango"}},
		Straitjacket: &Straitjacket{User: "nobody", Chroot: "/srv/www"},
		Routes: []Route{
			{Kind: KindServeFiles, Prefix: "/", Key: "site.serve_files[0]", Line: 14, ServeFiles: &ServeFilesOptions{
				Path: "./wwwroot", IndexPath: "index.html", AutoIndex: true, ServePrecompressedFiles: true, CacheFor: 5 * time.Second,
			}},
			{Kind: KindRedirect, Prefix: "/old", Key: "site.redirect[0]", Line: 17, Redirect: &RedirectOptions{To: "/new", Code: 301}},
			{Kind: KindHello, Prefix: "/hello", Key: "site.hello[0]", Line: 21},
		},
	}
	want.pos = cfg.pos // the key index is tested in config_keys_test.go
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got  %+v\nwant %+v", cfg, want)
	}
}

// TestParseEveryKey sets every key to a non-default value.
func TestParseEveryKey(t *testing.T) {
	doc := `keep_alive_timeout = 30
threads = 2
quiet = true
expires = "1h"
proxy_protocol = false
request_buffer_size = 8192
max_post_data_size = 1000
allow_cors = true
h2c = true
listener = "[::1]:80"

[tls_listener]
address = "127.0.0.1:443"
cert = "c.pem"
key = "k.pem"
ticket_key_file = "/etc/lwango/ticket.key"
session_tickets = 4
ciphers = ["tls_aes_256_gcm_sha384", "TLS_CHACHA20_POLY1305_SHA256"]
groups = ["X25519MLKEM768", "X25519"]
hsts = true
min_version = "1.3"
max_version = "1.3"
ktls = "require"
redirect_http = true
http2 = false
protect_keys = false
ktls_key_update = "rekey"
ktls_rx_expect_no_pad = true

[headers]
X-Frame-Options = "DENY"
Server = "lwango/test"

[straitjacket]
user = "www"

[[site.serve_files]]
prefix = "/static/"
path = "/srv"
index_path = "home.htm"
auto_index = false
serve_precompressed_files = false
cache_for = "1m 30s"
authorization = { realm = "Files", password_file = "pw" }

[[site.response]]
prefix = "/gone"
code = 410

[[site.rewrite]]
prefix = "/r"
[[site.rewrite.pattern]]
match = "^/a/(\\d+)$"
rewrite_as = "/b?id=$1"
[[site.rewrite.pattern]]
match = "^/old/(.*)"
redirect_to = "/new/$1"
code = 308
[site.rewrite.authorization]
password_file = "pw2"

[[site.redirect]]
prefix = "/x"
to = "https://example.com/"
`
	cfg, err := Parse("all.conf", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.KeepAliveTimeout != 30*time.Second || cfg.Threads != 2 || !cfg.Quiet || cfg.Expires != time.Hour ||
		cfg.RequestBufferSize != 8192 || cfg.MaxPostDataSize != 1000 || !cfg.AllowCORS || !cfg.H2C ||
		cfg.Listener != (Address{Host: "::1", Port: 80}) {
		t.Errorf("top level: %+v", cfg)
	}
	wantTLS := &TLSListener{
		Address: Address{Host: "127.0.0.1", Port: 443}, Cert: "c.pem", Key: "k.pem",
		Certs:         []CertFiles{{Cert: "c.pem", Key: "k.pem", ConfigKey: "tls_listener.cert", Line: 14}},
		TicketKeyFile: "/etc/lwango/ticket.key", TicketKeyFileLine: 16, SessionTickets: 4,
		Ciphers: []string{"TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"},
		Groups:  []string{"X25519MLKEM768", "x25519"},
		HSTS:    true, MinVersion: TLS13, MaxVersion: TLS13, KTLS: KTLSRequire, RedirectHTTP: true,
		ProtectKeys: false, KTLSRekey: true, RXExpectNoPad: true,
	}
	if !reflect.DeepEqual(cfg.TLS, wantTLS) {
		t.Errorf("tls: %+v", cfg.TLS)
	}
	if want := []HeaderField{{"X-Frame-Options", "DENY"}, {"Server", "lwango/test"}}; !reflect.DeepEqual(cfg.Headers, want) {
		t.Errorf("headers (file order): %+v", cfg.Headers)
	}
	if *cfg.Straitjacket != (Straitjacket{User: "www"}) {
		t.Errorf("straitjacket: %+v", cfg.Straitjacket)
	}
	if len(cfg.Routes) != 4 {
		t.Fatalf("routes: %+v", cfg.Routes)
	}
	sf := cfg.Routes[0]
	if sf.Prefix != "/static" || *sf.ServeFiles != (ServeFilesOptions{Path: "/srv", IndexPath: "home.htm", CacheFor: 90 * time.Second}) ||
		*sf.Auth != (Authorization{Realm: "Files", PasswordFile: "pw"}) {
		t.Errorf("serve_files: %+v %+v %+v", sf, sf.ServeFiles, sf.Auth)
	}
	if r := cfg.Routes[1]; r.Kind != KindResponse || r.Response.Code != 410 || r.Line != 46 {
		t.Errorf("response: %+v", r)
	}
	rw := cfg.Routes[2]
	wantPatterns := []RewritePattern{
		{Match: `^/a/(\d+)$`, RewriteAs: "/b?id=$1", Line: 52},
		{Match: `^/old/(.*)`, RedirectTo: "/new/$1", Code: 308, Line: 55},
	}
	if rw.Kind != KindRewrite || !reflect.DeepEqual(rw.Rewrite.Patterns, wantPatterns) ||
		*rw.Auth != (Authorization{Realm: defaultRealm, PasswordFile: "pw2"}) {
		t.Errorf("rewrite: %+v %+v %+v", rw, rw.Rewrite, rw.Auth)
	}
	if r := cfg.Routes[3]; r.Kind != KindRedirect || *r.Redirect != (RedirectOptions{To: "https://example.com/", Code: 301}) {
		t.Errorf("redirect: %+v", r)
	}
}

// TestParseErrors checks that every error names the file, the line and the key.
func TestParseErrors(t *testing.T) {
	tests := []struct{ doc, want string }{
		// Syntax and types, reported by the decoder.
		{"threads = 1\nthreads = 2\n", "c.conf:2: threads: key threads is already defined"},
		{"listener = \n", "c.conf:1: "},
		{"threads = \"four\"\n", "c.conf:1: threads: wrong type: got a TOML string, want an integer"},
		{"quiet = 1\n", "c.conf:1: quiet: wrong type: got a TOML integer, want a boolean"},
		{"\n\nno_such_key = 1\n", "c.conf:3: no_such_key: unknown key"},
		{"[tls_listener]\naddress = \"*:1\"\ncerts = \"x\"\n", "c.conf:3: tls_listener.certs: unknown key"},
		{"[[site.serve_files]]\nprefix = \"/\"\npath = \"p\"\nauto_index = \"yes\"\n", "c.conf:4: site.serve_files[0].auto_index: wrong type: got a TOML string, want a boolean"},
		{"[[site.nope]]\nprefix = \"/\"\n", "c.conf:1: site.nope: unknown table"},
		// Top-level values.
		{"keep_alive_timeout = 0\n", "c.conf:1: keep_alive_timeout: must be 1..3600 seconds, got 0"},
		{"\nthreads = -1\n", "c.conf:2: threads: must be 0 (one per CPU) to 256, got -1"},
		{"threads = 257\n", "c.conf:1: threads: must be 0 (one per CPU) to 256, got 257"},
		{"quiet = true\nexpires = \"10\"\n", `c.conf:2: expires: bad time "10": number without a unit (s, m, h, d, w, M or y)`},
		{"expires = \"1x\"\n", `c.conf:1: expires: bad time "1x": unknown unit "x" (want s, m, h, d, w, M or y)`},
		{"request_buffer_size = 100\n", "c.conf:1: request_buffer_size: must be 4096..16777216 bytes, got 100"},
		{"request_buffer_size = 16777217\n", "c.conf:1: request_buffer_size: must be 4096..16777216 bytes, got 16777217"},
		{"max_post_data_size = 134217729\n", "c.conf:1: max_post_data_size: must be 0..134217728 bytes, got 134217729"},
		{"listener = \"8080\"\n", `c.conf:1: listener: bad address "8080": want "*:port", "host:port" or "[v6]:port"`},
		{"listener = \"*:99999\"\n", `c.conf:1: listener: bad port in "*:99999": want 0..65535`},
		{"listener = \":80\"\n", `c.conf:1: listener: bad address ":80": no host; write "*:80" for every interface`},
		// [tls_listener].
		{"[tls_listener]\ncert = \"c\"\nkey = \"k\"\n", `c.conf:1: tls_listener.address: missing; e.g. address = "*:8443"`},
		{"[tls_listener]\naddress = \"*:1\"\ncert = \"c\"\n", "c.conf:1: tls_listener.key: missing: cert is set, so key must be too"},
		{"[tls_listener]\naddress = \"*:1\"\n\nkey = \"k\"\n", "c.conf:1: tls_listener.cert: missing: key is set, so cert must be too"},
		{"[tls_listener]\naddress = \"*:1\"\nciphers = [\"RC4\"]\n", `c.conf:3: tls_listener.ciphers: unknown cipher suite "RC4" (known: ` + strings.Join(knownCiphers, ", ") + ")"},
		{"[tls_listener]\naddress = \"*:1\"\ngroups = [\"x25519\", \"X25519\"]\n", `c.conf:3: tls_listener.groups: group "X25519" is listed twice`},
		{"[tls_listener]\naddress = \"*:1\"\ngroups = []\n", "c.conf:3: tls_listener.groups: empty list; leave the key out for the defaults"},
		{"[tls_listener]\naddress = \"*:1\"\nmin_version = \"1.1\"\n", `c.conf:3: tls_listener.min_version: must be "1.2" or "1.3", got "1.1"`},
		{"[tls_listener]\naddress = \"*:1\"\nmin_version = \"1.3\"\nmax_version = \"1.2\"\n", `c.conf:3: tls_listener.min_version: min_version "1.3" is above max_version "1.2"`},
		{"[tls_listener]\naddress = \"*:1\"\nktls = \"yes\"\n", `c.conf:3: tls_listener.ktls: must be "auto", "require" or "off", got "yes"`},
		{"[tls_listener]\naddress = \"*:1\"\nktls_key_update = \"ignore\"\n", `c.conf:3: tls_listener.ktls_key_update: must be "close" or "rekey", got "ignore"`},
		// [headers].
		{"[headers]\nServer = \"a\"\nContent-Length = \"1\"\n", "c.conf:3: headers.Content-Length: Content-Length is set by the server and cannot be overridden"},
		{"[headers]\ndate = \"x\"\n", "c.conf:2: headers.date: date is set by the server and cannot be overridden"},
		{"[headers]\n\"Bad Name\" = \"x\"\n", `c.conf:2: headers.Bad Name: "Bad Name" is not a valid header name`},
		{"[headers]\nX-A = \"a\\r\\nX-Injected: 1\"\n", "c.conf:2: headers.X-A: value contains a control character"},
		{"[headers]\nAccess-Control-Allow-Origin = \"*\"\n", "c.conf:2: headers.Access-Control-Allow-Origin: Access-Control-Allow-Origin is set by the server (see allow_cors) and cannot be overridden"},
		{"[headers]\nX-A = \"1\"\nx-a = \"2\"\n", `c.conf:3: headers.x-a: header is also set as "X-A"`},
		// [[site.*]].
		{"[[site.hello]]\n", `c.conf:1: site.hello[0].prefix: missing; e.g. prefix = "/"`},
		{"[[site.hello]]\nprefix = \"hello\"\n", `c.conf:2: site.hello[0].prefix: must start with '/', got "hello"`},
		{"[[site.hello]]\nprefix = \"/a/../b\"\n", `c.conf:2: site.hello[0].prefix: must be a normalised path (no empty, '.' or '..' segments), got "/a/../b"`},
		{"[[site.hello]]\nprefix = \"/a?b\"\n", `c.conf:2: site.hello[0].prefix: must be a plain path (no '?', '#', spaces or control characters), got "/a?b"`},
		{"[[site.hello]]\nprefix = \"/h\"\n\n[[site.redirect]]\nprefix = \"/h/\"\nto = \"/\"\n", `c.conf:5: site.redirect[0].prefix: prefix "/h" is already used by site.hello[0] (line 1)`},
		{"[[site.serve_files]]\nprefix = \"/\"\n", "c.conf:1: site.serve_files[0].path: missing; the directory to serve"},
		{"[[site.serve_files]]\nprefix = \"/\"\npath = \"p\"\n[[site.serve_files]]\nprefix = \"/b\"\npath = \"p\"\ncache_for = \"5\"\n", `c.conf:7: site.serve_files[1].cache_for: bad time "5": number without a unit (s, m, h, d, w, M or y)`},
		{"[[site.serve_files]]\nprefix = \"/\"\npath = \"p\"\nindex_path = \"a/b\"\n", `c.conf:4: site.serve_files[0].index_path: must be a file name in the directory, got "a/b"`},
		{"[[site.redirect]]\nprefix = \"/\"\n", "c.conf:1: site.redirect[0].to: missing; the URL to redirect to"},
		{"[[site.redirect]]\nprefix = \"/\"\nto = \"/x\"\ncode = 200\n", "c.conf:4: site.redirect[0].code: must be 301, 302, 303, 307 or 308, got 200"},
		{"[[site.response]]\nprefix = \"/\"\n", "c.conf:1: site.response[0].code: missing; the status code to answer with"},
		{"[[site.response]]\nprefix = \"/\"\ncode = 99\n", "c.conf:3: site.response[0].code: must be a status code 200..599, got 99"},
		{"[[site.response]]\nprefix = \"/\"\ncode = 200\nbody = \"you are ${remote_addr}\"\n", "c.conf:4: site.response[0].body: unknown placeholder ${remote_addr} (known: ${remote_address}; $$ is a dollar sign)"},
		{"[[site.response]]\nprefix = \"/\"\ncode = 200\nbody = \"costs ${5\"\n", "c.conf:4: site.response[0].body: unclosed ${ at byte 6 (write $$ for a dollar sign)"},
		{"[[site.response]]\nprefix = \"/\"\ncode = 204\nbody = \"x\"\n", "c.conf:4: site.response[0].body: a 204 response has no body"},
		{"[[site.response]]\nprefix = \"/\"\ncode = 200\ncontent_type = \"text/plain\"\n", "c.conf:4: site.response[0].content_type: set without a body"},
		{"[[site.response]]\nprefix = \"/\"\ncode = 200\nbody = \"x\"\ncontent_type = \"a\\nb\"\n", "c.conf:5: site.response[0].content_type: must be a non-empty header value without control characters"},
		{"[[site.rewrite]]\nprefix = \"/\"\n", "c.conf:1: site.rewrite[0].pattern: missing; add [[site.rewrite.pattern]] tables with match and rewrite_as or redirect_to"},
		{"[[site.rewrite]]\nprefix = \"/\"\n[[site.rewrite.pattern]]\nrewrite_as = \"/x\"\n", "c.conf:3: site.rewrite[0].pattern[0].match: missing; a regular expression"},
		{"[[site.rewrite]]\nprefix = \"/\"\n[[site.rewrite.pattern]]\nmatch = \"(\"\nrewrite_as = \"/x\"\n", "c.conf:4: site.rewrite[0].pattern[0].match: bad regular expression: error parsing regexp: missing closing ): `(`"},
		{"[[site.rewrite]]\nprefix = \"/\"\n[[site.rewrite.pattern]]\nmatch = \"a\"\n", "c.conf:3: site.rewrite[0].pattern[0]: needs rewrite_as or redirect_to"},
		{"[[site.rewrite]]\nprefix = \"/\"\n[[site.rewrite.pattern]]\nmatch = \"a\"\nrewrite_as = \"/x\"\nredirect_to = \"/y\"\n", "c.conf:6: site.rewrite[0].pattern[0].redirect_to: rewrite_as and redirect_to cannot both be set"},
		{"[[site.rewrite]]\nprefix = \"/\"\n[[site.rewrite.pattern]]\nmatch = \"(a)\"\nrewrite_as = \"/$2\"\n", "c.conf:5: site.rewrite[0].pattern[0].rewrite_as: $2 refers to a capture the pattern does not have (it has 1)"},
		{"[[site.rewrite]]\nprefix = \"/\"\n[[site.rewrite.pattern]]\nmatch = \"a\"\nrewrite_as = \"x\"\n", `c.conf:5: site.rewrite[0].pattern[0].rewrite_as: must start with '/', got "x"`},
		{"[[site.rewrite]]\nprefix = \"/\"\n[[site.rewrite.pattern]]\nmatch = \"a\"\nrewrite_as = \"/x\"\ncode = 301\n", "c.conf:6: site.rewrite[0].pattern[0].code: code applies only to redirect_to"},
		{"[[site.rewrite]]\nprefix = \"/\"\n[[site.rewrite.pattern]]\nmatch = \"a\"\nredirect_to = \"/x$\"\n", "c.conf:5: site.rewrite[0].pattern[0].redirect_to: ends with a lone '$'; write $$ for a dollar sign"},
		{"[[site.rewrite]]\nprefix = \"/a\"\n[[site.rewrite.pattern]]\nmatch = \"a\"\nredirect_to = \"/x\"\n[[site.rewrite]]\nprefix = \"/b\"\n[[site.rewrite.pattern]]\nmatch = \"a\"\nredirect_to = \"/x\"\n[[site.rewrite.pattern]]\nmatch = \"b\"\nredirect_to = \"/x\"\ncode = 200\n", "c.conf:14: site.rewrite[1].pattern[1].code: must be 301, 302, 303, 307 or 308, got 200"},
		{"[[site.hello]]\nprefix = \"/\"\n[site.hello.authorization]\nrealm = \"a\\\"b\"\npassword_file = \"p\"\n", "c.conf:4: site.hello[0].authorization.realm: must be non-empty, without quotes, backslashes or control characters"},
		{"[[site.hello]]\nprefix = \"/\"\nauthorization = { realm = \"r\" }\n", "c.conf:3: site.hello[0].authorization.password_file: missing; a file of user = password lines"},
		{"[[site.hello]]\nprefix = \"/\"\nauthorization = { realm = \"r\", password = \"x\" }\n", "c.conf:3: site.hello[0].authorization.password: unknown key"},
	}
	for _, tt := range tests {
		_, err := Parse("c.conf", []byte(tt.doc))
		var ce *Error
		if !errors.As(err, &ce) {
			t.Errorf("Parse(%q) = %v, want an *Error", tt.doc, err)
			continue
		}
		if got := err.Error(); got != tt.want && !(strings.HasSuffix(tt.want, ": ") && strings.HasPrefix(got, tt.want)) {
			t.Errorf("Parse(%q)\n got  %s\n want %s", tt.doc, got, tt.want)
		}
	}
}

func TestDefaultConfig(t *testing.T) {
	cfg := DefaultConfig()
	if cfg.File != DefaultFile || cfg.Listener.String() != "*:8080" || cfg.TLS == nil ||
		cfg.TLS.Address.String() != "*:8443" || cfg.TLS.Cert != "" || cfg.TLS.Key != "" {
		t.Fatalf("default config: %+v %+v", cfg, cfg.TLS)
	}
	if len(cfg.Routes) != 1 || cfg.Routes[0].Prefix != "/" || cfg.Routes[0].ServeFiles.Path != "./wwwroot" {
		t.Fatalf("default routes: %+v", cfg.Routes)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "lwan.conf")
	if err := os.WriteFile(file, []byte("threads = 1\nexpires = \"2d\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(file)
	if err != nil || cfg.File != file || cfg.Expires != 48*time.Hour {
		t.Fatalf("Load = %+v, %v", cfg, err)
	}
	_, err = Load(filepath.Join(dir, "missing.conf"))
	if err == nil || !strings.Contains(err.Error(), "missing.conf") {
		t.Fatalf("Load(missing) = %v", err)
	}
}

// TestRepoConfig parses the documented example configuration in the
// repository root.
func TestRepoConfig(t *testing.T) {
	cfg, err := Load("../lwan.conf")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Routes) == 0 {
		t.Fatal("lwan.conf has no routes")
	}
}

func TestApplyOverrides(t *testing.T) {
	cfg := DefaultConfig()
	err := cfg.Apply(Overrides{Root: "/srv/site", Listener: "127.0.0.1:9000", TLSListener: "[::]:9443", Cert: "c.pem", Key: "k.pem"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Routes[0].ServeFiles.Path != "/srv/site" || cfg.Listener != (Address{Host: "127.0.0.1", Port: 9000}) ||
		cfg.TLS.Address != (Address{Host: "::", Port: 9443}) || cfg.TLS.Cert != "c.pem" || cfg.TLS.Key != "k.pem" {
		t.Fatalf("after Apply: %+v %+v", cfg, cfg.TLS)
	}

	// -r replaces a non-file "/" route and adds a file one.
	cfg, err = Parse("c", []byte("[[site.hello]]\nprefix = \"/\"\n[[site.hello]]\nprefix = \"/h\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Apply(Overrides{Root: "/www"}); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Routes) != 2 || cfg.Routes[0].Prefix != "/h" || cfg.Routes[1].Kind != KindServeFiles || cfg.Routes[1].ServeFiles.Path != "/www" {
		t.Fatalf("routes after -r: %+v", cfg.Routes)
	}

	noTLS, _ := Parse("c", nil)
	for _, tt := range []struct {
		o    Overrides
		want string
	}{
		{Overrides{Listener: "nope"}, `command line: -l: bad address "nope": want "*:port", "host:port" or "[v6]:port"`},
		{Overrides{TLSListener: "*:x"}, `command line: -L: bad port in "*:x": want 0..65535`},
		{Overrides{Cert: "c.pem", Key: "k.pem"}, "command line: -P/-K: a certificate needs a TLS listener: add -L ADDR or [tls_listener]"},
		{Overrides{TLSListener: "*:443", Cert: "c.pem"}, "command line: -P/-K: give both the certificate (-P) and the key (-K)"},
	} {
		c := *noTLS
		if err := c.Apply(tt.o); err == nil || err.Error() != tt.want {
			t.Errorf("Apply(%+v) = %v, want %s", tt.o, err, tt.want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	day := 24 * time.Hour
	for _, tt := range []struct {
		in   string
		want time.Duration
	}{
		{"5s", 5 * time.Second}, {"1m", time.Minute}, {"2h", 2 * time.Hour}, {"1d", day},
		{"1w", 7 * day}, {"1M", 30 * day}, {"1y", 365 * day}, {"1M 1w", 37 * day},
		{"1h30m", 90 * time.Minute}, {" 0s ", 0}, {"1d  12h", 36 * time.Hour},
	} {
		if got, err := ParseDuration(tt.in); err != nil || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "10", "s", "5x", "1h 5", "-1s", "1.5h", "101y", "99999999999999999999s", "1h,2m"} {
		if got, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", bad, got)
		}
	}
}

func TestParseAddress(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Address
		dial string
	}{
		{"*:8080", Address{Host: "", Port: 8080}, ":8080"},
		{"localhost:80", Address{Host: "localhost", Port: 80}, "localhost:80"},
		{"[::1]:443", Address{Host: "::1", Port: 443}, "[::1]:443"},
		{"0.0.0.0:0", Address{Host: "0.0.0.0", Port: 0}, "0.0.0.0:0"},
		{"systemd:web", Address{Systemd: "web"}, ":0"},
		{"systemd:a b", Address{Systemd: "a b"}, ":0"},
	} {
		got, err := ParseAddress(tt.in)
		if err != nil || got != tt.want || got.Dial() != tt.dial || got.String() != tt.in {
			t.Errorf("ParseAddress(%q) = %+v, %v (dial %q, string %q)", tt.in, got, err, got.Dial(), got.String())
		}
	}
	for _, bad := range []string{"", "8080", "*:", "*:-1", "*:+80", "*:65536", "[::1:80", "a b:80", "::1:80", ":80", "systemd:", "systemd:a\nb"} {
		if got, err := ParseAddress(bad); err == nil {
			t.Errorf("ParseAddress(%q) = %+v, want an error", bad, got)
		}
	}
}

func FuzzConfig(f *testing.F) {
	f.Add([]byte(issueExample))
	f.Add(defaultTOML)
	f.Add([]byte("[[site.rewrite]]\nprefix = \"/\"\n[[site.rewrite.pattern]]\nmatch = \"(a)\"\nrewrite_as = \"/$1\"\n"))
	f.Add([]byte("[[site.hello]]\nprefix = \"/\"\nauthorization = { realm = \"r\", password_file = \"p\" }\n"))
	f.Add([]byte("a = [1, [2, {b = 3}]]\n[x.y]\n[[x.y.z]]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.conf", data)
		if err == nil && cfg == nil {
			t.Fatal("nil config without an error")
		}
		var ce *Error
		if err != nil && !errors.As(err, &ce) {
			t.Fatalf("error %v is not an *Error", err)
		}
	})
}

// Every path a configuration names is resolved against the directory of
// the file (relative names stay relative to the working directory, as the
// file itself was found; absolute ones are kept), in TOML and in Lwan's
// syntax; the built-in configuration keeps ./wwwroot for the working
// directory.
func TestParseResolvesPathsAgainstTheFile(t *testing.T) {
	toml := `[tls_listener]
address = "*:8443"
ticket_key_file = "keys/ticket"
[[tls_listener.cert]]
cert = "tls/a.crt"
key = "/abs/a.key"
[[tls_listener.cert]]
cert = "../shared/b.crt"
key = "tls/b.key"
[straitjacket]
chroot = "jail"
[[site.serve_files]]
prefix = "/"
path = "./www"
[site.serve_files.authorization]
password_file = "htpasswd"
`
	for _, c := range []struct{ name, dir string }{
		{"/etc/lwango/lwan.conf", "/etc/lwango"},
		{"conf/lwan.conf", "conf"},
		{"lwan.conf", ""},
	} {
		cfg, err := Parse(c.name, []byte(toml))
		if err != nil {
			t.Fatal(err)
		}
		p := func(s string) string {
			if c.dir == "" {
				return s
			}
			return filepath.Join(c.dir, s)
		}
		got := []string{cfg.TLS.TicketKeyFile, cfg.TLS.Certs[0].Cert, cfg.TLS.Certs[0].Key, cfg.TLS.Certs[1].Cert,
			cfg.TLS.Certs[1].Key, cfg.TLS.Cert, cfg.Straitjacket.Chroot, cfg.Routes[0].ServeFiles.Path, cfg.Routes[0].Auth.PasswordFile}
		want := []string{p("keys/ticket"), p("tls/a.crt"), "/abs/a.key", p("../shared/b.crt"),
			p("tls/b.key"), p("tls/a.crt"), p("jail"), p("./www"), p("htpasswd")}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, want)
		}
	}

	lwan := "site {\n serve_files / {\n  path = www\n  authorization basic {\n   password file = htpasswd\n  }\n }\n}\n"
	cfg, err := Parse("/srv/site/lwan.conf", []byte(lwan))
	if err != nil {
		t.Fatal(err)
	}
	if r := cfg.Routes[0]; r.ServeFiles.Path != "/srv/site/www" || r.Auth.PasswordFile != "/srv/site/htpasswd" {
		t.Errorf("Lwan syntax: path %q, password_file %q", r.ServeFiles.Path, r.Auth.PasswordFile)
	}

	if got := DefaultConfig().Routes[0].ServeFiles.Path; got != "./wwwroot" {
		t.Errorf("built-in root %q, want ./wwwroot (the working directory's)", got)
	}
}
