package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/fakexmpp"
	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
)

// problems parses src and returns the problems found, failing the test if
// the error is of another kind.
func problems(t *testing.T, src string) []ConfigProblem {
	t.Helper()
	_, err := Parse("test.toml", []byte(src))
	if err == nil {
		return nil
	}
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("Parse: error %T %v, want *ConfigError", err, err)
	}
	if ce.Name != "test.toml" {
		t.Errorf("ConfigError.Name = %q, want test.toml", ce.Name)
	}
	return ce.Problems
}

// writeCA writes a self-signed CA certificate for name into dir and returns
// the file's path and the certificate.
func writeCA(t *testing.T, dir, file, name string) (string, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		DNSNames:              []string{name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, file)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, cert
}

// quote writes s as a TOML basic string.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func TestDefault(t *testing.T) {
	c := Default()
	tests := []struct {
		name      string
		got, want any
	}{
		{"listen", c.Listen, "127.0.0.1:5280"},
		{"log_level", c.LogLevel, "info"},
		{"allowed_origins", len(c.Origins), 0},
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
		{"web.demo", c.Web.Demo != nil && *c.Web.Demo, true},
		{"limits.max_stanza_bytes", c.Limits.MaxStanzaBytes, 262144},
		{"limits.max_sessions", c.Limits.MaxSessions, 9000},
		{"limits.queue_bytes", c.Limits.QueueBytes, 1048576},
		{"tls.ca_file", c.TLS.CAFile, ""},
		{"domain", len(c.Domains), 0},
		{"allow_any_domain", c.AllowAnyDomain != nil && *c.AllowAnyDomain, true},
		{"shutdown_timeout", c.ShutdownTimeout.Duration, 10 * time.Second},
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
		// The [bosh] keys shown commented out are the derived defaults.
		if c.BOSH != Default().BOSH {
			t.Errorf("BOSH = %+v, want the defaults %+v", c.BOSH, Default().BOSH)
		}
	})
}

func TestUnknownKeys(t *testing.T) {
	tests := []struct {
		name, src, key string
	}{
		{"top level", `lisen = ":5280"`, "lisen"},
		{"other case", `Listen = ":5280"`, "Listen"},
		{"nested table", "[websocket]\npth = \"/ws\"", "websocket.pth"},
		{"bosh table", "[bosh]\nmax_hold_requests = 2", "bosh.max_hold_requests"},
		{"dotted key", `limits.max_stanzas = 5`, "limits.max_stanzas"},
		{"unknown table", "[metrics]\nlisten = \":9100\"", "metrics"},
		{"inside a domain table", "[domain.\"example.com\"]\nadress = \"x:5222\"", `domain."example.com".adress`},
		{"inline domain table", `domain = { "example.com" = { port = 5222 } }`, `domain."example.com".port`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := problems(t, tt.src)
			if len(got) != 1 || got[0].Key != tt.key || !strings.HasPrefix(got[0].Msg, "unknown key") {
				t.Errorf("problems = %q, want one unknown key %s", got, tt.key)
			}
		})
	}
}

func TestManyProblemsAtOnce(t *testing.T) {
	const src = `
listen = 5280
log_level = "verbose"
bogus = true
shutdown_timeout = "10"

[limits]
max_stanza_bytes = 100
queue_bytes = "big"

[domain."example.com"]
security = "tsl"
colour = "blue"
`
	_, err := Parse("xmppbridge.toml", []byte(src))
	if err == nil {
		t.Fatal("Parse succeeded")
	}
	want := []string{
		`config: xmppbridge.toml: listen: must be a string, not an integer`,
		`config: xmppbridge.toml: bogus: unknown key (known here: listen, log_level, allowed_origins, websocket, bosh, json, web, limits, upstream, tls, domain, allow_any_domain, shutdown_timeout)`,
		`config: xmppbridge.toml: shutdown_timeout: "10" is not a duration such as "30s" or "1m30s"`,
		`config: xmppbridge.toml: limits.queue_bytes: must be an integer, not a string`,
		`config: xmppbridge.toml: domain."example.com".colour: unknown key (known here: address, security, ca_file, server_name)`,
		`config: xmppbridge.toml: log_level: "verbose" is not one of debug, info, warn, error`,
		`config: xmppbridge.toml: limits.max_stanza_bytes: 100 is not between 1024 and 16777216`,
		`config: xmppbridge.toml: domain."example.com".security: "tsl" is not one of starttls, tls, plaintext`,
	}
	if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, want) {
		t.Errorf("error lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestValidation(t *testing.T) {
	dir := t.TempDir()
	caFile, _ := writeCA(t, dir, "ca.pem", "xmpp.example.com")
	noCert := filepath.Join(dir, "empty.pem")
	if err := os.WriteFile(noCert, []byte("no certificate here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")

	tests := []struct {
		name string
		src  string
		key  string // "" means the source is valid
		msg  string // part of the message
	}{
		{"listen ok", `listen = "[::1]:5280"`, "", ""},
		{"listen all interfaces, any port", `listen = ":0"`, "", ""},
		{"listen without port", `listen = "localhost"`, "listen", `"localhost" is not host:port`},
		{"listen port not a number", `listen = "localhost:http"`, "listen", `port "http" is not a number`},
		{"listen port too large", `listen = "localhost:65536"`, "listen", "not a number from 1 to 65535"},

		{"log_level debug", `log_level = "debug"`, "", ""},
		{"log_level error", `log_level = "error"`, "", ""},
		{"log_level upper case", `log_level = "INFO"`, "log_level", `"INFO" is not one of debug, info, warn, error`},

		{"origins ok", `allowed_origins = ["https://chat.example.com", "http://LOCALHOST:8080", "http://[::1]:3000", "*"]`, "", ""},
		{"origin with path", `allowed_origins = ["https://chat.example.com/"]`, "allowed_origins", "has a path"},
		{"origin with query", `allowed_origins = ["https://chat.example.com?a=b"]`, "allowed_origins", "has a path, query or fragment"},
		{"origin without scheme", `allowed_origins = ["chat.example.com"]`, "allowed_origins", "is not an origin (scheme://host[:port])"},
		{"origin host:port without scheme", `allowed_origins = ["localhost:8080"]`, "allowed_origins", "is not an origin"},
		{"origin wildcard subdomain", `allowed_origins = ["https://*.example.com"]`, "allowed_origins", `only "*" on its own is a wildcard`},
		{"origin with user", `allowed_origins = ["https://me@example.com"]`, "allowed_origins", "user information"},
		{"origin bad port", `allowed_origins = ["https://example.com:0"]`, "allowed_origins", `port "0"`},
		{"origin null", `allowed_origins = ["null"]`, "allowed_origins", "is not an origin"},

		{"websocket path", "[websocket]\npath = \"/ws\"", "", ""},
		{"websocket path relative", "[websocket]\npath = \"ws\"", "websocket.path", `"ws" is not a URL path starting with /`},
		{"websocket path with query", "[websocket]\npath = \"/ws?x\"", "websocket.path", "is not a URL path"},
		{"ping_interval negative", "[websocket]\nping_interval = \"-1s\"", "websocket.ping_interval", "must be greater than zero"},
		{"ping_interval zero", "[websocket]\nping_interval = \"0s\"", "websocket.ping_interval", "must be greater than zero"},
		{"write_timeout negative", "[websocket]\nwrite_timeout = \"-10s\"", "websocket.write_timeout", "must be greater than zero"},
		{"shutdown_timeout negative", `shutdown_timeout = "-1m"`, "shutdown_timeout", "must be greater than zero"},

		{"bosh path", "[bosh]\npath = \"/bosh\"", "", ""},
		{"bosh path relative", "[bosh]\npath = \"bosh\"", "bosh.path", `"bosh" is not a URL path starting with /`},
		{"bosh path same as websocket", "[bosh]\npath = \"/xmpp-websocket\"", "bosh.path", "is websocket.path too"},
		{"bosh max_wait", "[bosh]\nmax_wait = \"2m\"", "", ""},
		{"bosh max_wait too long", "[bosh]\nmax_wait = \"11m\"", "bosh.max_wait", "is not between 1s and 10m0s"},
		{"bosh max_wait fraction", "[bosh]\nmax_wait = \"1500ms\"", "bosh.max_wait", "is not a whole number of seconds"},
		{"bosh max_wait negative", "[bosh]\nmax_wait = \"-5s\"", "bosh.max_wait", "is not between"},
		{"bosh max_hold", "[bosh]\nmax_hold = 2", "", ""},
		{"bosh max_hold zero", "[bosh]\nmax_hold = 0", "bosh.max_hold", "must be greater than zero (leave it out for the default)"},
		{"bosh max_hold too many", "[bosh]\nmax_hold = 9", "bosh.max_hold", "9 is not between 1 and 8"},
		{"bosh max_hold far too many", "[bosh]\nmax_hold = 90", "bosh.max_hold", "90 is not between 1 and 8"},
		{"bosh max_hold sets requests", "[bosh]\nmax_hold = 3", "", ""},
		{"bosh requests", "[bosh]\nrequests = 5", "", ""},
		{"bosh requests not above max_hold", "[bosh]\nmax_hold = 2\nrequests = 2", "bosh.requests", "2 is not between bosh.max_hold + 1 (3) and 16"},
		{"bosh requests too many", "[bosh]\nrequests = 17", "bosh.requests", "is not between"},
		{"bosh polling not below inactivity", "[bosh]\npolling = \"60s\"", "bosh.polling", "1m0s is not shorter than bosh.inactivity (1m0s)"},
		{"bosh inactivity", "[bosh]\ninactivity = \"30s\"\npolling = \"2s\"", "", ""},
		{"bosh inactivity too long", "[bosh]\ninactivity = \"2h\"", "bosh.inactivity", "is not between 1s and 1h0m0s"},
		{"bosh max_pause", "[bosh]\nmax_pause = \"10m\"", "", ""},
		{"bosh max_pause fraction", "[bosh]\nmax_pause = \"0.5s\"", "bosh.max_pause", "is not between"},
		{"bosh max_body_bytes", "[bosh]\nmax_body_bytes = 300000", "", ""},
		{"bosh max_body_bytes below a stanza", "[bosh]\nmax_body_bytes = 262144", "bosh.max_body_bytes", "262144 is not between limits.max_stanza_bytes + 1024 (263168) and 67108864"},
		{"bosh max_body_bytes follows max_stanza_bytes", "[limits]\nmax_stanza_bytes = 4194304\nqueue_bytes = 4194304", "", ""},
		{"bosh write_timeout negative", "[bosh]\nwrite_timeout = \"-1s\"", "bosh.write_timeout", "must be greater than zero"},
		{"bosh cors_max_age short", "[bosh]\ncors_max_age = \"10ms\"", "bosh.cors_max_age", "less than a second"},
		{"bosh allow_credentials", "[bosh]\nallow_credentials = true", "", ""},
		{"json path", "[json]\npath = \"/api/xmpp\"", "", ""},
		{"json path with a slash at the end", "[json]\npath = \"/json/\"", "json.path", "not ending with /"},
		{"json path of bosh", "[json]\npath = \"/http-bind\"", "json.path", "the path of another endpoint"},
		{"json prebind_secret", "[json]\nprebind_secret = \"0123456789abcdef\"", "", ""},
		{"json prebind_secret short", "[json]\nprebind_secret = \"secret\"", "json.prebind_secret", "at least 16"},
		{"json max_wait too long", "[json]\nmax_wait = \"11m\"", "json.max_wait", "is not between 1s and 10m0s"},
		{"json heartbeat short", "[json]\nheartbeat = \"100ms\"", "json.heartbeat", "is not between 1s"},
		{"web demo off", "[web]\ndemo = false", "", ""},

		{"max_stanza_bytes smallest", "[limits]\nmax_stanza_bytes = 1024", "", ""},
		{"max_stanza_bytes largest", "[limits]\nmax_stanza_bytes = 16777216\nqueue_bytes = 16777216", "", ""},
		{"max_stanza_bytes largest, larger body", "[limits]\nmax_stanza_bytes = 16777216\nqueue_bytes = 16777216\n[bosh]\nmax_body_bytes = 16778240", "", ""},
		{"max_stanza_bytes too small", "[limits]\nmax_stanza_bytes = 1023", "limits.max_stanza_bytes", "1023 is not between 1024 and 16777216"},
		{"max_stanza_bytes too large", "[limits]\nmax_stanza_bytes = 16777217\nqueue_bytes = 33554432", "limits.max_stanza_bytes", "is not between"},
		{"max_sessions zero", "[limits]\nmax_sessions = 0", "limits.max_sessions", "must be greater than zero (leave it out for the default)"},
		{"max_sessions negative", "[limits]\nmax_sessions = -1", "limits.max_sessions", "must be greater than zero"},
		{"max_sessions one", "[limits]\nmax_sessions = 1", "", ""},
		{"queue_bytes negative", "[limits]\nqueue_bytes = -1", "limits.queue_bytes", "must be greater than zero"},
		{"queue_bytes below max_stanza_bytes", "[limits]\nqueue_bytes = 100000", "limits.queue_bytes", "100000 is smaller than limits.max_stanza_bytes (262144)"},
		{"queue_bytes equal to max_stanza_bytes", "[limits]\nqueue_bytes = 262144", "", ""},

		{"tls.ca_file", "[tls]\nca_file = " + quote(caFile), "", ""},
		{"tls.ca_file missing", "[tls]\nca_file = " + quote(missing), "tls.ca_file", "no such file"},
		{"tls.ca_file without certificate", "[tls]\nca_file = " + quote(noCert), "tls.ca_file", "holds no PEM certificate"},

		{"allow_any_domain false with domains", "allow_any_domain = false\n[domain.\"example.com\"]", "", ""},
		{"allow_any_domain false alone", "allow_any_domain = false", "allow_any_domain", "refuses every domain"},

		{"domain IPv4", `[domain."192.0.2.1"]`, "", ""},
		{"domain IPv6", `[domain."[2001:db8::1]"]`, "", ""},
		{"domain IPv6 without brackets", `[domain."2001:db8::1"]`, `domain."2001:db8::1"`, "written in brackets"},
		{"domain with space", `[domain."ex ample.com"]`, `domain."ex ample.com"`, `is not a domain name: label "ex ample" holds ' '`},
		{"domain trailing dot", `[domain."example.com."]`, `domain."example.com."`, "ends with a dot"},
		{"domain empty label", `[domain."example..com"]`, `domain."example..com"`, "is not 1 to 63 bytes long"},
		{"domain hyphen", `[domain."-example.com"]`, `domain."-example.com"`, "starts or ends with a hyphen"},
		{"domain long label", `[domain."` + strings.Repeat("a", 64) + `.com"]`, `domain."` + strings.Repeat("a", 64) + `.com"`, "not 1 to 63 bytes"},
		{"domain not ASCII", `[domain."bücher.example"]`, `domain."bücher.example"`, "xn-- form"},
		{"domain punycode", `[domain."xn--bcher-kva.example"]`, "", ""},
		{"domain case duplicate", "[domain.\"example.com\"]\n[domain.\"Example.COM\"]", `domain."example.com"`, `same domain as domain."Example.COM"`},

		{"security tls", "[domain.\"example.com\"]\nsecurity = \"tls\"", "", ""},
		{"security starttls", "[domain.\"example.com\"]\nsecurity = \"starttls\"", "", ""},
		{"security misspelt", "[domain.\"example.com\"]\nsecurity = \"tsl\"", `domain."example.com".security`, `"tsl" is not one of starttls, tls, plaintext`},
		{"plaintext to 127.0.0.1", "[domain.\"example.com\"]\nsecurity = \"plaintext\"\naddress = \"127.0.0.1:5222\"", "", ""},
		{"plaintext to 127.1.2.3", "[domain.\"example.com\"]\nsecurity = \"plaintext\"\naddress = \"127.1.2.3:5222\"", "", ""},
		{"plaintext to ::1", "[domain.\"example.com\"]\nsecurity = \"plaintext\"\naddress = \"[::1]:5222\"", "", ""},
		{"plaintext to localhost", "[domain.\"example.com\"]\nsecurity = \"plaintext\"\naddress = \"LocalHost:5222\"", "", ""},
		{"plaintext to a remote host", "[domain.\"example.com\"]\nsecurity = \"plaintext\"\naddress = \"10.0.0.1:5222\"", `domain."example.com".security`, `plaintext is allowed only to a loopback address (127.0.0.0/8, ::1 or localhost), not "10.0.0.1:5222"`},
		{"plaintext to a name", "[domain.\"example.com\"]\nsecurity = \"plaintext\"\naddress = \"xmpp.example.com:5222\"", `domain."example.com".security`, "allowed only to a loopback address"},
		{"plaintext without address", "[domain.\"example.com\"]\nsecurity = \"plaintext\"", `domain."example.com".security`, "plaintext needs an address on a loopback host"},
		{"address without port", "[domain.\"example.com\"]\naddress = \"xmpp.example.com\"", `domain."example.com".address`, "is not host:port"},
		{"address without host", "[domain.\"example.com\"]\naddress = \":5222\"", `domain."example.com".address`, "has no host"},
		{"address port zero", "[domain.\"example.com\"]\naddress = \"xmpp.example.com:0\"", `domain."example.com".address`, "not a number from 1 to 65535"},
		{"server_name", "[domain.\"example.com\"]\nserver_name = \"xmpp.example.net\"", "", ""},
		{"server_name IP", "[domain.\"example.com\"]\nserver_name = \"192.0.2.7\"", "", ""},
		{"server_name invalid", "[domain.\"example.com\"]\nserver_name = \"xmpp example\"", `domain."example.com".server_name`, "is not a DNS name or IP address"},
		{"domain ca_file", "[domain.\"example.com\"]\nca_file = " + quote(caFile), "", ""},
		{"domain ca_file missing", "[domain.\"example.com\"]\nca_file = " + quote(missing), `domain."example.com".ca_file`, "no such file"},
		{"domain ca_file without certificate", "[domain.\"example.com\"]\nca_file = " + quote(noCert), `domain."example.com".ca_file`, "holds no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := problems(t, tt.src)
			if tt.key == "" {
				if len(got) != 0 {
					t.Errorf("problems = %q, want none", got)
				}
				return
			}
			if len(got) != 1 || got[0].Key != tt.key || !strings.Contains(got[0].Msg, tt.msg) {
				t.Errorf("problems = %q, want one under %s containing %q", got, tt.key, tt.msg)
			}
		})
	}
}

func TestValidateBuiltConfig(t *testing.T) {
	t.Run("without defaults", func(t *testing.T) {
		var c Config
		err := c.validate()
		if err == nil {
			t.Fatal("the zero Config validated")
		}
		if !strings.Contains(err.Error(), "config: listen: ") {
			t.Errorf("error = %q, want a problem under listen", err)
		}
	})
	t.Run("problems without a file name", func(t *testing.T) {
		c := Default()
		c.Domains = map[string]DomainConfig{"example.com": {Security: "tsl"}}
		c.Limits.MaxSessions = -5
		err := c.validate()
		want := "config: limits.max_sessions: must be greater than zero\n" +
			`config: domain."example.com".security: "tsl" is not one of starttls, tls, plaintext`
		if err == nil || err.Error() != want {
			t.Errorf("error = %v, want\n%s", err, want)
		}
	})
}

func TestWrongTypes(t *testing.T) {
	tests := []struct {
		name, src, key, msg string
	}{
		{"string given integer", `listen = 5280`, "listen", "must be a string, not an integer"},
		{"integer given string", "[limits]\nmax_sessions = \"9000\"", "limits.max_sessions", "must be an integer, not a string"},
		{"integer given float", "[limits]\nmax_sessions = 9e3", "limits.max_sessions", "must be an integer, not a float"},
		{"bool given string", `allow_any_domain = "yes"`, "allow_any_domain", "must be true or false, not a string"},
		{"array given string", `allowed_origins = "*"`, "allowed_origins", "must be an array of strings, not a string"},
		{"array holding an integer", `allowed_origins = ["*", 1]`, "allowed_origins", "must be an array of strings, not an array holding an integer"},
		{"table given string", `websocket = "/ws"`, "websocket", "must be a table, not a string"},
		{"bosh bool given string", "[bosh]\nallow_credentials = \"yes\"", "bosh.allow_credentials", "must be true or false, not a string"},
		{"bosh duration given integer", "[bosh]\nmax_wait = 60", "bosh.max_wait", `must be a duration string such as "30s", not an integer`},
		{"domains given array of tables", "[[domain]]\naddress = \"x:1\"", "domain", "must be a table, not an array of tables"},
		{"domain given string", `domain = { "example.com" = "x:5222" }`, `domain."example.com"`, "must be a table, not a string"},
		{"duration given integer", `shutdown_timeout = 10`, "shutdown_timeout", `must be a duration string such as "30s", not an integer`},
		{"duration given date", `shutdown_timeout = 1979-05-27`, "shutdown_timeout", "not a date-time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := problems(t, tt.src)
			if len(got) != 1 || got[0].Key != tt.key || got[0].Msg != tt.msg && !strings.Contains(got[0].Msg, tt.msg) {
				t.Errorf("problems = %q, want one under %s: %q", got, tt.key, tt.msg)
			}
		})
	}
}

func TestSyntaxError(t *testing.T) {
	_, err := Parse("broken.toml", []byte("listen = \"127.0.0.1:5280\"\nlog_level = info\n"))
	if err == nil {
		t.Fatal("Parse succeeded")
	}
	if got := err.Error(); !strings.HasPrefix(got, "config: broken.toml: line 2") || strings.Contains(got, "\n") {
		t.Errorf("error = %q, want one line starting config: broken.toml: line 2", got)
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"30s", 30 * time.Second, false},
		{"1m30s", 90 * time.Second, false},
		{"500ms", 500 * time.Millisecond, false},
		{"2h", 2 * time.Hour, false},
		{"30", 0, true},
		{"thirty seconds", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var d Duration
			err := d.UnmarshalText([]byte(tt.in))
			if (err != nil) != tt.err {
				t.Fatalf("UnmarshalText(%q) error = %v, want error %v", tt.in, err, tt.err)
			}
			if err != nil {
				return
			}
			if d.Duration != tt.want {
				t.Errorf("UnmarshalText(%q) = %v, want %v", tt.in, d.Duration, tt.want)
			}
			c, err := Parse("test.toml", []byte("shutdown_timeout = "+quote(tt.in)))
			if err != nil {
				t.Fatal(err)
			}
			if c.ShutdownTimeout.Duration != tt.want {
				t.Errorf("shutdown_timeout = %v, want %v", c.ShutdownTimeout.Duration, tt.want)
			}
			text, _ := d.MarshalText()
			var back Duration
			if err := back.UnmarshalText(text); err != nil || back != d {
				t.Errorf("MarshalText round trip: %q gives %v, %v", text, back, err)
			}
		})
	}
}

func TestOriginAllowed(t *testing.T) {
	listed := []string{"https://chat.example.com", "http://localhost:8080", "HTTP://Dev.Example.COM:80", "https://[::1]:8443"}
	tests := []struct {
		name    string
		origins []string
		origin  string
		host    string
		want    bool
	}{
		{"empty list, no Origin", nil, "", "bridge.example.com", true},
		{"empty list, same origin", nil, "https://bridge.example.com", "bridge.example.com", true},
		{"empty list, same origin with port", nil, "http://localhost:5280", "localhost:5280", true},
		{"empty list, same origin in other case", nil, "https://Bridge.Example.com", "BRIDGE.example.com", true},
		{"empty list, default port in Host", nil, "https://bridge.example.com", "bridge.example.com:443", true},
		{"empty list, other port", nil, "http://localhost:8080", "localhost:5280", false},
		{"empty list, other host", nil, "https://evil.example.net", "bridge.example.com", false},
		{"empty list, wrong default port", nil, "https://bridge.example.com", "bridge.example.com:80", false},
		{"empty list, IPv6 same origin", nil, "http://[::1]:5280", "[::1]:5280", true},
		{"empty list, null", nil, "null", "bridge.example.com", false},
		{"empty list, empty Host", nil, "https://bridge.example.com", "", false},

		{"listed", listed, "https://chat.example.com", "bridge.example.com", true},
		{"listed, other case", listed, "HTTPS://CHAT.example.com", "bridge.example.com", true},
		{"listed, explicit default port", listed, "https://chat.example.com:443", "bridge.example.com", true},
		{"listed with default port, sent without", listed, "http://dev.example.com", "bridge.example.com", true},
		{"listed with port", listed, "http://localhost:8080", "bridge.example.com", true},
		{"listed IPv6", listed, "https://[::1]:8443", "bridge.example.com", true},
		{"listed, other scheme", listed, "http://chat.example.com", "bridge.example.com", false},
		{"listed, other port", listed, "http://localhost:8081", "bridge.example.com", false},
		{"listed, subdomain", listed, "https://a.chat.example.com", "bridge.example.com", false},
		{"listed, suffix trick", listed, "https://chat.example.com.evil.net", "bridge.example.com", false},
		{"listed, with path", listed, "https://chat.example.com/", "bridge.example.com", false},
		{"listed, no Origin", listed, "", "bridge.example.com", true},
		{"listed, same origin", listed, "https://bridge.example.com", "bridge.example.com", true},
		{"listed, null", listed, "null", "bridge.example.com", false},

		{"any", []string{"*"}, "https://evil.example.net", "bridge.example.com", true},
		{"any, null", []string{"*"}, "null", "bridge.example.com", true},
		{"any among others", []string{"https://chat.example.com", "*"}, "https://evil.example.net", "bridge.example.com", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Config{Origins: tt.origins}
			if got := c.OriginAllowed(tt.origin, tt.host); got != tt.want {
				t.Errorf("OriginAllowed(%q, %q) with %q = %v, want %v", tt.origin, tt.host, tt.origins, got, tt.want)
			}
		})
	}
}

func TestTLSFor(t *testing.T) {
	dir := t.TempDir()
	globalCA, globalCert := writeCA(t, dir, "global.pem", "xmpp.example.org")
	domainCA, domainCert := writeCA(t, dir, "domain.pem", "xmpp.example.com")
	src := "[tls]\nca_file = \"global.pem\"\n" + // relative: from the file's directory
		"[domain.\"Example.com\"]\nca_file = " + quote(domainCA) + "\nserver_name = \"xmpp.example.com\"\n" +
		"[domain.\"example.net\"]\naddress = \"xmpp.example.net:5222\"\n"
	withCA, err := Parse(filepath.Join(dir, "xmppbridge.toml"), []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if withCA.TLS.CAFile != globalCA {
		t.Errorf("tls.ca_file = %q, want %q", withCA.TLS.CAFile, globalCA)
	}
	// The pools were read by Parse; TLSFor must not need the files.
	for _, f := range []string{globalCA, domainCA} {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name       string
		c          Config
		domain     string
		serverName string
		trusts     *x509.Certificate // nil: RootCAs must be nil (system roots)
		verifyAs   string
	}{
		{"system roots", Default(), "example.com", "example.com", nil, ""},
		{"system roots, domain lowercased", Default(), "EXAMPLE.com", "example.com", nil, ""},
		{"system roots, IPv6 domain", Default(), "[::1]", "::1", nil, ""},
		{"domain's own CA and server name", withCA, "example.com", "xmpp.example.com", domainCert, "xmpp.example.com"},
		{"domain's own CA, other case", withCA, "EXAMPLE.COM", "xmpp.example.com", domainCert, "xmpp.example.com"},
		{"listed domain without CA: global CA", withCA, "example.net", "example.net", globalCert, "xmpp.example.org"},
		{"unlisted domain: global CA", withCA, "example.org", "example.org", globalCert, "xmpp.example.org"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := tt.c.TLSFor(tt.domain)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.MinVersion != tls.VersionTLS12 {
				t.Errorf("MinVersion = %x, want TLS 1.2", cfg.MinVersion)
			}
			if cfg.ServerName != tt.serverName {
				t.Errorf("ServerName = %q, want %q", cfg.ServerName, tt.serverName)
			}
			if tt.trusts == nil {
				if cfg.RootCAs != nil {
					t.Error("RootCAs set, want nil (system roots)")
				}
				return
			}
			if cfg.RootCAs == nil {
				t.Fatal("RootCAs nil, want the configured CA")
			}
			if _, err := tt.trusts.Verify(x509.VerifyOptions{Roots: cfg.RootCAs, DNSName: tt.verifyAs}); err != nil {
				t.Errorf("certificate not trusted by RootCAs: %v", err)
			}
			other := domainCert
			if tt.trusts == domainCert {
				other = globalCert
			}
			if _, err := other.Verify(x509.VerifyOptions{Roots: cfg.RootCAs}); err == nil {
				t.Error("RootCAs trusts the other CA too")
			}
		})
	}

	t.Run("each call a new config", func(t *testing.T) {
		a, _ := withCA.TLSFor("example.com")
		a.ServerName = "changed"
		b, _ := withCA.TLSFor("example.com")
		if b.ServerName != "xmpp.example.com" {
			t.Errorf("ServerName = %q after changing an earlier result", b.ServerName)
		}
	})

	errTests := []struct {
		name   string
		c      Config
		domain string
	}{
		{"invalid domain", Default(), "not a domain"},
		{"empty domain", Default(), ""},
		{"global CA never read", Config{TLS: TLSConfig{CAFile: "/some/ca.pem"}}, "example.com"},
		{"domain CA never read", Config{Domains: map[string]DomainConfig{"example.com": {CAFile: "/some/ca.pem"}}}, "example.com"},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			if cfg, err := tt.c.TLSFor(tt.domain); err == nil {
				t.Errorf("TLSFor(%q) = %+v, want an error", tt.domain, cfg)
			}
		})
	}
}

func TestUpstream(t *testing.T) {
	listedOnly, err := Parse("test.toml", []byte("allow_any_domain = false\n[domain.\"Example.com\"]\naddress = \"xmpp.example.com:5222\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		c      Config
		domain string
		want   DomainConfig
		ok     bool
	}{
		{"any domain", Default(), "example.net", DomainConfig{Security: "starttls", ServerName: "example.net"}, true},
		{"any domain, lowercased", Default(), "Example.NET", DomainConfig{Security: "starttls", ServerName: "example.net"}, true},
		{"invalid domain", Default(), "exa mple.net", DomainConfig{}, false},
		{"empty domain", Default(), "", DomainConfig{}, false},
		{"listed", listedOnly, "example.com", DomainConfig{Address: "xmpp.example.com:5222", Security: "starttls", ServerName: "example.com"}, true},
		{"listed, other case", listedOnly, "EXAMPLE.com", DomainConfig{Address: "xmpp.example.com:5222", Security: "starttls", ServerName: "example.com"}, true},
		{"not listed", listedOnly, "example.net", DomainConfig{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.c.Domain(tt.domain)
			if got != tt.want || ok != tt.ok {
				t.Errorf("Upstream(%q) = %+v, %v; want %+v, %v", tt.domain, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestLevel(t *testing.T) {
	for _, tt := range []struct {
		name string
		want slog.Level
	}{
		{"debug", slog.LevelDebug},
		{"info", slog.LevelInfo},
		{"warn", slog.LevelWarn},
		{"error", slog.LevelError},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := Config{LogLevel: tt.name}
			if got := c.Level(); got != tt.want {
				t.Errorf("Level() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	t.Run("missing file", func(t *testing.T) {
		_, err := Load(filepath.Join(dir, "nope.toml"))
		if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "config: ") {
			t.Errorf("Load error = %v, want config: … not exist", err)
		}
	})
	t.Run("file", func(t *testing.T) {
		path := filepath.Join(dir, "xmppbridge.toml")
		if err := os.WriteFile(path, []byte("listen = \":8080\"\n[limits]\nmax_sessions = 10\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if c.Listen != ":8080" || c.Limits.MaxSessions != 10 || c.Limits.QueueBytes != 1048576 {
			t.Errorf("Load = %+v", c)
		}
	})
	t.Run("problems name the file", func(t *testing.T) {
		path := filepath.Join(dir, "bad.toml")
		if err := os.WriteFile(path, []byte("log_level = \"loud\"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(path)
		want := "config: " + path + `: log_level: "loud" is not one of debug, info, warn, error`
		if err == nil || err.Error() != want {
			t.Errorf("Load error = %v, want %s", err, want)
		}
	})
}

// The Origin header and the domain a browser asks for are untrusted input.

func FuzzOriginAllowed(f *testing.F) {
	for _, s := range []string{"https://chat.example.com", "HTTP://[::1]:80", "null", "http://a:b@c/", "https://x:443", "a:b", "//x", "http://%zz"} {
		f.Add(s, "chat.example.com")
	}
	f.Fuzz(func(t *testing.T, origin, host string) {
		c := Config{Origins: []string{"https://chat.example.com"}}
		c.OriginAllowed(origin, host)
		canon, err := canonicalOrigin(origin)
		if err != nil {
			return
		}
		if again, err := canonicalOrigin(canon); err != nil || again != canon {
			t.Fatalf("canonicalOrigin(%q) = %q, but canonicalOrigin(%q) = %q, %v", origin, canon, canon, again, err)
		}
		listed := Config{Origins: []string{origin}}
		if !listed.OriginAllowed(canon, "") {
			t.Fatalf("%q listed, but its canonical form %q is refused", origin, canon)
		}
	})
}

func FuzzUpstream(f *testing.F) {
	for _, s := range []string{"example.com", "EXAMPLE.com", "[::1]", "127.0.0.1", "", "a..b", "xn--bcher-kva.example", "bücher.example"} {
		f.Add(s)
	}
	c := Default()
	f.Fuzz(func(t *testing.T, domain string) {
		d, ok := c.Domain(domain)
		if !ok {
			return
		}
		cfg, err := c.TLSFor(domain)
		if err != nil {
			t.Fatalf("Upstream(%q) allowed it, but TLSFor fails: %v", domain, err)
		}
		if cfg.ServerName != d.ServerName {
			t.Fatalf("Upstream(%q).ServerName = %q, TLSFor's = %q", domain, d.ServerName, cfg.ServerName)
		}
	})
}

func TestRouteFor(t *testing.T) {
	c, err := Parse("test.toml", []byte("[domain.\"example.com\"]\naddress = \"XMPP.example.com:5222\"\n[domain.\"v6.example\"]\naddress = \"[2001:db8::1]:5222\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	route := routeFor(&c)
	tests := []struct {
		to, host, port string
		want           bool
	}{
		{"example.com", "xmpp.example.com", "5222", true},
		{"EXAMPLE.com", "xmpp.example.com", "5222", true},
		{"example.com", "xmpp.example.com", "5223", false},
		{"example.com", "other.example.com", "5222", false},
		{"v6.example", "2001:db8::1", "5222", true},
		{"example.net", "example.net", "5222", false}, // reached by SRV: no route is known
		{"not a domain", "x", "1", false},
	}
	for _, tt := range tests {
		t.Run(tt.to+"/"+tt.host+":"+tt.port, func(t *testing.T) {
			if got := route(tt.to, tt.host, tt.port); got != tt.want {
				t.Errorf("route(%q, %q, %q) = %v", tt.to, tt.host, tt.port, got)
			}
		})
	}
}

// The daemon mounts BOSH at bosh.path beside the WebSocket endpoint, and
// its drain answers held BOSH requests with system-shutdown.
func TestRunServesBOSH(t *testing.T) {
	// A server that answers nothing, so that requests stay held.
	up := fakexmpp.Start(t, func(c *fakexmpp.Conn) {
		if c.Open("d", fakexmpp.DefaultFeatures) != nil {
			return
		}
		for {
			if it, err := c.Read(); err != nil || it.Kind == xmlsplit.KindClose {
				c.Send("</stream:stream>")
				return
			}
		}
	})
	path := filepath.Join(t.TempDir(), "xmppbridge.toml")
	cfg := fmt.Sprintf("shutdown_timeout = \"5s\"\nallow_any_domain = false\n[bosh]\npath = \"/bosh\"\n[domain.\"localhost\"]\naddress = %q\nsecurity = \"plaintext\"\n", up.Addr)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-config", path, "-listen", "127.0.0.1:0"}, ready) }()
	var url string
	select {
	case addr := <-ready:
		url = "http://" + addr + "/bosh"
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	post := func(body string) string {
		t.Helper()
		res, err := http.Post(url, "text/xml; charset=utf-8", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	const ns = "xmlns='http://jabber.org/protocol/httpbind'"
	if got := post("<body rid='1' to='localhost' ver='1.6' route='xmpp:127.0.0.1:1' " + ns + "/>"); !strings.Contains(got, "condition='host-unknown'") {
		t.Fatalf("a route elsewhere got %s", got)
	}
	created := post(fmt.Sprintf("<body rid='1' to='localhost' ver='1.6' wait='60' hold='1' route='xmpp:%s' %s/>", up.Addr, ns))
	m := regexp.MustCompile(`sid='([0-9a-f]+)'`).FindStringSubmatch(created)
	if m == nil || !strings.Contains(created, "<stream:features") {
		t.Fatalf("session creation got %s", created)
	}
	// A second request releases the first (hold='1'): once the first is
	// answered, the second is held by the handler.
	held := make(chan string, 1)
	go func() { held <- post("<body rid='2' sid='" + m[1] + "' " + ns + "/>") }()
	go func() { held <- post("<body rid='3' sid='" + m[1] + "' " + ns + "><presence/></body>") }()
	if got := <-held; strings.Contains(got, "type=") {
		t.Fatalf("the first request got %s", got)
	}
	cancel()
	select {
	case got := <-held:
		if !strings.Contains(got, "condition='system-shutdown'") {
			t.Fatalf("held request got %s", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the held request was not answered")
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return")
	}
}
