package site

import (
	"strings"

	"lwango/tlsstate"
	"lwango/tlsstate/ticket"
)

// LoadCertificates reads every certificate of the TLS listener, the default
// first. It returns nil when the listener names none (the server then makes
// a self-signed one). Errors are *Error values naming the configuration's
// file, the line and key of the certificate, and the PEM files at fault.
// Call it at start-up and on every reload: the files are read anew.
func (c *Config) LoadCertificates() ([]*tlsstate.Certificate, error) {
	if c.TLS == nil {
		return nil, nil
	}
	certs := make([]*tlsstate.Certificate, 0, len(c.TLS.Certs))
	for _, files := range c.TLS.Certs {
		cert, err := tlsstate.LoadCertificateFiles(files.Cert, files.Key)
		if err != nil {
			return nil, c.errorAt(files.ConfigKey, files.Line, err)
		}
		certs = append(certs, cert)
	}
	return certs, nil
}

// LoadTicketKeys reads the TLS listener's ticket_key_file. It returns nil
// when there is none (the server then keeps random keys in memory, rotated
// on its tick) or when session_tickets = 0 disables resumption. A key file
// that cannot be read, is open to other users, is empty or short, or has a
// size that is not a whole number of keys is an *Error naming the
// configuration's file, line and key, and the key file.
func (c *Config) LoadTicketKeys() (*ticket.Keys, error) {
	if c.TLS == nil || c.TLS.TicketKeyFile == "" || c.TLS.SessionTickets == 0 {
		return nil, nil
	}
	keys, err := ticket.FromFile(c.TLS.TicketKeyFile)
	if err != nil {
		return nil, c.errorAt("tls_listener.ticket_key_file", c.TLS.TicketKeyFileLine, err)
	}
	return keys, nil
}

// errorAt wraps err as an *Error at a configuration key, or at the
// command-line flags that replaced it.
func (c *Config) errorAt(key string, line int, err error) error {
	if strings.HasPrefix(key, "-") {
		return &Error{File: "command line", Key: key, Msg: err.Error()}
	}
	return &Error{File: c.File, Line: line, Key: key, Msg: err.Error()}
}
