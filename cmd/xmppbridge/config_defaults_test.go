package main

import (
	"log/slog"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestDefault(t *testing.T) {
	c := Default()
	tests := []struct {
		name      string
		got, want any
	}{
		{"listen", c.Listen, "127.0.0.1:5280"},
		{"log_level", c.LogLevel, "info"},
		{"tls_cert_file", c.TLSCertFile, ""},
		{"tls_key_file", c.TLSKeyFile, ""},
		{"trusted_proxies", len(c.TrustedProxies), 0},
		{"proxy_protocol", c.ProxyProtocol, false},
		{"allowed_origins", len(c.Origins), 0},
		{"public_url", c.PublicURL, ""},
		{"websocket.path", c.WebSocket.Path, "/xmpp-websocket"},
		{"websocket.ping_interval", c.WebSocket.PingInterval.Duration, 30 * time.Second},
		{"websocket.write_timeout", c.WebSocket.WriteTimeout.Duration, 10 * time.Second},
		{"bosh.path", c.BOSH.Path, "/http-bind"},
		{"bosh.max_wait", c.BOSH.MaxWait.Duration, 60 * time.Second},
		{"bosh.max_hold", c.BOSH.MaxHold, 1},
		{"bosh.requests", c.BOSH.Requests, 2},
		{"bosh.inactivity", c.BOSH.Inactivity.Duration, 60 * time.Second},
		{"bosh.polling", c.BOSH.Polling.Duration, 5 * time.Second},
		{"bosh.max_pause", c.BOSH.MaxPause.Duration, 120 * time.Second},
		{"bosh.max_body_bytes", c.BOSH.MaxBodyBytes, 4 * 262144},
		{"bosh.write_timeout", c.BOSH.WriteTimeout.Duration, 10 * time.Second},
		{"bosh.cors_max_age", c.BOSH.CORSMaxAge.Duration, 2 * time.Hour},
		{"bosh.allow_credentials", c.BOSH.AllowCredentials, false},
		{"json.path", c.JSON.Path, "/json"},
		{"json.allow_insecure_password", c.JSON.AllowInsecurePassword, false},
		{"json.prebind_secret", c.JSON.PrebindSecret, ""},
		{"json.token_ttl", c.JSON.TokenTTL.Duration, 60 * time.Second},
		{"json.max_wait", c.JSON.MaxWait.Duration, 30 * time.Second},
		{"json.inactivity", c.JSON.Inactivity.Duration, 60 * time.Second},
		{"json.heartbeat", c.JSON.Heartbeat.Duration, 15 * time.Second},
		{"json.resume", c.JSON.Resume != nil && *c.JSON.Resume, true},
		{"json.resume_window", c.JSON.ResumeWindow.Duration, 2 * time.Minute},
		{"json.resume_key", c.JSON.ResumeKey, ""},
		{"web.demo", c.Web.Demo != nil && *c.Web.Demo, true},
		{"limits.max_stanza_bytes", c.Limits.MaxStanzaBytes, 262144},
		{"limits.max_sessions", c.Limits.MaxSessions, 9000},
		{"limits.queue_bytes", c.Limits.QueueBytes, 1048576},
		{"limits.sessions_per_address", c.Limits.SessionsPerAddress, 100},
		{"limits.opens_per_minute", c.Limits.OpensPerMinute, 60},
		{"limits.open_burst", c.Limits.OpenBurst, 30},
		{"limits.reserved_sessions", c.Limits.ReservedSessions, 2250},
		{"limits.auth_timeout", c.Limits.AuthTimeout.Duration, time.Minute},
		{"limits.failed_logins_free", c.Limits.FailedLoginsFree, 5},
		{"limits.failed_login_delay", c.Limits.FailedLoginDelay.Duration, time.Second},
		{"limits.failed_login_max_delay", c.Limits.FailedLoginMaxDelay.Duration, 30 * time.Second},
		{"limits.failed_logins_refused", c.Limits.FailedLoginsRefused, 30},
		{"limits.failed_logins_forget", c.Limits.FailedLoginsForget.Duration, 15 * time.Minute},
		{"metrics.listen", *c.Metrics.Listen, "127.0.0.1:9465"},
		{"tls.ca_file", c.TLS.CAFile, ""},
		{"domain", len(c.Domains), 0},
		{"allow_any_domain", c.AllowAnyDomain != nil && *c.AllowAnyDomain, true},
		{"shutdown_timeout", c.ShutdownTimeout.Duration, 10 * time.Second},
		{"lame_duck", c.LameDuck.Duration, time.Duration(0)},
		{"Level", c.Level(), slog.LevelInfo},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
	t.Run("empty file", func(t *testing.T) {
		got, err := Parse("empty.toml", nil)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Errorf("Parse(empty) = %+v, want Default() = %+v", got, c)
		}
	})
	t.Run("validates", func(t *testing.T) {
		if err := c.validate(); err != nil {
			t.Error(err)
		}
	})
}

func TestExampleFile(t *testing.T) {
	const path = "../../xmppbridge.example.toml"
	t.Run("equals defaults", func(t *testing.T) {
		c, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if want := Default(); !reflect.DeepEqual(c, want) {
			t.Errorf("the example's values differ from the defaults:\n got %+v\nwant %+v", c, want)
		}
	})
	t.Run("commented domain tables", func(t *testing.T) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		// Uncomment "# [table]" and "# key = value" lines, leaving prose
		// and the indented examples inside prose alone.
		src := regexp.MustCompile(`(?m)^# (\[|[a-z_]+ = )`).ReplaceAllString(string(data), "$1")
		caFile, _ := writeCA(t, t.TempDir(), "ca.pem", "xmpp.example.com")
		src = strings.ReplaceAll(src, `"/etc/xmppbridge/example-ca.pem"`, quote(caFile))
		c, err := Parse(path, []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]DomainConfig{
			"example.com": {Address: "xmpp.example.com:5223", Security: "tls", CAFile: caFile, ServerName: "xmpp.example.com"},
			"localhost":   {Address: "127.0.0.1:5222", Security: "plaintext", ServerName: "localhost"},
		}
		if !reflect.DeepEqual(c.Domains, want) {
			t.Errorf("Domains = %+v, want %+v", c.Domains, want)
		}
		if want := (ClusterConfig{Node: "alpha", Peers: map[string]string{"alpha": "http://10.0.0.11:5280", "beta": "http://10.0.0.12:5280"}}); !reflect.DeepEqual(c.Cluster, want) {
			t.Errorf("Cluster = %+v, want %+v", c.Cluster, want)
		}
		// The [bosh] keys shown commented out are the derived defaults.
		if c.BOSH != Default().BOSH {
			t.Errorf("BOSH = %+v, want the defaults %+v", c.BOSH, Default().BOSH)
		}
	})
}
