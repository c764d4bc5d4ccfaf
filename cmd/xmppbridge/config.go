package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
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
	// TLSCertFile and TLSKeyFile, both or neither, are PEM files of the
	// certificate chain and private key that make the listener serve
	// https:// and wss:// itself, with no proxy in front. They are read
	// again at SIGHUP. Default empty: plain HTTP. A relative path is taken
	// from the directory of the configuration file.
	TLSCertFile string `toml:"tls_cert_file"`
	TLSKeyFile  string `toml:"tls_key_file"`
	// TrustedProxies are the address ranges (CIDR, or single addresses)
	// of the reverse proxies and load balancers in front of the bridge,
	// whose Forwarded or X-Forwarded-For and X-Forwarded-Proto headers,
	// and PROXY protocol headers, name the real client. Default none:
	// every peer is the client.
	TrustedProxies []string `toml:"trusted_proxies"`
	// ProxyProtocol reads a PROXY protocol header (version 1 or 2) at the
	// start of each connection from a trusted proxy. Default false.
	ProxyProtocol bool `toml:"proxy_protocol"`
	// LogLevel is debug, info, warn or error. Default "info".
	LogLevel string `toml:"log_level"`
	// Origins lists the browser origins allowed to connect besides the
	// bridge's own: exact scheme://host[:port] strings, or "*" for any.
	// Requests without an Origin header (not from a browser) are always
	// allowed, and so are same-origin requests under a Host that names the
	// bridge itself (an IP address, localhost, public_url's host); see
	// OriginAllowed.
	Origins []string `toml:"allowed_origins"`
	// PublicURL is where browsers reach the bridge, http(s)://host[:port]
	// with the path prefix a proxy in front mounts it at, if any; XEP-0156
	// discovery (/.well-known/host-meta) advertises the endpoints below
	// it. Default empty: each discovery request's own scheme and Host.
	PublicURL string          `toml:"public_url"`
	WebSocket WebSocketConfig `toml:"websocket"`
	BOSH      BOSHConfig      `toml:"bosh"`
	JSON      JSONConfig      `toml:"json"`
	Web       WebConfig       `toml:"web"`
	Limits    LimitsConfig    `toml:"limits"`
	Upstream  UpstreamConfig  `toml:"upstream"`
	Metrics   MetricsConfig   `toml:"metrics"`
	Cluster   ClusterConfig   `toml:"cluster"`
	// TLS is the default for verifying upstream certificates.
	TLS TLSConfig `toml:"tls"`
	// Domains holds per-domain upstream settings, keyed by XMPP domain
	// ([domain."example.com"] in the file). Keys are matched without regard
	// to case: validation lowercases them.
	Domains map[string]DomainConfig `toml:"domain"`
	// AllowAnyDomain, true by default, lets browsers reach domains that have
	// no entry in Domains: by SRV lookup (RFC 6120 _xmpp-client._tcp,
	// XEP-0368 _xmpps-client._tcp), else domain:5222, with STARTTLS, and
	// only at public addresses: not IP literals, and not loopback, private
	// or link-local addresses, whatever DNS says. False allows only the
	// domains listed.
	AllowAnyDomain *bool `toml:"allow_any_domain"`
	// ShutdownTimeout bounds draining at SIGINT/SIGTERM. Default 10s.
	ShutdownTimeout Duration `toml:"shutdown_timeout"`
	// LameDuck is how long, at SIGINT/SIGTERM, /readyz answers 503 while
	// everything is still served, before the listener closes and the
	// drain bounded by ShutdownTimeout begins: time for load balancers to
	// stop sending new clients. Default 0: the drain begins at once.
	LameDuck Duration `toml:"lame_duck"`

	// Filled by validate so that TLSFor does no file I/O.
	rootCAs       *x509.CertPool            // from TLS.CAFile; nil: system roots
	listenCert    *tls.Certificate          // from TLSCertFile and TLSKeyFile; nil: plain HTTP
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
	// Inactivity detaches an HTTP session with no poll or events stream
	// for this long: it waits ResumeWindow for its page. Default 60s.
	Inactivity Duration `toml:"inactivity"`
	// Resume lets a session outlive its connection, for its page to
	// resume with a token (docs/json-api.md). Default true; with false a
	// session ends with its connection.
	Resume *bool `toml:"resume"`
	// ResumeWindow is how long a session whose page went away waits for a
	// resume. Default 2m.
	ResumeWindow Duration `toml:"resume_window"`
	// ResumeKey signs resume tokens; bridges behind one balancer share
	// it. Default empty: a random key, for this process only. At least 32
	// characters.
	ResumeKey string `toml:"resume_key"`
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

	// What one client may do (config_limits.go). Per address: the real
	// client's, as trusted_proxies name it; IPv6 counted by its /64.
	//
	// SessionsPerAddress bounds the sessions one address holds. Default
	// 100; -1 for no bound.
	SessionsPerAddress int `toml:"sessions_per_address"`
	// OpensPerMinute is how fast one address may open sessions, in bursts
	// of up to OpenBurst. Default 60 and 30; -1 for no bound.
	OpensPerMinute int `toml:"opens_per_minute"`
	OpenBurst      int `toml:"open_burst"`
	// ReservedSessions is how many of MaxSessions only sessions that have
	// logged in may take. Default a quarter of max_sessions; -1 for none.
	ReservedSessions int `toml:"reserved_sessions"`
	// AuthTimeout ends a stream relayed to the server (WebSocket, BOSH)
	// that has not authenticated within it. Default 60s.
	AuthTimeout Duration `toml:"auth_timeout"`
	// Failed logins, per address and per account: FailedLoginsFree cost
	// nothing; then each attempt waits FailedLoginDelay after the last,
	// doubling up to FailedLoginMaxDelay; an address (never an account)
	// with FailedLoginsRefused is refused until FailedLoginsForget has
	// passed since its last failure, when failures are forgotten.
	// Defaults 5, 1s, 30s, 30 (-1: never), 15m.
	FailedLoginsFree    int      `toml:"failed_logins_free"`
	FailedLoginDelay    Duration `toml:"failed_login_delay"`
	FailedLoginMaxDelay Duration `toml:"failed_login_max_delay"`
	FailedLoginsRefused int      `toml:"failed_logins_refused"`
	FailedLoginsForget  Duration `toml:"failed_logins_forget"`
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

// MetricsConfig configures the Prometheus endpoint.
type MetricsConfig struct {
	// Listen is the address (host:port) of a listener of its own that
	// serves /metrics in Prometheus' text format, and /healthz and
	// /readyz beside it. Default "127.0.0.1:9465": loopback, since the
	// counts tell how the bridge is used. Empty or "off" turns it off.
	Listen *string `toml:"listen"`
}

// Addr is the address to serve metrics on, or "" when they are off.
func (m *MetricsConfig) Addr() string {
	if m.Listen == nil || *m.Listen == "off" {
		return ""
	}
	return *m.Listen
}

// ClusterConfig makes the bridge one node of a cluster that needs no sticky
// sessions (package internal/cluster): BOSH and JSON API session ids name
// their node, and a request for another node's session is forwarded to it.
type ClusterConfig struct {
	// Node is this bridge's name in the cluster: letters, digits and '-'.
	// Default empty: no cluster (session ids name no node, nothing is
	// forwarded).
	Node string `toml:"node"`
	// Peers are the nodes of the cluster, name → base URL at which that
	// node's listener is reached from this one (http://10.0.0.12:5280).
	// It may list this node too, so that every node gets one list.
	// Requests are forwarded only to these.
	Peers map[string]string `toml:"peers"`
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

// Domain says how to reach domain's server: its [domain] table with the
// defaults filled in or, for a domain without one, SRV lookup and STARTTLS
// with the domain as server name. ok is false when the domain is refused:
// it is not a valid domain name, or it has no table and either
// allow_any_domain is false or it is an IP literal: an address is no
// domain anyone serves on the internet, and a browser could name the
// bridge's own loopback or private network with one.
func (c *Config) Domain(domain string) (d DomainConfig, ok bool) {
	domain = strings.ToLower(domain)
	if checkDomain(domain) != nil {
		return DomainConfig{}, false
	}
	if d, ok := c.Domains[domain]; ok {
		return d, true
	}
	if c.AllowAnyDomain != nil && !*c.AllowAnyDomain || net.ParseIP(strings.Trim(domain, "[]")) != nil {
		return DomainConfig{}, false
	}
	return DomainConfig{Security: SecurityStartTLS, ServerName: domain}, true
}

// Listed reports whether domain has a [domain] table: the operator named
// it, so it may be reached wherever it is, private addresses included.
// Other domains (allow_any_domain) are reached only at public addresses.
func (c *Config) Listed(domain string) bool {
	_, ok := c.Domains[strings.ToLower(domain)]
	return ok
}
