// Command idlemem measures a server's resident memory per idle keep-alive
// connection.
//
// It warms the server up with a few requests, reads the resident set size
// (VmRSS) of the server process and all its descendants, opens -n connections
// that each send one request and read the whole response, then leaves them
// open and idle. After -settle it reads the RSS again, checks that the server
// closed none of the connections, and prints the growth divided by -n.
//
// The figure covers user-space memory only: socket buffers live in the kernel
// and do not appear in VmRSS.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"time"
)

func main() {
	log.SetFlags(0)
	addr := flag.String("addr", "127.0.0.1:8080", "server address (host:port)")
	pid := flag.Int("pid", 0, "server process id; its descendants are counted too (nginx workers)")
	count := flag.Int("n", 10000, "idle connections to open")
	path := flag.String("path", "/hello", "path requested once on every connection")
	dialers := flag.Int("dialers", 32, "connections opened in parallel")
	settle := flag.Duration("settle", 2*time.Second, "wait before each RSS reading")
	flag.Parse()

	if *pid <= 0 {
		log.Fatal("idlemem: -pid is required")
	}
	if err := run(*addr, *pid, *count, *path, *dialers, *settle); err != nil {
		log.Fatalf("idlemem: %v", err)
	}
}

// run performs the whole measurement and prints the report.
func run(addr string, pid, count int, path string, dialers int, settle time.Duration) error {
	client := newClient(addr, path)
	if err := client.warmUp(); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	time.Sleep(settle)
	before, processes, err := treeRSS(pid)
	if err != nil {
		return err
	}

	started := time.Now()
	conns, err := client.openIdle(count, dialers)
	defer closeAll(conns)
	if err != nil {
		return fmt.Errorf("opened %d of %d connections: %w", len(conns), count, err)
	}
	opening := time.Since(started)

	time.Sleep(settle)
	after, _, err := treeRSS(pid)
	if err != nil {
		return err
	}
	if closed := countClosed(conns); closed > 0 {
		return fmt.Errorf("the server closed (or wrote to) %d of %d idle connections before the measurement ended", closed, count)
	}

	growth := after - before
	fmt.Fprintf(os.Stdout, "server pid %d (%d processes), %d idle keep-alive connections to %s opened in %v\n",
		pid, processes, count, addr, opening.Round(time.Millisecond))
	fmt.Fprintf(os.Stdout, "rss before: %s  after: %s  growth: %s\n", mebibytes(before), mebibytes(after), mebibytes(growth))
	fmt.Fprintf(os.Stdout, "bytes per idle connection: %d\n", growth/int64(count))
	return nil
}

// mebibytes formats a byte count for people.
func mebibytes(bytes int64) string {
	return fmt.Sprintf("%.1f MiB", float64(bytes)/(1<<20))
}
