package vmtest

import (
	"context"
	"io"
	"os"
)

// BuildTestBinary compiles the tests of the Go package pkg (an import path or
// a directory) into a static executable out, for linux/amd64 without cgo and
// with the given build tags (e.g. "vmguest"). GOFLAGS is cleared so that a
// host-only flag such as -race cannot leak into the guest build.
// GOEXPERIMENT is runtimesecret, as in every build of the server the
// project makes (test.sh, bench/run.sh, the README's commands): the server
// erases what its handshakes leave in memory, and the guest tests check it.
func BuildTestBinary(ctx context.Context, pkg, tags, out string, log io.Writer) error {
	cmd := []string{"test", "-c", "-o", out}
	if tags != "" {
		cmd = append(cmd, "-tags", tags)
	}
	_, err := runEnv(ctx, "", log, append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOFLAGS=", "GOEXPERIMENT=runtimesecret"),
		"go", append(cmd, pkg)...)
	return err
}
