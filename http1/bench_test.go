package http1

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
)

// wrkRequest is the request wrk sends by default.
const wrkRequest = "GET / HTTP/1.1\r\nHost: localhost:8080\r\n\r\n"

// browserRequest is a typical browser request, with the headers a parser
// has to walk in real traffic.
const browserRequest = "GET /assets/app.js?v=3 HTTP/1.1\r\n" +
	"Host: www.example.com\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n" +
	"Accept: */*\r\n" +
	"Accept-Language: en-US,en;q=0.5\r\n" +
	"Accept-Encoding: gzip, deflate, br, zstd\r\n" +
	"Referer: https://www.example.com/\r\n" +
	"Connection: keep-alive\r\n" +
	"If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n" +
	"If-None-Match: \"5f1c-1a2b3c\"\r\n" +
	"Sec-Fetch-Dest: script\r\n" +
	"Sec-Fetch-Mode: no-cors\r\n" +
	"Sec-Fetch-Site: same-origin\r\n\r\n"

// plainHello answers "Hello, World!" as text/plain, like a benchmark
// handler would.
func plainHello(req *Request, resp *Response) {
	resp.ContentType = "text/plain"
	resp.Body = helloBody
}

// benchmarkServe serves in over and over on one keep-alive connection:
// parse, handler, render, then a simulated write of the whole output.
func benchmarkServe(b *testing.B, in string, requests int) {
	e := &Engine{Handler: HandlerFunc(plainHello), Date: []byte(testDate), ServerName: "lwango"}
	var out Output
	out.Reset(make([]byte, 0, 64<<10))
	buf := make([]byte, len(in))
	var p Progress
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		copy(buf, in) // a fresh read: Serve decodes paths in place
		res := e.Serve(buf, false, &out, &p)
		if res.Next != KeepAlive || res.Consumed != len(in) {
			b.Fatalf("result %+v", res)
		}
		seg := out.Next()
		out.Advance(int64(len(seg.Bytes)))
		if out.Pending() {
			b.Fatal("output left after one write")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*requests), "ns/req")
}

func BenchmarkServeKeepAliveHello(b *testing.B) {
	benchmarkServe(b, wrkRequest, 1)
}

func BenchmarkServeKeepAliveBrowser(b *testing.B) {
	benchmarkServe(b, browserRequest, 1)
}

func BenchmarkServePipelinedHello(b *testing.B) {
	const depth = 16
	benchmarkServe(b, strings.Repeat(wrkRequest, depth), depth)
}

func BenchmarkParseBrowser(b *testing.B) {
	var req Request
	buf := make([]byte, len(browserRequest))
	b.SetBytes(int64(len(browserRequest)))
	b.ReportAllocs()
	for b.Loop() {
		copy(buf, browserRequest)
		if n, status := Parse(buf, &req, DefaultMaxRequestSize); n != len(buf) || status != 0 {
			b.Fatalf("Parse = %d, %d", n, status)
		}
	}
}

// BenchmarkNetHTTPReadRequestBrowser parses the same request with net/http,
// as a yardstick for BenchmarkParseBrowser.
func BenchmarkNetHTTPReadRequestBrowser(b *testing.B) {
	r := strings.NewReader(browserRequest)
	br := bufio.NewReader(r)
	b.SetBytes(int64(len(browserRequest)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(browserRequest)
		br.Reset(r)
		if _, err := http.ReadRequest(br); err != nil {
			b.Fatal(err)
		}
	}
}
