package site

import (
	_ "embed"
	"os"
	"time"
)

// Config is a parsed and validated lwan.conf. Parse and Load fill in every
// default, so the zero value of a field means what it says.
type Config struct {
	File string // the file it was read from ("<default>" for DefaultConfig)

	KeepAliveTimeout  time.Duration // keep_alive_timeout (seconds in the file)
	Threads           int           // 0: one event loop per online CPU
	Quiet             bool
	Expires           time.Duration // how long clients may cache files (Expires, Cache-Control)
	ProxyProtocol     bool
	RequestBufferSize int
	MaxPostDataSize   int
	AllowCORS         bool
	// H2C serves HTTP/2 with prior knowledge on the cleartext listener
	// (a client that opens with the HTTP/2 connection preface); off by
	// default. There is no Upgrade: h2c (RFC 9113 removed it).
	H2C bool
	// TrimIdleMemory is how often each loop drops the buffers its pools
	// kept unused since the last time and the process gives unused memory
	// back to the OS (trim_idle_memory, default 30s, so within a minute of
	// a wave of connections; 0: never).
	TrimIdleMemory time.Duration

	Listener Address
	// TLS is nil when there is no [tls_listener].
	TLS *TLSListener
	// Headers are added to every response, in the order of the file.
	Headers      []HeaderField
	Straitjacket *Straitjacket // nil when there is no [straitjacket]

	// Routes are the [[site.*]] handlers in the order of the file.
	Routes []Route

	pos   *positions // where each key is written; nil for a Config built in code
	flags []flagKey  // keys the command line replaced (Apply)
}

// TLSListener is the [tls_listener] section.
type TLSListener struct {
	Address Address
	// Cert and Key are the PEM file paths of the default certificate, the
	// same as Certs[0]. Both empty means: use a self-signed certificate
	// generated in memory at start-up (the default config does).
	Cert, Key string
	// Certs are every certificate of the listener in the order of the file
	// (cert/key, or the [[tls_listener.cert]] tables); the first is the
	// default, served to clients whose server name no other one matches.
	// Empty when there is no certificate file. LoadCertificates reads them.
	Certs []CertFiles
	// TicketKeyFile is the session ticket key file shared by a fleet
	// (ticket_key_file); empty means random keys rotated in memory.
	// LoadTicketKeys reads it. TicketKeyFileLine is where it is set.
	TicketKeyFile     string
	TicketKeyFileLine int
	// SessionTickets is how many TLS 1.3 session tickets a full handshake
	// sends (session_tickets, default 2); 0 disables session resumption,
	// in TLS 1.2 too.
	SessionTickets int
	// Ciphers and Groups are IANA names in preference order; empty means the
	// server's defaults.
	Ciphers, Groups []string
	HSTS            bool
	MinVersion      TLSVersion
	MaxVersion      TLSVersion
	KTLS            KTLSMode
	// RedirectHTTP makes the cleartext listener answer every request with a
	// redirect to https.
	RedirectHTTP bool
	// RequireExtendedMasterSecret refuses TLS 1.2 clients that do not offer
	// the extended master secret (RFC 7627) with handshake_failure.
	RequireExtendedMasterSecret bool
	// HTTP2 offers h2 before http/1.1 in ALPN (the default); false offers
	// only http/1.1.
	HTTP2 bool
	// ProtectKeys (protect_keys, default true) installs, before serving, a
	// seccomp filter under which getsockopt(SOL_TLS, TLS_TX/TLS_RX) fails, so
	// that no code in the process can read kernel TLS keys back, and makes
	// the process non-dumpable. false is for debugging only.
	ProtectKeys bool
	// KTLSRekey (ktls_key_update = "rekey") keeps the TLS 1.3 application
	// traffic secrets of kernel TLS connections in locked memory, so that a
	// client's KeyUpdate is followed with new keys in the kernel (Linux 6.14
	// and later) instead of closing the connection ("close", the default).
	KTLSRekey bool
	// RXExpectNoPad (ktls_rx_expect_no_pad) sets TLS_RX_EXPECT_NO_PAD on
	// TLS 1.3 kernel TLS connections: the kernel decrypts straight into the
	// reader's buffer, betting that the peer does not pad its records.
	RXExpectNoPad bool
}

// CertFiles is one certificate of a TLS listener: its PEM chain and key
// files, and where the configuration names them.
type CertFiles struct {
	Cert, Key string
	// ConfigKey is the dotted configuration key ("tls_listener.cert[1]"), or the
	// flags ("-P/-K") that set them; Line is 0 for flags.
	ConfigKey string
	Line      int
}

// TLSVersion is a TLS protocol version number as on the wire.
type TLSVersion uint16

// The TLS versions a configuration may name.
const (
	TLS12 TLSVersion = 0x0303
	TLS13 TLSVersion = 0x0304
)

// KTLSMode says whether the kernel must carry TLS records.
type KTLSMode uint8

// The ktls settings.
const (
	// KTLSAuto uses kernel TLS when the kernel and the cipher allow it and
	// user-space records otherwise.
	KTLSAuto KTLSMode = iota
	// KTLSRequire refuses to serve TLS without kernel TLS.
	KTLSRequire
	// KTLSOff always keeps records in user space.
	KTLSOff
)

// HeaderField is one configured response header.
type HeaderField struct {
	Name, Value string
}

// Straitjacket is the [straitjacket] section: drop privileges after the
// listening sockets are open.
type Straitjacket struct {
	User   string // empty: keep the current user
	Chroot string // empty: no chroot
}

// Kind is the kind of a route's handler.
type Kind uint8

// The handler kinds, named as in the [[site.<kind>]] tables.
const (
	KindServeFiles Kind = iota + 1
	KindRedirect
	KindResponse
	KindRewrite
	KindHello
	KindMetrics
)

var kindNames = [...]string{
	KindServeFiles: "serve_files",
	KindRedirect:   "redirect",
	KindResponse:   "response",
	KindRewrite:    "rewrite",
	KindHello:      "hello",
	KindMetrics:    "metrics",
}

// String returns the kind's name as written in the configuration.
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "Kind(?)"
}

// Route is one [[site.<kind>]] table: a URL prefix and its handler's
// options. Exactly one of the option pointers matching Kind is set
// (hello has no options).
type Route struct {
	Kind Kind
	// Prefix is normalised: it starts with '/' and has no trailing '/'
	// unless it is "/".
	Prefix string
	Key    string // e.g. "site.serve_files[0]", for error messages
	Line   int    // where the table starts in the file

	Auth *Authorization // nil: no authorization

	ServeFiles *ServeFilesOptions
	Redirect   *RedirectOptions
	Response   *ResponseOptions
	Rewrite    *RewriteOptions
}

// Authorization is a route's basic authorization table.
type Authorization struct {
	Realm        string
	PasswordFile string
}

// ServeFilesOptions configures a serve_files handler.
type ServeFilesOptions struct {
	Path                    string // the directory served
	IndexPath               string // file served for a directory; empty: none
	AutoIndex               bool   // list directories that have no index
	ServePrecompressedFiles bool   // serve .br, .zst and .gz siblings
	// CacheFor is how long a file's cached metadata and small contents are
	// trusted before the file is looked at again (Lwan's cache_for).
	CacheFor time.Duration
}

// RedirectOptions configures a redirect handler.
type RedirectOptions struct {
	To   string
	Code int // 301, 302, 303, 307 or 308
}

// ResponseOptions configures a handler that answers with a fixed status.
type ResponseOptions struct {
	Code int
	// Body, when set, replaces the status's small HTML page. In it
	// ${remote_address} expands to the client's IP address (the one a
	// PROXY protocol header carried, else the socket's peer) and $$ to a
	// dollar sign.
	Body        string
	HasBody     bool
	ContentType string // of Body; default text/plain; charset=utf-8
}

// RewriteOptions configures a rewrite handler: patterns tried in order.
type RewriteOptions struct {
	Patterns []RewritePattern
}

// RewritePattern is one [[site.rewrite.pattern]]. Match is a Go regular
// expression matched against the path after the route's prefix. Exactly one
// of RewriteAs and RedirectTo is set; in both, $1..$9 expand to the
// captures, $0 to the whole match and $$ to a dollar sign.
type RewritePattern struct {
	Match      string
	RewriteAs  string
	RedirectTo string
	Code       int // for RedirectTo: 301, 302 (default), 303, 307 or 308
	Line       int
}

// DefaultFile is the name the embedded default configuration goes by.
const DefaultFile = "<default>"

//go:embed default.toml
var defaultTOML []byte

// DefaultTOML returns the embedded default configuration's text.
func DefaultTOML() []byte { return append([]byte(nil), defaultTOML...) }

// DefaultConfig returns the configuration used when no file is given: files
// from ./wwwroot on *:8080, and HTTPS on *:8443 with a self-signed
// certificate made in memory.
func DefaultConfig() *Config {
	cfg, err := Parse(DefaultFile, defaultTOML)
	if err != nil {
		panic("site: the embedded default configuration is broken: " + err.Error())
	}
	return cfg
}

// Load reads and parses the configuration file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Msg: err.Error()}
	}
	return Parse(path, data)
}
