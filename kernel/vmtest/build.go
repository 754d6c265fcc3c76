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
func BuildTestBinary(ctx context.Context, pkg, tags, out string, log io.Writer) error {
	cmd := []string{"test", "-c", "-o", out}
	if tags != "" {
		cmd = append(cmd, "-tags", tags)
	}
	_, err := runEnv(ctx, "", log, append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOFLAGS="),
		"go", append(cmd, pkg)...)
	return err
}
