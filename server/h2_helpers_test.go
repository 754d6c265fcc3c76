package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"lwango/internal/testenv"
)

// h2Client is Go's HTTP/2 client (golang.org/x/net/http2) for addr: over
// TLS, or h2c with prior knowledge. It opens one connection and sends
// every request on it.
func h2Client(t testing.TB, useTLS bool) *http.Client {
	tr := &http2.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	if !useTLS {
		tr.AllowHTTP = true
		tr.DialTLSContext = func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}
}

// run runs a real client program (testenv.Program finds it) and returns its
// standard output; a failure fails the test with its standard error.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	path := testenv.Program(t, name)
	var out, errOut bytes.Buffer
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s %v: %v\n%s\n%s", name, args, err, errOut.String(), out.String())
		}
	case <-time.After(120 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("%s %v did not finish\n%s", name, args, errOut.String())
	}
	return out.String()
}

// h2Raw is a hand-driven HTTP/2 client connection: frames written and read
// with x/net/http2's Framer, header blocks with its HPACK encoder, so that
// tests can send what no well-behaved client would.
type h2Raw struct {
	t    testing.TB
	conn net.Conn
	fr   *http2.Framer
	enc  *hpack.Encoder
	buf  bytes.Buffer
}

// dialH2 opens a cleartext connection to an h2c listener and sends the
// client preface and an empty SETTINGS (or the settings given).
func dialH2(t testing.TB, addr string, settings ...http2.Setting) *h2Raw {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return startH2(t, c, settings...)
}

// startH2 begins HTTP/2 on c: the client preface and SETTINGS.
func startH2(t testing.TB, c net.Conn, settings ...http2.Setting) *h2Raw {
	t.Helper()
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	r := &h2Raw{t: t, conn: c, fr: http2.NewFramer(c, c)}
	r.fr.AllowIllegalWrites = true // the tests send what no client should
	r.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	r.fr.MaxHeaderListSize = 1 << 20
	r.enc = hpack.NewEncoder(&r.buf)
	if _, err := io.WriteString(c, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	if err := r.fr.WriteSettings(settings...); err != nil {
		t.Fatal(err)
	}
	return r
}

// block encodes fields ("name", "value", ...) as a header block.
func (r *h2Raw) block(fields ...string) []byte {
	r.buf.Reset()
	for i := 0; i+1 < len(fields); i += 2 {
		r.enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	return bytes.Clone(r.buf.Bytes())
}

// get is the fields of a GET for path.
func getFields(path string) []string {
	return []string{":method", "GET", ":scheme", "http", ":path", path, ":authority", "localhost"}
}

// headers sends one HEADERS frame holding the whole block.
func (r *h2Raw) headers(id uint32, endStream bool, fields ...string) {
	r.t.Helper()
	err := r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: r.block(fields...),
		EndStream: endStream, EndHeaders: true})
	if err != nil {
		r.t.Fatal(err)
	}
}

// raw writes bytes as they are.
func (r *h2Raw) raw(b []byte) {
	r.t.Helper()
	if _, err := r.conn.Write(b); err != nil {
		r.t.Fatal(err)
	}
}

// next reads the next frame; it fails the test on EOF or error.
func (r *h2Raw) next() http2.Frame {
	r.t.Helper()
	f, err := r.fr.ReadFrame()
	if err != nil {
		r.t.Fatalf("reading a frame: %v", err)
	}
	return f
}

// until reads frames, acting on each with fn, until fn returns true.
func (r *h2Raw) until(fn func(f http2.Frame) bool) {
	r.t.Helper()
	for {
		if fn(r.next()) {
			return
		}
	}
}

// expectGoAway reads until a GOAWAY and checks its code, then that the
// server closes the connection.
func (r *h2Raw) expectGoAway(code http2.ErrCode) *http2.GoAwayFrame {
	r.t.Helper()
	var g *http2.GoAwayFrame
	r.until(func(f http2.Frame) bool {
		if rst, ok := f.(*http2.RSTStreamFrame); ok {
			r.t.Fatalf("RST_STREAM %v on stream %d, want GOAWAY %v", rst.ErrCode, rst.StreamID, code)
		}
		g, _ = f.(*http2.GoAwayFrame)
		return g != nil
	})
	if g.ErrCode != code {
		r.t.Fatalf("GOAWAY %v, want %v", g.ErrCode, code)
	}
	r.expectEOF()
	return g
}

// expectEOF reads until the server closes the connection.
func (r *h2Raw) expectEOF() {
	r.t.Helper()
	for {
		_, err := r.fr.ReadFrame()
		if err == nil {
			continue
		}
		if errors.Is(err, io.EOF) || strings.Contains(err.Error(), "connection reset") {
			return
		}
		r.t.Fatalf("waiting for the server to close: %v", err)
	}
}

// expectRST reads until RST_STREAM on stream id and checks its code; a
// GOAWAY before it fails the test.
func (r *h2Raw) expectRST(id uint32, code http2.ErrCode) {
	r.t.Helper()
	r.until(func(f http2.Frame) bool {
		switch f := f.(type) {
		case *http2.GoAwayFrame:
			r.t.Fatalf("GOAWAY %v, want RST_STREAM %v on stream %d", f.ErrCode, code, id)
		case *http2.RSTStreamFrame:
			if f.StreamID == id {
				if f.ErrCode != code {
					r.t.Fatalf("RST_STREAM %v on stream %d, want %v", f.ErrCode, id, code)
				}
				return true
			}
		}
		return false
	})
}

// response reads until stream id ends and returns its :status and body.
func (r *h2Raw) response(id uint32) (string, []byte) {
	r.t.Helper()
	var status string
	var body []byte
	r.until(func(f http2.Frame) bool {
		switch f := f.(type) {
		case *http2.MetaHeadersFrame:
			if f.StreamID == id {
				status = f.PseudoValue("status")
				return f.StreamEnded()
			}
		case *http2.DataFrame:
			if f.StreamID == id {
				body = append(body, f.Data()...)
				if len(f.Data()) > 0 {
					r.fr.WriteWindowUpdate(0, uint32(len(f.Data())))
					r.fr.WriteWindowUpdate(id, uint32(len(f.Data())))
				}
				return f.StreamEnded()
			}
		case *http2.RSTStreamFrame:
			if f.StreamID == id {
				r.t.Fatalf("stream %d reset: %v", id, f.ErrCode)
			}
		case *http2.GoAwayFrame:
			r.t.Fatalf("GOAWAY %v while waiting for stream %d", f.ErrCode, id)
		}
		return false
	})
	return status, body
}

// alive checks that the connection still answers: a PING comes back.
func (r *h2Raw) alive() {
	r.t.Helper()
	r.pingBack(false)
}

// pingBack sends a PING and reads until its ACK, failing on a GOAWAY, and
// on an RST_STREAM too when strict (nothing else was to be answered).
func (r *h2Raw) pingBack(strict bool) {
	r.t.Helper()
	data := [8]byte{'a', 'l', 'i', 'v', 'e', '?', '!', 1}
	r.fr.WritePing(false, data)
	r.until(func(f http2.Frame) bool {
		switch f := f.(type) {
		case *http2.PingFrame:
			return f.IsAck() && f.Data == data
		case *http2.GoAwayFrame:
			r.t.Fatalf("GOAWAY %v, want the connection alive", f.ErrCode)
		case *http2.RSTStreamFrame:
			if strict {
				r.t.Fatalf("RST_STREAM %v on stream %d, want the frames ignored", f.ErrCode, f.StreamID)
			}
		}
		return false
	})
}

// startH2C runs the test site with h2c on, and its access log kept.
func startH2C(t testing.TB, extra string) (*Server, string, *syncBuffer) {
	t.Helper()
	log := &syncBuffer{}
	cfg := testConfig(t, newTestSite(t), "h2c = true\nthreads = 1\n"+extra)
	cfg.Quiet = false
	srv, addr := startServer(t, cfg, Options{AccessLog: log})
	return srv, addr, log
}
