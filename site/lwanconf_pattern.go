package site

import (
	"errors"
	"regexp"
	"strings"
)

// luaClasses are the character classes of Lua patterns (%a, %d, ...) as
// POSIX classes of Go's regexp syntax; an upper-case letter negates.
var luaClasses = map[byte]string{
	'a': "alpha", 'c': "cntrl", 'd': "digit", 'g': "graph", 'l': "lower",
	'p': "punct", 's': "space", 'u': "upper", 'w': "alnum", 'x': "xdigit",
}

// luaClass returns the POSIX class for %c ("[:digit:]", "[:^digit:]"), or
// false when c names no class.
func luaClass(c byte) (string, bool) {
	lower := c | 0x20
	name, ok := luaClasses[lower]
	if !ok {
		return "", false
	}
	if c != lower {
		return "[:^" + name + ":]", true
	}
	return "[:" + name + ":]", true
}

// luaPatternToRegexp translates a Lua pattern, the syntax of Lwan's rewrite
// module, into a Go regular expression with the same matches: classes (%d,
// %a, ...), sets ([%w_-], [^/]), the quantifiers *, +, ? and the lazy -,
// anchors ^ and $, captures. %b, %f and back-references (%1 inside a pattern)
// have no Go equivalent and are refused.
func luaPatternToRegexp(pat string) (string, error) {
	var b strings.Builder
	i := 0
	if strings.HasPrefix(pat, "^") {
		b.WriteByte('^')
		i++
	}
	single := false // the last item matches one character: a quantifier may follow
	for i < len(pat) {
		c := pat[i]
		switch {
		case c == '$' && i == len(pat)-1:
			b.WriteByte('$')
			i++
			single = false
			continue
		case single && (c == '*' || c == '+' || c == '?' || c == '-'):
			if c == '-' {
				b.WriteString("*?")
			} else {
				b.WriteByte(c)
			}
			i++
			single = false
			continue
		case c == '(':
			if i+1 < len(pat) && pat[i+1] == ')' {
				return "", errors.New("position captures () have no equivalent in Go regular expressions")
			}
			b.WriteByte('(')
			i++
			single = false
			continue
		case c == ')':
			b.WriteByte(')')
			i++
			single = false
			continue
		case c == '.':
			b.WriteString("(?s:.)")
			i++
		case c == '%':
			if i+1 == len(pat) {
				return "", errors.New("pattern ends with a lone '%'")
			}
			n := pat[i+1]
			switch {
			case n == 'b' || n == 'f':
				return "", errors.New("%" + string(n) + " has no equivalent in Go regular expressions")
			case n >= '0' && n <= '9':
				return "", errors.New("back-references (%" + string(n) + ") have no equivalent in Go regular expressions")
			}
			if class, ok := luaClass(n); ok {
				b.WriteString("[" + class + "]")
			} else if isAlnum(n) {
				return "", errors.New("unknown class %" + string(n))
			} else {
				b.WriteString(regexp.QuoteMeta(string(n)))
			}
			i += 2
		case c == '[':
			set, n, err := luaSet(pat[i:])
			if err != nil {
				return "", err
			}
			b.WriteString(set)
			i += n
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
			i++
		}
		single = true
	}
	re := b.String()
	if _, err := regexp.Compile(re); err != nil {
		return "", err
	}
	return re, nil
}

// luaSet translates the set at the start of s ("[...]") and returns it and
// the bytes of s it used.
func luaSet(s string) (string, int, error) {
	var b strings.Builder
	b.WriteByte('[')
	i := 1
	if i < len(s) && s[i] == '^' {
		b.WriteByte('^')
		i++
	}
	first := true
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ']' && !first:
			b.WriteByte(']')
			return b.String(), i + 1, nil
		case c == '%':
			if i+1 == len(s) {
				return "", 0, errors.New("set ends with a lone '%'")
			}
			i++
			if class, ok := luaClass(s[i]); ok {
				b.WriteString(class)
			} else if isAlnum(s[i]) {
				return "", 0, errors.New("unknown class %" + string(s[i]))
			} else {
				b.WriteString(`\` + string(s[i]))
			}
		case c == '-' && !first && i+1 < len(s) && s[i+1] != ']':
			b.WriteByte('-')
		case isAlnum(c):
			b.WriteByte(c)
		default:
			b.WriteString(`\` + string(c))
		}
		first = false
	}
	return "", 0, errors.New("set [ is never closed with ]")
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// luaTemplateToGo translates a Lwan rewrite target, where %1..%9 are the
// captures, into a rewrite template of lwango's, where they are $1..$9 and
// a dollar sign is $$.
func luaTemplateToGo(t string) string {
	var b strings.Builder
	for i := 0; i < len(t); i++ {
		switch c := t[i]; {
		case c == '%' && i+1 < len(t) && t[i+1] >= '0' && t[i+1] <= '9':
			b.WriteByte('$')
			b.WriteByte(t[i+1])
			i++
		case c == '$':
			b.WriteString("$$")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
