package site

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
)

// Error is a configuration error. It names the file, the line and the key
// it is about, so that a mistake can be found without guessing.
type Error struct {
	File string // the configuration file's name
	Line int    // 1-based; 0 when the error has no place in the file
	Key  string // dotted key, e.g. "site.serve_files[0].cache_for"; may be empty
	Msg  string
}

// Error formats the error as "file:line: key: message".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// typeMismatch matches go-toml's message for a value of the wrong type.
var typeMismatch = regexp.MustCompile(`^toml: cannot decode TOML (\S+) into .* of type (\S+)$`)

// goTypeNames names the Go types config fields use in TOML's words.
var goTypeNames = map[string]string{
	"int":               "an integer",
	"string":            "a string",
	"bool":              "a boolean",
	"*int":              "an integer",
	"*string":           "a string",
	"*bool":             "a boolean",
	"[]string":          "an array of strings",
	"map[string]string": "a table of strings",
}

// fromDecodeError turns go-toml's error into an *Error with the file name,
// the line and the key. go-toml's key has no array indices and loses inline
// tables' names, so when the document can be indexed the full key written
// on that line is named instead. lines maps the line (see parseTOML).
func fromDecodeError(file string, data []byte, err error, lines []int) error {
	var de *toml.DecodeError
	if !errors.As(err, &de) {
		return &Error{File: file, Msg: err.Error()}
	}
	line, _ := de.Position()
	msg := strings.TrimPrefix(de.Error(), "toml: ")
	if m := typeMismatch.FindStringSubmatch(de.Error()); m != nil {
		want, ok := goTypeNames[m[2]]
		if !ok {
			want = "a table"
		}
		msg = fmt.Sprintf("wrong type: got a TOML %s, want %s", m[1], want)
	}
	switch msg {
	case "unknown field":
		msg = "unknown key"
	case "missing table":
		msg = "unknown table"
	}
	key := strings.Join(de.Key(), ".")
	if k := de.Key(); len(k) > 0 {
		if pos, err := indexPositions(data); err == nil {
			key = pos.keyOnLine(line, k[len(k)-1], key)
		}
	}
	return &Error{File: file, Line: mapLine(lines, line), Key: key, Msg: msg}
}
