package site

import (
	"errors"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// flatten lists a section tree as "section name arg @line" and
// "key=value @line" lines, depth-indented.
func flatten(s *lwanSection, depth int, out *[]string) {
	for _, it := range s.items {
		pad := strings.Repeat("  ", depth)
		if it.kv != nil {
			*out = append(*out, pad+it.kv.key+"="+it.kv.value+" @"+strconv.Itoa(it.kv.line))
			continue
		}
		*out = append(*out, pad+"section "+it.sec.name+" "+it.sec.arg+" @"+strconv.Itoa(it.sec.line))
		flatten(it.sec, depth+1, out)
	}
}

func testEnv(name string) (string, bool) {
	switch name {
	case "HOME":
		return "/home/lwan", true
	case "EMPTY":
		return "", true
	}
	return "", false
}

// The grammar of Lwan's README ("Configuration File") and of its sample
// files, read into sections and key = value lines.
func TestLwanSyntax(t *testing.T) {
	for _, c := range []struct {
		name, text string
		want       []string
	}{
		{"README format example", "sound volume = 11 # This one is 1 louder\n\nplaylist metal {\n   files = '''\n\t/multi/line/strings/are/supported.mp3\n\t/anything/inside/these/are/stored/verbatim.mp3\n   '''\n}\n\nplaylist chiptune {\n   files = \"\"\"\n\t/if/it/starts/with/single/quotes/it/ends/with/single/quotes.mod\n\t/but/it/can/use/double/quotes.s3m\n   \"\"\"\n}\n",
			[]string{
				"sound_volume=11 @1",
				"section playlist metal @3",
				"  files=\n\t/multi/line/strings/are/supported.mp3\n\t/anything/inside/these/are/stored/verbatim.mp3\n    @4",
				"section playlist chiptune @10",
				"  files=\n\t/if/it/starts/with/single/quotes/it/ends/with/single/quotes.mod\n\t/but/it/can/use/double/quotes.s3m\n    @11",
			}},
		{"keys joined with _ and values' words with one space", "serve precompressed files   =   true\nsome_key_name = a   b\tc\n",
			[]string{"serve_precompressed_files=true @1", "some_key_name=a b c @2"}},
		{"= inside a value", "to = /x?a=b=c\n", []string{"to=/x?a=b=c @1"}},
		{"empty sections without braces", "straitjacket\nlistener *:8080\n&hello_world /hello\n",
			[]string{"section straitjacket  @1", "section listener *:8080 @2", "section &hello_world /hello @3"}},
		{"a section on one line", "redirect /elsewhere { to = http://lwan.ws }\nresponse /x{code=418}\n",
			[]string{"section redirect /elsewhere @1", "  to=http://lwan.ws @1", "section response /x @2", "  code=418 @2"}},
		{"nested sections", "site {\n  rewrite /p {\n    pattern (%d+) { rewrite as = /h?n=%1 }\n  }\n}\n",
			[]string{"section site  @1", "  section rewrite /p @2", "    section pattern (%d+) @3", "      rewrite_as=/h?n=%1 @3"}},
		{"constants, environment and defaults", "constants {\n  buffer_size = 1000000\n  home = ${HOME}\n  user_name = ${USER:nobody}\n}\na = ${buffer_size}\nb = ${home}/x\nc = ${UNSET:5}\nd = pre${EMPTY:no}post\ne = ${user_name}\n",
			[]string{"a=1000000 @6", "b=/home/lwan/x @7", "c=5 @8", "d=prepost @9", "e=nobody @10"}},
		{"a constant may be redefined and is seen only after it", "a = ${X:env}\nconstants {\n X = one\n}\nb = ${X}\nconstants {\n X = two\n}\nc = ${X}\n",
			[]string{"a=env @1", "b=one @5", "c=two @9"}},
		{"comments everywhere", "# top\nkey = v # trailing\nsec { # after brace\n}\n",
			[]string{"key=v @2", "section sec  @3"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			root, err := parseLwanSyntax("t.conf", []byte(c.text), testEnv)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			flatten(root, 0, &got)
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

// Values as the documentation types them: times (units s m h d w M y,
// added up), booleans (true/on/yes/false/off/no or a number), integers.
func TestLwanSyntaxValues(t *testing.T) {
	for _, c := range []struct {
		text  string
		check func(*Config) bool
	}{
		{"expires = 1M 1w\n", func(c *Config) bool { return c.Expires == 37*24*time.Hour }},
		{"expires = 2h 25m 15s\n", func(c *Config) bool { return c.Expires == 2*time.Hour+25*time.Minute+15*time.Second }},
		{"expires = 1y\n", func(c *Config) bool { return c.Expires == 365*24*time.Hour }},
		{"expires = 30\n", func(c *Config) bool { return c.Expires == 30*time.Second }},
		{"quiet = on\n", func(c *Config) bool { return c.Quiet }},
		{"quiet = Yes\n", func(c *Config) bool { return c.Quiet }},
		{"quiet = 1\n", func(c *Config) bool { return c.Quiet }},
		{"quiet = 0\nallow cors = true\n", func(c *Config) bool { return !c.Quiet && c.AllowCORS }},
		{"quiet = off\n", func(c *Config) bool { return !c.Quiet }},
		{"keep_alive_timeout = 30\nthreads = 2\n", func(c *Config) bool { return c.KeepAliveTimeout == 30*time.Second && c.Threads == 2 }},
		{"listener [::1]:8080\n", func(c *Config) bool { return c.Listener.String() == "[::1]:8080" }},
		{"headers {\n  Server = Apache/1.0.0 or nginx/1.0.0 (at your option)\n  X-Home = ${HOME}\n}\n", func(c *Config) bool {
			return len(c.Headers) == 2 && c.Headers[0] == HeaderField{"Server", "Apache/1.0.0 or nginx/1.0.0 (at your option)"} &&
				c.Headers[1] == HeaderField{"X-Home", "/home/lwan"}
		}},
		{"straightjacket {\n user = nobody\n chroot = /srv\n}\n", func(c *Config) bool {
			return c.Straitjacket != nil && *c.Straitjacket == Straitjacket{User: "nobody", Chroot: "/srv"}
		}},
		{"tls_listener *:8081 {\n\tcert = /path/to/cert.pem\n\tkey = /path/to/key.pem\n\thsts = yes\n\tciphers = TLS_AES_128_GCM_SHA256, TLS_CHACHA20_POLY1305_SHA256\n\tsession tickets = 0\n}\n", func(c *Config) bool {
			t := c.TLS
			return t != nil && t.Address.String() == "*:8081" && t.Cert == "/path/to/cert.pem" && t.Key == "/path/to/key.pem" && t.HSTS &&
				strings.Join(t.Ciphers, " ") == "TLS_AES_128_GCM_SHA256 TLS_CHACHA20_POLY1305_SHA256" && t.SessionTickets == 0
		}},
		{"tls_listener *:8443 {\n cert {\n  cert = a.pem\n  key = a.key\n }\n cert {\n  cert = b.pem\n  key = b.key\n }\n}\n", func(c *Config) bool {
			t := c.TLS
			return len(t.Certs) == 2 && t.Certs[1].Cert == "b.pem" && t.Certs[1].Key == "b.key" && t.Certs[1].Line == 6
		}},
		{"site {\n serve_files / {\n  path = ./wwwroot\n  serve precompressed files = false\n  auto index = no\n  index path = start.html\n  cache for = 10\n }\n}\n", func(c *Config) bool {
			r := c.Routes[0]
			return len(c.Routes) == 1 && r.Kind == KindServeFiles && r.Prefix == "/" && r.Line == 2 &&
				*r.ServeFiles == ServeFilesOptions{Path: "./wwwroot", IndexPath: "start.html", CacheFor: 10 * time.Second}
		}},
		{"site {\n redirect /old { to = /new\n code = 307 }\n response /gone { code = 410 }\n hello /hello\n}\n", func(c *Config) bool {
			return len(c.Routes) == 3 && *c.Routes[0].Redirect == RedirectOptions{To: "/new", Code: 307} &&
				c.Routes[1].Response.Code == 410 && c.Routes[2].Kind == KindHello && c.Routes[2].Line == 5
		}},
		{"site {\n hello /admin {\n  authorization basic {\n   realm = Administration Page\n   password file = htpasswd\n  }\n }\n serve_files /pub { path = . \n authorization basic }\n}\n", func(c *Config) bool {
			return *c.Routes[0].Auth == Authorization{Realm: "Administration Page", PasswordFile: "htpasswd"} &&
				*c.Routes[1].Auth == Authorization{Realm: "Lwan", PasswordFile: "htpasswd"}
		}},
		// The README's rewrite example, in Lua patterns with %1 captures.
		{"site {\nrewrite /some/base/endpoint {\n    pattern posts/(%d+) {\n        rewrite_as = /cms/view-post?id=%1\n    }\n    pattern imgur/(%a+)/(%g+) {\n        redirect_to = https://i.imgur.com/%2.%1\n    }\n}\n}\n", func(c *Config) bool {
			p := c.Routes[0].Rewrite.Patterns
			return len(p) == 2 && p[0] == RewritePattern{Match: "posts/([[:digit:]]+)", RewriteAs: "/cms/view-post?id=$1", Line: 3} &&
				p[1] == RewritePattern{Match: "imgur/([[:alpha:]]+)/([[:graph:]]+)", RedirectTo: "https://i.imgur.com/$2.$1", Code: 302, Line: 6}
		}},
	} {
		cfg, err := parseLwan("t.conf", []byte(c.text), testEnv)
		if err != nil {
			t.Errorf("%q: %v", c.text, err)
			continue
		}
		if !c.check(cfg) {
			t.Errorf("%q: got %+v (tls %+v, routes %+v)", c.text, cfg, cfg.TLS, cfg.Routes)
		}
	}
}

// Lua patterns (Lwan's rewrite) translate into Go regexps that match the
// same strings.
func TestLuaPatternToRegexp(t *testing.T) {
	for _, c := range []struct {
		pat         string
		match, miss []string
		sub         string // the first capture of match[0]
	}{
		{"posts/(%d+)", []string{"/posts/2600", "posts/1"}, []string{"posts/x"}, "2600"},
		{"^/(%a+)$", []string{"/abc"}, []string{"/ab1", "x/abc"}, "abc"},
		{"(%w+)%.css", []string{"site.css"}, []string{"sitexcss"}, "site"},
		{"a(.-)b", []string{"axxbyb"}, nil, "xx"},
		{"([^/]+)/?", []string{"dir/"}, nil, "dir"},
		{"([%w_-]+)", []string{"a_b-c"}, nil, "a_b-c"},
		{"(%S+)", []string{"ab cd"}, nil, "ab"},
		{"x%%y", []string{"x%y"}, []string{"xy"}, ""},
		{"(a*)", []string{"aaa"}, nil, "aaa"},
		{"[]]", []string{"]"}, []string{"a"}, ""},
	} {
		re, err := luaPatternToRegexp(c.pat)
		if err != nil {
			t.Errorf("%q: %v", c.pat, err)
			continue
		}
		r := regexp.MustCompile(re)
		for _, s := range c.match {
			if !r.MatchString(s) {
				t.Errorf("%q (%s) does not match %q", c.pat, re, s)
			}
		}
		for _, s := range c.miss {
			if r.MatchString(s) {
				t.Errorf("%q (%s) matches %q", c.pat, re, s)
			}
		}
		if m := r.FindStringSubmatch(c.match[0]); c.sub != "" && (len(m) < 2 || m[1] != c.sub) {
			t.Errorf("%q on %q: captures %q, want %q", c.pat, c.match[0], m, c.sub)
		}
	}
	for _, bad := range []string{"%b()", "%f[%w]", "(a)%1", "()", "[a", "%q", "x%"} {
		if re, err := luaPatternToRegexp(bad); err == nil {
			t.Errorf("%q translated to %q, want an error", bad, re)
		}
	}
	if got := luaTemplateToGo("/a/%1/%2?p=$x&q=%z"); got != "/a/$1/$2?p=$$x&q=%z" {
		t.Errorf("template: %q", got)
	}
}

// Lwan's sample lwan.conf loads as it is.
func TestLwanSampleConf(t *testing.T) {
	data, err := os.ReadFile("testdata/lwan/lwan.conf")
	if err != nil {
		t.Fatal(err)
	}
	if !IsLwanSyntax(data) {
		t.Fatal("Lwan's lwan.conf is not detected as Lwan's syntax")
	}
	cfg, err := Parse("lwan.conf", data)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{KeepAliveTimeout: 15 * time.Second, Expires: 37 * 24 * time.Hour}
	if cfg.KeepAliveTimeout != want.KeepAliveTimeout || cfg.Quiet || cfg.Expires != want.Expires || cfg.Threads != 0 ||
		cfg.ProxyProtocol || cfg.Listener.String() != "*:8080" || cfg.Straitjacket == nil || cfg.TLS != nil {
		t.Fatalf("%+v", cfg)
	}
	if len(cfg.Routes) != 1 || cfg.Routes[0].Prefix != "/" || cfg.Routes[0].Line != 29 ||
		*cfg.Routes[0].ServeFiles != (ServeFilesOptions{Path: "./wwwroot", IndexPath: "index.html", AutoIndex: true, ServePrecompressedFiles: true, CacheFor: 5 * time.Second}) {
		t.Fatalf("routes %+v %+v", cfg.Routes, cfg.Routes[0].ServeFiles)
	}
	// This repository's TOML lwan.conf is not taken for Lwan's syntax.
	toml, err := os.ReadFile("../lwan.conf")
	if err != nil {
		t.Fatal(err)
	}
	if IsLwanSyntax(toml) {
		t.Fatal("lwango's TOML lwan.conf detected as Lwan's syntax")
	}
}

// Lwan's test configuration fails only on what lwango does not have: its
// test program's C handlers, the lua module, rewrite conditions and Lua
// rewrites, each named with its line. The rest translates and means what
// it means in Lwan.
func TestLwanTestrunnerConf(t *testing.T) {
	t.Setenv("USER", "tester")
	t.Setenv("KEEP_ALIVE_TIMEOUT", "")
	os.Unsetenv("KEEP_ALIVE_TIMEOUT")
	os.Unsetenv("CACHE_FOR")
	data, err := os.ReadFile("testdata/lwan/testrunner.conf")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Parse("testrunner.conf", data)
	var got []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var ce *Error
		if !errors.As(e, &ce) || ce.File != "testrunner.conf" {
			t.Fatalf("not a configuration error of the file: %v", e)
		}
		got = append(got, strconv.Itoa(ce.Line)+" "+ce.Msg[:min(len(ce.Msg), 40)])
	}
	want := []string{
		"37 Lwan handler &custom_header (a C functio",
		"39 Lwan handler &sleep (a C function of a L",
		"41 Lwan handler &hello_world (a C function ",
		"43 Lwan handler &quit_lwan (a C function of",
		"45 Lwan handler &test_proxy (a C function o",
		"47 Lwan handler &test_chunked_encoding (a C",
		"49 Lwan handler &test_server_sent_event (a ",
		"51 Lwan handler &gif_beacon (a C function o",
		"53 Lwan handler &gif_beacon (a C function o",
		"55 Lwan handler &test_post_will_it_blend (a",
		"57 Lwan handler &test_post_big (a C functio",
		"59 Lwan handler &get_query_string (a C func",
		"74 rewrite condition \"cookie\" is not availa",
		"78 rewrite condition \"environment\" is not a",
		"79 rewrite condition \"stat\" is not availabl",
		"83 rewrite condition \"lua\" is not available",
		"96 Lwan handler &hello_world (a C function ",
		"102 Lwan module \"lua\" is not available in lw",
		"109 Lwan module \"lua\" is not available in lw",
		"123 Lwan module \"lua\" is not available in lw",
		"128 Lwan module \"lua\" is not available in lw",
		"139 rewrite condition \"backref\" is not avail",
		"151 expand_with_lua (Lua scripts) is not ava",
		"160 expand_with_lua (Lua scripts) is not ava",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// What remains translates and loads.
	text, err := ConvertLwan("testrunner.conf", data)
	if text == nil || err == nil {
		t.Fatalf("ConvertLwan: %v", err)
	}
	out, _ := convertLwan("testrunner.conf", data, nil)
	cfg, err := parseTOML("testrunner.conf", text, out.lines)
	if err != nil {
		t.Fatalf("translation: %v\n%s", err, text)
	}
	if !cfg.ProxyProtocol || cfg.RequestBufferSize != 1000000 || len(cfg.Routes) != 7 || cfg.Routes[0].Line != 61 {
		t.Fatalf("translation: %+v %+v", cfg, cfg.Routes)
	}
	for _, want := range []string{
		"keep_alive_timeout = 15\n", "max_post_data_size = 1000000\n", "request_buffer_size = 1000000\n",
		"[[site.redirect]]\nprefix = \"/redirect307\"\nto = \"http://lwan.ws\"\ncode = 307\n",
		"[[site.rewrite.pattern]]\nmatch = \"user\"\nrewrite_as = \"/hello?name=tester\"\n",
		"match = \"foo/([[:digit:]]+)([[:alpha:]])([[:digit:]]+)\"\nredirect_to = \"/hello?name=pre$2middle$3othermiddle$1post\"\n",
		"[[site.response]]\nprefix = \"/brew-coffee\"\ncode = 418\n",
		"cache_for = \"5s\"\n", "[headers]\nserver = \"lwan/testrunner\"\nx-global-header = \"present\"\n",
		"# left out (testrunner.conf:102): Lwan module \"lua\"",
	} {
		if !strings.Contains(string(text), want) {
			t.Errorf("translation lacks %q:\n%s", want, text)
		}
	}
}

// Every case of testdata/lwan/errors.conf is refused with exactly its error:
// the file, the Lwan line and the key.
func TestLwanErrorCases(t *testing.T) {
	data, err := os.ReadFile("testdata/lwan/errors.conf")
	if err != nil {
		t.Fatal(err)
	}
	cases := strings.Split(string(data), "\n=== ")[1:]
	if len(cases) < 40 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		want, text, _ := strings.Cut(c, "\n")
		if !IsLwanSyntax([]byte(text)) {
			t.Errorf("%s: not detected as Lwan's syntax", want)
			continue
		}
		_, err := parseLwan("t.conf", []byte(text), testEnv)
		if err == nil || err.Error() != want {
			t.Errorf("got  %v\nwant %s", err, want)
		}
	}
}
