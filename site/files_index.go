package site

import (
	"html"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"lwango/http1"
)

// serveListing answers with an HTML listing of the directory dirFd: names
// sorted, dotfiles left out, each name HTML-escaped in the text and
// percent-escaped in the link.
func (h *serveFiles) serveListing(req *http1.Request, resp *http1.Response, dirFd int) {
	fd, err := unix.Openat(dirFd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		answerError(resp, statusForOpenError(err))
		return
	}
	dir := os.NewFile(uintptr(fd), "directory")
	names, err := dir.Readdirnames(-1)
	dir.Close()
	if err != nil {
		answerError(resp, 500)
		return
	}
	slices.Sort(names)
	title := html.EscapeString(string(req.Path))
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of ")
	b.WriteString(title)
	b.WriteString("</title></head>\n<body><h1>Index of ")
	b.WriteString(title)
	b.WriteString("</h1>\n<ul>\n")
	if len(req.Path) > 1 {
		b.WriteString("<li><a href=\"../\">../</a></li>\n")
	}
	for _, name := range names {
		if name[0] == '.' && name != ".well-known" {
			continue
		}
		var st unix.Stat_t
		if unix.Fstatat(dirFd, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
			continue // removed meanwhile
		}
		shown, size := name, ""
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			shown += "/"
		case unix.S_IFREG:
			size = " (" + strconv.FormatInt(st.Size, 10) + " bytes)"
		}
		b.WriteString("<li><a href=\"")
		b.WriteString(html.EscapeString((&url.URL{Path: "./" + shown}).EscapedPath()))
		b.WriteString("\">")
		b.WriteString(html.EscapeString(shown))
		b.WriteString("</a>")
		b.WriteString(size)
		b.WriteString("</li>\n")
	}
	b.WriteString("</ul>\n<hr><p>lwango</p></body></html>\n")
	resp.Status = 200
	resp.ContentType = "text/html; charset=utf-8"
	resp.Body = []byte(b.String())
}
