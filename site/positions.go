package site

import (
	"sort"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// positions maps every key of a TOML document to the line it is written on,
// so that an error found after decoding (a bad value, a missing key) can
// still name its line. Keys are dotted paths with array-of-tables elements
// numbered from zero: "site.serve_files[1].cache_for".
type positions struct {
	lines      map[string]int
	arrays     map[string]int // array-of-tables path -> elements seen
	lineStarts []int          // offsets at which each line begins
}

// indexPositions walks the document's expressions. The document has already
// been decoded, so a parse error here is not expected; it is returned anyway.
func indexPositions(data []byte) (*positions, error) {
	ps := &positions{lines: map[string]int{}, arrays: map[string]int{}, lineStarts: []int{0}}
	for i, c := range data {
		if c == '\n' {
			ps.lineStarts = append(ps.lineStarts, i+1)
		}
	}
	var p unstable.Parser
	p.Reset(data)
	current := ""
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			parts, line := ps.keyParts(e.Key())
			if len(parts) == 0 {
				continue
			}
			path := ps.resolve(parts[:len(parts)-1])
			path = join(path, parts[len(parts)-1])
			if e.Kind == unstable.ArrayTable {
				n := ps.arrays[path]
				ps.arrays[path] = n + 1
				path += "[" + strconv.Itoa(n) + "]"
			}
			ps.record(path, line)
			current = path
		case unstable.KeyValue:
			ps.keyValue(current, e)
		}
	}
	return ps, p.Error()
}

// keyValue records a key = value line under the table base, and everything
// nested in its value.
func (ps *positions) keyValue(base string, kv *unstable.Node) {
	parts, line := ps.keyParts(kv.Key())
	path := base
	for _, part := range parts {
		path = join(path, part)
	}
	ps.record(path, line)
	ps.value(path, kv.Value(), line)
}

// value records the keys inside inline tables and arrays.
func (ps *positions) value(path string, v *unstable.Node, line int) {
	switch v.Kind {
	case unstable.InlineTable:
		it := v.Children()
		for it.Next() {
			if n := it.Node(); n.Kind == unstable.KeyValue {
				ps.keyValue(path, n)
			}
		}
	case unstable.Array:
		it := v.Children()
		for i := 0; it.Next(); {
			n := it.Node()
			if n.Kind == unstable.Comment {
				continue
			}
			elem := path + "[" + strconv.Itoa(i) + "]"
			elemLine := line
			if n.Raw.Length > 0 {
				elemLine = ps.lineAt(int(n.Raw.Offset))
			}
			ps.record(elem, elemLine)
			ps.value(elem, n, elemLine)
			i++
		}
	}
}

// keyParts returns the parts of a dotted key and the line of its first part.
func (ps *positions) keyParts(it unstable.Iterator) ([]string, int) {
	var parts []string
	line := 0
	for it.Next() {
		n := it.Node()
		if line == 0 {
			line = ps.lineAt(int(n.Raw.Offset))
		}
		parts = append(parts, string(n.Data))
	}
	return parts, line
}

// resolve turns a table header's parent parts into a path, descending into
// the last element of any array of tables on the way, as TOML does.
func (ps *positions) resolve(parts []string) string {
	path := ""
	for _, part := range parts {
		path = join(path, part)
		if n := ps.arrays[path]; n > 0 {
			path += "[" + strconv.Itoa(n-1) + "]"
		}
	}
	return path
}

func (ps *positions) record(path string, line int) {
	if _, seen := ps.lines[path]; !seen {
		ps.lines[path] = line
	}
}

// lineAt converts a byte offset into a 1-based line number.
func (ps *positions) lineAt(offset int) int {
	return sort.Search(len(ps.lineStarts), func(i int) bool { return ps.lineStarts[i] > offset })
}

// line returns the line of key, or of its nearest enclosing key that is
// written in the file (a missing key is reported at its table's header).
// It returns 0 when nothing of the path is in the file.
func (ps *positions) line(key string) int {
	for key != "" {
		if l, ok := ps.lines[key]; ok {
			return l
		}
		cut := max(strings.LastIndexByte(key, '.'), strings.LastIndexByte(key, '['))
		if cut < 0 {
			return 0
		}
		key = key[:cut]
	}
	return 0
}

// has reports whether key is written in the file.
func (ps *positions) has(key string) bool {
	_, ok := ps.lines[key]
	return ok
}

// remap replaces every recorded line n by lines[n-1] (nil: no change).
func (ps *positions) remap(lines []int) {
	if lines == nil {
		return
	}
	for k, l := range ps.lines {
		ps.lines[k] = mapLine(lines, l)
	}
}

// mapLine returns lines[n-1], or n when lines is nil or too short.
func mapLine(lines []int, n int) int {
	if lines == nil || n < 1 || n > len(lines) {
		return n
	}
	return lines[n-1]
}

// isTOML reports whether data is a well-formed TOML document.
func isTOML(data []byte) bool {
	var p unstable.Parser
	p.Reset(data)
	for p.NextExpression() {
	}
	return p.Error() == nil
}

func join(path, part string) string {
	if path == "" {
		return part
	}
	return path + "." + part
}

// keyOnLine returns the key written on line whose last part is last, or
// fallback when there is none.
func (ps *positions) keyOnLine(line int, last, fallback string) string {
	found := ""
	for k, l := range ps.lines {
		if l != line || (k != last && !strings.HasSuffix(k, "."+last)) {
			continue
		}
		if found == "" || len(k) < len(found) || (len(k) == len(found) && k < found) {
			found = k
		}
	}
	if found == "" {
		return fallback
	}
	return found
}
