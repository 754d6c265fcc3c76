package site

import (
	"fmt"
	"os"
	"strings"
)

// This file reads Lwan's own configuration grammar (Lwan's README,
// "Configuration File"): sections "name [argument] { ... }", written without
// braces when empty ("straitjacket", "listener *:8080"); "key = value" with
// the words of a key joined by '_' ("serve precompressed files" is
// serve_precompressed_files); '#' comments; multi-line strings between '''
// or """; ${NAME} and ${NAME:default} taken from a top-level constants
// section defined earlier in the file, else from the environment.

// lwanSection is one section of a Lwan configuration file; the file itself
// is the root section (no name).
type lwanSection struct {
	name, arg string
	line      int
	items     []lwanItem
}

// lwanItem is a key = value line or a nested section, in the file's order.
type lwanItem struct {
	kv  *lwanKV
	sec *lwanSection
}

// lwanKV is one key = value line; key has its words joined by '_'.
type lwanKV struct {
	key, value string
	line       int
}

type lwanTokenKind uint8

const (
	tokString lwanTokenKind = iota
	tokEqual
	tokOpen
	tokClose
	tokNewline
	tokVariable // ${NAME} or ${NAME:default}
	tokEOF
)

type lwanToken struct {
	kind       lwanTokenKind
	text       string // the string, or the variable's name
	def        string // the variable's default
	hasDefault bool
	line       int
}

// Limits on what a configuration file may hold, so that a broken file
// cannot make the parser use unbounded memory.
const (
	maxLwanVariableName = 64
	maxLwanValue        = 1 << 20
	maxLwanDepth        = 16
)

// lwanLexer splits a Lwan configuration file into tokens.
type lwanLexer struct {
	file string
	data []byte
	pos  int
	line int
}

func (lx *lwanLexer) errorf(line int, format string, args ...any) *Error {
	return &Error{File: lx.file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// isLwanString reports whether c may be part of a bare string.
func isLwanString(c byte) bool {
	return !isLwanSpace(c) && c != '=' && c != '#' && c != '{' && c != '}'
}

func isLwanSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// tokens returns every token of the file, ending with tokEOF. A '}' is
// preceded by a newline token so that "section { key = value }" on one
// line closes its key (as Lwan's lexer does).
func (lx *lwanLexer) tokens() ([]lwanToken, error) {
	var out []lwanToken
	emit := func(k lwanTokenKind, text string) { out = append(out, lwanToken{kind: k, text: text, line: lx.line}) }
	for lx.pos < len(lx.data) {
		c := lx.data[lx.pos]
		switch {
		case c == '\n':
			emit(tokNewline, "")
			lx.pos++
			lx.line++
		case isLwanSpace(c):
			lx.pos++
		case c == '{':
			emit(tokOpen, "")
			lx.pos++
		case c == '}':
			emit(tokNewline, "")
			emit(tokClose, "")
			lx.pos++
		case c == '=':
			emit(tokEqual, "")
			lx.pos++
		case c == '#':
			for lx.pos < len(lx.data) && lx.data[lx.pos] != '\n' {
				lx.pos++
			}
		case (c == '\'' || c == '"') && lx.hasPrefix(strings.Repeat(string(c), 3)):
			s, err := lx.multiline(strings.Repeat(string(c), 3))
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		case c == '$' && lx.hasPrefix("${"):
			v, err := lx.variable()
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		case c < ' ' || c == 0x7f:
			return nil, lx.errorf(lx.line, "invalid character %q", c)
		default:
			start := lx.pos
			for lx.pos < len(lx.data) && isLwanString(lx.data[lx.pos]) && !lx.hasPrefix("${") {
				if b := lx.data[lx.pos]; b < ' ' || b == 0x7f {
					return nil, lx.errorf(lx.line, "invalid character %q", b)
				}
				lx.pos++
			}
			emit(tokString, string(lx.data[start:lx.pos]))
		}
	}
	emit(tokNewline, "")
	emit(tokEOF, "")
	return out, nil
}

func (lx *lwanLexer) hasPrefix(s string) bool {
	return strings.HasPrefix(string(lx.data[lx.pos:min(len(lx.data), lx.pos+len(s))]), s)
}

// multiline reads a string between ”' or """, kept verbatim.
func (lx *lwanLexer) multiline(quote string) (lwanToken, error) {
	start, line := lx.pos+len(quote), lx.line
	end := strings.Index(string(lx.data[start:]), quote)
	if end < 0 {
		return lwanToken{}, lx.errorf(line, "multi-line string opened here is never closed with %s", quote)
	}
	text := string(lx.data[start : start+end])
	lx.line += strings.Count(text, "\n")
	lx.pos = start + end + len(quote)
	return lwanToken{kind: tokString, text: text, line: line}, nil
}

// variable reads ${NAME} or ${NAME:default}. Names are letters and '_', as
// in Lwan; the default runs to the '}' on the same line.
func (lx *lwanLexer) variable() (lwanToken, error) {
	lx.pos += 2
	start := lx.pos
	for lx.pos < len(lx.data) && isVariableChar(lx.data[lx.pos]) {
		lx.pos++
	}
	tok := lwanToken{kind: tokVariable, text: string(lx.data[start:lx.pos]), line: lx.line}
	switch {
	case tok.text == "":
		return tok, lx.errorf(lx.line, "expecting a variable name after ${ (letters and '_')")
	case len(tok.text) > maxLwanVariableName:
		return tok, lx.errorf(lx.line, "variable name %.20q... is longer than %d bytes", tok.text, maxLwanVariableName)
	case lx.pos == len(lx.data):
		return tok, lx.errorf(lx.line, "${%s is never closed with '}'", tok.text)
	}
	switch lx.data[lx.pos] {
	case '}':
		lx.pos++
		return tok, nil
	case ':':
		lx.pos++
		end := strings.IndexAny(string(lx.data[lx.pos:]), "}\n")
		if end < 0 || lx.data[lx.pos+end] != '}' {
			return tok, lx.errorf(lx.line, "default value of ${%s: is never closed with '}' on its line", tok.text)
		}
		tok.def, tok.hasDefault = string(lx.data[lx.pos:lx.pos+end]), true
		lx.pos += end + 1
		return tok, nil
	}
	return tok, lx.errorf(lx.line, "bad character %q in the name of variable ${%s (letters and '_' only)", lx.data[lx.pos], tok.text)
}

func isVariableChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

// lwanParser builds the section tree from tokens.
type lwanParser struct {
	file      string
	toks      []lwanToken
	i         int
	constants map[string]string
	lookupEnv func(string) (string, bool)
}

// parseLwanSyntax parses a Lwan configuration file into its root section.
// lookupEnv resolves variables that no constants section defines (nil:
// os.LookupEnv).
func parseLwanSyntax(file string, data []byte, lookupEnv func(string) (string, bool)) (*lwanSection, error) {
	lx := &lwanLexer{file: file, data: data, line: 1}
	toks, err := lx.tokens()
	if err != nil {
		return nil, err
	}
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	p := &lwanParser{file: file, toks: toks, constants: map[string]string{}, lookupEnv: lookupEnv}
	root := &lwanSection{line: 1}
	if err := p.section(root, 0); err != nil {
		return nil, err
	}
	return root, nil
}

func (p *lwanParser) errorf(line int, format string, args ...any) *Error {
	return &Error{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// section reads the items of sec up to its '}' (or the end of the file for
// the root).
func (p *lwanParser) section(sec *lwanSection, depth int) error {
	var words []lwanToken // strings read since the last newline
	for {
		t := p.toks[p.i]
		p.i++
		switch t.kind {
		case tokString:
			words = append(words, t)
		case tokVariable:
			return p.errorf(t.line, "variable ${%s} cannot be used in a key or a section name", t.text)
		case tokEqual:
			if len(words) == 0 {
				return p.errorf(t.line, "'=' without a key")
			}
			kv, err := p.keyValue(words)
			if err != nil {
				return err
			}
			if sec.name == "constants" {
				p.constants[kv.key] = kv.value
			} else {
				sec.items = append(sec.items, lwanItem{kv: kv})
			}
			words = words[:0]
		case tokOpen, tokNewline:
			if len(words) == 0 {
				if t.kind == tokOpen {
					return p.errorf(t.line, "'{' without a section name")
				}
				continue
			}
			if sec.name == "constants" {
				return p.errorf(words[0].line, "a constants section holds only key = value lines")
			}
			child := &lwanSection{name: words[0].text, line: words[0].line}
			args := make([]string, 0, len(words)-1)
			for _, w := range words[1:] {
				args = append(args, w.text)
			}
			child.arg = strings.Join(args, " ")
			words = words[:0]
			if t.kind == tokOpen {
				if depth+1 >= maxLwanDepth {
					return p.errorf(t.line, "sections nested more than %d deep", maxLwanDepth)
				}
				if child.name == "constants" && depth > 0 {
					return p.errorf(child.line, "a constants section must be at the top level")
				}
				if err := p.section(child, depth+1); err != nil {
					return err
				}
			}
			if child.name != "constants" {
				sec.items = append(sec.items, lwanItem{sec: child})
			}
		case tokClose:
			if depth == 0 {
				return p.errorf(t.line, "'}' closes a section that was never opened")
			}
			return nil
		case tokEOF:
			if depth > 0 {
				return p.errorf(sec.line, "section %q opened here is never closed with '}'", sec.name)
			}
			return nil
		}
	}
}

// keyValue reads the value after '=' up to the end of the line. Words are
// joined by one space, variables are expanded in place, and an '=' inside
// the value is kept.
func (p *lwanParser) keyValue(words []lwanToken) (*lwanKV, error) {
	keys := make([]string, len(words))
	for i, w := range words {
		keys[i] = w.text
	}
	kv := &lwanKV{key: strings.Join(keys, "_"), line: words[0].line}
	var b strings.Builder
	last := tokEqual
	for {
		t := p.toks[p.i]
		p.i++
		switch t.kind {
		case tokString:
			if last == tokString {
				b.WriteByte(' ')
			}
			b.WriteString(t.text)
		case tokEqual:
			b.WriteByte('=')
		case tokVariable:
			v, ok := p.constants[t.text]
			if !ok {
				v, ok = p.lookupEnv(t.text)
			}
			if !ok {
				if !t.hasDefault {
					return nil, p.errorf(t.line, "%s: variable ${%s} is not defined in a constants section or the environment", kv.key, t.text)
				}
				v = t.def
			}
			b.WriteString(v)
		case tokOpen:
			return nil, p.errorf(t.line, "%s: '{' in a value", kv.key)
		case tokNewline:
			kv.value = b.String()
			return kv, nil
		default: // tokClose and tokEOF always follow a newline
			return nil, p.errorf(t.line, "%s: unexpected end of the value", kv.key)
		}
		if b.Len() > maxLwanValue {
			return nil, p.errorf(kv.line, "%s: value longer than %d bytes", kv.key, maxLwanValue)
		}
		last = t.kind
	}
}
