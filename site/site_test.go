package site

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"lwango/http1"
)

const routingConf = `
[[site.hello]]
prefix = "/hello"
[[site.response]]
prefix = "/hello/deep"
code = 418
[[site.redirect]]
prefix = "/old/"
to = "/new"
code = 308
[[site.response]]
prefix = "/"
code = 204
`

func TestRouting(t *testing.T) {
	s := newTestSite(t, "", routingConf)
	for _, tt := range []struct {
		path   string
		status int
	}{
		{"/hello", 200},
		{"/hello/", 200},
		{"/hello/x", 200},
		{"/helloworld", 204},
		{"/hello/deep", 418},
		{"/hello/deep/er", 418},
		{"/hello/deeper", 200},
		{"/old", 308},
		{"/old/x", 308},
		{"/older", 204},
		{"/", 204},
		{"/anything/else", 204},
	} {
		if r := get(t, s, tt.path); r.Status != tt.status {
			t.Errorf("GET %s: status %d, want %d", tt.path, r.Status, tt.status)
		}
	}
}

func TestRoutingNoMatch(t *testing.T) {
	s := newTestSite(t, "", "[[site.hello]]\nprefix = \"/hello\"\n")
	r := get(t, s, "/other")
	expect(t, "status", r.Status, 404)
	expect(t, "body", r.body, string(http1.ErrorPage(404)))
}

// restRecorder records the rest a handler is given.
type restRecorder struct{ rest string }

func (h *restRecorder) Serve(req *http1.Request, rest []byte, resp *http1.Response) {
	h.rest = string(rest)
	resp.Status = 200
}

func TestRoutingRest(t *testing.T) {
	s := newTestSite(t, "", "[[site.hello]]\nprefix = \"/a/b\"\n[[site.hello]]\nprefix = \"/\"\n")
	deep, top := &restRecorder{}, &restRecorder{}
	s.routes[0].handler, s.routes[1].handler = deep, top
	for _, tt := range []struct{ path, deep, top string }{
		{"/a/b", "", ""},
		{"/a/b/", "/", ""},
		{"/a/b/c/d", "/c/d", ""},
		{"/a/bc", "", "/a/bc"},
		{"/", "", "/"},
	} {
		*deep, *top = restRecorder{}, restRecorder{}
		get(t, s, tt.path)
		if deep.rest != tt.deep || top.rest != tt.top {
			t.Errorf("%s: rest %q / %q, want %q / %q", tt.path, deep.rest, top.rest, tt.deep, tt.top)
		}
	}
}

func TestHello(t *testing.T) {
	s := newTestSite(t, "", "[[site.hello]]\nprefix = \"/hello\"\n")
	r := get(t, s, "/hello")
	expect(t, "status", r.Status, 200)
	expect(t, "type", r.ContentType, "text/plain")
	expect(t, "body", r.body, "Hello, World!")
	r = serve(t, s, request(http1.MethodPost, "/hello"))
	expect(t, "POST status", r.Status, 405)
	expect(t, "Allow", r.header("Allow"), "GET, HEAD")
}

func TestRedirectAndResponse(t *testing.T) {
	s := newTestSite(t, "", `
[[site.redirect]]
prefix = "/old"
to = "https://example.com/new"
[[site.response]]
prefix = "/gone"
code = 410
[[site.response]]
prefix = "/empty"
code = 204
[[site.response]]
prefix = "/ok"
code = 200
`)
	r := serve(t, s, request(http1.MethodPost, "/old/page?x=1"))
	expect(t, "redirect status", r.Status, 301)
	expect(t, "Location", r.header("Location"), "https://example.com/new")
	r = get(t, s, "/gone")
	expect(t, "response status", r.Status, 410)
	expect(t, "410 body", r.body, string(http1.ErrorPage(410)))
	r = get(t, s, "/empty")
	if r.Status != 204 || len(r.body) != 0 || r.ContentType != "" {
		t.Errorf("204: %d %q %q", r.Status, r.ContentType, r.body)
	}
	r = get(t, s, "/ok")
	if r.Status != 200 || !strings.Contains(string(r.body), "<h1>200 OK</h1>") {
		t.Errorf("200: %d %q", r.Status, r.body)
	}
}

const rewriteConf = `
[[site.hello]]
prefix = "/hello"
[[site.rewrite]]
prefix = "/r"
[[site.rewrite.pattern]]
match = "^/greet/(\\w+)$"
rewrite_as = "/hello/$1?from=$1"
[[site.rewrite.pattern]]
match = "^/moved/(.*)/(.*)$"
redirect_to = "/new/$2/$1?cost=$$5"
[[site.rewrite.pattern]]
match = "^/perm$"
redirect_to = "/p"
code = 308
[[site.rewrite.pattern]]
match = "^/up$"
rewrite_as = "/r/../../hello/"
[[site.rewrite.pattern]]
match = "^/loop$"
rewrite_as = "/r/loop"
[[site.rewrite.pattern]]
match = "^/chain(\\d)$"
rewrite_as = "/r/chain$1$1"
[[site.rewrite.pattern]]
match = "^/chain(\\d+)$"
rewrite_as = "/hello"
`

func TestRewrite(t *testing.T) {
	s := newTestSite(t, "", rewriteConf)
	rec := &restRecorder{}
	for i := range s.routes {
		if string(s.routes[i].prefix) == "/hello" {
			s.routes[i].handler = rec
		}
	}
	req := request(http1.MethodGet, "/r/greet/bob?orig=1")
	r := serve(t, s, req)
	expect(t, "status", r.Status, 200)
	expect(t, "rest after rewrite", rec.rest, "/bob")
	expect(t, "rewritten path", req.Path, "/hello/bob")
	expect(t, "rewritten query", req.Query, "from=bob")

	r = get(t, s, "/r/moved/a/b")
	expect(t, "redirect status", r.Status, 302)
	expect(t, "redirect Location", r.header("Location"), "/new/b/a?cost=$5")
	r = get(t, s, "/r/perm")
	expect(t, "redirect code", r.Status, 308)

	req = request(http1.MethodGet, "/r/up?keep=1")
	serve(t, s, req)
	expect(t, "cleaned path", req.Path, "/hello/")
	expect(t, "query kept", req.Query, "keep=1")

	r = get(t, s, "/r/nothing")
	expect(t, "no pattern matches", r.Status, 404)
	r = get(t, s, "/r/loop")
	expect(t, "rewrite loop", r.Status, 500)

	// chain1 -> chain11 -> hello: two rewrites are fine.
	rec.rest = "unset"
	r = get(t, s, "/r/chain1")
	expect(t, "chained rewrites", r.Status, 200)
	expect(t, "chained rest", rec.rest, "")
}

// TestRewriteLimit checks that four rewrites are allowed and a fifth is not.
func TestRewriteLimit(t *testing.T) {
	conf := "[[site.hello]]\nprefix = \"/done\"\n"
	for i := 0; i < 6; i++ {
		conf += "[[site.rewrite]]\nprefix = \"/s" + string(rune('0'+i)) + "\"\n[[site.rewrite.pattern]]\nmatch = \"\"\nrewrite_as = \"/s" + string(rune('1'+i)) + "\"\n"
	}
	conf += "[[site.rewrite]]\nprefix = \"/s6\"\n[[site.rewrite.pattern]]\nmatch = \"\"\nrewrite_as = \"/done\"\n"
	s := newTestSite(t, "", conf)
	expect(t, "4 rewrites", get(t, s, "/s3").Status, 200) // s3 s4 s5 s6 -> done
	expect(t, "5 rewrites", get(t, s, "/s2").Status, 500)
}

func basic(user, password string) string {
	return "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

func TestBasicAuthorization(t *testing.T) {
	dir := t.TempDir()
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	pw := "# users\nalice = wonderland\n\nbob = \"two words # not a comment\"  # comment\ncarol = " + string(hash) + "\n"
	if err := os.WriteFile(filepath.Join(dir, "pw"), []byte(pw), 0o600); err != nil {
		t.Fatal(err)
	}
	s := newTestSite(t, dir, `
[[site.hello]]
prefix = "/private"
authorization = { realm = "Members only", password_file = "ROOT/pw" }
[[site.hello]]
prefix = "/"
`)
	r := get(t, s, "/private/x")
	expect(t, "no credentials", r.Status, 401)
	expect(t, "challenge", r.header("WWW-Authenticate"), `Basic realm="Members only", charset="UTF-8"`)
	expect(t, "401 body", r.body, string(http1.ErrorPage(401)))
	expect(t, "public", get(t, s, "/public").Status, 200)

	for _, tt := range []struct {
		header string
		status int
	}{
		{basic("alice", "wonderland"), 200},
		{basic("alice", "wonderlan"), 401},
		{basic("alice", "wonderland2"), 401},
		{basic("bob", "two words # not a comment"), 200},
		{basic("bob", "two"), 401},
		{basic("carol", "s3cret pw"), 200},
		{basic("carol", "s3cret pw"), 200}, // from the cache of verified credentials
		{basic("carol", "wrong"), 401},
		{basic("mallory", "wonderland"), 401},
		{basic("", ""), 401},
		{"Authorization: basic " + base64.StdEncoding.EncodeToString([]byte("alice:wonderland")), 200},
		{"Authorization: Bearer abc", 401},
		{"Authorization: Basic !!!", 401},
		{"Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("alicewonderland")), 401},
		{"Authorization: Basic " + strings.Repeat("QUFB", 200), 401},
	} {
		if r := get(t, s, "/private", tt.header); r.Status != tt.status {
			t.Errorf("%s: status %d, want %d", tt.header, r.Status, tt.status)
		}
	}
}

func TestPasswordFileErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct{ content, want string }{
		{"alice\n", ":1: want user = password"},
		{"alice = a\nalice = b\n", `:2: user "alice" is listed twice`},
		{"x = \"open\n", ":1: unterminated quote"},
		{"x = \"a\" b\n", ":1: text after the quoted password"},
		{"x = \n", `:1: empty password for "x"`},
		{"a b = c\n", `:1: bad user name "a b" (no spaces, quotes, '#' or ':')`},
	} {
		file := filepath.Join(dir, "pw")
		if err := os.WriteFile(file, []byte(tt.content), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := Parse("test.conf", []byte("\n[[site.hello]]\nprefix = \"/\"\nauthorization = { password_file = \""+file+"\" }\n"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = NewSite(cfg)
		want := "test.conf:4: site.hello[0].authorization.password_file: " + file + tt.want
		if err == nil || err.Error() != want {
			t.Errorf("%q: %v, want %s", tt.content, err, want)
		}
	}
}

func TestNewSiteErrors(t *testing.T) {
	cfg, err := Parse("test.conf", []byte("[[site.hello]]\nprefix = \"/h\"\n\n[[site.serve_files]]\nprefix = \"/\"\npath = \"/no/such/dir\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewSite(cfg)
	var ce *Error
	if !errors.As(err, &ce) || err.Error() != "test.conf:6: site.serve_files[0].path: open /no/such/dir: no such file or directory" {
		t.Fatalf("NewSite = %v", err)
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.conf")
	os.WriteFile(good, []byte("[[site.serve_files]]\nprefix = \"/\"\npath = \""+dir+"\"\n"), 0o644)
	if err := Check(good); err != nil {
		t.Fatalf("Check(good) = %v", err)
	}
	bad := filepath.Join(dir, "bad.conf")
	os.WriteFile(bad, []byte("[[site.serve_files]]\nprefix = \"/\"\npath = \""+dir+"/missing\"\n"), 0o644)
	if err := Check(bad); err == nil || !strings.HasPrefix(err.Error(), bad+":3: site.serve_files[0].path: ") {
		t.Fatalf("Check(bad) = %v", err)
	}
	cfg, err := Load(good)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Apply(Overrides{Root: dir + "/missing"})
	if err := cfg.Check(); err == nil || err.Error() != "command line: -r: open "+dir+"/missing: no such file or directory" {
		t.Fatalf("Check after -r = %v", err)
	}

	// lwan.conf serves ./wwwroot, relative to the working directory: check
	// it from the repository root, as lwango would run.
	t.Chdir("..")
	if err := Check("lwan.conf"); err != nil {
		t.Fatalf("Check(lwan.conf) = %v", err)
	}
}
