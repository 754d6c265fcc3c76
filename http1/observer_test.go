package http1

import (
	"strings"
	"testing"
)

// seen is one response an Observer was told of.
type seen struct {
	hadRequest bool
	method     Method
	path       string
	status     int
	bodyLen    int
	close      bool
}

// recordingObserver keeps what it is told, copying what the engine only
// lends.
type recordingObserver struct{ got []seen }

func (o *recordingObserver) Responded(req *Request, resp *Response) {
	s := seen{status: resp.Status, bodyLen: len(resp.Body), close: resp.Close}
	if req != nil {
		s.hadRequest, s.method, s.path = true, req.Method, string(req.Path)
	}
	o.got = append(o.got, s)
}

// Every response is reported in order, the engine's 501 and its refusals
// included; a refusal of a head that never completed comes without a
// request, one of a complete head with its decoded path.
func TestObserverSeesEveryResponse(t *testing.T) {
	teapot := func(req *Request, resp *Response) {
		if string(req.Path) == "/pot" {
			resp.Status = 418
			return
		}
		if string(req.Path) == "/bad" {
			resp.Status = 42 // out of range: rendered as 500
			return
		}
		helloHandler(req, resp)
	}
	for _, tc := range []struct {
		name string
		in   string
		want []seen
	}{
		{"handler and 501", "GET /a HTTP/1.1\r\nHost: h\r\n\r\nBREW /pot HTTP/1.1\r\nHost: h\r\n\r\nGET /pot HTTP/1.1\r\nHost: h\r\n\r\nGET /bad HTTP/1.1\r\nHost: h\r\n\r\n",
			[]seen{
				{true, MethodGet, "/a", 200, 13, false},
				{true, MethodUnknown, "/pot", 501, len(ErrorPage(501)), false},
				{true, MethodGet, "/pot", 418, len(ErrorPage(418)), false},
				{true, MethodGet, "/bad", 500, len(ErrorPage(500)), false},
			}},
		{"bad request line", "GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /a%00b HTTP/1.1\r\nHost: h\r\n\r\n",
			[]seen{{true, MethodGet, "/a", 200, 13, false}, {false, 0, "", 400, len(ErrorPage(400)), true}}},
		{"URI too long", "GET /" + strings.Repeat("a", 5000) + " HTTP/1.1\r\n",
			[]seen{{false, 0, "", 414, len(ErrorPage(414)), true}}},
		{"no length: no body", "POST /up%6coad HTTP/1.1\r\nHost: h\r\n\r\n",
			[]seen{{true, MethodPost, "/upload", 200, 13, false}}},
		{"chunked", "POST /up%6coad HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
			[]seen{{true, MethodPost, "/upload", 200, 13, false}}},
		{"chunk over the limit", "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nA001\r\n",
			[]seen{{true, MethodPost, "/up", 413, len(ErrorPage(413)), true}}},
		{"too large", "PUT /x/../big HTTP/1.1\r\nHost: h\r\nContent-Length: 999999\r\n\r\n",
			[]seen{{true, MethodPut, "/big", 413, len(ErrorPage(413)), true}}},
		{"version", "GET / HTTP/2.0\r\n\r\n",
			[]seen{{false, 0, "", 505, len(ErrorPage(505)), true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obs := &recordingObserver{}
			e := newTestEngine(teapot)
			e.Observer = obs
			var out Output
			written, _ := serveAll(t, e, []byte(tc.in), &out)
			if len(obs.got) != len(tc.want) {
				t.Fatalf("observer saw %+v, want %+v", obs.got, tc.want)
			}
			for i := range tc.want {
				if obs.got[i] != tc.want[i] {
					t.Errorf("response %d: observer saw %+v, want %+v", i, obs.got[i], tc.want[i])
				}
			}
			if n := strings.Count(written, "HTTP/1.1 "); n != len(tc.want) {
				t.Errorf("%d responses written, %d observed", n, len(tc.want))
			}
		})
	}
}

// Telling the observer allocates nothing on the keep-alive path, nor when
// the engine refuses a request.
func TestObserverAllocatesNothing(t *testing.T) {
	e := newTestEngine(plainHello)
	obs := &countingObserver{}
	e.Observer = obs
	var out Output
	out.Reset(make([]byte, 0, 16<<10))
	var p Progress
	for _, in := range []string{wrkRequest, "POST / HTTP/1.1\r\nHost: a/b\r\n\r\n"} {
		buf := []byte(in)
		allocs := testing.AllocsPerRun(100, func() {
			copy(buf, in)
			e.Serve(buf, false, &out, &p)
			out.Discard()
		})
		if allocs != 0 {
			t.Errorf("%q: %v allocations per request", in, allocs)
		}
	}
	if obs.n != 2*101 {
		t.Fatalf("observer told of %d responses, want %d", obs.n, 2*101)
	}
}

type countingObserver struct{ n int }

func (o *countingObserver) Responded(*Request, *Response) { o.n++ }

// With Closing set, a keep-alive request is answered with
// "Connection: close" and the rest of a pipeline is left unanswered.
func TestClosingEndsTheConnection(t *testing.T) {
	for _, tc := range []struct {
		name, in, header string
	}{
		{"HTTP/1.1", "GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n", "Connection: close\r\n"},
		{"HTTP/1.0 keep-alive", "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\n\r\n", "Connection: close\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEngine(helloHandler)
			var out Output
			open, res := serveAll(t, e, []byte(tc.in), &out)
			if strings.Count(open, "200 OK") != 2 || strings.Contains(open[:strings.Index(open, "Hello")], "Connection: close") {
				t.Fatalf("without Closing: %+v\n%s", res, open)
			}
			e.Closing = true
			got, res := serveAll(t, e, []byte(tc.in), &out)
			first := strings.Index(tc.in, "GET /b")
			if res.Next != Close || res.Consumed != first {
				t.Fatalf("Serve = %+v, want Close after %d bytes", res, first)
			}
			if strings.Count(got, "200 OK") != 1 || !strings.Contains(got, tc.header) || strings.Contains(got, "keep-alive") {
				t.Fatalf("response while closing:\n%s", got)
			}
		})
	}
}
