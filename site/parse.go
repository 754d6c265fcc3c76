package site

import (
	"bytes"
	"fmt"
	"path/filepath"
	"sort"
	"time"

	toml "github.com/pelletier/go-toml/v2"
)

// fileConfig mirrors lwan.conf's TOML. Top-level defaults are filled in
// before decoding; optional keys inside arrays of tables are pointers so
// that their absence can be told from a zero value.
type fileConfig struct {
	KeepAliveTimeout  int               `toml:"keep_alive_timeout"`
	Threads           int               `toml:"threads"`
	Quiet             bool              `toml:"quiet"`
	Expires           string            `toml:"expires"`
	ProxyProtocol     bool              `toml:"proxy_protocol"`
	RequestBufferSize int               `toml:"request_buffer_size"`
	MaxPostDataSize   int               `toml:"max_post_data_size"`
	AllowCORS         bool              `toml:"allow_cors"`
	H2C               bool              `toml:"h2c"`
	TrimIdleMemory    string            `toml:"trim_idle_memory"`
	Listener          string            `toml:"listener"`
	TLSListener       *fileTLSListener  `toml:"tls_listener"`
	Headers           map[string]string `toml:"headers"`
	Straitjacket      *Straitjacket     `toml:"straitjacket"`
	Site              fileSite          `toml:"site"`
}

type fileTLSListener struct {
	Address string `toml:"address"`
	// Cert is a file name (with Key beside it) or [[tls_listener.cert]]
	// tables of cert and key; parse_tls.go tells them apart.
	Cert           any      `toml:"cert"`
	Key            string   `toml:"key"`
	TicketKeyFile  string   `toml:"ticket_key_file"`
	SessionTickets *int     `toml:"session_tickets"`
	Ciphers        []string `toml:"ciphers"`
	Groups         []string `toml:"groups"`
	HSTS           bool     `toml:"hsts"`
	MinVersion     string   `toml:"min_version"`
	MaxVersion     string   `toml:"max_version"`
	KTLS           string   `toml:"ktls"`
	RedirectHTTP   bool     `toml:"redirect_http"`
	RequireEMS     bool     `toml:"require_extended_master_secret"`
	HTTP2          *bool    `toml:"http2"`
	ProtectKeys    *bool    `toml:"protect_keys"`
	KeyUpdate      string   `toml:"ktls_key_update"`
	RXExpectNoPad  bool     `toml:"ktls_rx_expect_no_pad"`
}

type fileSite struct {
	ServeFiles []fileServeFiles `toml:"serve_files"`
	Redirect   []fileRedirect   `toml:"redirect"`
	Response   []fileResponse   `toml:"response"`
	Rewrite    []fileRewrite    `toml:"rewrite"`
	Hello      []fileHello      `toml:"hello"`
	Metrics    []fileHello      `toml:"metrics"`
}

type fileAuthorization struct {
	Realm        *string `toml:"realm"`
	PasswordFile string  `toml:"password_file"`
}

type fileServeFiles struct {
	Prefix                  *string            `toml:"prefix"`
	Path                    string             `toml:"path"`
	IndexPath               *string            `toml:"index_path"`
	AutoIndex               *bool              `toml:"auto_index"`
	ServePrecompressedFiles *bool              `toml:"serve_precompressed_files"`
	CacheFor                *string            `toml:"cache_for"`
	Authorization           *fileAuthorization `toml:"authorization"`
}

type fileRedirect struct {
	Prefix        *string            `toml:"prefix"`
	To            string             `toml:"to"`
	Code          *int               `toml:"code"`
	Authorization *fileAuthorization `toml:"authorization"`
}

type fileResponse struct {
	Prefix        *string            `toml:"prefix"`
	Code          *int               `toml:"code"`
	Body          *string            `toml:"body"`
	ContentType   *string            `toml:"content_type"`
	Authorization *fileAuthorization `toml:"authorization"`
}

type fileRewrite struct {
	Prefix        *string            `toml:"prefix"`
	Pattern       []filePattern      `toml:"pattern"`
	Authorization *fileAuthorization `toml:"authorization"`
}

type filePattern struct {
	Match      *string `toml:"match"`
	RewriteAs  *string `toml:"rewrite_as"`
	RedirectTo *string `toml:"redirect_to"`
	Code       *int    `toml:"code"`
}

type fileHello struct {
	Prefix        *string            `toml:"prefix"`
	Authorization *fileAuthorization `toml:"authorization"`
}

// Parse parses and validates a configuration, in TOML or in Lwan's grammar
// (told apart by IsLwanSyntax). name is the file's path, used in error
// messages; the relative paths the configuration names (served directories,
// password files, certificates and keys, the ticket key file, the chroot)
// are resolved against its directory, as the file itself was found (so a
// relative name keeps them relative to the working directory). DefaultFile
// names the built-in configuration, whose paths stay relative to the
// working directory. Every error is an *Error naming the file, line and key (a Lwan
// file with several constructs lwango lacks has one *Error for each, joined).
func Parse(name string, data []byte) (*Config, error) {
	if IsLwanSyntax(data) {
		return parseLwan(name, data, nil)
	}
	return parseTOML(name, data, nil)
}

// parseTOML parses and validates a TOML configuration. lines, when not nil,
// maps each line of data to the line of the file the error messages should
// name (data is then the translation of a Lwan file).
func parseTOML(name string, data []byte, lines []int) (*Config, error) {
	raw := fileConfig{
		KeepAliveTimeout:  15,
		Expires:           "1M 1w",
		RequestBufferSize: 4096,
		MaxPostDataSize:   40960,
		Listener:          "*:8080",
		TrimIdleMemory:    "30s",
	}
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return nil, fromDecodeError(name, data, err, lines)
	}
	pos, err := indexPositions(data)
	if err != nil {
		return nil, &Error{File: name, Msg: err.Error()}
	}
	pos.remap(lines)
	v := &validator{file: name, pos: pos, dir: configDir(name)}
	cfg := v.config(&raw)
	if v.err != nil {
		return nil, v.err
	}
	return cfg, nil
}

// validator turns a decoded fileConfig into a Config, keeping the first
// error it finds.
type validator struct {
	file string
	pos  *positions
	err  *Error
	// dir is what relative paths are resolved against: the configuration
	// file's directory ("" or "." for the working directory).
	dir string
}

// configDir is the directory the relative paths of configuration file name
// are resolved against: its own; "" for the built-in configuration.
func configDir(name string) string {
	if name == DefaultFile {
		return ""
	}
	return filepath.Dir(name)
}

// path resolves p, a path the configuration names, against its directory.
func (v *validator) path(p string) string {
	if p == "" || filepath.IsAbs(p) || v.dir == "" || v.dir == "." {
		return p
	}
	return filepath.Join(v.dir, p)
}

// fail records an error about key unless one is already recorded.
func (v *validator) fail(key, format string, args ...any) {
	if v.err == nil {
		v.err = &Error{File: v.file, Line: v.pos.line(key), Key: key, Msg: fmt.Sprintf(format, args...)}
	}
}

func (v *validator) config(raw *fileConfig) *Config {
	cfg := &Config{
		File:              v.file,
		pos:               v.pos,
		Threads:           raw.Threads,
		Quiet:             raw.Quiet,
		ProxyProtocol:     raw.ProxyProtocol,
		RequestBufferSize: raw.RequestBufferSize,
		MaxPostDataSize:   raw.MaxPostDataSize,
		AllowCORS:         raw.AllowCORS,
		H2C:               raw.H2C,
	}
	if raw.KeepAliveTimeout < 1 || raw.KeepAliveTimeout > 3600 {
		v.fail("keep_alive_timeout", "must be 1..3600 seconds, got %d", raw.KeepAliveTimeout)
	}
	cfg.KeepAliveTimeout = time.Duration(raw.KeepAliveTimeout) * time.Second
	if raw.Threads < 0 || raw.Threads > 256 {
		v.fail("threads", "must be 0 (one per CPU) to 256, got %d", raw.Threads)
	}
	cfg.Expires = v.duration("expires", raw.Expires)
	if raw.TrimIdleMemory != "0" {
		cfg.TrimIdleMemory = v.duration("trim_idle_memory", raw.TrimIdleMemory)
	}
	if raw.RequestBufferSize < 4096 || raw.RequestBufferSize > 16<<20 {
		v.fail("request_buffer_size", "must be 4096..16777216 bytes, got %d", raw.RequestBufferSize)
	}
	if raw.MaxPostDataSize < 0 || raw.MaxPostDataSize > 128<<20 {
		v.fail("max_post_data_size", "must be 0..134217728 bytes, got %d", raw.MaxPostDataSize)
	}
	cfg.Listener = v.address("listener", raw.Listener)
	if raw.TLSListener != nil {
		cfg.TLS = v.tlsListener(raw.TLSListener)
	}
	cfg.Headers = v.headers(raw.Headers)
	if raw.Straitjacket != nil {
		sj := *raw.Straitjacket
		sj.Chroot = v.path(sj.Chroot)
		cfg.Straitjacket = &sj
	}
	cfg.Routes = v.routes(&raw.Site)
	return cfg
}

func (v *validator) duration(key, s string) time.Duration {
	d, err := ParseDuration(s)
	if err != nil {
		v.fail(key, "%v", err)
	}
	return d
}

func (v *validator) address(key, s string) Address {
	a, err := ParseAddress(s)
	if err != nil {
		v.fail(key, "%v", err)
	}
	return a
}

// sortedByLine returns the keys of m under prefix in the order of the file.
func (v *validator) sortedByLine(prefix string, m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		li, lj := v.pos.line(prefix+keys[i]), v.pos.line(prefix+keys[j])
		if li != lj {
			return li < lj
		}
		return keys[i] < keys[j]
	})
	return keys
}
