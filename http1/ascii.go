package http1

import "encoding/binary"

// tchar marks the bytes allowed in a token (RFC 9110 §5.6.2): header names,
// methods and transfer codings.
var tchar = [256]bool{}

func init() {
	for c := '0'; c <= '9'; c++ {
		tchar[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		tchar[c] = true
		tchar[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		tchar[c] = true
	}
}

// isToken reports whether b is a non-empty token.
func isToken(b []byte) bool {
	for _, c := range b {
		if !tchar[c] {
			return false
		}
	}
	return len(b) > 0
}

// lower folds an ASCII upper-case letter to lower case.
func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// equalFold reports whether b equals s without regard to ASCII case; s
// must be in lower case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		if lower(b[i]) != s[i] {
			return false
		}
	}
	return true
}

// trimOWS strips optional whitespace (SP and HTAB) from both ends of b.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// nextListElement splits a comma-separated header list (RFC 9110 §5.6.1):
// it returns the first element, trimmed, and the rest after its comma.
// Empty elements come back empty and callers skip them.
func nextListElement(list []byte) (elem, rest []byte) {
	for i, c := range list {
		if c == ',' {
			return trimOWS(list[:i]), list[i+1:]
		}
	}
	return trimOWS(list), nil
}

// unhex returns the value of a hexadecimal digit and whether c is one.
func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// validFieldValue reports whether v holds only field-vchar, SP, HTAB and
// obs-text (RFC 9110 §5.5): no CR (a bare CR is how request smuggling
// starts), no NUL, no other control character. It tests eight bytes at a
// time and looks closer only at words that may hold a control byte.
func validFieldValue(v []byte) bool {
	if len(v) < 8 {
		return validFieldBytes(v)
	}
	for i := 0; i < len(v); i += 8 {
		i = min(i, len(v)-8) // the last word may overlap the one before
		if mayHoldControl(binary.LittleEndian.Uint64(v[i:])) && !validFieldBytes(v[i:i+8]) {
			return false
		}
	}
	return true
}

func validFieldBytes(v []byte) bool {
	for _, c := range v {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// mayHoldControl is true when some byte of x is below 0x20 or is 0x7f; it
// may also be true without one (a borrow spills into a higher byte only past
// a true hit), never false with one.
func mayHoldControl(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	below := (x - 0x20*ones) &^ x & highs
	del := x ^ 0x7f*ones
	isDel := (del - ones) &^ del & highs
	return below|isDel != 0
}
