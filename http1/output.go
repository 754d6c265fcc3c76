package http1

import "syscall"

// Output is the response bytes a connection has yet to write, in order:
// runs of bytes the engine rendered into its buffer, and file ranges the
// server sends with sendfile. One Output belongs to one connection. Its
// storage is reused: once everything is written the buffer is emptied, not
// freed, so a keep-alive connection renders its next response without
// allocating. A server that pools buffers hands one over with Reset before
// calling Serve and takes it back with Release when the connection idles.
//
// The writer's loop:
//
//	for out.Pending() {
//		seg := out.Next()
//		n := write seg.Bytes, or sendfile seg.File from seg.Offset, up to seg.Length
//		out.Advance(n)
//	}
type Output struct {
	buf   []byte // rendered bytes; buf[:sent] are written
	sent  int
	files []fileRange // in order of at; files[:nextFile] are written
	// nextFile is the first file range not fully written; fileSent is how
	// much of it is.
	nextFile int
	fileSent int64

	// CloseFile closes a response's file descriptor once it is sent or
	// dropped, unless the response has a FileOwner. Nil means
	// syscall.Close; tests and servers that track descriptors set their own.
	CloseFile func(fd int)
}

// fileRange is a file body placed after buf[:at].
type fileRange struct {
	at             int
	fd             int
	offset, length int64
	owner          FileOwner // nil: the Output closes fd
}

// Segment is the next thing to write: Bytes, or when File >= 0 the range
// [Offset, Offset+Length) of File.
type Segment struct {
	Bytes  []byte
	File   int
	Offset int64
	Length int64
}

// Reset drops anything pending (closing its files) and makes buf's storage
// the place responses are rendered into.
func (o *Output) Reset(buf []byte) {
	o.Discard()
	o.buf = buf[:0]
}

// Release drops anything pending (closing its files) and returns the
// buffer, emptied, so the server can pool it; the Output then holds none.
func (o *Output) Release() []byte {
	o.Discard()
	buf := o.buf
	o.buf = nil
	return buf
}

// Discard drops everything not yet written, closing the files of pending
// file ranges; the buffer is kept for reuse. A server calls it when the
// connection dies with output pending.
func (o *Output) Discard() {
	for i := o.nextFile; i < len(o.files); i++ {
		o.closeFile(o.files[i])
	}
	o.empty()
}

// Pending reports whether anything is left to write.
func (o *Output) Pending() bool {
	return o.sent < len(o.buf) || o.nextFile < len(o.files)
}

// Len returns the number of bytes left to write, file ranges included.
func (o *Output) Len() int64 {
	n := int64(len(o.buf) - o.sent)
	for i := o.nextFile; i < len(o.files); i++ {
		n += o.files[i].length
	}
	return n - o.fileSent
}

// Next returns the next segment to write; it is empty when nothing is
// pending. Bytes is valid until the next call to Advance or Serve.
func (o *Output) Next() Segment {
	end := len(o.buf)
	if o.nextFile < len(o.files) {
		f := o.files[o.nextFile]
		if f.at == o.sent {
			return Segment{File: f.fd, Offset: f.offset + o.fileSent, Length: f.length - o.fileSent}
		}
		end = f.at
	}
	return Segment{Bytes: o.buf[o.sent:end], File: -1}
}

// Advance records that the first n bytes of the segment Next returned were
// written. n must not exceed the segment's length. A file whose range is
// fully written is closed unless the handler kept it.
func (o *Output) Advance(n int64) {
	if o.nextFile < len(o.files) && o.files[o.nextFile].at == o.sent {
		f := o.files[o.nextFile]
		o.fileSent += n
		if o.fileSent < f.length {
			return
		}
		o.closeFile(f)
		o.nextFile++
		o.fileSent = 0
	} else {
		o.sent += int(n)
	}
	if !o.Pending() {
		o.empty()
	}
}

// empty forgets all output, keeping the storage.
func (o *Output) empty() {
	o.buf = o.buf[:0]
	o.sent = 0
	o.files = o.files[:0]
	o.nextFile = 0
	o.fileSent = 0
}

// appendFile queues length bytes of fd from offset after what is rendered
// so far. A zero-length range is not queued (but fd is still released).
func (o *Output) appendFile(fd int, offset, length int64, owner FileOwner) {
	f := fileRange{at: len(o.buf), fd: fd, offset: offset, length: length, owner: owner}
	if length == 0 {
		o.closeFile(f)
		return
	}
	o.files = append(o.files, f)
}

// closeFile hands a file range's descriptor back to its owner, or closes it.
func (o *Output) closeFile(f fileRange) {
	if f.owner != nil {
		f.owner.ReleaseFile(f.fd)
		return
	}
	if o.CloseFile != nil {
		o.CloseFile(f.fd)
		return
	}
	syscall.Close(f.fd)
}

// pendingFiles returns how many file ranges are queued and unwritten.
func (o *Output) pendingFiles() int { return len(o.files) - o.nextFile }

// pendingBytes returns how many rendered bytes are unwritten.
func (o *Output) pendingBytes() int { return len(o.buf) - o.sent }
