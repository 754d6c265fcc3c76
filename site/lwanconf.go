package site

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// A configuration file may be written in TOML (lwan.conf in this
// repository) or in Lwan's own grammar (Lwan's lwan.conf). Parse tells them
// apart by their content and reads a Lwan file by translating it into the
// equivalent TOML (ConvertLwan, what `lwango convert` prints), which the
// TOML path then parses, with each line of the translation mapped back to
// the line of the Lwan file it came from: both paths yield the same Config
// and the same file:line: key errors.

// IsLwanSyntax reports whether data is written in Lwan's grammar rather than
// TOML: it is not a TOML document and has no TOML table header.
func IsLwanSyntax(data []byte) bool {
	if isTOML(data) {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "[") {
			return false // a TOML file with a mistake: report TOML's error
		}
	}
	return true
}

// ConvertLwan translates a configuration file in Lwan's grammar into TOML.
// Errors name the file and the Lwan line. Every construct lwango does not
// have (a Lwan handler such as lua, a rewrite condition, a key of Lwan's
// that lwango lacks) is reported, one *Error each, joined; the translation
// of the rest is still returned, with a comment where each was left out.
// On a syntax error the translation is nil.
func ConvertLwan(name string, data []byte) ([]byte, error) {
	out, err := convertLwan(name, data, nil)
	if out == nil {
		return nil, err
	}
	return out.text.Bytes(), err
}

// parseLwan parses a configuration in Lwan's grammar into a Config.
func parseLwan(name string, data []byte, lookupEnv func(string) (string, bool)) (*Config, error) {
	out, err := convertLwan(name, data, lookupEnv)
	if err != nil {
		return nil, err
	}
	return parseTOML(name, out.text.Bytes(), out.lines)
}

// tomlWriter accumulates the TOML translation and, for each of its lines,
// the line of the Lwan file it came from.
type tomlWriter struct {
	text  bytes.Buffer
	lines []int // lines[i] is the Lwan line of TOML line i+1
}

func (w *tomlWriter) line(from int, s string) {
	w.text.WriteString(s)
	w.text.WriteByte('\n')
	w.lines = append(w.lines, from)
}

// lwanConverter walks the section tree and writes TOML.
type lwanConverter struct {
	file        string
	w           tomlWriter
	unsupported []error // constructs lwango lacks, all reported together
	err         *Error  // the first other error
}

func (c *lwanConverter) fail(line int, key, format string, args ...any) {
	if c.err == nil {
		c.err = &Error{File: c.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)}
	}
}

// lack records a construct lwango does not have; the translation leaves it
// out, with a comment saying so.
func (c *lwanConverter) lack(line int, key, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	c.unsupported = append(c.unsupported, &Error{File: c.file, Line: line, Key: key, Msg: msg})
	c.w.line(line, fmt.Sprintf("# left out (%s:%d): %s", c.file, line, msg))
}

func convertLwan(name string, data []byte, lookupEnv func(string) (string, bool)) (*tomlWriter, error) {
	root, err := parseLwanSyntax(name, data, lookupEnv)
	if err != nil {
		return nil, err
	}
	c := &lwanConverter{file: name}
	c.w.line(0, "# TOML translation of "+name+" (Lwan's configuration syntax), made by lwango convert")
	c.root(root)
	if c.err != nil {
		return nil, c.err
	}
	return &c.w, errors.Join(c.unsupported...)
}

// lwanOnlyKeys are keys Lwan has and lwango does not, by table.
var lwanOnlyKeys = map[string][]string{
	"":                 {"max_file_descriptors", "max_put_data_size", "allow_temp_files", "error_template"},
	"straitjacket":     {"drop_capabilities"},
	"site.serve_files": {"read_ahead", "auto_index_readme", "directory_list_template"},
}

// lwanModulesLwangoLacks are Lwan's modules that lwango does not have.
var lwanModulesLwangoLacks = []string{"lua", "fastcgi", "templates"}

func (c *lwanConverter) root(root *lwanSection) {
	var sections []*lwanSection
	seen := map[string]int{}
	for _, it := range root.items {
		if it.kv != nil {
			c.keyValue("", reflect.TypeFor[fileConfig](), it.kv)
			continue
		}
		s := it.sec
		name := s.name
		if name == "straightjacket" { // Lwan accepts both spellings
			name = "straitjacket"
		}
		switch name {
		case "listener", "tls_listener", "site", "headers", "straitjacket":
			if line, dup := seen[name]; dup {
				c.fail(s.line, name, "a second %s section (the first is on line %d)", name, line)
			}
			seen[name] = s.line
		default:
			c.fail(s.line, name, "unknown section %q (Lwan's sections are listener, tls_listener, site, headers, straitjacket and constants)", s.name)
			continue
		}
		if name == "listener" {
			if s.arg == "" {
				c.fail(s.line, "listener", "missing address, e.g. listener *:8080")
			}
			if len(s.items) > 0 {
				c.fail(s.line, "listener", "a listener section takes no keys or sections")
			}
			c.w.line(s.line, "listener = "+tomlString(s.arg))
			continue
		}
		sections = append(sections, s)
	}
	for _, s := range sections {
		switch s.name {
		case "tls_listener":
			c.tlsListener(s)
		case "headers":
			c.w.line(s.line, "[headers]")
			for _, it := range s.items {
				if it.sec != nil {
					c.fail(it.sec.line, "headers", "a headers section holds only Name = value lines")
					continue
				}
				c.w.line(it.kv.line, tomlKey(it.kv.key)+" = "+tomlString(it.kv.value))
			}
		case "straitjacket", "straightjacket":
			if s.arg != "" {
				c.fail(s.line, "straitjacket", "takes no argument, got %q", s.arg)
			}
			c.table(s, "straitjacket", "straitjacket", reflect.TypeFor[Straitjacket]())
		case "site":
			c.site(s)
		}
	}
}

func (c *lwanConverter) tlsListener(s *lwanSection) {
	c.w.line(s.line, "[tls_listener]")
	if s.arg != "" {
		c.w.line(s.line, "address = "+tomlString(s.arg))
	}
	t := reflect.TypeFor[fileTLSListener]()
	var certs []*lwanSection
	for _, it := range s.items {
		switch {
		case it.kv != nil:
			c.keyValue("tls_listener", t, it.kv)
		case it.sec.name == "cert" && it.sec.arg == "":
			certs = append(certs, it.sec)
		default:
			c.fail(it.sec.line, "tls_listener", "unknown section %q (a tls_listener holds keys and cert { cert = ... key = ... } sections)", it.sec.name)
		}
	}
	for _, cs := range certs {
		c.w.line(cs.line, "[[tls_listener.cert]]")
		for _, it := range cs.items {
			if it.sec != nil {
				c.fail(it.sec.line, "tls_listener.cert", "a cert section holds only cert and key")
				continue
			}
			c.w.line(it.kv.line, tomlKey(it.kv.key)+" = "+tomlString(it.kv.value))
		}
	}
}

// table writes section s as the TOML table header with the keys of type t;
// s may hold no sections.
func (c *lwanConverter) table(s *lwanSection, header, key string, t reflect.Type) {
	c.w.line(s.line, "["+header+"]")
	for _, it := range s.items {
		if it.sec != nil {
			c.fail(it.sec.line, key, "unexpected section %q", it.sec.name)
			continue
		}
		c.keyValue(key, t, it.kv)
	}
}

func (c *lwanConverter) site(s *lwanSection) {
	if s.arg != "" {
		c.fail(s.line, "site", "takes no argument, got %q", s.arg)
	}
	siteType := reflect.TypeFor[fileSite]()
	for _, it := range s.items {
		if it.kv != nil {
			c.fail(it.kv.line, "site."+it.kv.key, "a site holds handler sections (e.g. serve_files / { path = ./wwwroot }), not keys")
			continue
		}
		h := it.sec
		if strings.HasPrefix(h.name, "&") {
			c.lack(h.line, "site", "Lwan handler %s (a C function of a Lwan program) is not available in lwango, which has %s", h.name, strings.Join(handlerNames(siteType), ", "))
			continue
		}
		field, ok := tomlField(siteType, h.name)
		if !ok {
			what := "unknown Lwan module"
			for _, m := range lwanModulesLwangoLacks {
				if h.name == m {
					what = "Lwan module"
				}
			}
			c.lack(h.line, "site", "%s %q is not available in lwango, which has %s", what, h.name, strings.Join(handlerNames(siteType), ", "))
			continue
		}
		c.handler(h, field.Type.Elem())
	}
}

// handlerNames lists the handler kinds of a site table type.
func handlerNames(siteType reflect.Type) []string {
	var names []string
	for i := range siteType.NumField() {
		names = append(names, siteType.Field(i).Tag.Get("toml"))
	}
	return names
}

// handler writes one handler section ("serve_files / { ... }") as a
// [[site.<kind>]] table.
func (c *lwanConverter) handler(h *lwanSection, t reflect.Type) {
	key := "site." + h.name
	c.w.line(h.line, "[["+key+"]]")
	c.w.line(h.line, "prefix = "+tomlString(h.arg))
	var auth *lwanSection
	var patterns []*lwanSection
	for _, it := range h.items {
		switch {
		case it.kv != nil:
			if h.name == "rewrite" {
				c.fail(it.kv.line, key+"."+it.kv.key, "unknown key (a rewrite holds pattern sections)")
				continue
			}
			c.keyValue(key, t, it.kv)
		case it.sec.name == "authorization":
			auth = it.sec
		case it.sec.name == "pattern" && h.name == "rewrite":
			patterns = append(patterns, it.sec)
		default:
			c.fail(it.sec.line, key, "unknown section %q", it.sec.name)
		}
	}
	if auth != nil {
		c.authorization(auth, key)
	}
	for _, p := range patterns {
		c.pattern(p, key+".pattern")
	}
}

// authorization writes "authorization basic { realm = ... password file = ... }"
// with Lwan's defaults: realm Lwan, password file htpasswd.
func (c *lwanConverter) authorization(a *lwanSection, handlerKey string) {
	key := handlerKey + ".authorization"
	if a.arg != "basic" {
		c.fail(a.line, key, "only basic authorization is supported (authorization basic { ... }), got %q", a.arg)
	}
	c.w.line(a.line, "["+key+"]")
	has := map[string]bool{}
	for _, it := range a.items {
		if it.sec != nil {
			c.fail(it.sec.line, key, "unexpected section %q", it.sec.name)
			continue
		}
		has[it.kv.key] = true
		c.keyValue(key, reflect.TypeFor[fileAuthorization](), it.kv)
	}
	if !has["realm"] {
		c.w.line(a.line, `realm = "Lwan"`)
	}
	if !has["password_file"] {
		c.w.line(a.line, `password_file = "htpasswd"`)
	}
}

// pattern writes one rewrite "pattern LUA-PATTERN { rewrite as = ... }" as a
// [[site.rewrite.pattern]] table, translating the Lua pattern and the %1
// captures into Go's syntax.
func (c *lwanConverter) pattern(p *lwanSection, key string) {
	// A pattern with a condition or a Lua script lwango cannot run is left
	// out whole: without its condition it would match other requests.
	lacking := false
	for _, it := range p.items {
		switch {
		case it.sec != nil && it.sec.name == "condition":
			c.lack(it.sec.line, key, "rewrite condition %q is not available in lwango", it.sec.arg)
			lacking = true
		case it.kv != nil && strings.HasPrefix(it.kv.key, "condition_"):
			c.lack(it.kv.line, key, "rewrite condition %q is not available in lwango", strings.TrimPrefix(it.kv.key, "condition_"))
			lacking = true
		case it.kv != nil && it.kv.key == "expand_with_lua":
			if b, err := parseLwanBool(it.kv.value); err != nil || b {
				c.lack(it.kv.line, key, "expand_with_lua (Lua scripts) is not available in lwango")
				lacking = true
			}
		}
	}
	if lacking {
		return
	}
	c.w.line(p.line, "[["+key+"]]")
	re, err := luaPatternToRegexp(p.arg)
	if err != nil {
		c.fail(p.line, key+".match", "Lua pattern %q: %v", p.arg, err)
	}
	c.w.line(p.line, "match = "+tomlString(re))
	for _, it := range p.items {
		if it.sec != nil {
			c.fail(it.sec.line, key, "unknown section %q", it.sec.name)
			continue
		}
		kv := *it.kv
		switch kv.key {
		case "expand_with_lua":
			continue // false: the default
		case "rewrite_as", "redirect_to":
			kv.value = luaTemplateToGo(kv.value)
		}
		c.keyValue(key, reflect.TypeFor[filePattern](), &kv)
	}
}

// keyValue writes kv as a key of the table whose decoding type is t,
// typing the value as the field it lands in: integers, booleans (Lwan's
// true/on/yes/false/off/no or a number), lists (words separated by spaces
// or commas), strings. A time key that is a bare number is in seconds (Lwan
// falls back to the key's default there). An unknown key is written as a
// string, for the TOML path to refuse with its line.
func (c *lwanConverter) keyValue(table string, t reflect.Type, kv *lwanKV) {
	dotted := join(table, kv.key)
	tableName := strings.TrimSuffix(table, ".pattern")
	for _, k := range lwanOnlyKeys[tableName] {
		if k == kv.key {
			c.lack(kv.line, dotted, "Lwan's key %s is not available in lwango", kv.key)
			return
		}
	}
	value := tomlString(kv.value)
	if f, ok := tomlField(t, kv.key); ok {
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch ft.Kind() {
		case reflect.Int:
			n, err := strconv.ParseInt(strings.TrimSpace(kv.value), 10, 64)
			if err != nil {
				c.fail(kv.line, dotted, "want an integer, got %q", kv.value)
			}
			value = strconv.FormatInt(n, 10)
		case reflect.Bool:
			b, err := parseLwanBool(kv.value)
			if err != nil {
				c.fail(kv.line, dotted, "%v", err)
			}
			value = strconv.FormatBool(b)
		case reflect.Slice:
			words := strings.FieldsFunc(kv.value, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
			quoted := make([]string, len(words))
			for i, w := range words {
				quoted[i] = tomlString(w)
			}
			value = "[" + strings.Join(quoted, ", ") + "]"
		case reflect.String:
			if lwanTimeKeys[kv.key] {
				if _, err := strconv.ParseUint(strings.TrimSpace(kv.value), 10, 32); err == nil {
					value = tomlString(strings.TrimSpace(kv.value) + "s")
				}
			}
		}
	}
	c.w.line(kv.line, tomlKey(kv.key)+" = "+value)
}

// lwanTimeKeys are the keys whose value is in Lwan's time syntax.
var lwanTimeKeys = map[string]bool{"expires": true, "cache_for": true}

// parseLwanBool reads a boolean as Lwan does: true, on, yes, false, off, no
// (any case), or an integer (0 is false).
func parseLwanBool(s string) (bool, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "true", "on", "yes":
		return true, nil
	case "false", "off", "no":
		return false, nil
	}
	if n, err := strconv.ParseInt(s, 10, 32); err == nil {
		return n != 0, nil
	}
	return false, fmt.Errorf("want a boolean (true, on, yes, false, off, no or a number), got %q", s)
}

// tomlField finds the field of struct type t that TOML key decodes into:
// the one tagged with it, else (untagged) the one named so ignoring case,
// as go-toml does.
func tomlField(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("toml")
		if tag == key || (tag == "" && strings.EqualFold(f.Name, key)) {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// tomlKey writes a key bare when TOML allows, quoted otherwise.
func tomlKey(k string) string {
	for i := 0; i < len(k); i++ {
		if c := k[i]; !isAlnum(c) && c != '_' && c != '-' {
			return tomlString(k)
		}
	}
	if k == "" {
		return `""`
	}
	return k
}

// tomlString writes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < ' ' || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
