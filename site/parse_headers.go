package site

import "strings"

// reservedHeaders are the response headers the server writes itself; the
// [headers] section may not override them (Lwan refuses the same ones).
var reservedHeaders = []string{
	"Date", "Expires", "Content-Length", "Connection", "Content-Type",
	"Transfer-Encoding", "WWW-Authenticate", "Content-Range", "Content-Encoding",
}

func (v *validator) headers(m map[string]string) []HeaderField {
	var out []HeaderField
	seen := map[string]string{}
	for _, name := range v.sortedByLine("headers.", m) {
		key := "headers." + name
		value := m[name]
		switch {
		case !isToken(name):
			v.fail(key, "%q is not a valid header name", name)
		case isReservedHeader(name):
			v.fail(key, "%s is set by the server and cannot be overridden", name)
		case strings.HasPrefix(strings.ToLower(name), "access-control-allow-"):
			v.fail(key, "%s is set by the server (see allow_cors) and cannot be overridden", name)
		case !isHeaderValue(value):
			v.fail(key, "value contains a control character")
		}
		lower := strings.ToLower(name)
		if other, dup := seen[lower]; dup {
			v.fail(key, "header is also set as %q", other)
		}
		seen[lower] = name
		out = append(out, HeaderField{Name: name, Value: value})
	}
	return out
}

func isReservedHeader(name string) bool {
	for _, r := range reservedHeaders {
		if strings.EqualFold(r, name) {
			return true
		}
	}
	return false
}

// isToken reports whether s is an RFC 9110 token (a valid header name).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// isHeaderValue reports whether s may be sent as a header value: no control
// characters other than tab, so no header can be injected.
func isHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
