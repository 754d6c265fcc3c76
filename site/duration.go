package site

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// timeUnits are the units of Lwan's time syntax. M is 30 days and y is 365
// days, as in Lwan.
var timeUnits = map[byte]time.Duration{
	's': time.Second,
	'm': time.Minute,
	'h': time.Hour,
	'd': 24 * time.Hour,
	'w': 7 * 24 * time.Hour,
	'M': 30 * 24 * time.Hour,
	'y': 365 * 24 * time.Hour,
}

// maxConfigDuration bounds a configured time so that sums cannot overflow.
const maxConfigDuration = 100 * 365 * 24 * time.Hour

// ParseDuration parses Lwan's time syntax: one or more "<n><unit>" terms,
// optionally separated by spaces, with units s, m, h, d, w, M (30 days) and
// y (365 days); the terms add up. "1M 1w" is 37 days. A bare number has no
// unit and is an error, as in Lwan.
func ParseDuration(s string) (time.Duration, error) {
	rest := strings.TrimSpace(s)
	if rest == "" {
		return 0, errors.New("empty time; want e.g. \"30s\" or \"1M 1w\"")
	}
	var total time.Duration
	for rest != "" {
		digits := 0
		var n time.Duration
		for digits < len(rest) && rest[digits] >= '0' && rest[digits] <= '9' {
			n = n*10 + time.Duration(rest[digits]-'0')
			if n > maxConfigDuration {
				return 0, errors.New("time is too long (at most 100 years)")
			}
			digits++
		}
		if digits == 0 {
			return 0, errors.New("bad time " + strconv.Quote(s) + ": each term is a number and a unit, e.g. \"1M 1w\"")
		}
		if digits == len(rest) {
			return 0, errors.New("bad time " + strconv.Quote(s) + ": number without a unit (s, m, h, d, w, M or y)")
		}
		unit, ok := timeUnits[rest[digits]]
		if !ok {
			return 0, errors.New("bad time " + strconv.Quote(s) + ": unknown unit " + strconv.Quote(rest[digits:digits+1]) + " (want s, m, h, d, w, M or y)")
		}
		if n > maxConfigDuration/unit {
			return 0, errors.New("time is too long (at most 100 years)")
		}
		total += n * unit
		if total > maxConfigDuration {
			return 0, errors.New("time is too long (at most 100 years)")
		}
		rest = strings.TrimLeft(rest[digits+1:], " \t")
	}
	return total, nil
}
