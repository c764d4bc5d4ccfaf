package main

import (
	"strings"
	"time"

	"github.com/xmppbridge/xmppbridge/bosh"
	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/jsonapi"
	"github.com/xmppbridge/xmppbridge/wsframe"
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

// The defaults of the library packages: what a zero field of their Config
// means, declared once, there.
const (
	// [websocket]; jsonapi takes its ping interval and write timeout too.
	defaultPingInterval     = wsframe.DefaultPingInterval
	defaultWebSocketTimeout = wsframe.DefaultWriteTimeout
	defaultMaxStanzaBytes   = xmppclient.DefaultMaxStanzaBytes
	defaultMaxSessions      = bridge.DefaultMaxSessions
	defaultQueueBytes       = bridge.DefaultQueueBytes

	// [bosh]. Requests and max_body_bytes follow max_hold and
	// limits.max_stanza_bytes; see BOSHConfig.defaults.
	defaultBOSHMaxWait      = bosh.DefaultMaxWait
	defaultBOSHMaxHold      = bosh.DefaultMaxHold
	defaultBOSHInactivity   = bosh.DefaultInactivity
	defaultBOSHPolling      = bosh.DefaultPolling
	defaultBOSHMaxPause     = bosh.DefaultMaxPause
	defaultBOSHCORSMaxAge   = bosh.DefaultCORSMaxAge
	defaultBOSHWriteTimeout = bosh.DefaultWriteTimeout
	boshBodyStanzas         = bosh.DefaultBodyStanzas

	// [json] (docs/json-api.md).
	defaultJSONMaxWait    = jsonapi.DefaultWait
	defaultJSONInactivity = jsonapi.DefaultInactivity
	defaultJSONHeartbeat  = jsonapi.DefaultHeartbeat
	defaultJSONTokenTTL   = jsonapi.DefaultTokenTTL
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
