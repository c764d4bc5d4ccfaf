package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	t.Run("fine", func(t *testing.T) {
		path := write("good.toml", `
listen = "0.0.0.0:5280"
allowed_origins = ["https://chat.example.com"]
allow_any_domain = false
[json]
prebind_secret = "0123456789abcdef"
[domain."example.com"]
address = "127.0.0.1:5222"
security = "plaintext"
[domain."example.net"]
`)
		var out bytes.Buffer
		if err := checkConfig(&out, path); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{
			path + ": OK\n",
			"  listen     http://0.0.0.0:5280\n",
			"  websocket  /xmpp-websocket\n",
			"  bosh       /http-bind\n",
			"  json       /json/ (prebind on; passwords only over TLS or from loopback)\n",
			"  discovery  /.well-known/host-meta, /.well-known/host-meta.json: endpoints from each request's scheme and Host\n",
			"  health     /healthz, /readyz (lame duck: none)\n",
			"  metrics    http://127.0.0.1:9465/metrics (and /healthz, /readyz)\n",
			"  demo       /\n",
			"  origins    https://chat.example.com and the same origin (IP addresses, localhost)\n",
			"  domain     example.com → 127.0.0.1:5222 (plaintext)\n",
			"  domain     example.net → SRV lookup (starttls)\n",
			"  limits     9000 sessions, 262144-byte stanzas, 1048576-byte queues\n",
			"  per client 100 sessions, 60 opens a minute; login within 1m0s; 2250 for logged-in sessions\n",
			"  logins     5 failures free, then waits of 1s to 30s; addresses refused after 30, for 15m0s\n",
		} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("summary lacks %q:\n%s", want, out.String())
			}
		}
		if strings.Contains(out.String(), "any other") {
			t.Errorf("summary offers other domains with allow_any_domain = false:\n%s", out.String())
		}
	})
	t.Run("problems", func(t *testing.T) {
		path := write("bad.toml", "log_level = \"loud\"\nbogus = 1\n[limits]\nmax_sessions = -1\n")
		var out bytes.Buffer
		err := checkConfig(&out, path)
		var ce *ConfigError
		if !errors.As(err, &ce) || len(ce.Problems) != 3 {
			t.Fatalf("checkConfig error = %v, want the three problems", err)
		}
		if out.Len() != 0 {
			t.Errorf("checkConfig wrote %q beside the problems", out.String())
		}
	})
	t.Run("through run", func(t *testing.T) {
		path := write("bad2.toml", "listen = 80\nlog_level = \"loud\"\n")
		err := run(t.Context(), []string{"-check-config", path}, nil)
		if err == nil || strings.Count(err.Error(), "\n") != 1 {
			t.Errorf("run -check-config = %v, want two problems", err)
		}
	})
}
