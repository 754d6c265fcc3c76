package http1_test

import (
	"fmt"
	"strings"

	"lwango/http1"
)

// A server drives the engine per connection: Serve what was read, write
// out what it queued, then act on Next.
func ExampleEngine_Serve() {
	engine := &http1.Engine{
		Handler: http1.HandlerFunc(func(req *http1.Request, resp *http1.Response) {
			resp.ContentType = "text/plain"
			resp.Body = append(resp.Body[:0], req.Path...)
		}),
		ServerName: "lwango",
	}
	var out http1.Output
	out.Reset(make([]byte, 0, 4096)) // a buffer from the loop's pool
	var progress http1.Progress      // the connection's unfinished request

	in := []byte("GET /a/../hello HTTP/1.1\r\nHost: example.com\r\n\r\nGET /second HT")
	res := engine.Serve(in, false, &out, &progress)
	for out.Pending() {
		// A real server writes seg.Bytes, or sendfiles seg.File; here the
		// bytes are printed with their CRLFs shown as newlines.
		seg := out.Next()
		fmt.Print(strings.ReplaceAll(string(seg.Bytes), "\r\n", "\n"))
		out.Advance(int64(len(seg.Bytes)))
	}
	// ReadMore: keep in[Consumed:Consumed+Keep] at the front of the buffer,
	// read more after it and call Serve again with the same progress.
	fmt.Printf("\n%v, %d of %d bytes consumed, %d kept\n", res.Next, res.Consumed, len(in), res.Keep)
	// Output:
	// HTTP/1.1 200 OK
	// Server: lwango
	// Content-Length: 6
	// Content-Type: text/plain
	//
	// /hello
	// ReadMore, 47 of 61 bytes consumed, 14 kept
}
