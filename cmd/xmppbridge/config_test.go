package main

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
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

// quote writes s as a TOML basic string.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
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
		`config: xmppbridge.toml: bogus: unknown key (known here: listen, tls_cert_file, tls_key_file, trusted_proxies, proxy_protocol, log_level, allowed_origins, public_url, websocket, bosh, json, web, limits, upstream, metrics, cluster, tls, domain, allow_any_domain, shutdown_timeout, lame_duck)`,
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

func TestUpstream(t *testing.T) {
	listedOnly, err := Parse("test.toml", []byte("allow_any_domain = false\n[domain.\"Example.com\"]\naddress = \"xmpp.example.com:5222\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	literal, err := Parse("test.toml", []byte("[domain.\"[::1]\"]\naddress = \"[::1]:5222\"\nsecurity = \"plaintext\"\n[domain.\"[2001:db8::7]\"]\n"))
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
		{"IPv4 literal, not listed", Default(), "127.0.0.1", DomainConfig{}, false},
		{"IPv6 literal, not listed", Default(), "[::1]", DomainConfig{}, false},
		{"public IPv4 literal, not listed", Default(), "93.184.215.14", DomainConfig{}, false},
		{"IPv6 literal, listed", literal, "[::1]", DomainConfig{Address: "[::1]:5222", Security: "plaintext", ServerName: "::1"}, true},
		{"IPv6 literal without address, listed", literal, "[2001:db8::7]", DomainConfig{Security: "starttls", ServerName: "2001:db8::7"}, true},
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
