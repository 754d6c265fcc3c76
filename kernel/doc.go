// Package kernel wraps the Linux system calls the server is built on: epoll,
// listening and accepted TCP sockets, reads, sends, sendfile, CPU
// affinity and eventfd wake-ups. It is a thin layer over golang.org/x/sys/unix
// that retries EINTR and names things; it knows nothing of HTTP or TLS.
package kernel
