package site

import "time"

// Overrides are command-line settings that replace the configuration's.
// Empty fields change nothing.
type Overrides struct {
	Root        string // -r: the path served under "/"
	Listener    string // -l: the cleartext listener
	TLSListener string // -L: the TLS listener
	Cert        string // -P: certificate PEM file
	Key         string // -K: private key PEM file
}

// Apply applies o to c. Errors name the flag. -r changes the "/"
// serve_files route, adding one if there is none; -L adds a TLS listener
// if the configuration has none; -P and -K need a TLS listener.
func (c *Config) Apply(o Overrides) error {
	if o.Listener != "" {
		a, err := ParseAddress(o.Listener)
		if err != nil {
			return &Error{File: "command line", Key: "-l", Msg: err.Error()}
		}
		c.Listener = a
		c.markFlag("listener", "-l")
	}
	if o.TLSListener != "" {
		a, err := ParseAddress(o.TLSListener)
		if err != nil {
			return &Error{File: "command line", Key: "-L", Msg: err.Error()}
		}
		if c.TLS == nil {
			c.TLS = &TLSListener{MinVersion: TLS12, MaxVersion: TLS13, SessionTickets: 2}
			c.markFlag("tls_listener", "-L")
		}
		c.TLS.Address = a
		c.markFlag("tls_listener.address", "-L")
	}
	if o.Cert != "" || o.Key != "" {
		if c.TLS == nil {
			return &Error{File: "command line", Key: "-P/-K", Msg: "a certificate needs a TLS listener: add -L ADDR or [tls_listener]"}
		}
		if o.Cert != "" {
			c.TLS.Cert = o.Cert
		}
		if o.Key != "" {
			c.TLS.Key = o.Key
		}
		if (c.TLS.Cert == "") != (c.TLS.Key == "") {
			return &Error{File: "command line", Key: "-P/-K", Msg: "give both the certificate (-P) and the key (-K)"}
		}
		// The flags replace the default certificate; the others stay.
		flags := CertFiles{Cert: c.TLS.Cert, Key: c.TLS.Key, ConfigKey: "-P/-K"}
		if len(c.TLS.Certs) == 0 {
			c.TLS.Certs = []CertFiles{flags}
		} else {
			c.TLS.Certs = append([]CertFiles{flags}, c.TLS.Certs[1:]...)
		}
	}
	if o.Root != "" {
		c.setRoot(o.Root)
	}
	return nil
}

// setRoot points the "/" serve_files route at root.
func (c *Config) setRoot(root string) {
	for i := range c.Routes {
		r := &c.Routes[i]
		if r.Prefix == "/" && r.Kind == KindServeFiles {
			r.ServeFiles.Path = root
			r.Key, r.Line = "-r", 0 // errors about the path are the flag's
			return
		}
	}
	for i := range c.Routes {
		if c.Routes[i].Prefix == "/" {
			c.Routes = append(c.Routes[:i], c.Routes[i+1:]...)
			break
		}
	}
	c.Routes = append(c.Routes, Route{
		Kind:   KindServeFiles,
		Prefix: "/",
		Key:    "-r",
		ServeFiles: &ServeFilesOptions{
			Path: root, IndexPath: "index.html", AutoIndex: true,
			ServePrecompressedFiles: true, CacheFor: 5 * time.Second,
		},
	})
}
