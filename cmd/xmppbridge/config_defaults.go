package main

import (
	"strings"
	"time"

	"github.com/xmppbridge/xmppbridge/jsonapi"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// The defaults the daemon owns: where it listens, how it logs and drains,
// and the paths it mounts the transports at.
const (
	defaultListen          = "127.0.0.1:5280"
	defaultMetricsListen   = "127.0.0.1:9465"
	defaultLogLevel        = "info"
	defaultShutdownTimeout = 10 * time.Second
	defaultWebSocketPath   = "/xmpp-websocket"
	defaultBOSHPath        = "/http-bind"
	defaultJSONPath        = "/json"
)

// The defaults the library packages document as what a zero field of their
// Config means. Each is declared once, in the package that applies it; the
// ones still written here wait for their package to export them (the
// TODO(default) comment names the constant to use instead), so until then
// TestDefault holds them to the values those packages document.
const (
	// [websocket]; jsonapi takes its ping interval and write timeout too.
	defaultPingInterval     = 30 * time.Second // TODO(default): wsframe.DefaultPingInterval
	defaultWebSocketTimeout = 10 * time.Second // TODO(default): wsframe.DefaultWriteTimeout
	defaultMaxStanzaBytes   = 256 << 10        // TODO(default): xmppclient.DefaultMaxStanzaBytes
	// This machine allows 20,000 file descriptors per process and each
	// session holds two (browser and upstream); the rest is headroom for
	// listeners, DNS and log files.
	defaultMaxSessions = 9000    // TODO(default): bridge.DefaultMaxSessions
	defaultQueueBytes  = 1 << 20 // TODO(default): bridge.DefaultQueueBytes

	// [bosh]. Requests and max_body_bytes follow max_hold and
	// limits.max_stanza_bytes; see BOSHConfig.defaults.
	defaultBOSHMaxWait      = 60 * time.Second  // TODO(default): bosh.DefaultMaxWait
	defaultBOSHMaxHold      = 1                 // TODO(default): bosh.DefaultMaxHold
	defaultBOSHInactivity   = 60 * time.Second  // TODO(default): bosh.DefaultInactivity
	defaultBOSHPolling      = 5 * time.Second   // TODO(default): bosh.DefaultPolling
	defaultBOSHMaxPause     = 120 * time.Second // TODO(default): bosh.DefaultMaxPause
	defaultBOSHCORSMaxAge   = 2 * time.Hour     // TODO(default): bosh.DefaultCORSMaxAge
	defaultBOSHWriteTimeout = 10 * time.Second  // TODO(default): bosh.DefaultWriteTimeout
	// A request body holds a few stanzas and their <body/> wrapper.
	boshBodyStanzas = 4 // TODO(default): bosh.DefaultBodyStanzas

	// [json] (docs/json-api.md).
	defaultJSONMaxWait    = 30 * time.Second // TODO(default): jsonapi.DefaultWait
	defaultJSONInactivity = 60 * time.Second // TODO(default): jsonapi.DefaultInactivity
	defaultJSONHeartbeat  = 15 * time.Second // TODO(default): jsonapi.DefaultHeartbeat
	defaultJSONTokenTTL   = 60 * time.Second // TODO(default): jsonapi.DefaultTokenTTL
)

// Defaults sets every field that is zero to its default.
func (c *Config) Defaults() {
	setDefault(&c.Listen, defaultListen)
	setDefault(&c.LogLevel, defaultLogLevel)
	setDefault(&c.WebSocket.Path, defaultWebSocketPath)
	setDefault(&c.WebSocket.PingInterval.Duration, defaultPingInterval)
	setDefault(&c.WebSocket.WriteTimeout.Duration, defaultWebSocketTimeout)
	setDefault(&c.Limits.MaxStanzaBytes, defaultMaxStanzaBytes)
	setDefault(&c.Limits.MaxSessions, defaultMaxSessions)
	setDefault(&c.Limits.QueueBytes, defaultQueueBytes)
	c.Limits.abuseDefaults()
	setDefault(&c.Upstream.Keepalive.Duration, xmppclient.DefaultKeepalive)
	setDefault(&c.Upstream.KeepaliveTimeout.Duration, xmppclient.DefaultKeepaliveTimeout)
	c.BOSH.defaults(c.Limits.MaxStanzaBytes)
	c.JSON.defaults()
	if c.Web.Demo == nil {
		demo := true
		c.Web.Demo = &demo
	}
	for name, d := range c.Domains {
		setDefault(&d.Security, SecurityStartTLS)
		// A bracketed IPv6 domain is certified as the bare address.
		setDefault(&d.ServerName, strings.Trim(strings.ToLower(name), "[]"))
		c.Domains[name] = d
	}
	if c.Metrics.Listen == nil {
		listen := defaultMetricsListen
		c.Metrics.Listen = &listen
	}
	if c.AllowAnyDomain == nil {
		allow := true
		c.AllowAnyDomain = &allow
	}
	setDefault(&c.ShutdownTimeout.Duration, defaultShutdownTimeout)
}

// defaults fills the [bosh] table; the body bound follows the stanza bound.
func (b *BOSHConfig) defaults(maxStanzaBytes int) {
	setDefault(&b.Path, defaultBOSHPath)
	setDefault(&b.MaxWait.Duration, defaultBOSHMaxWait)
	setDefault(&b.Inactivity.Duration, defaultBOSHInactivity)
	setDefault(&b.Polling.Duration, defaultBOSHPolling)
	setDefault(&b.MaxPause.Duration, defaultBOSHMaxPause)
	setDefault(&b.WriteTimeout.Duration, defaultBOSHWriteTimeout)
	setDefault(&b.CORSMaxAge.Duration, defaultBOSHCORSMaxAge)
	setDefault(&b.MaxHold, defaultBOSHMaxHold)
	setDefault(&b.Requests, b.MaxHold+1)
	setDefault(&b.MaxBodyBytes, boshBodyStanzas*maxStanzaBytes)
}

// defaults fills the [json] table.
func (j *JSONConfig) defaults() {
	setDefault(&j.Path, defaultJSONPath)
	setDefault(&j.TokenTTL.Duration, defaultJSONTokenTTL)
	setDefault(&j.MaxWait.Duration, defaultJSONMaxWait)
	setDefault(&j.Inactivity.Duration, defaultJSONInactivity)
	setDefault(&j.Heartbeat.Duration, defaultJSONHeartbeat)
	setDefault(&j.ResumeWindow.Duration, jsonapi.DefaultResumeWindow)
	if j.Resume == nil {
		resume := true
		j.Resume = &resume
	}
}

// setDefault sets *v to def if it is the zero value. In the file, that is
// leaving the key out: the decoder refuses an explicit zero number or
// duration, and an empty string is no value.
func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}
