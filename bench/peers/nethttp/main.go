// Command nethttp is the Go net/http peer of the lwango benchmark rig.
//
// It serves the same two things every server in bench/run.sh serves:
// "/hello", answering "Hello, World!" as text/plain, and every other path as
// a static file from -root through http.FileServer. With -tls-addr it also
// serves both over HTTPS with crypto/tls (TLS 1.3 only), using -cert and -key.
//
// It is deliberately the plain, idiomatic net/http server: the rig measures
// what a Go programmer gets from the standard library, not a tuned variant.
package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// helloBody is the fixed body of /hello, identical across all benchmarked servers.
const helloBody = "Hello, World!"

func main() {
	log.SetFlags(0)
	addr := flag.String("addr", "", "cleartext listen address (host:port); empty disables it")
	tlsAddr := flag.String("tls-addr", "", "HTTPS listen address (host:port); empty disables it")
	root := flag.String("root", ".", "directory served as static files")
	certFile := flag.String("cert", "", "PEM certificate chain for -tls-addr")
	keyFile := flag.String("key", "", "PEM private key for -tls-addr")
	groups := flag.String("groups", "x25519", "comma-separated TLS key exchange groups by IANA name, in preference order")
	tickets := flag.Bool("tickets", false, "issue TLS session tickets (off: every connection is a full handshake)")
	h2 := flag.Bool("h2", false, "serve HTTP/2: h2 by ALPN on -tls-addr, and h2c with prior knowledge on -addr")
	flag.Parse()

	if *addr == "" && *tlsAddr == "" {
		log.Fatal("nethttp: nothing to serve: give -addr and/or -tls-addr")
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/hello", serveHello)
	mux.Handle("/", http.FileServer(http.Dir(*root)))

	errs := make(chan error, 2)
	if *addr != "" {
		listener, err := net.Listen("tcp", *addr)
		if err != nil {
			log.Fatalf("nethttp: %v", err)
		}
		server := &http.Server{Handler: mux}
		if *h2 {
			server.Protocols = new(http.Protocols)
			server.Protocols.SetHTTP1(true)
			server.Protocols.SetUnencryptedHTTP2(true)
		}
		go func() { errs <- server.Serve(listener) }()
	}
	if *tlsAddr != "" {
		config, err := tlsConfig(*certFile, *keyFile, *groups, *tickets)
		if err != nil {
			log.Fatalf("nethttp: %v", err)
		}
		if *h2 {
			config.NextProtos = []string{"h2", "http/1.1"}
		}
		listener, err := net.Listen("tcp", *tlsAddr)
		if err != nil {
			log.Fatalf("nethttp: %v", err)
		}
		server := &http.Server{Handler: mux, TLSConfig: config}
		go func() { errs <- server.Serve(tls.NewListener(listener, config)) }()
	}
	err := <-errs
	if !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("nethttp: %v", err)
	}
}

// serveHello writes the fixed benchmark body.
func serveHello(w http.ResponseWriter, _ *http.Request) {
	header := w.Header()
	header["Content-Type"] = []string{"text/plain"}
	header["Content-Length"] = []string{strconv.Itoa(len(helloBody))}
	_, _ = w.Write([]byte(helloBody))
}

// tlsConfig builds a TLS 1.3-only server configuration from a PEM key pair
// and a list of group names such as "X25519,P-256".
func tlsConfig(certFile, keyFile, groupList string, tickets bool) (*tls.Config, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("-tls-addr needs -cert and -key")
	}
	certificate, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	curves, err := parseGroups(groupList)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		Certificates:           []tls.Certificate{certificate},
		MinVersion:             tls.VersionTLS13,
		CurvePreferences:       curves,
		SessionTicketsDisabled: !tickets,
		NextProtos:             []string{"http/1.1"},
	}, nil
}

// parseGroups maps IANA group names (as lwango's config spells them, any
// case) to crypto/tls curve identifiers.
func parseGroups(list string) ([]tls.CurveID, error) {
	known := map[string]tls.CurveID{
		"x25519":         tls.X25519,
		"x25519mlkem768": tls.X25519MLKEM768,
		"secp256r1":      tls.CurveP256,
		"secp384r1":      tls.CurveP384,
		"secp521r1":      tls.CurveP521,
	}
	var curves []tls.CurveID
	for _, name := range strings.Split(list, ",") {
		curve, ok := known[strings.ToLower(strings.TrimSpace(name))]
		if !ok {
			return nil, fmt.Errorf("unknown TLS group %q", name)
		}
		curves = append(curves, curve)
	}
	return curves, nil
}
