package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// warmUpConnections and warmUpRequests size the warm-up that runs before the
// baseline RSS reading, so one-time allocations are not charged to idle
// connections.
const (
	warmUpConnections = 16
	warmUpRequests    = 50
	ioTimeout         = 10 * time.Second
)

// client sends the single request each measured connection makes.
type client struct {
	addr    string
	request []byte
}

// newClient prepares a keep-alive GET of path on addr.
func newClient(addr, path string) *client {
	request := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: idlemem\r\n\r\n", path, addr)
	return &client{addr: addr, request: []byte(request)}
}

// warmUp runs warmUpRequests requests on each of warmUpConnections connections
// and closes them.
func (c *client) warmUp() error {
	for range warmUpConnections {
		conn, err := net.DialTimeout("tcp", c.addr, ioTimeout)
		if err != nil {
			return err
		}
		reader := bufio.NewReader(conn)
		for range warmUpRequests {
			if err := c.exchange(conn, reader); err != nil {
				conn.Close()
				return err
			}
		}
		conn.Close()
	}
	return nil
}

// openIdle opens count connections, dialers at a time, each having completed
// one request. It returns the connections opened so far even on error.
func (c *client) openIdle(count, dialers int) ([]net.Conn, error) {
	var (
		mutex    sync.Mutex
		conns    = make([]net.Conn, 0, count)
		firstErr error
		jobs     = make(chan struct{})
		workers  sync.WaitGroup
	)
	for range max(dialers, 1) {
		workers.Go(func() {
			for range jobs {
				conn, err := c.openOne()
				mutex.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				if conn != nil {
					conns = append(conns, conn)
				}
				mutex.Unlock()
			}
		})
	}
	for range count {
		mutex.Lock()
		failed := firstErr != nil
		mutex.Unlock()
		if failed {
			break
		}
		jobs <- struct{}{}
	}
	close(jobs)
	workers.Wait()
	return conns, firstErr
}

// openOne dials, makes one request and returns the connection, now idle.
func (c *client) openOne() (net.Conn, error) {
	conn, err := net.DialTimeout("tcp", c.addr, ioTimeout)
	if err != nil {
		return nil, err
	}
	if err := c.exchange(conn, bufio.NewReaderSize(conn, 512)); err != nil {
		conn.Close()
		return nil, err
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// exchange writes the request and reads the whole response, which must be a
// 200 that keeps the connection open and leaves no extra bytes behind.
func (c *client) exchange(conn net.Conn, reader *bufio.Reader) error {
	if err := conn.SetDeadline(time.Now().Add(ioTimeout)); err != nil {
		return err
	}
	if _, err := conn.Write(c.request); err != nil {
		return err
	}
	response, err := http.ReadResponse(reader, nil)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, response.Body)
	response.Body.Close()
	if err != nil {
		return err
	}
	if response.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s", response.Status)
	}
	if response.Close {
		return errors.New("the server closed a keep-alive connection after one request")
	}
	if reader.Buffered() != 0 {
		return fmt.Errorf("%d unexpected bytes after the response", reader.Buffered())
	}
	return nil
}

// countClosed returns how many connections the peer has closed or reset,
// peeking without blocking and without consuming anything.
func countClosed(conns []net.Conn) int {
	closed := 0
	for _, conn := range conns {
		if !stillOpen(conn) {
			closed++
		}
	}
	return closed
}

// stillOpen reports whether a recv(MSG_PEEK|MSG_DONTWAIT) finds the
// connection open with nothing to read.
func stillOpen(conn net.Conn) bool {
	raw, err := conn.(*net.TCPConn).SyscallConn()
	if err != nil {
		return false
	}
	open := false
	var probe [1]byte
	controlErr := raw.Control(func(fd uintptr) {
		_, _, err := syscall.Recvfrom(int(fd), probe[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		open = errors.Is(err, syscall.EAGAIN)
	})
	return controlErr == nil && open
}

// closeAll closes every connection.
func closeAll(conns []net.Conn) {
	for _, conn := range conns {
		conn.Close()
	}
}
