// Package kernel wraps the Linux system calls the server is built on: epoll,
// listening and accepted TCP sockets, reads, sends, sendfile, CPU
// affinity, eventfd wake-ups and resource limits, and kernel TLS: the
// <linux/tls.h> key structures, the TCP_ULP and SOL_TLS socket options that
// install keys, the SOL_TLS control messages that send and receive records
// of a given content type, and /proc/net/tls_stat. It is a thin layer over
// golang.org/x/sys/unix that retries EINTR and names things. It parses no
// HTTP and runs no TLS protocol: the keys it installs, and the records it
// sends, are handed to it by the caller.
package kernel
