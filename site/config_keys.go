package site

import (
	"fmt"
	"slices"
	"strings"
)

// flagKey records that a command-line flag replaced a configuration key's
// value, so that an error about the key names the flag instead of a line.
type flagKey struct {
	key  string // dotted configuration key, e.g. "tls_listener.address"
	flag string // e.g. "-L"
}

// Line returns the line of the configuration file key is written on, or the
// line of its nearest enclosing table that is (a key left out is reported
// at its table's header). It returns 0 when nothing of key is in the file.
func (c *Config) Line(key string) int {
	if c.pos == nil {
		return 0
	}
	return c.pos.line(key)
}

// Errorf returns an *Error about key, found after the configuration was
// parsed (a listener that cannot bind, a cipher not implemented): it names
// the file, key's line and key. When a command-line flag replaced key or a
// table enclosing it (Apply), it names the flag instead:
// "command line: -L: message".
func (c *Config) Errorf(key, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	if flag, ok := c.setByFlag(key); ok {
		return &Error{File: "command line", Key: flag, Msg: msg}
	}
	return &Error{File: c.File, Line: c.Line(key), Key: key, Msg: msg}
}

// setByFlag returns the flag that replaced key or a table enclosing it.
func (c *Config) setByFlag(key string) (string, bool) {
	for _, fk := range c.flags {
		if key == fk.key || strings.HasPrefix(key, fk.key+".") {
			return fk.flag, true
		}
	}
	return "", false
}

// markFlag records that flag replaced key. The slice is never shared with a
// copy of c made before (a Config copied by value keeps its own record).
func (c *Config) markFlag(key, flag string) {
	c.flags = append(slices.Clip(c.flags), flagKey{key: key, flag: flag})
}
