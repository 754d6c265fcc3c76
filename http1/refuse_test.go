package http1

import (
	"strconv"
	"strings"
	"testing"
)

// A refused HEAD request gets the error's head without its page (RFC 9110
// §9.3.2), Content-Length included; other methods get the page.
func TestRefusedHeadHasNoBody(t *testing.T) {
	for _, tc := range []struct {
		in     string
		status int
		body   bool
	}{
		{"HEAD /x HTTP/1.1\r\nHost: h\r\nContent-Length: 999999\r\n\r\n", 413, false},
		{"HEAD /x HTTP/1.1\r\nHost: h\r\nExpect: 200-ok\r\n\r\n", 417, false},
		{"GET /x HTTP/1.1\r\nHost: h\r\nExpect: 200-ok\r\n\r\n", 417, true},
		{"HEAD /x%00 HTTP/1.1\r\nHost: h\r\n\r\n", 400, true}, // the request line is not trusted: not known to be HEAD
	} {
		e := newTestEngine(helloHandler)
		var out Output
		got, res := serveAll(t, e, []byte(tc.in), &out)
		page := string(ErrorPage(tc.status))
		head := "HTTP/1.1 " + strconv.Itoa(tc.status) + " "
		if res.Next != Close || !strings.HasPrefix(got, head) || !strings.Contains(got, "Content-Length: "+strconv.Itoa(len(page))+"\r\n") {
			t.Fatalf("%q: %+v\n%s", tc.in, res, got)
		}
		if strings.HasSuffix(got, "\r\n\r\n"+page) != tc.body || (!tc.body && !strings.HasSuffix(got, "\r\n\r\n")) {
			t.Errorf("%q: want the page sent: %v, got:\n%s", tc.in, tc.body, got)
		}
	}
}
