package main

import (
	"flag"
	"fmt"
	"io"
	"runtime/debug"
)

// signals are the signals lwango acts on, for -h.
var signals = []struct{ name, meaning string }{
	{"SIGTERM, SIGINT", "stop: close the listeners, finish the responses in flight (up to keep_alive_timeout), exit 0"},
	{"SIGHUP", "reload the configuration file, certificates and ticket keys without closing a connection"},
	{"SIGUSR2", "upgrade to the binary now at this one's path (checked with -t first): the new process takes the listening sockets and the idle connections, this one exits 0"},
	{"SIGPIPE", "ignored: a log reader that goes away (lwango | head) costs the log lines, not the server"},
}

// printUsage writes the -h text: the synopsis, every flag, the convert
// command and the signals.
func printUsage(w io.Writer, flags *flag.FlagSet) {
	fmt.Fprint(w, "usage: lwango [flags]\n       lwango convert FILE\n\nflags:\n")
	flags.SetOutput(w)
	flags.PrintDefaults()
	fmt.Fprint(w, "\ncommands:\n  convert FILE\n    \tprint the TOML equivalent of a configuration file in Lwan's syntax\n\nsignals:\n")
	for _, s := range signals {
		fmt.Fprintf(w, "  %s\n    \t%s\n", s.name, s.meaning)
	}
}

// printVersion writes the -v text: the module version and the build's
// revision, its time and the Go version, as the binary records them.
func printVersion(w io.Writer) {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		fmt.Fprintln(w, "lwango (no build information in this binary)")
		return
	}
	fmt.Fprintf(w, "lwango %s\n", info.Main.Version)
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	if rev := settings["vcs.revision"]; rev != "" {
		if settings["vcs.modified"] == "true" {
			rev += " (with uncommitted changes)"
		}
		fmt.Fprintf(w, "revision %s\n", rev)
	}
	if t := settings["vcs.time"]; t != "" {
		fmt.Fprintf(w, "committed %s\n", t)
	}
	fmt.Fprintf(w, "built with %s for %s/%s\n", info.GoVersion, settings["GOOS"], settings["GOARCH"])
}
