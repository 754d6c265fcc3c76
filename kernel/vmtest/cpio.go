package vmtest

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
)

// cpioWriter writes the "newc" cpio format that the kernel unpacks as an
// initramfs (Documentation/driver-api/early-userspace/buffer-format.rst).
// Every entry is owned by root; inode numbers are synthetic.
type cpioWriter struct {
	w      io.Writer
	inode  int
	offset int64
	err    error
}

const (
	cpioModeDir     = 0o040000
	cpioModeFile    = 0o100000
	cpioModeSymlink = 0o120000
)

// header writes one entry header and its padded name.
func (c *cpioWriter) header(name string, mode uint32, size int) {
	c.inode++
	c.printf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		c.inode, mode, 0, 0, 1, 0, size, 0, 0, 0, 0, len(name)+1, 0)
	c.write([]byte(name + "\x00"))
	c.pad()
}

func (c *cpioWriter) printf(format string, args ...any) {
	if c.err == nil {
		var n int
		n, c.err = fmt.Fprintf(c.w, format, args...)
		c.offset += int64(n)
	}
}

func (c *cpioWriter) write(b []byte) {
	if c.err == nil {
		var n int
		n, c.err = c.w.Write(b)
		c.offset += int64(n)
	}
}

// pad aligns the stream to 4 bytes, as newc requires after names and data.
func (c *cpioWriter) pad() {
	if rem := c.offset % 4; rem != 0 {
		c.write(make([]byte, 4-rem))
	}
}

// Dir adds a directory entry (name without leading slash).
func (c *cpioWriter) Dir(name string, perm fs.FileMode) {
	c.header(name, cpioModeDir|uint32(perm.Perm()), 0)
}

// File adds a regular file with the given contents.
func (c *cpioWriter) File(name string, perm fs.FileMode, data []byte) {
	c.header(name, cpioModeFile|uint32(perm.Perm()), len(data))
	c.write(data)
	c.pad()
}

// Symlink adds a symbolic link name -> target.
func (c *cpioWriter) Symlink(name, target string) {
	c.header(name, cpioModeSymlink|0o777, len(target))
	c.write([]byte(target))
	c.pad()
}

// Close writes the trailer entry and reports the first error.
func (c *cpioWriter) Close() error {
	c.header("TRAILER!!!", 0, 0)
	return c.err
}

// Tree adds the host directory root (recursively, sorted) under the archive
// directory prefix ("" for the archive root). Parent directories of prefix
// must be added by the caller.
func (c *cpioWriter) Tree(root, prefix string) error {
	var names []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		names = append(names, p)
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, p := range names {
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		name := path.Join(prefix, filepath.ToSlash(rel))
		if name == "." || name == "" {
			continue
		}
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case info.IsDir():
			c.Dir(name, info.Mode())
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			c.Symlink(name, target)
		case info.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			c.File(name, info.Mode(), data)
		default:
			return fmt.Errorf("vmtest: %s: unsupported file type %v", p, info.Mode().Type())
		}
	}
	return c.err
}
