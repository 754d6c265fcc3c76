package vmtest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// debianKeyring signs every Debian suite, sid included.
const debianKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg"

// aptSuite prepares a private apt configuration in dir for Debian's suite
// (main, amd64) on the mirror the host's own sources use, refreshes its
// package lists when they are missing or older than a day, and returns the
// apt-get options that select it. The sources list, package lists and
// package cache all live in dir: the host's apt state is neither read for
// sources nor changed, and nothing is installed or upgraded.
func aptSuite(ctx context.Context, dir, suite string, log io.Writer) ([]string, error) {
	mirror, err := hostDebianMirror()
	if err != nil {
		return nil, err
	}
	for _, d := range []string{"lists/partial", "cache/archives/partial"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("vmtest: %w", err)
		}
	}
	sources := filepath.Join(dir, "sources.list")
	line := fmt.Sprintf("deb [arch=amd64 signed-by=%s] %s %s main\n", debianKeyring, mirror, suite)
	if err := os.WriteFile(sources, []byte(line), 0o644); err != nil {
		return nil, fmt.Errorf("vmtest: %w", err)
	}
	opts := []string{
		"-o", "Dir::Etc::SourceList=" + sources,
		"-o", "Dir::Etc::SourceParts=" + filepath.Join(dir, "sources.list.d"), // absent: no other sources
		"-o", "Dir::State::Lists=" + filepath.Join(dir, "lists"),
		"-o", "Dir::Cache=" + filepath.Join(dir, "cache"),
		"-o", "APT::Architectures=amd64",
		"-o", "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false",
		"-o", "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false",
		"-o", "APT::Sandbox::User=root", // downloads into dirs the _apt user cannot write
	}
	stamp := filepath.Join(dir, "updated")
	if info, err := os.Stat(stamp); err == nil && time.Since(info.ModTime()) < 24*time.Hour {
		return opts, nil
	}
	fmt.Fprintf(log, "vmtest: apt-get update of a private %s sources list (%s) in %s\n", suite, mirror, dir)
	if _, err := run(ctx, "", log, "apt-get", append(opts, "update", "-q")...); err != nil {
		return nil, err
	}
	return opts, os.WriteFile(stamp, nil, 0o644)
}

// debSourceLine matches a one-line "deb URI suite ..." source.
var debSourceLine = regexp.MustCompile(`^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+(\S+)`)

// hostDebianMirror returns the URI of the host's Debian archive: the first
// URI ending in /debian in /etc/apt/sources.list.d/*.sources (deb822),
// /etc/apt/sources.list or /etc/apt/sources.list.d/*.list.
func hostDebianMirror() (string, error) {
	files, _ := filepath.Glob("/etc/apt/sources.list.d/*.sources")
	lists, _ := filepath.Glob("/etc/apt/sources.list.d/*.list")
	files = append(append(files, "/etc/apt/sources.list"), lists...)
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		var uris []string
		s := bufio.NewScanner(f)
		for s.Scan() {
			line := strings.TrimSpace(s.Text())
			if rest, ok := strings.CutPrefix(line, "URIs:"); ok {
				uris = append(uris, strings.Fields(rest)...)
			} else if m := debSourceLine.FindStringSubmatch(line); m != nil {
				uris = append(uris, m[1])
			}
		}
		f.Close()
		for _, uri := range uris {
			if strings.HasSuffix(strings.TrimSuffix(uri, "/"), "/debian") {
				return strings.TrimSuffix(uri, "/"), nil
			}
		}
	}
	return "", fmt.Errorf("vmtest: no Debian archive (a URI ending in /debian) in the host's apt sources")
}
