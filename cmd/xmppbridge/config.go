package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// Defaults, named once so that Defaults, the example file and the tests
// agree.
const (
	defaultListen          = "127.0.0.1:5280"
	defaultLogLevel        = "info"
	defaultShutdownTimeout = 10 * time.Second
	defaultWebSocketPath   = "/xmpp-websocket"
	defaultPingInterval    = 30 * time.Second
	defaultWriteTimeout    = 10 * time.Second
	defaultMaxStanzaBytes  = 256 << 10
	// This machine allows 20,000 file descriptors per process and each
	// session holds two (browser and upstream); the rest is headroom for
	// listeners, DNS and log files.
	defaultMaxSessions = 9000
	defaultQueueBytes  = 1 << 20

	minStanzaBytes = 1 << 10
	maxStanzaBytes = 16 << 20

	// BOSH (XEP-0124/0206). Requests and max_body_bytes default to values
	// derived from max_hold and limits.max_stanza_bytes; see Defaults.
	defaultBOSHPath       = "/http-bind"
	defaultBOSHMaxWait    = 60 * time.Second
	defaultBOSHMaxHold    = 1
	defaultBOSHInactivity = 60 * time.Second
	defaultBOSHPolling    = 5 * time.Second
	defaultBOSHMaxPause   = 120 * time.Second
	defaultBOSHCORSMaxAge = 2 * time.Hour
	// A request body holds a few stanzas and their <body/> wrapper.
	boshBodyStanzas = 4

	maxBOSHWait     = 10 * time.Minute
	maxBOSHHold     = 8
	maxBOSHRequests = 16
	maxBOSHPeriod   = time.Hour // inactivity and max_pause
	maxBOSHBody     = 64 << 20
	// boshWrapperBytes is room for the <body/> wrapper around a largest
	// stanza.
	boshWrapperBytes = 1 << 10

	// The JSON API (docs/json-api.md).
	defaultJSONPath       = "/json"
	defaultJSONMaxWait    = 30 * time.Second
	defaultJSONInactivity = 60 * time.Second
	defaultJSONHeartbeat  = 15 * time.Second
	defaultJSONTokenTTL   = 60 * time.Second
	maxJSONPeriod         = time.Hour
)

// Values of DomainConfig.Security.
const (
	SecurityStartTLS  = "starttls"
	SecurityTLS       = "tls"
	SecurityPlaintext = "plaintext"
)

// Config is the whole daemon configuration. The zero value of every field
// means its documented default; Defaults fills them in, in one place.
//
// A Config returned by Load, Parse or Default has been validated: domain keys
// are lowercase and the CA files have been read, so that its methods do no
// parsing of files and are safe for concurrent use as long as nobody
// modifies the Config.
type Config struct {
	// Listen is the HTTP listen address (host:port). Default "127.0.0.1:5280".
	Listen string `toml:"listen"`
	// LogLevel is debug, info, warn or error. Default "info".
	LogLevel string `toml:"log_level"`
	// Origins lists the browser origins allowed to connect besides the
	// bridge's own: exact scheme://host[:port] strings, or "*" for any.
	// Requests without an Origin header (not from a browser) and
	// same-origin requests are always allowed; see OriginAllowed.
	Origins   []string        `toml:"allowed_origins"`
	WebSocket WebSocketConfig `toml:"websocket"`
	BOSH      BOSHConfig      `toml:"bosh"`
	JSON      JSONConfig      `toml:"json"`
	Web       WebConfig       `toml:"web"`
	Limits    LimitsConfig    `toml:"limits"`
	Upstream  UpstreamConfig  `toml:"upstream"`
	// TLS is the default for verifying upstream certificates.
	TLS TLSConfig `toml:"tls"`
	// Domains holds per-domain upstream settings, keyed by XMPP domain
	// ([domain."example.com"] in the file). Keys are matched without regard
	// to case: validation lowercases them.
	Domains map[string]DomainConfig `toml:"domain"`
	// AllowAnyDomain, true by default, lets browsers reach domains that have
	// no entry in Domains: by SRV lookup (RFC 6120 _xmpp-client._tcp,
	// XEP-0368 _xmpps-client._tcp), else domain:5222, with STARTTLS. False
	// allows only the domains listed.
	AllowAnyDomain *bool `toml:"allow_any_domain"`
	// ShutdownTimeout bounds draining at SIGINT/SIGTERM. Default 10s.
	ShutdownTimeout Duration `toml:"shutdown_timeout"`

	// Filled by validate so that TLSFor does no file I/O.
	rootCAs       *x509.CertPool            // from TLS.CAFile; nil: system roots
	domainRootCAs map[string]*x509.CertPool // lowercase domain → pool from its CAFile
}

// WebSocketConfig configures the RFC 7395 endpoint.
type WebSocketConfig struct {
	// Path is the URL path of the endpoint. Default "/xmpp-websocket".
	Path string `toml:"path"`
	// PingInterval is how often idle connections are pinged. Default 30s.
	PingInterval Duration `toml:"ping_interval"`
	// WriteTimeout bounds every write to a browser. Default 10s.
	WriteTimeout Duration `toml:"write_timeout"`
	// DrainURL, if set, is where browsers are sent when the bridge drains
	// (<close see-other-uri/>, RFC 7395 §3.6.1) instead of system-shutdown:
	// another bridge, or the balancer in front of them. Default empty.
	DrainURL string `toml:"drain_url"`
}

// BOSHConfig configures the BOSH endpoint (XEP-0124, XEP-0206). Durations
// are whole seconds, as BOSH states them in seconds.
type BOSHConfig struct {
	// Path is the URL path of the endpoint. Default "/http-bind".
	Path string `toml:"path"`
	// MaxWait is the longest a request is held waiting for something to
	// send; a client asking for longer gets this. Default 60s.
	MaxWait Duration `toml:"max_wait"`
	// MaxHold is the most requests held at once per session; a client
	// asking for more gets this. Default 1; at most 8.
	MaxHold int `toml:"max_hold"`
	// Requests is the most requests a client may have open at once (the
	// 'requests' attribute and the rid window). Default max_hold + 1; more
	// than max_hold, at most 16.
	Requests int `toml:"requests"`
	// Inactivity is how long a session may go without a request before it
	// is ended. Default 60s.
	Inactivity Duration `toml:"inactivity"`
	// Polling is the shortest interval allowed between empty requests.
	// Default 5s; shorter than inactivity.
	Polling Duration `toml:"polling"`
	// MaxPause is the longest pause a client may ask for. Default 120s.
	MaxPause Duration `toml:"max_pause"`
	// MaxBodyBytes is the largest request body accepted. Default
	// 4 × limits.max_stanza_bytes; at least limits.max_stanza_bytes + 1024.
	MaxBodyBytes int `toml:"max_body_bytes"`
	// WriteTimeout bounds reading a request body and writing a response.
	// Default 10s.
	WriteTimeout Duration `toml:"write_timeout"`
	// CORSMaxAge is how long browsers may cache a CORS preflight answer.
	// Default 2h.
	CORSMaxAge Duration `toml:"cors_max_age"`
	// AllowCredentials lets pages of allowed origins send cookies and HTTP
	// authentication (Access-Control-Allow-Credentials). Default false.
	AllowCredentials bool `toml:"allow_credentials"`
	// DrainURL, if set, is where clients are sent when the bridge drains
	// (the see-other-uri condition, XEP-0124 §17.2) instead of
	// system-shutdown. Default empty.
	DrainURL string `toml:"drain_url"`
}

// JSONConfig configures the JSON API: JSON over WebSocket, Server-Sent
// Events and long-polling, with bridge-side login (docs/json-api.md).
type JSONConfig struct {
	// Path is the base path of the endpoints (path/ws, path/events,
	// path/send, path/poll, path/prebind). Default "/json".
	Path string `toml:"path"`
	// AllowInsecurePassword accepts passwords over plain HTTP from any
	// address. Default false: only over TLS or from loopback.
	AllowInsecurePassword bool `toml:"allow_insecure_password"`
	// PrebindSecret enables the prebind API for a web application's
	// backend, which sends it as "Authorization: Bearer <secret>". Default
	// empty: prebinding is off. At least 16 characters.
	PrebindSecret string `toml:"prebind_secret"`
	// TokenTTL is how long a prebind token may wait to be redeemed.
	// Default 60s.
	TokenTTL Duration `toml:"token_ttl"`
	// MaxWait is the longest a poll is held. Default 30s.
	MaxWait Duration `toml:"max_wait"`
	// Inactivity ends an HTTP session with no poll or events stream for
	// this long. Default 60s.
	Inactivity Duration `toml:"inactivity"`
	// Heartbeat is how often a silent events stream sends a comment.
	// Default 15s.
	Heartbeat Duration `toml:"heartbeat"`
}

// WebConfig configures the demo chat page.
type WebConfig struct {
	// Demo serves the demo chat page (package web) at "/". Default true.
	Demo *bool `toml:"demo"`
}

// LimitsConfig bounds what one browser, and all of them, may hold.
type LimitsConfig struct {
	// MaxStanzaBytes is the largest stanza accepted from either side.
	// Default 262144; allowed 1024 to 16 MiB.
	MaxStanzaBytes int `toml:"max_stanza_bytes"`
	// MaxSessions bounds the sessions open at once. Default 9000.
	MaxSessions int `toml:"max_sessions"`
	// QueueBytes bounds each session's outbound queue; it must hold at
	// least one stanza of MaxStanzaBytes. Default 1048576.
	QueueBytes int `toml:"queue_bytes"`
}

// UpstreamConfig says how the bridge watches its streams to the servers.
type UpstreamConfig struct {
	// Keepalive is how long a server may be silent before the bridge asks
	// it for a sign of life (an XEP-0199 ping, or an XEP-0198 <r/> once
	// the stream has stream management). Default 60s; at least 1s.
	Keepalive Duration `toml:"keepalive"`
	// KeepaliveTimeout is how long the server then has to answer before
	// the session ends with remote-connection-failed. Default 20s; at
	// least 1s.
	KeepaliveTimeout Duration `toml:"keepalive_timeout"`
}

// TLSConfig holds the default upstream certificate verification settings.
type TLSConfig struct {
	// CAFile is a PEM file of roots for verifying upstream certificates.
	// Empty: the system roots. A relative path is taken from the directory
	// of the configuration file.
	CAFile string `toml:"ca_file"`
}

// DomainConfig overrides how one domain's server is reached.
type DomainConfig struct {
	// Address is the host:port to dial. Empty: SRV lookup for the domain.
	Address string `toml:"address"`
	// Security is "starttls" (default), "tls" (direct TLS, XEP-0368) or
	// "plaintext", which is allowed only when Address is on a loopback IP
	// or "localhost".
	Security string `toml:"security"`
	// CAFile overrides TLS.CAFile for this domain.
	CAFile string `toml:"ca_file"`
	// ServerName is the name expected in the server's certificate.
	// Default: the domain.
	ServerName string `toml:"server_name"`
}

// Duration is a time.Duration written in the file as a string such as
// "30s" or "1m30s".
type Duration struct{ time.Duration }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := time.ParseDuration(string(text))
	if err != nil {
		return fmt.Errorf("%q is not a duration such as \"30s\" or \"1m30s\"", text)
	}
	d.Duration = v
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(d.Duration.String()), nil
}

// ConfigError is every problem found in one configuration.
type ConfigError struct {
	Name     string // the file, as given to Load or Parse; empty for Default
	Problems []ConfigProblem
}

// ConfigProblem is one problem, under one key.
type ConfigProblem struct {
	// Key is the TOML key, as written in the file, e.g.
	// domain."example.com".security. Empty for a problem with the file as
	// a whole, such as a syntax error.
	Key string
	Msg string
}

// Error lists the problems one per line, each naming its key.
func (e *ConfigError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("config: ")
		if e.Name != "" {
			b.WriteString(e.Name)
			b.WriteString(": ")
		}
		if p.Key != "" {
			b.WriteString(p.Key)
			b.WriteString(": ")
		}
		b.WriteString(p.Msg)
	}
	return b.String()
}

// Load reads the TOML file at path. Unknown keys, values of the wrong type
// and invalid values are all reported together in one *ConfigError.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Parse is Load on bytes. name is used in messages, and relative CA file
// paths are taken from its directory.
func Parse(name string, data []byte) (Config, error) {
	var doc map[string]any
	md, err := toml.Decode(string(data), &doc)
	if err != nil {
		// The TOML parser stops at the first syntax error, so there is
		// only ever one of these.
		return Config{}, &ConfigError{Name: name, Problems: []ConfigProblem{
			{Msg: strings.TrimPrefix(err.Error(), "toml: ")},
		}}
	}

	d := decoder{order: make(map[string]int)}
	for i, k := range md.Keys() {
		d.order[k.String()] = i
	}
	var c Config
	d.table(nil, doc, reflect.ValueOf(&c).Elem())

	c.Defaults()
	c.resolvePaths(filepath.Dir(name))
	problems := d.problems
	for _, p := range c.check() {
		// A value that could not be decoded was left at its default;
		// saying more about that key would only confuse.
		if !d.failed[p.Key] {
			problems = append(problems, p)
		}
	}
	if len(problems) > 0 {
		return Config{}, &ConfigError{Name: name, Problems: problems}
	}
	return c, nil
}

// Default returns the configuration used when no file is given.
func Default() Config {
	var c Config
	c.Defaults()
	if err := c.validate(); err != nil {
		panic("config: the defaults are invalid: " + err.Error())
	}
	return c
}

// Defaults sets every field that is zero to its default.
func (c *Config) Defaults() {
	if c.Listen == "" {
		c.Listen = defaultListen
	}
	if c.LogLevel == "" {
		c.LogLevel = defaultLogLevel
	}
	if c.WebSocket.Path == "" {
		c.WebSocket.Path = defaultWebSocketPath
	}
	if c.WebSocket.PingInterval.Duration == 0 {
		c.WebSocket.PingInterval.Duration = defaultPingInterval
	}
	if c.WebSocket.WriteTimeout.Duration == 0 {
		c.WebSocket.WriteTimeout.Duration = defaultWriteTimeout
	}
	if c.Limits.MaxStanzaBytes == 0 {
		c.Limits.MaxStanzaBytes = defaultMaxStanzaBytes
	}
	if c.Limits.MaxSessions == 0 {
		c.Limits.MaxSessions = defaultMaxSessions
	}
	if c.Limits.QueueBytes == 0 {
		c.Limits.QueueBytes = defaultQueueBytes
	}
	if c.Upstream.Keepalive.Duration == 0 {
		c.Upstream.Keepalive.Duration = xmppclient.DefaultKeepalive
	}
	if c.Upstream.KeepaliveTimeout.Duration == 0 {
		c.Upstream.KeepaliveTimeout.Duration = xmppclient.DefaultKeepaliveTimeout
	}
	c.BOSH.defaults(c.Limits.MaxStanzaBytes)
	c.JSON.defaults()
	if c.Web.Demo == nil {
		demo := true
		c.Web.Demo = &demo
	}
	for name, d := range c.Domains {
		if d.Security == "" {
			d.Security = SecurityStartTLS
		}
		if d.ServerName == "" {
			// A bracketed IPv6 domain is certified as the bare address.
			d.ServerName = strings.Trim(strings.ToLower(name), "[]")
		}
		c.Domains[name] = d
	}
	if c.AllowAnyDomain == nil {
		allow := true
		c.AllowAnyDomain = &allow
	}
	if c.ShutdownTimeout.Duration == 0 {
		c.ShutdownTimeout.Duration = defaultShutdownTimeout
	}
}

// defaults fills the [bosh] table; the body bound follows the stanza bound.
func (b *BOSHConfig) defaults(maxStanzaBytes int) {
	if b.Path == "" {
		b.Path = defaultBOSHPath
	}
	setDuration := func(d *Duration, def time.Duration) {
		if d.Duration == 0 {
			d.Duration = def
		}
	}
	setDuration(&b.MaxWait, defaultBOSHMaxWait)
	setDuration(&b.Inactivity, defaultBOSHInactivity)
	setDuration(&b.Polling, defaultBOSHPolling)
	setDuration(&b.MaxPause, defaultBOSHMaxPause)
	setDuration(&b.WriteTimeout, defaultWriteTimeout)
	setDuration(&b.CORSMaxAge, defaultBOSHCORSMaxAge)
	if b.MaxHold == 0 {
		b.MaxHold = defaultBOSHMaxHold
	}
	if b.Requests == 0 {
		b.Requests = b.MaxHold + 1
	}
	if b.MaxBodyBytes == 0 {
		b.MaxBodyBytes = boshBodyStanzas * maxStanzaBytes
	}
}

// defaults fills the [json] table.
func (j *JSONConfig) defaults() {
	if j.Path == "" {
		j.Path = defaultJSONPath
	}
	for _, d := range []struct {
		v   *Duration
		def time.Duration
	}{
		{&j.TokenTTL, defaultJSONTokenTTL},
		{&j.MaxWait, defaultJSONMaxWait},
		{&j.Inactivity, defaultJSONInactivity},
		{&j.Heartbeat, defaultJSONHeartbeat},
	} {
		if d.v.Duration == 0 {
			d.v.Duration = d.def
		}
	}
}

// check validates the [json] table, whose defaults must be filled in.
func (j *JSONConfig) check(otherPaths ...string) []ConfigProblem {
	var probs []ConfigProblem
	bad := func(key string, format string, args ...any) {
		probs = append(probs, ConfigProblem{Key: toml.Key{"json", key}.String(), Msg: fmt.Sprintf(format, args...)})
	}
	switch p := j.Path; {
	case !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "?#") || p == "/" || strings.HasSuffix(p, "/"):
		bad("path", "%q is not a URL path starting with / and not ending with /", p)
	case slices.Contains(otherPaths, p):
		bad("path", "%q is the path of another endpoint", p)
	}
	if n := len(j.PrebindSecret); n > 0 && n < 16 {
		bad("prebind_secret", "is %d characters long; at least 16 are needed", n)
	}
	for _, d := range []struct {
		key  string
		v    Duration
		most time.Duration
	}{
		{"token_ttl", j.TokenTTL, maxJSONPeriod},
		{"max_wait", j.MaxWait, maxBOSHWait},
		{"inactivity", j.Inactivity, maxJSONPeriod},
		{"heartbeat", j.Heartbeat, maxJSONPeriod},
	} {
		if d.v.Duration < time.Second || d.v.Duration > d.most {
			bad(d.key, "%v is not between 1s and %v", d.v.Duration, d.most)
		}
	}
	return probs
}

// resolvePaths makes relative CA file paths relative to dir, the directory
// of the configuration file, rather than to wherever the daemon was
// started.
func (c *Config) resolvePaths(dir string) {
	fromDir := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	c.TLS.CAFile = fromDir(c.TLS.CAFile)
	for name, d := range c.Domains {
		d.CAFile = fromDir(d.CAFile)
		c.Domains[name] = d
	}
}

// validate checks c, whose defaults must already be filled in, and
// prepares it for use: it lowercases the domain keys and reads the CA
// files. The error is a *ConfigError listing every problem.
func (c *Config) validate() error {
	if p := c.check(); len(p) > 0 {
		return &ConfigError{Problems: p}
	}
	return nil
}

// check is validate returning the problems themselves.
func (c *Config) check() []ConfigProblem {
	var probs []ConfigProblem
	bad := func(key toml.Key, format string, args ...any) {
		probs = append(probs, ConfigProblem{Key: key.String(), Msg: fmt.Sprintf(format, args...)})
	}

	if err := checkHostPort(c.Listen, true); err != nil {
		bad(toml.Key{"listen"}, "%v", err)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad(toml.Key{"log_level"}, "%q is not one of debug, info, warn, error", c.LogLevel)
	}
	for _, o := range c.Origins {
		if o == "*" {
			continue
		}
		if _, err := canonicalOrigin(o); err != nil {
			bad(toml.Key{"allowed_origins"}, "%v", err)
		}
	}

	if p := c.WebSocket.Path; !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "?#") {
		bad(toml.Key{"websocket", "path"}, "%q is not a URL path starting with /", p)
	}
	positive := func(key toml.Key, d Duration) {
		if d.Duration <= 0 {
			bad(key, "must be greater than zero")
		}
	}
	positive(toml.Key{"websocket", "ping_interval"}, c.WebSocket.PingInterval)
	positive(toml.Key{"websocket", "write_timeout"}, c.WebSocket.WriteTimeout)
	positive(toml.Key{"shutdown_timeout"}, c.ShutdownTimeout)
	for key, u := range map[string]string{"websocket": c.WebSocket.DrainURL, "bosh": c.BOSH.DrainURL} {
		if u == "" {
			continue
		}
		if pu, err := url.Parse(u); err != nil || !pu.IsAbs() || pu.Host == "" {
			bad(toml.Key{key, "drain_url"}, "%q is not an absolute URL", u)
		}
	}
	atLeastSecond := func(key toml.Key, d Duration) {
		if d.Duration < time.Second {
			bad(key, "must be at least 1s")
		}
	}
	atLeastSecond(toml.Key{"upstream", "keepalive"}, c.Upstream.Keepalive)
	atLeastSecond(toml.Key{"upstream", "keepalive_timeout"}, c.Upstream.KeepaliveTimeout)
	probs = append(probs, c.BOSH.check(c.WebSocket.Path, c.Limits.MaxStanzaBytes)...)
	probs = append(probs, c.JSON.check(c.WebSocket.Path, c.BOSH.Path)...)

	if n := c.Limits.MaxStanzaBytes; n < minStanzaBytes || n > maxStanzaBytes {
		bad(toml.Key{"limits", "max_stanza_bytes"}, "%d is not between %d and %d", n, minStanzaBytes, maxStanzaBytes)
	}
	if c.Limits.MaxSessions <= 0 {
		bad(toml.Key{"limits", "max_sessions"}, "must be greater than zero")
	}
	if n := c.Limits.QueueBytes; n <= 0 {
		bad(toml.Key{"limits", "queue_bytes"}, "must be greater than zero")
	} else if n < c.Limits.MaxStanzaBytes {
		// A queue that cannot hold one largest stanza would end the
		// session on the first big vCard.
		bad(toml.Key{"limits", "queue_bytes"}, "%d is smaller than limits.max_stanza_bytes (%d)", n, c.Limits.MaxStanzaBytes)
	}

	pools := make(map[string]*x509.CertPool) // path → pool: each file is read once
	loadCA := func(key toml.Key, path string) *x509.CertPool {
		if pool, ok := pools[path]; ok {
			return pool
		}
		pool, err := readCAFile(path)
		if err != nil {
			bad(key, "%v", err)
		}
		pools[path] = pool
		return pool
	}
	c.rootCAs = nil
	if c.TLS.CAFile != "" {
		c.rootCAs = loadCA(toml.Key{"tls", "ca_file"}, c.TLS.CAFile)
	}

	// Sorted so that the problems come out in the same order every time.
	var domains map[string]DomainConfig
	written := make(map[string]string) // lowercase domain → its key as written
	c.domainRootCAs = nil
	for _, name := range slices.Sorted(maps.Keys(c.Domains)) {
		d := c.Domains[name]
		key := toml.Key{"domain", name}
		lower := strings.ToLower(name)
		domainErr := checkDomain(lower)
		if domainErr != nil {
			bad(key, "%v", domainErr)
		}
		if other, dup := written[lower]; dup {
			bad(key, "same domain as %s (domain names are not case-sensitive)", toml.Key{"domain", other})
		}
		written[lower] = name
		if domains == nil {
			domains = make(map[string]DomainConfig, len(c.Domains))
		}
		domains[lower] = d

		switch d.Security {
		case SecurityStartTLS, SecurityTLS:
		case SecurityPlaintext:
			if d.Address == "" {
				bad(append(key, "security"), "plaintext needs an address on a loopback host (127.0.0.0/8, ::1 or localhost); an SRV lookup could lead anywhere")
			} else if host, _, err := net.SplitHostPort(d.Address); err == nil && !isLoopback(host) {
				bad(append(key, "security"), "plaintext is allowed only to a loopback address (127.0.0.0/8, ::1 or localhost), not %q", d.Address)
			}
		default:
			bad(append(key, "security"), "%q is not one of starttls, tls, plaintext", d.Security)
		}
		if d.Address != "" {
			if err := checkHostPort(d.Address, false); err != nil {
				bad(append(key, "address"), "%v", err)
			}
		}
		// Empty means the domain itself. An invalid domain gives an
		// invalid default server_name, and one problem is enough.
		if d.ServerName != "" && domainErr == nil {
			if err := checkServerName(d.ServerName); err != nil {
				bad(append(key, "server_name"), "%v", err)
			}
		}
		if d.CAFile != "" {
			if c.domainRootCAs == nil {
				c.domainRootCAs = make(map[string]*x509.CertPool)
			}
			c.domainRootCAs[lower] = loadCA(append(key, "ca_file"), d.CAFile)
		}
	}
	c.Domains = domains

	if c.AllowAnyDomain != nil && !*c.AllowAnyDomain && len(c.Domains) == 0 {
		bad(toml.Key{"allow_any_domain"}, "false with no [domain] table refuses every domain")
	}
	return probs
}

// check validates the [bosh] table, whose defaults must be filled in.
func (b *BOSHConfig) check(wsPath string, maxStanza int) []ConfigProblem {
	var probs []ConfigProblem
	bad := func(key string, format string, args ...any) {
		probs = append(probs, ConfigProblem{Key: toml.Key{"bosh", key}.String(), Msg: fmt.Sprintf(format, args...)})
	}
	switch p := b.Path; {
	case !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "?#"):
		bad("path", "%q is not a URL path starting with /", p)
	case p == wsPath:
		bad("path", "%q is websocket.path too", p)
	}
	// seconds checks a duration BOSH states in whole seconds.
	seconds := func(key string, d Duration, least, most time.Duration) bool {
		switch {
		case d.Duration < least || d.Duration > most:
			bad(key, "%v is not between %v and %v", d.Duration, least, most)
		case d.Duration%time.Second != 0:
			bad(key, "%v is not a whole number of seconds, as BOSH states it", d.Duration)
		default:
			return true
		}
		return false
	}
	seconds("max_wait", b.MaxWait, time.Second, maxBOSHWait)
	inactivityOK := seconds("inactivity", b.Inactivity, time.Second, maxBOSHPeriod)
	if seconds("polling", b.Polling, time.Second, maxBOSHPeriod) && inactivityOK && b.Polling.Duration >= b.Inactivity.Duration {
		bad("polling", "%v is not shorter than bosh.inactivity (%v)", b.Polling.Duration, b.Inactivity.Duration)
	}
	seconds("max_pause", b.MaxPause, time.Second, maxBOSHPeriod)
	// A bad max_hold or max_stanza_bytes is reported under its own key;
	// what is derived from it would only repeat the problem.
	if n := b.MaxHold; n < 1 || n > maxBOSHHold {
		bad("max_hold", "%d is not between 1 and %d", n, maxBOSHHold)
	} else if n := b.Requests; n <= b.MaxHold || n > maxBOSHRequests {
		bad("requests", "%d is not between bosh.max_hold + 1 (%d) and %d", n, b.MaxHold+1, maxBOSHRequests)
	}
	if n, least := b.MaxBodyBytes, maxStanza+boshWrapperBytes; maxStanza >= minStanzaBytes && maxStanza <= maxStanzaBytes && (n < least || n > maxBOSHBody) {
		bad("max_body_bytes", "%d is not between limits.max_stanza_bytes + %d (%d) and %d", n, boshWrapperBytes, least, maxBOSHBody)
	}
	if b.WriteTimeout.Duration <= 0 {
		bad("write_timeout", "must be greater than zero")
	}
	if b.CORSMaxAge.Duration < time.Second {
		bad("cors_max_age", "%v is less than a second", b.CORSMaxAge.Duration)
	}
	return probs
}

// Level is LogLevel as a slog.Level.
func (c *Config) Level() slog.Level {
	switch c.LogLevel {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// OriginAllowed says whether a browser request with the given Origin header
// may connect; host is the request's Host header.
//
// A request without an Origin is allowed: browsers always send one on
// WebSocket handshakes and cross-origin POSTs, so its absence means a
// client that cannot be the tool of a cross-site attack. A same-origin
// request (the Origin's host:port equals host) is allowed too, so that the
// bridge's own pages keep working whatever the list says. Otherwise the
// Origin must equal an entry of Origins, comparing scheme and host without
// regard to case and with the scheme's default port made explicit or not
// alike; "*" allows any Origin, even "null".
func (c *Config) OriginAllowed(origin, host string) bool {
	if origin == "" {
		return true
	}
	if slices.Contains(c.Origins, "*") {
		return true
	}
	canon, err := canonicalOrigin(origin)
	if err != nil {
		return false
	}
	scheme, hostport, _ := strings.Cut(canon, "://")
	if host != "" && hostport == canonicalHostPort(scheme, host) {
		return true
	}
	for _, o := range c.Origins {
		if allowed, err := canonicalOrigin(o); err == nil && allowed == canon {
			return true
		}
	}
	return false
}

// Domain says how to reach domain's server: its [domain] table with the
// defaults filled in or, for a domain without one, SRV lookup and STARTTLS
// with the domain as server name. ok is false when the domain is refused:
// it is not a valid domain name, or allow_any_domain is false and it has no
// table.
func (c *Config) Domain(domain string) (d DomainConfig, ok bool) {
	domain = strings.ToLower(domain)
	if checkDomain(domain) != nil {
		return DomainConfig{}, false
	}
	if d, ok := c.Domains[domain]; ok {
		return d, true
	}
	if c.AllowAnyDomain != nil && !*c.AllowAnyDomain {
		return DomainConfig{}, false
	}
	return DomainConfig{Security: SecurityStartTLS, ServerName: strings.Trim(domain, "[]")}, true
}

// TLSFor builds the TLS settings for domain's upstream link: roots from the
// domain's ca_file, else tls.ca_file, else the system roots (RootCAs nil);
// ServerName from the domain's server_name, else the domain; TLS 1.2 at
// least. It reads no files: the CA files were read by Load, Parse or
// Default. Each call returns a new *tls.Config the caller may change.
// Whether the domain may be reached at all is Upstream's question.
func (c *Config) TLSFor(domain string) (*tls.Config, error) {
	domain = strings.ToLower(domain)
	if err := checkDomain(domain); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	serverName, caFile, roots := strings.Trim(domain, "[]"), c.TLS.CAFile, c.rootCAs
	if d, ok := c.Domains[domain]; ok {
		if d.ServerName != "" {
			serverName = d.ServerName
		}
		if d.CAFile != "" {
			caFile, roots = d.CAFile, c.domainRootCAs[domain]
		}
	}
	if caFile != "" && roots == nil {
		return nil, fmt.Errorf("config: CA file %q for %s was never read; build the Config with Load, Parse or Default", caFile, domain)
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		ServerName: serverName,
		RootCAs:    roots,
	}, nil
}

// readCAFile reads a PEM file that must hold at least one certificate.
func readCAFile(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%q holds no PEM certificate", path)
	}
	return pool, nil
}

// checkHostPort checks a host:port address. The listen address may leave
// the host empty (all interfaces) and use port 0 (any free port); an
// upstream address may not.
func checkHostPort(addr string, listen bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port", addr)
	}
	if host == "" && !listen {
		return fmt.Errorf("%q has no host", addr)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 || (n == 0 && !listen) {
		return fmt.Errorf("%q: port %q is not a number from 1 to 65535", addr, port)
	}
	return nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkDomain checks an XMPP domainpart, already lowercased: a DNS name in
// ASCII, an IPv4 address, or an IPv6 address in brackets (RFC 6120 §3.2.1).
func checkDomain(s string) error {
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		if ip := net.ParseIP(s[1 : len(s)-1]); ip != nil && ip.To4() == nil {
			return nil
		}
		return fmt.Errorf("%q is not an IPv6 address in brackets", s)
	}
	if strings.Contains(s, ":") {
		return fmt.Errorf("%q is not a domain name (an IPv6 address is written in brackets)", s)
	}
	if ip := net.ParseIP(s); ip != nil {
		return nil
	}
	if err := checkDNSName(s); err != nil {
		return fmt.Errorf("%q is not a domain name: %w", s, err)
	}
	return nil
}

// checkServerName checks a name to verify a certificate against: a DNS
// name or an IP address.
func checkServerName(s string) error {
	if net.ParseIP(s) != nil {
		return nil
	}
	if err := checkDNSName(strings.ToLower(s)); err != nil {
		return fmt.Errorf("%q is not a DNS name or IP address: %w", s, err)
	}
	return nil
}

// checkDNSName checks a lowercase DNS name. Internationalized names must be
// written in their ASCII (xn--) form, which is what DNS and certificates
// carry.
func checkDNSName(s string) error {
	switch {
	case s == "":
		return errors.New("empty")
	case len(s) > 253:
		return errors.New("longer than 253 bytes")
	case strings.HasSuffix(s, "."):
		return errors.New("ends with a dot")
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("label %q is not 1 to 63 bytes long", label)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("label %q starts or ends with a hyphen", label)
		}
		for _, r := range label {
			switch {
			case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			case r > 0x7f:
				return errors.New("not ASCII; write an internationalized name in its xn-- form")
			default:
				return fmt.Errorf("label %q holds %q", label, r)
			}
		}
	}
	return nil
}

// canonicalOrigin checks a serialized origin, scheme://host[:port], and
// returns it with scheme and host lowercased and the scheme's default port
// left out, which is how browsers send it.
func canonicalOrigin(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return "", fmt.Errorf("%q is not an origin (scheme://host[:port])", s)
	}
	switch {
	case u.User != nil:
		return "", fmt.Errorf("%q is not an origin: it has user information", s)
	case u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery || strings.HasSuffix(s, "#"):
		return "", fmt.Errorf("%q is not an origin: it has a path, query or fragment (not even a / may follow the host)", s)
	case strings.Contains(u.Host, "*"):
		return "", fmt.Errorf("%q is not an origin: only \"*\" on its own is a wildcard", s)
	case u.Hostname() == "":
		return "", fmt.Errorf("%q is not an origin: it has no host", s)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("%q is not an origin: port %q is not a number from 1 to 65535", s, p)
		}
	}
	scheme := strings.ToLower(u.Scheme)
	return scheme + "://" + canonicalHostPort(scheme, u.Host), nil
}

// canonicalHostPort lowercases a host[:port] and drops the port if it is
// the default one for scheme.
func canonicalHostPort(scheme, hostport string) string {
	hostport = strings.ToLower(hostport)
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport // no port
	}
	switch {
	case port == "80" && (scheme == "http" || scheme == "ws"),
		port == "443" && (scheme == "https" || scheme == "wss"):
		if strings.Contains(host, ":") {
			return "[" + host + "]"
		}
		return host
	}
	return net.JoinHostPort(host, port)
}

// decoder fills a Config from a decoded TOML document one key at a time.
// toml.Decode straight into the struct would stop at the first value of the
// wrong type, hiding every later problem, and would match keys without
// regard to case, letting "Listen" pass for "listen"; and its Undecoded
// cannot see unknown keys under a table decoded as a map, such as
// [domain."example.com"]. Walking the struct by its toml tags names every
// unknown key and every wrong type at once.
type decoder struct {
	order    map[string]int // key → position in the file, to report problems in reading order
	problems []ConfigProblem
	failed   map[string]bool // keys with a problem here, so validation says nothing more about them
}

func (d *decoder) bad(key toml.Key, format string, args ...any) {
	k := key.String()
	d.problems = append(d.problems, ConfigProblem{Key: k, Msg: fmt.Sprintf(format, args...)})
	if d.failed == nil {
		d.failed = make(map[string]bool)
	}
	d.failed[k] = true
}

// keys returns the keys of tbl, which sits at key, in the order they
// appear in the file.
func (d *decoder) keys(key toml.Key, tbl map[string]any) []string {
	names := make([]string, 0, len(tbl))
	for name := range tbl {
		names = append(names, name)
	}
	pos := func(name string) int {
		if i, ok := d.order[append(key[:len(key):len(key)], name).String()]; ok {
			return i
		}
		return len(d.order)
	}
	slices.SortFunc(names, func(a, b string) int {
		if c := pos(a) - pos(b); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return names
}

// table fills the struct dst from tbl, the table at key.
func (d *decoder) table(key toml.Key, tbl map[string]any, dst reflect.Value) {
	for _, name := range d.keys(key, tbl) {
		k := append(key[:len(key):len(key)], name)
		field, ok := fieldByTag(dst.Type(), name)
		if !ok {
			d.bad(k, "unknown key (known here: %s)", strings.Join(tags(dst.Type()), ", "))
			continue
		}
		d.value(k, tbl[name], dst.FieldByIndex(field.Index))
	}
}

var (
	durationType        = reflect.TypeFor[Duration]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// value sets dst from v, the TOML value at key.
func (d *decoder) value(key toml.Key, v any, dst reflect.Value) {
	t := dst.Type()
	wrong := func() { d.bad(key, "must be %s, not %s", describeGo(t), describeTOML(v)) }

	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		s, ok := v.(string)
		if !ok {
			wrong()
			return
		}
		if err := dst.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			d.bad(key, "%v", err)
			return
		}
		if t == durationType && dst.Interface().(Duration).Duration == 0 {
			d.bad(key, "must be greater than zero (leave it out for the default)")
		}
		return
	}

	switch t.Kind() {
	case reflect.Struct:
		tbl, ok := v.(map[string]any)
		if !ok {
			wrong()
			return
		}
		d.table(key, tbl, dst)

	case reflect.Map: // of tables, keyed by name
		tbl, ok := v.(map[string]any)
		if !ok {
			wrong()
			return
		}
		m := reflect.MakeMapWithSize(t, len(tbl))
		for _, name := range d.keys(key, tbl) {
			elem := reflect.New(t.Elem()).Elem()
			d.value(append(key[:len(key):len(key)], name), tbl[name], elem)
			m.SetMapIndex(reflect.ValueOf(name), elem)
		}
		dst.Set(m)

	case reflect.Pointer:
		elem := reflect.New(t.Elem())
		before := len(d.problems)
		d.value(key, v, elem.Elem())
		if len(d.problems) == before {
			dst.Set(elem)
		}

	case reflect.String:
		s, ok := v.(string)
		if !ok {
			wrong()
			return
		}
		dst.SetString(s)

	case reflect.Bool:
		b, ok := v.(bool)
		if !ok {
			wrong()
			return
		}
		dst.SetBool(b)

	case reflect.Int:
		n, ok := v.(int64)
		if !ok {
			wrong()
			return
		}
		if dst.OverflowInt(n) {
			d.bad(key, "%d is too large", n)
			return
		}
		if n == 0 {
			d.bad(key, "must be greater than zero (leave it out for the default)")
			return
		}
		dst.SetInt(n)

	case reflect.Slice: // of strings
		list, ok := v.([]any)
		if !ok {
			wrong()
			return
		}
		if len(list) == 0 {
			return // the same as leaving the key out
		}
		s := reflect.MakeSlice(t, len(list), len(list))
		for i, e := range list {
			str, ok := e.(string)
			if !ok {
				wrong()
				return
			}
			s.Index(i).SetString(str)
		}
		dst.Set(s)

	default:
		panic("config: no decoding for " + t.String())
	}
}

// tomlKey is the key that sets field f, or "" if none does.
func tomlKey(f reflect.StructField) string {
	tag, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	if !f.IsExported() || tag == "-" {
		return ""
	}
	return tag
}

// fieldByTag finds the field of struct type t whose key is name, exactly.
func fieldByTag(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		if f := t.Field(i); tomlKey(f) == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// tags lists the keys a table decoded into struct type t may hold.
func tags(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		if k := tomlKey(t.Field(i)); k != "" {
			names = append(names, k)
		}
	}
	return names
}

// describeGo says what a field of type t expects, for messages.
func describeGo(t reflect.Type) string {
	if t == durationType {
		return `a duration string such as "30s"`
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "a table"
	case reflect.Pointer:
		return describeGo(t.Elem())
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int:
		return "an integer"
	case reflect.Slice:
		return "an array of strings"
	}
	return t.String()
}

// describeTOML says what kind of TOML value v is, for messages.
func describeTOML(v any) string {
	switch v := v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case time.Time:
		return "a date-time"
	case map[string]any:
		return "a table"
	case []map[string]any:
		return "an array of tables"
	case []any:
		for _, e := range v {
			if _, ok := e.(string); !ok {
				return "an array holding " + describeTOML(e)
			}
		}
		return "an array"
	}
	return fmt.Sprintf("%T", v)
}
