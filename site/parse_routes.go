package site

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// defaultRealm is the realm of an authorization table that names none.
const defaultRealm = "lwango"

func (v *validator) routes(s *fileSite) []Route {
	var routes []Route
	add := func(kind Kind, i int, prefix *string, auth *fileAuthorization) *Route {
		key := fmt.Sprintf("site.%s[%d]", kind, i)
		r := Route{Kind: kind, Key: key, Line: v.pos.line(key)}
		r.Prefix = v.prefix(key, prefix)
		r.Auth = v.authorization(key+".authorization", auth)
		routes = append(routes, r)
		return &routes[len(routes)-1]
	}
	for i := range s.ServeFiles {
		f := &s.ServeFiles[i]
		r := add(KindServeFiles, i, f.Prefix, f.Authorization)
		r.ServeFiles = v.serveFiles(r.Key, f)
	}
	for i := range s.Redirect {
		f := &s.Redirect[i]
		r := add(KindRedirect, i, f.Prefix, f.Authorization)
		r.Redirect = &RedirectOptions{To: f.To, Code: 301}
		if f.To == "" {
			v.fail(r.Key+".to", "missing; the URL to redirect to")
		} else if !isHeaderValue(f.To) {
			v.fail(r.Key+".to", "contains a control character")
		}
		if f.Code != nil {
			r.Redirect.Code = v.redirectCode(r.Key+".code", *f.Code)
		}
	}
	for i := range s.Response {
		f := &s.Response[i]
		r := add(KindResponse, i, f.Prefix, f.Authorization)
		r.Response = &ResponseOptions{}
		switch {
		case f.Code == nil:
			v.fail(r.Key+".code", "missing; the status code to answer with")
		case *f.Code < 200 || *f.Code > 599:
			v.fail(r.Key+".code", "must be a status code 200..599, got %d", *f.Code)
		default:
			r.Response.Code = *f.Code
		}
		v.responseBody(r.Key, r.Response, f)
	}
	for i := range s.Rewrite {
		f := &s.Rewrite[i]
		r := add(KindRewrite, i, f.Prefix, f.Authorization)
		r.Rewrite = v.rewrite(r.Key, f.Pattern)
	}
	for i := range s.Hello {
		f := &s.Hello[i]
		add(KindHello, i, f.Prefix, f.Authorization)
	}
	for i := range s.Metrics {
		f := &s.Metrics[i]
		add(KindMetrics, i, f.Prefix, f.Authorization)
	}
	sort.SliceStable(routes, func(i, j int) bool { return routes[i].Line < routes[j].Line })
	v.uniquePrefixes(routes)
	return routes
}

// responseBody validates a response handler's body and content_type.
func (v *validator) responseBody(key string, o *ResponseOptions, f *fileResponse) {
	if f.Body == nil {
		if f.ContentType != nil {
			v.fail(key+".content_type", "set without a body")
		}
		return
	}
	if o.Code == 204 || o.Code == 304 {
		v.fail(key+".body", "a %d response has no body", o.Code)
	}
	if _, err := parseBodyTemplate(*f.Body); err != nil {
		v.fail(key+".body", "%v", err)
	}
	o.Body, o.HasBody, o.ContentType = *f.Body, true, "text/plain; charset=utf-8"
	if f.ContentType != nil {
		o.ContentType = *f.ContentType
		if o.ContentType == "" || !isHeaderValue(o.ContentType) {
			v.fail(key+".content_type", "must be a non-empty header value without control characters")
		}
	}
}

// prefix validates and normalises a route's prefix.
func (v *validator) prefix(key string, p *string) string {
	key += ".prefix"
	switch {
	case p == nil:
		v.fail(key, "missing; e.g. prefix = \"/\"")
		return ""
	case !strings.HasPrefix(*p, "/"):
		v.fail(key, "must start with '/', got %q", *p)
		return ""
	case strings.ContainsAny(*p, "?#"), !isPrintable(*p):
		v.fail(key, "must be a plain path (no '?', '#', spaces or control characters), got %q", *p)
		return ""
	}
	norm := strings.TrimRight(*p, "/")
	for _, seg := range strings.Split(norm, "/")[1:] {
		if seg == "" || seg == "." || seg == ".." {
			v.fail(key, "must be a normalised path (no empty, '.' or '..' segments), got %q", *p)
			return ""
		}
	}
	if norm == "" {
		return "/"
	}
	return norm
}

// isPrintable reports whether s has no spaces or control characters.
func isPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] == 0x7f {
			return false
		}
	}
	return true
}

func (v *validator) uniquePrefixes(routes []Route) {
	seen := map[string]*Route{}
	for i := range routes {
		r := &routes[i]
		if r.Prefix == "" {
			continue
		}
		if other, dup := seen[r.Prefix]; dup {
			v.fail(r.Key+".prefix", "prefix %q is already used by %s (line %d)", r.Prefix, other.Key, other.Line)
		}
		seen[r.Prefix] = r
	}
}

func (v *validator) authorization(key string, a *fileAuthorization) *Authorization {
	if a == nil {
		return nil
	}
	out := &Authorization{Realm: defaultRealm, PasswordFile: v.path(a.PasswordFile)}
	if a.Realm != nil {
		out.Realm = *a.Realm
		if *a.Realm == "" || strings.ContainsAny(*a.Realm, "\"\\") || !isHeaderValue(*a.Realm) {
			v.fail(key+".realm", "must be non-empty, without quotes, backslashes or control characters")
		}
	}
	if a.PasswordFile == "" {
		v.fail(key+".password_file", "missing; a file of user = password lines")
	}
	return out
}

func (v *validator) serveFiles(key string, f *fileServeFiles) *ServeFilesOptions {
	o := &ServeFilesOptions{Path: v.path(f.Path), IndexPath: "index.html", AutoIndex: true, ServePrecompressedFiles: true}
	if f.Path == "" {
		v.fail(key+".path", "missing; the directory to serve")
	}
	if f.IndexPath != nil {
		o.IndexPath = *f.IndexPath
		if strings.ContainsAny(o.IndexPath, "/\x00") || o.IndexPath == "." || o.IndexPath == ".." {
			v.fail(key+".index_path", "must be a file name in the directory, got %q", o.IndexPath)
		}
	}
	if f.AutoIndex != nil {
		o.AutoIndex = *f.AutoIndex
	}
	if f.ServePrecompressedFiles != nil {
		o.ServePrecompressedFiles = *f.ServePrecompressedFiles
	}
	cacheFor := "5s"
	if f.CacheFor != nil {
		cacheFor = *f.CacheFor
	}
	o.CacheFor = v.duration(key+".cache_for", cacheFor)
	return o
}

func (v *validator) redirectCode(key string, code int) int {
	switch code {
	case 301, 302, 303, 307, 308:
		return code
	}
	v.fail(key, "must be 301, 302, 303, 307 or 308, got %d", code)
	return 301
}

func (v *validator) rewrite(key string, patterns []filePattern) *RewriteOptions {
	o := &RewriteOptions{}
	if len(patterns) == 0 {
		v.fail(key+".pattern", "missing; add [[site.rewrite.pattern]] tables with match and rewrite_as or redirect_to")
	}
	for i, p := range patterns {
		pkey := fmt.Sprintf("%s.pattern[%d]", key, i)
		rp := RewritePattern{Line: v.pos.line(pkey)}
		if p.Match == nil {
			v.fail(pkey+".match", "missing; a regular expression")
			continue
		}
		rp.Match = *p.Match
		re, err := regexp.Compile(rp.Match)
		if err != nil {
			v.fail(pkey+".match", "bad regular expression: %v", err)
			continue
		}
		switch {
		case p.RewriteAs == nil && p.RedirectTo == nil:
			v.fail(pkey, "needs rewrite_as or redirect_to")
		case p.RewriteAs != nil && p.RedirectTo != nil:
			v.fail(pkey+".redirect_to", "rewrite_as and redirect_to cannot both be set")
		case p.RewriteAs != nil:
			rp.RewriteAs = *p.RewriteAs
			if !strings.HasPrefix(rp.RewriteAs, "/") {
				v.fail(pkey+".rewrite_as", "must start with '/', got %q", rp.RewriteAs)
			}
			v.template(pkey+".rewrite_as", rp.RewriteAs, re)
			if p.Code != nil {
				v.fail(pkey+".code", "code applies only to redirect_to")
			}
		default:
			rp.RedirectTo = *p.RedirectTo
			if rp.RedirectTo == "" {
				v.fail(pkey+".redirect_to", "is empty")
			}
			v.template(pkey+".redirect_to", rp.RedirectTo, re)
			rp.Code = 302
			if p.Code != nil {
				rp.Code = v.redirectCode(pkey+".code", *p.Code)
			}
		}
		o.Patterns = append(o.Patterns, rp)
	}
	return o
}

// template checks that a rewrite template's $n refer to captures re has.
func (v *validator) template(key, tmpl string, re *regexp.Regexp) {
	if !isHeaderValue(tmpl) {
		v.fail(key, "contains a control character")
		return
	}
	for i := 0; i < len(tmpl); i++ {
		if tmpl[i] != '$' {
			continue
		}
		i++
		switch {
		case i == len(tmpl):
			v.fail(key, "ends with a lone '$'; write $$ for a dollar sign")
		case tmpl[i] == '$':
		case tmpl[i] >= '0' && tmpl[i] <= '9':
			if n := int(tmpl[i] - '0'); n > re.NumSubexp() {
				v.fail(key, "$%d refers to a capture the pattern does not have (it has %d)", n, re.NumSubexp())
			}
		default:
			v.fail(key, "'$' must be followed by a digit or '$'")
		}
	}
}
