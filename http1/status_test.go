package http1

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// readResponses parses raw with net/http's client-side parser, one response
// per method in methods (HEAD responses have no body), and fails the test on
// any malformed response or trailing bytes.
func readResponses(t *testing.T, raw string, methods ...string) []*http.Response {
	t.Helper()
	r := bufio.NewReader(strings.NewReader(raw))
	var resps []*http.Response
	for _, m := range methods {
		resp, err := http.ReadResponse(r, &http.Request{Method: m})
		if err != nil {
			t.Fatalf("response %d of %q: %v", len(resps), raw, err)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("response %d body: %v", len(resps), err)
		}
		resp.Body = io.NopCloser(strings.NewReader(string(body)))
		resp.ContentLength = int64(len(body))
		resps = append(resps, resp)
	}
	if rest, _ := io.ReadAll(r); len(rest) > 0 {
		t.Fatalf("%d bytes after the expected responses: %q", len(rest), rest)
	}
	return resps
}

func bodyOf(resp *http.Response) string {
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestStatuses drives one request per case through Serve and checks the
// status, whether the connection closes, and that the response is
// well-formed HTTP to net/http's parser.
func TestStatuses(t *testing.T) {
	long := strings.Repeat("a", DefaultMaxRequestSize)
	var manyHeaders, longHeaders strings.Builder
	for i := range MaxHeaders + 1 {
		manyHeaders.WriteString("X-H" + strconv.Itoa(i) + ": v\r\n")
	}
	for range 50 {
		longHeaders.WriteString("X-Long: " + strings.Repeat("b", 90) + "\r\n")
	}
	cases := []struct {
		name    string
		in      string
		status  int
		closing bool
	}{
		{"get 1.1", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 200, false},
		{"get 1.0 closes", "GET / HTTP/1.0\r\n\r\n", 200, true},
		{"get 1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 200, false},
		{"1.1 close", "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 200, true},
		{"1.1 close in list", "GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade, CLOSE\r\n\r\n", 200, true},
		{"1.0 keep-alive and close", "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", 200, true},
		{"1.2 served as 1.1", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 200, false},
		{"LF line ends", "GET / HTTP/1.1\nHost: a\n\n", 200, false},
		{"leading empty lines", "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 200, false},
		{"absolute form", "GET http://example.com/x HTTP/1.1\r\nHost: a\r\n\r\n", 200, false},
		{"absolute form https", "GET HTTPS://example.com?q HTTP/1.1\r\nHost: a\r\n\r\n", 200, false},
		{"post with body", "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc", 200, false},
		{"post empty body", "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", 200, false},
		{"get with body", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nxy", 200, false},
		{"same length listed twice", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2, 2\r\n\r\nxy", 200, false},
		{"same length repeated", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nxy", 200, false},
		{"body at the limit", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 40960\r\n\r\n" + strings.Repeat("z", 40960), 200, false},
		{"expect 100-continue with body", "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nz", 200, false},
		{"1.0 without host", "GET / HTTP/1.0\r\n\r\n", 200, true},
		{"obs-text value", "GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\r\n\r\n", 200, false},

		{"unknown method", "BREW / HTTP/1.1\r\nHost: a\r\n\r\n", 501, false},
		{"lower-case method", "get / HTTP/1.1\r\nHost: a\r\n\r\n", 501, false},
		{"unknown method 1.0", "BREW / HTTP/1.0\r\n\r\n", 501, true},

		{"version 2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, true},
		{"version 0.9", "GET / HTTP/0.9\r\n\r\n", 505, true},
		{"h2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, true},

		{"no version", "GET /\r\n\r\n", 400, true},
		{"lower-case version", "GET / http/1.1\r\nHost: a\r\n\r\n", 400, true},
		{"version 1.10", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400, true},
		{"double space", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, true},
		{"trailing space", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400, true},
		{"method not a token", "G@T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, true},
		{"asterisk form", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 400, true},
		{"authority form", "CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n", 400, true},
		{"ftp scheme", "GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, true},
		{"userinfo", "GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, true},
		{"empty authority", "GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", 400, true},
		{"%00", "GET /a%00b HTTP/1.1\r\nHost: a\r\n\r\n", 400, true},
		{"%0d", "GET /a%0db HTTP/1.1\r\nHost: a\r\n\r\n", 400, true},
		{"%0A", "GET /a%0Ab HTTP/1.1\r\nHost: a\r\n\r\n", 400, true},
		{"bad escape", "GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400, true},
		{"short escape", "GET /a%4 HTTP/1.1\r\nHost: a\r\n\r\n", 400, true},
		{"fragment", "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", 400, true},
		{"control in target", "GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n", 400, true},
		{"bare CR ends request line", "GET / HTTP/1.1\rHost: a\r\n\r\n", 400, true},
		{"bare CR in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400, true},
		{"bare CR ends header", "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", 400, true},
		{"bare CR before request", "\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, true},
		{"NUL in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", 400, true},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 400, true},
		{"space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, true},
		{"empty header name", "GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", 400, true},
		{"no colon", "GET / HTTP/1.1\r\nHost: a\r\nX\r\n\r\n", 400, true},
		{"bad name byte", "GET / HTTP/1.1\r\nHost: a\r\nX(y): b\r\n\r\n", 400, true},
		{"1.1 without host", "GET / HTTP/1.1\r\n\r\n", 400, true},
		{"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, true},
		{"bad host", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, true},
		{"host with userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400, true},
		{"length and chunked", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400, true},
		{"differing lengths", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400, true},
		{"differing lengths in list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 4\r\n\r\nabcd", 400, true},
		{"negative length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400, true},
		{"signed length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\nx", 400, true},
		{"empty length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n", 400, true},
		{"hex length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n", 400, true},
		{"chunked not last", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400, true},
		{"gzip only", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400, true},
		{"empty coding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,\r\n\r\n", 400, true},
		{"coding in 1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, true},

		{"chunked twice", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400, true},

		{"chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 200, false},
		{"post without length", "POST / HTTP/1.1\r\nHost: a\r\n\r\n", 200, false},
		{"put without length", "PUT / HTTP/1.1\r\nHost: a\r\n\r\n", 200, false},

		{"gzip then chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: Chunked\r\n\r\n", 501, true},

		{"unknown coding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: foo, chunked\r\n\r\n", 501, true},

		{"other expectation", "GET / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n", 417, true},

		{"body over the limit", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 40961\r\n\r\n", 413, true},
		{"huge length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413, true},
		{"huge length with 100-continue", "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 50000\r\n\r\n", 413, true},

		{"request line too long", "GET /" + long + " HTTP/1.1\r\nHost: a\r\n\r\n", 414, true},
		{"headers too long", "GET / HTTP/1.1\r\nHost: a\r\n" + longHeaders.String() + "\r\n", 431, true},
		{"too many headers", "GET / HTTP/1.1\r\nHost: a\r\n" + manyHeaders.String() + "\r\n", 431, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEngine(helloHandler)
			var out Output
			res := e.Serve([]byte(tc.in), false, &out, &Progress{})
			raw := drain(t, &out)
			resps := readResponses(t, raw, "GET")
			resp := resps[0]
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d; response:\n%s", resp.StatusCode, tc.status, raw)
			}
			if res.Consumed > len(tc.in) {
				t.Fatalf("consumed %d of %d bytes", res.Consumed, len(tc.in))
			}
			wantNext := KeepAlive
			if tc.closing {
				wantNext = Close
			}
			if res.Next != wantNext {
				t.Fatalf("Next = %v, want %v; response:\n%s", res.Next, wantNext, raw)
			}
			if resp.Close != tc.closing {
				t.Fatalf("response Close = %v, want %v:\n%s", resp.Close, tc.closing, raw)
			}
			if resp.Header.Get("Date") != testDate || resp.Header.Get("Server") != "lwango" {
				t.Fatalf("missing Date or Server:\n%s", raw)
			}
			if tc.status == 405 && resp.Header.Get("Allow") == "" {
				t.Fatalf("405 without Allow:\n%s", raw)
			}
			if tc.status >= 400 {
				if !strings.Contains(bodyOf(resp), strconv.Itoa(tc.status)+" "+StatusText(tc.status)) {
					t.Fatalf("error page does not name the status:\n%s", raw)
				}
			} else if body := bodyOf(resp); body != "Hello, World!" {
				t.Fatalf("body %q", body)
			}
		})
	}
}
