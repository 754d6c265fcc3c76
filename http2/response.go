package http2

import (
	"golang.org/x/net/http2/hpack"

	"lwango/http1"
)

// dispatch answers a whole request through the handler shared with
// HTTP/1.1 and queues the response's HEADERS; its body is framed by
// Produce.
func (c *Conn) dispatch(s *stream, out *http1.Output) {
	s.answered = true
	s.req.EndFields(s.body, c.https)
	resp := &c.e.resp
	c.e.HTTP1.Answer(s.req, resp)
	c.respond(s, resp, out)
}

// answerStatus answers s with the engine's error page for status, without
// the handler (a request refused before it is whole or acceptable).
func (c *Conn) answerStatus(s *stream, status int, out *http1.Output) {
	resp := &c.e.resp
	resp.Reset()
	resp.Status = status
	c.respond(s, resp, out)
}

// respond renders resp on stream s: HEADERS (and CONTINUATION) now, the
// body as DATA frames when windows allow (Produce). A HEAD request, 204 and
// 304 have no body; HEAD keeps the length it would have had.
func (c *Conn) respond(s *stream, resp *http1.Response, out *http1.Output) {
	e := c.e.HTTP1
	e.Settle(resp, out)
	c.progress = true
	status := resp.Status
	bodyAllowed := status != http1.StatusNoContent && status != http1.StatusNotModified
	sendBody := bodyAllowed && s.req.Method != http1.MethodHead

	length := int64(len(resp.Body))
	if resp.File >= 0 {
		length = resp.FileLength
	}
	c.e.encOut.b = c.e.encOut.b[:0]
	if !c.tableSized {
		// The client's decoder starts with a 4096-byte table: the
		// connection's first block says ours is empty.
		c.e.enc.SetMaxDynamicTableSize(0)
		c.tableSized = true
	}
	c.writeField(":status", c.e.internInt(int64(status)))
	if len(e.Date) > 0 {
		c.writeField("date", c.e.intern(e.Date))
	}
	if e.ServerName != "" {
		c.writeField("server", e.ServerName)
	}
	if bodyAllowed {
		c.writeField("content-length", c.e.internInt(length))
	}
	if resp.ContentType != "" {
		c.writeField("content-type", resp.ContentType)
	}
	c.writeLines(e.ExtraHeaders)
	if c.https {
		c.writeLines(e.HTTPSHeaders)
	}
	c.writeLines(resp.Extra)
	block := c.e.encOut.b

	if sendBody && resp.File >= 0 && length > 0 {
		s.file, s.fileOff, s.fileLeft, s.owner = resp.File, resp.FileOffset, length, resp.FileOwner
	} else {
		if resp.File >= 0 {
			out.ReleaseFile(resp.File, resp.FileOwner)
		}
		if sendBody {
			s.data = append(s.data[:0], resp.Body...)
		}
	}
	s.ending = true
	c.queueHeaders(s, block, !s.pending(), out)
	if e.Observer != nil {
		e.Observer.Responded(s.req, resp)
	}
	if !s.pending() {
		c.sentEndStream(s, out)
	}
}

// queueHeaders frames a header block: HEADERS, then CONTINUATION frames if
// it is larger than the client's SETTINGS_MAX_FRAME_SIZE.
func (c *Conn) queueHeaders(s *stream, block []byte, endStream bool, out *http1.Output) {
	typ, flags := FrameHeaders, uint8(0)
	if endStream {
		flags = FlagEndStream
	}
	for {
		n := min(len(block), c.peerMaxFrame)
		if n == len(block) {
			flags |= FlagEndHeaders
		}
		c.queue(out, typ, flags, s.id, block[:n])
		block = block[n:]
		if len(block) == 0 {
			return
		}
		typ, flags = FrameContinuation, 0
	}
}

func (c *Conn) writeField(name, value string) {
	c.e.enc.WriteField(hpack.HeaderField{Name: name, Value: value})
}

// writeLines encodes header lines "Name: value\r\n" with lowercase names
// (RFC 9113 §8.2), leaving out those HTTP/2 forbids (§8.2.2).
func (c *Conn) writeLines(lines []byte) {
	var name [64]byte
	for len(lines) > 0 {
		end := 0
		for end < len(lines) && lines[end] != '\n' {
			end++
		}
		line := lines[:end]
		if end < len(lines) {
			end++
		}
		lines = lines[end:]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		colon := 0
		for colon < len(line) && line[colon] != ':' {
			colon++
		}
		if colon == 0 || colon == len(line) {
			continue
		}
		lower := name[:0]
		if colon > len(name) {
			lower = make([]byte, 0, colon)
		}
		for _, b := range line[:colon] {
			if 'A' <= b && b <= 'Z' {
				b += 'a' - 'A'
			}
			lower = append(lower, b)
		}
		value := line[colon+1:]
		for len(value) > 0 && (value[0] == ' ' || value[0] == '\t') {
			value = value[1:]
		}
		for len(value) > 0 && (value[len(value)-1] == ' ' || value[len(value)-1] == '\t') {
			value = value[:len(value)-1]
		}
		if connectionSpecific(string(lower)) {
			continue
		}
		c.writeField(c.e.intern(lower), c.e.intern(value))
	}
}

// sentEndStream moves s on after its END_STREAM left: a stream whose
// request is whole is closed; one answered early (413, 431) while the
// client still sends is reset with NO_ERROR (RFC 9113 §8.1).
func (c *Conn) sentEndStream(s *stream, out *http1.Output) {
	s.state = s.state.sendEndStream()
	if s.state == stateHalfClosedLocal {
		c.queueRST(out, s.id, NoError)
		c.closedAs(s.id, closedByUs)
		s.state = stateClosed
	}
	c.closeIfDone(s, out)
}

// closeIfDone forgets a closed stream, which earns back a rapid-reset
// allowance and ends a flood count.
func (c *Conn) closeIfDone(s *stream, out *http1.Output) {
	if s.state != stateClosed {
		return
	}
	c.release(s)
	c.resetBudget = min(c.resetBudget+1, maxResetBudget)
	c.flood = 0
}

// Produce frames response bodies as DATA, within the connection's and each
// stream's send window and the client's SETTINGS_MAX_FRAME_SIZE, one frame
// per stream in turn so that streams share the connection fairly, until
// about budget bytes are queued or no stream can send. File bodies are
// queued as file ranges after their frame header. It reports whether it
// queued anything.
func (c *Conn) Produce(out *http1.Output, budget int) bool {
	queued := 0
	for queued < budget && c.sendWindow > 0 && !c.fatal && len(c.streams) > 0 {
		sent := false
		j := c.rr
		for range len(c.streams) {
			if queued >= budget || c.sendWindow <= 0 || len(c.streams) == 0 {
				break
			}
			j %= len(c.streams)
			s := c.streams[j]
			if !s.pending() || s.sendWindow <= 0 {
				j++
				continue
			}
			size := min(s.remaining(), s.sendWindow, c.sendWindow, int64(c.peerMaxFrame))
			before := len(c.streams)
			c.queueData(s, int(size), out)
			queued += FrameHeaderLen + int(size)
			sent = true
			if len(c.streams) == before {
				j++ // s is still live; when it ended, the next one took its place
			}
		}
		c.rr = j
		if !sent {
			break
		}
	}
	return queued > 0
}

// queueData frames size bytes of s's body.
func (c *Conn) queueData(s *stream, size int, out *http1.Output) {
	c.progress = true
	s.sendWindow -= int64(size)
	c.sendWindow -= int64(size)
	last := int64(size) == s.remaining()
	var flags uint8
	if last && s.ending {
		flags = FlagEndStream
	}
	var h [FrameHeaderLen]byte
	out.AppendBytes(appendFrameHeader(h[:0], size, FrameData, flags, s.id)...)
	if s.dataSent < len(s.data) {
		out.AppendBytes(s.data[s.dataSent : s.dataSent+size]...)
		s.dataSent += size
	} else {
		out.AppendFile(s.file, s.fileOff, int64(size), last, s.owner)
		s.fileOff += int64(size)
		s.fileLeft -= int64(size)
	}
	if last {
		s.fileLeft, s.file = 0, -1
		c.sentEndStream(s, out)
	}
}
