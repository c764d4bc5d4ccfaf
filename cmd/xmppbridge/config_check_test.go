package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xmppbridge/xmppbridge/internal/testcert"
)

func TestValidation(t *testing.T) {
	dir := t.TempDir()
	caFile, _ := writeCA(t, dir, "ca.pem", "xmpp.example.com")
	noCert := filepath.Join(dir, "empty.pem")
	if err := os.WriteFile(noCert, []byte("no certificate here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	certFile, keyFile := testcert.New(t, "chat.example.com").Write(t, dir, "listener")
	_, otherKey := testcert.New(t, "chat.example.com").Write(t, dir, "other")
	pair := func(cert, key string) string {
		return "tls_cert_file = " + quote(cert) + "\ntls_key_file = " + quote(key)
	}

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

		{"metrics off", "[metrics]\nlisten = \"off\"", "", ""},
		{"metrics off by empty", "[metrics]\nlisten = \"\"", "", ""},
		{"metrics on all interfaces", "[metrics]\nlisten = \":9465\"", "", ""},
		{"metrics without port", "[metrics]\nlisten = \"localhost\"", "metrics.listen", `"localhost" is not host:port (or "off")`},
		{"metrics on the listen address", "listen = \"127.0.0.1:5280\"\n[metrics]\nlisten = \"127.0.0.1:5280\"", "metrics.listen", "metrics need a listener of their own"},

		{"listener certificate", pair(certFile, keyFile), "", ""},
		{"listener certificate without key", "tls_cert_file = " + quote(certFile), "tls_key_file", "needed with tls_cert_file"},
		{"listener key without certificate", "tls_key_file = " + quote(keyFile), "tls_cert_file", "needed with tls_key_file"},
		{"listener certificate missing", pair(missing, keyFile), "tls_cert_file", "no such file"},
		{"listener key of another certificate", pair(certFile, otherKey), "tls_cert_file", "private key does not match public key"},
		{"listener certificate not PEM", pair(noCert, keyFile), "tls_cert_file", "failed to find any PEM data"},
		{"trusted_proxies", `trusted_proxies = ["127.0.0.1", "10.0.0.0/8", "2001:db8::/32"]`, "", ""},
		{"trusted_proxies name", `trusted_proxies = ["localhost"]`, "trusted_proxies", `"localhost" is not an IP address or an address range`},
		{"trusted_proxies host bits", `trusted_proxies = ["10.1.0.0/8"]`, "trusted_proxies", "did you mean 10.0.0.0/8?"},
		{"proxy_protocol", "proxy_protocol = true\ntrusted_proxies = [\"127.0.0.1\"]", "", ""},
		{"proxy_protocol alone", "proxy_protocol = true", "proxy_protocol", "needs trusted_proxies"},
		{"cluster", "[cluster]\nnode = \"a1\"\npeers = { a1 = \"http://10.0.0.11:5280\", a2 = \"https://10.0.0.12:5280\" }", "", ""},
		{"cluster node alone", "[cluster]\nnode = \"a1\"", "", ""},
		{"cluster peers without node", "[cluster.peers]\na2 = \"http://10.0.0.12:5280\"", "cluster.node", "needed with cluster.peers"},
		{"cluster node with a dot", "[cluster]\nnode = \"a.1\"", "cluster.node", "only letters, digits and '-'"},
		{"cluster peer with a path", "[cluster]\nnode = \"a1\"\npeers = { a2 = \"http://10.0.0.12:5280/bridge\" }", "cluster.peers.a2", "more than scheme://host:port"},
		{"cluster peer not a URL", "[cluster]\nnode = \"a1\"\npeers = { a2 = \"10.0.0.12:5280\" }", "cluster.peers.a2", "is not an http:// or https:// URL"},
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

		{"public_url", `public_url = "https://chat.example.com"`, "", ""},
		{"public_url with port and path", `public_url = "http://[::1]:8080/xmpp/"`, "", ""},
		{"public_url without scheme", `public_url = "chat.example.com"`, "public_url", "is not an http:// or https:// URL"},
		{"public_url wss", `public_url = "wss://chat.example.com"`, "public_url", "is not an http:// or https:// URL"},
		{"public_url without host", `public_url = "https:///x"`, "public_url", "has no host"},
		{"public_url with query", `public_url = "https://chat.example.com/?a=b"`, "public_url", "no user information, query or fragment"},
		{"public_url with user", `public_url = "https://me@chat.example.com"`, "public_url", "no user information"},
		{"public_url bad port", `public_url = "https://chat.example.com:0"`, "public_url", `port "0" is not a number`},
		{"bosh path of discovery", "[bosh]\npath = \"/.well-known/host-meta\"", "bosh.path", "XEP-0156 discovery"},
		{"websocket path", "[websocket]\npath = \"/ws\"", "", ""},
		{"websocket path relative", "[websocket]\npath = \"ws\"", "websocket.path", `"ws" is not a URL path starting with /`},
		{"websocket path with query", "[websocket]\npath = \"/ws?x\"", "websocket.path", "is not a URL path"},
		{"ping_interval negative", "[websocket]\nping_interval = \"-1s\"", "websocket.ping_interval", "must be greater than zero"},
		{"ping_interval zero", "[websocket]\nping_interval = \"0s\"", "websocket.ping_interval", "must be greater than zero"},
		{"write_timeout negative", "[websocket]\nwrite_timeout = \"-10s\"", "websocket.write_timeout", "must be greater than zero"},
		{"shutdown_timeout negative", `shutdown_timeout = "-1m"`, "shutdown_timeout", "must be greater than zero"},
		{"lame_duck", `lame_duck = "5s"`, "", ""},
		{"lame_duck negative", `lame_duck = "-5s"`, "lame_duck", "must not be negative"},
		{"websocket path of readiness", "[websocket]\npath = \"/readyz\"", "websocket.path", `"/readyz" is the daemon's own readiness endpoint`},
		{"bosh path of liveness", "[bosh]\npath = \"/healthz\"", "bosh.path", `"/healthz" is the daemon's own liveness endpoint`},
		{"json path of readiness", "[json]\npath = \"/readyz\"", "json.path", "readiness endpoint"},

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
		{"json resumption off", "[json]\nresume = false", "", ""},
		{"json resume_window long", "[json]\nresume_window = \"2h\"", "json.resume_window", "is not between 1s and 1h0m0s"},
		{"json resume_key", "[json]\nresume_key = \"0123456789abcdef0123456789abcdef\"", "", ""},
		{"json resume_key short", "[json]\nresume_key = \"0123456789abcdef\"", "json.resume_key", "at least 32"},
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
		{"sessions_per_address off", "[limits]\nsessions_per_address = -1\nopens_per_minute = -1\nreserved_sessions = -1\nfailed_logins_refused = -1", "", ""},
		{"sessions_per_address below -1", "[limits]\nsessions_per_address = -2", "limits.sessions_per_address", "or -1 for no bound"},
		{"open_burst negative", "[limits]\nopen_burst = -1", "limits.open_burst", "must be greater than zero"},
		{"reserved_sessions all", "[limits]\nmax_sessions = 10\nreserved_sessions = 10", "limits.reserved_sessions", "leaves no session"},
		{"reserved_sessions follows max_sessions", "[limits]\nmax_sessions = 4", "", ""},
		{"auth_timeout too short", "[limits]\nauth_timeout = \"100ms\"", "limits.auth_timeout", "is not between 1s and 1h0m0s"},
		{"auth_timeout negative", "[limits]\nauth_timeout = \"-1s\"", "limits.auth_timeout", "is not between"},
		{"failed_logins_free negative", "[limits]\nfailed_logins_free = -1", "limits.failed_logins_free", "is not between 1 and 1000"},
		{"failed_logins_refused not past free", "[limits]\nfailed_logins_free = 5\nfailed_logins_refused = 5", "limits.failed_logins_refused", "failed_logins_free + 1 (6)"},
		{"failed_login_max_delay below delay", "[limits]\nfailed_login_delay = \"1m\"\nfailed_login_max_delay = \"30s\"", "limits.failed_login_max_delay", "shorter than failed_login_delay"},
		{"failed_logins_forget too long", "[limits]\nfailed_logins_forget = \"48h\"", "limits.failed_logins_forget", "is not between 1s and 24h0m0s"},

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
