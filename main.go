// Command lwango is a web server after Lwan: one pinned epoll loop per CPU,
// files sent with sendfile, configured by lwan.conf (TOML, or Lwan's own
// configuration syntax, told apart by content).
//
//	lwango [-c FILE] [-r ROOT] [-l ADDR] [-L ADDR] [-P CERT] [-K KEY] [-t]
//	lwango -v               print the version and build
//	lwango -h               list every flag, command and signal
//	lwango convert FILE     print the TOML equivalent of a file in Lwan's syntax
//
// Without -c the built-in configuration serves ./wwwroot on *:8080 and, with
// a self-signed certificate made in memory, HTTPS on *:8443.
// SIGTERM and SIGINT stop it gracefully: listeners close, idle connections
// close, responses in flight finish (for up to keep_alive_timeout).
// SIGHUP reloads the configuration, certificates and ticket keys without
// closing a connection (see server.Server.Reload for what needs a restart).
// SIGUSR2 upgrades to the binary now at the program's path without closing
// a connection (upgrade.go).
//
// Under systemd, a listener written "systemd:NAME" is the socket systemd
// passes by socket activation with that name, and the service manager is
// told when the server is ready, reloading and stopping (sd_notify over
// NOTIFY_SOCKET; Type=notify).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"lwango/kernel"
	"lwango/server"
	"lwango/site"
)

func main() {
	if os.Getenv(spawnEnv) != "" {
		os.Exit(spawnUpgrade())
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main with its arguments and outputs, returning the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "convert" {
		return convert(args[1:], stdout, stderr)
	}
	flags := flag.NewFlagSet("lwango", flag.ContinueOnError)
	flags.SetOutput(stderr)
	configFile := flags.String("c", "", "configuration `FILE` (default: the built-in configuration)")
	check := flags.Bool("t", false, "check the configuration and exit (status 0 if it is good)")
	var o site.Overrides
	flags.StringVar(&o.Root, "r", "", "serve files from `ROOT` under /")
	flags.StringVar(&o.Listener, "l", "", "listen for HTTP on `ADDR` (*:port, host:port, [v6]:port)")
	flags.StringVar(&o.TLSListener, "L", "", "listen for HTTPS on `ADDR`")
	flags.StringVar(&o.Cert, "P", "", "TLS certificate `PEM` file")
	flags.StringVar(&o.Key, "K", "", "TLS private key `PEM` file")
	version := flags.Bool("v", false, "print the version and build (revision, commit time, Go version) and exit")
	flags.Usage = func() {} // -h prints to stdout below; a bad flag is named by flag itself
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout, flags)
			return 0
		}
		fmt.Fprintln(stderr, "lwango -h lists the flags")
		return 2
	}
	if *version {
		printVersion(stdout)
		return 0
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(stderr, "lwango: unexpected argument %q\n", flags.Arg(0))
		return 2
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(stderr, nil)))

	cfg, err := loadConfig(*configFile, o)
	if err == nil && *check {
		err = server.Check(cfg)
	}
	if err == nil && *check && cfg.Straitjacket != nil {
		err = checkStraitjacket(cfg)
	}
	if err != nil {
		fmt.Fprintf(stderr, "lwango: %v\n", err)
		return 1
	}
	if *check {
		fmt.Fprintf(stdout, "lwango: configuration %s is good\n", cfg.File)
		return 0
	}
	reread := func() (*site.Config, error) { return loadConfig(*configFile, o) }
	if err := serve(cfg, reread, args); err != nil {
		slog.Error("lwango stopped", "err", err)
		return 1
	}
	return 0
}

// convert prints the TOML equivalent of a configuration file written in
// Lwan's syntax (a TOML file is printed as it is). Constructs lwango does
// not have are named on stderr with their lines, left out of the output with
// a comment, and make the exit status 1.
func convert(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: lwango convert FILE")
		return 2
	}
	data, err := os.ReadFile(args[0])
	if err != nil {
		fmt.Fprintf(stderr, "lwango: %v\n", err)
		return 1
	}
	if !site.IsLwanSyntax(data) {
		stdout.Write(data)
		return 0
	}
	out, err := site.ConvertLwan(args[0], data)
	stdout.Write(out)
	if err == nil {
		_, err = site.Parse(args[0], data) // the values' checks, with Lwan's lines
	}
	if err != nil {
		fmt.Fprintf(stderr, "lwango: %v\n", err)
		return 1
	}
	return 0
}

// loadConfig reads the configuration file (or takes the built-in one) and
// applies the command-line overrides.
func loadConfig(file string, o site.Overrides) (*site.Config, error) {
	cfg := site.DefaultConfig()
	if file != "" {
		var err error
		if cfg, err = site.Load(file); err != nil {
			return nil, err
		}
	}
	return cfg, cfg.Apply(o)
}

// serve runs the server until SIGTERM or SIGINT. On SIGHUP it reloads:
// reread reads the configuration file again (with the same command-line
// overrides) and the server applies it (server.Reload says what changes
// without a restart); a configuration that fails to load or apply is
// logged with its file, line and key, and the running one keeps serving.
//
// On SIGUSR2 it upgrades to the binary at its own path (see upgrade.go),
// started with args.
func serve(cfg *site.Config, reread func() (*site.Config, error), args []string) error {
	// A reader of the log that goes away (lwango | head) must not kill the
	// server: with SIGPIPE ignored, a write to the closed pipe on standard
	// output or error fails with EPIPE instead (the Go runtime otherwise
	// raises SIGPIPE for fd 1 and 2), and the access log drops its lines.
	signal.Ignore(syscall.SIGPIPE)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	usr2 := make(chan os.Signal, 1)
	signal.Notify(usr2, syscall.SIGUSR2)
	exe, exeErr := os.Executable() // now: a chroot (straitjacket) hides it later

	inherited, err := systemdListeners()
	if err != nil {
		return err
	}
	from, ctl, err := inheritUpgrade()
	if err != nil {
		return err
	}
	if from != nil {
		inherited = from.Listeners
	}
	srv, err := server.New(cfg, server.Options{Inherited: inherited})
	if err != nil {
		return err
	}
	closeUnused(inherited, srv)
	roots := servedRoots(cfg) // before a chroot changes what the paths mean
	if cfg.Straitjacket != nil {
		if err := enterStraitjacket(cfg); err != nil {
			srv.Shutdown(0)
			return err
		}
		// Changing user makes the kernel reset the dumpable flag that
		// protect_keys cleared (server.New).
		if cfg.TLS != nil && cfg.TLS.ProtectKeys {
			if err := kernel.SetNonDumpable(); err != nil {
				srv.Shutdown(0)
				return err
			}
		}
	}
	srv.Start()
	logRoots(roots)
	if tlsAddr, ok := srv.TLSAddr(); ok {
		slog.Info("lwango serving", "http", srv.Addr().String(), "https", tlsAddr.String(), "loops", srv.Stats().Loops, "config", configName(cfg))
	} else {
		slog.Info("lwango serving", "http", srv.Addr().String(), "loops", srv.Stats().Loops, "config", configName(cfg))
	}
	if ctl != nil {
		go adoptConnections(srv, ctl) // tells the service manager once the old process has
	} else {
		notify("READY=1\nSTATUS=serving")
	}

	ctx, cancelUpgrade := context.WithCancel(context.Background())
	defer cancelUpgrade()
	var ready chan upgraded // non-nil while an upgrade is under way
	for {
		select {
		case <-usr2:
			switch {
			case ready != nil:
				slog.Warn("upgrade: one is already under way; SIGUSR2 ignored")
			case exeErr != nil:
				slog.Error("upgrade: cannot find this program's binary", "err", exeErr)
			default:
				slog.Info("upgrade: starting", "binary", exe)
				ready = make(chan upgraded, 1)
				go func(ready chan<- upgraded) { ready <- startUpgrade(ctx, exe, args, srv.Sockets()) }(ready)
			}
		case u := <-ready:
			ready = nil
			if u.err != nil {
				slog.Error("upgrade failed; this process keeps serving", "err", u.err)
				continue
			}
			return handOver(srv, u, cfg.KeepAliveTimeout)
		case sig := <-stop:
			slog.Info("stopping", "signal", sig.String())
			cancelUpgrade()
			notify("STOPPING=1")
			if err := srv.Shutdown(cfg.KeepAliveTimeout); err != nil {
				return errors.Join(err, errors.New("exiting with connections still open"))
			}
			return nil
		case <-hup:
			reload(srv, reread)
		}
	}
}

// reload reads the configuration again and applies it, logging the outcome.
// The service manager sees it begin and end (RELOADING=1, with the
// monotonic time systemd 253 and later want, then READY=1).
func reload(srv *server.Server, reread func() (*site.Config, error)) {
	notify(fmt.Sprintf("RELOADING=1\nMONOTONIC_USEC=%d", kernel.MonotonicMicros()))
	defer notify("READY=1")
	next, err := reread()
	if err == nil {
		err = srv.Reload(next)
	}
	if err != nil {
		slog.Error("reload refused; the running configuration keeps serving", "err", err)
		return
	}
	logRoots(servedRoots(next))
	slog.Info("configuration reloaded", "file", configName(next))
}

// configName names the configuration file in use for the log: its absolute
// path, or "built-in".
func configName(cfg *site.Config) string {
	if cfg.File == site.DefaultFile {
		return "built-in"
	}
	if abs, err := filepath.Abs(cfg.File); err == nil {
		return abs
	}
	return cfg.File
}

// servedRoot is a serve_files route and the absolute path of its directory.
type servedRoot struct{ key, prefix, root string }

// servedRoots are cfg's served directories, resolved to absolute paths.
func servedRoots(cfg *site.Config) []servedRoot {
	var roots []servedRoot
	for _, r := range cfg.Routes {
		if r.Kind != site.KindServeFiles {
			continue
		}
		root, err := filepath.Abs(r.ServeFiles.Path)
		if err != nil {
			root = r.ServeFiles.Path
		}
		roots = append(roots, servedRoot{r.Key, r.Prefix, root})
	}
	return roots
}

// logRoots logs the directory each serve_files route serves.
func logRoots(roots []servedRoot) {
	for _, r := range roots {
		slog.Info("serving files", "prefix", r.prefix, "root", r.root, "key", r.key)
	}
}

// notify tells the service manager about the server's state (sd_notify);
// a failure is logged, never fatal.
func notify(state string) {
	if err := kernel.Notify(state); err != nil {
		slog.Warn("cannot notify the service manager", "err", err)
	}
}

// systemdListeners are the sockets systemd passed, by the listener address
// that names them ("systemd:NAME").
func systemdListeners() (map[string][]int, error) {
	byName, err := kernel.SystemdListeners()
	if err != nil {
		return nil, err
	}
	inherited := make(map[string][]int, len(byName))
	for name, fds := range byName {
		inherited["systemd:"+name] = fds
	}
	return inherited, nil
}

// closeUnused closes the inherited sockets no listener took (a socket unit
// listening on more than the configuration names, a listener whose address
// an upgrade changed).
func closeUnused(inherited map[string][]int, srv *server.Server) {
	for name, fds := range inherited {
		if srv.UsesInherited(name) {
			continue
		}
		slog.Warn("closing a socket no listener uses", "name", name, "count", len(fds))
		for _, fd := range fds {
			kernel.Close(fd)
		}
	}
}
