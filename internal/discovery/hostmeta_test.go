package discovery

import (
	"crypto/tls"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// get serves one request and returns the response and its links, read
// from whichever document it is.
func get(t *testing.T, h http.Handler, r *http.Request) (*http.Response, []link) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	res := rec.Result()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || r.Method != http.MethodGet {
		return res, nil
	}
	if strings.HasSuffix(r.URL.Path, ".json") {
		var doc jrd
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatalf("JRD %s: %v", body, err)
		}
		return res, doc.Links
	}
	var doc xrd
	if err := xml.Unmarshal(body, &doc); err != nil {
		t.Fatalf("XRD %s: %v", body, err)
	}
	if !strings.HasPrefix(string(body), "<?xml") {
		t.Errorf("XRD without an XML declaration: %s", body)
	}
	return res, doc.Links
}

func TestHostMeta(t *testing.T) {
	paths := Config{WebSocketPath: "/xmpp-websocket", BOSHPath: "/http-bind"}
	public := paths
	public.PublicURL = mustURL(t, "https://chat.example.com")
	prefixed := paths
	prefixed.PublicURL = mustURL(t, "https://example.com:8443/xmpp/")
	plain := paths
	plain.PublicURL = mustURL(t, "http://localhost:5280")
	wsOnly := Config{PublicURL: public.PublicURL, WebSocketPath: "/ws"}

	tests := []struct {
		name  string
		cfg   Config
		path  string
		host  string
		tls   bool
		want  []link
		cache string
	}{
		{"public URL", public, HostMetaPath, "evil.example.net", false,
			[]link{{RelWebSocket, "wss://chat.example.com/xmpp-websocket"}, {RelBOSH, "https://chat.example.com/http-bind"}}, "max-age=3600"},
		{"public URL, JSON", public, HostMetaJSONPath, "evil.example.net", false,
			[]link{{RelWebSocket, "wss://chat.example.com/xmpp-websocket"}, {RelBOSH, "https://chat.example.com/http-bind"}}, "max-age=3600"},
		{"public URL with port and prefix", prefixed, HostMetaPath, "x", false,
			[]link{{RelWebSocket, "wss://example.com:8443/xmpp/xmpp-websocket"}, {RelBOSH, "https://example.com:8443/xmpp/http-bind"}}, "max-age=3600"},
		{"public URL over http", plain, HostMetaPath, "x", false,
			[]link{{RelWebSocket, "ws://localhost:5280/xmpp-websocket"}, {RelBOSH, "http://localhost:5280/http-bind"}}, "max-age=3600"},
		{"WebSocket only", wsOnly, HostMetaJSONPath, "x", false,
			[]link{{RelWebSocket, "wss://chat.example.com/ws"}}, "max-age=3600"},
		{"from the request", paths, HostMetaPath, "bridge.example.org:5280", false,
			[]link{{RelWebSocket, "ws://bridge.example.org:5280/xmpp-websocket"}, {RelBOSH, "http://bridge.example.org:5280/http-bind"}}, "no-store"},
		{"from the request over TLS", paths, HostMetaJSONPath, "bridge.example.org", true,
			[]link{{RelWebSocket, "wss://bridge.example.org/xmpp-websocket"}, {RelBOSH, "https://bridge.example.org/http-bind"}}, "no-store"},
		{"from the request, IPv6", paths, HostMetaPath, "[::1]:5280", false,
			[]link{{RelWebSocket, "ws://[::1]:5280/xmpp-websocket"}, {RelBOSH, "http://[::1]:5280/http-bind"}}, "no-store"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tt.path, nil)
			r.Host = tt.host
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			res, got := get(t, Handler(tt.cfg), r)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d", res.StatusCode)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("links = %+v, want %+v", got, tt.want)
			}
			wantType := "application/xrd+xml; charset=utf-8"
			if strings.HasSuffix(tt.path, ".json") {
				wantType = "application/json"
			}
			for k, v := range map[string]string{"Content-Type": wantType, "Access-Control-Allow-Origin": "*", "Cache-Control": tt.cache} {
				if got := res.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestHostMetaRefusals(t *testing.T) {
	h := Handler(Config{WebSocketPath: "/ws", BOSHPath: "/bosh"})
	tests := []struct {
		name, method, host string
		code               int
	}{
		{"HEAD", "HEAD", "example.com", 200},
		{"preflight", "OPTIONS", "example.com", 204},
		{"POST", "POST", "example.com", 405},
		{"empty Host", "GET", "", 400},
		{"Host with a path", "GET", "example.com/x", 400},
		{"Host with user", "GET", "me@example.com", 400},
		{"Host with quotes", "GET", `example.com"><x`, 400},
		{"Host with a bad port", "GET", "example.com:http", 400},
		{"IPv6 without brackets", "GET", "::1", 400},
		{"IPv4 in brackets", "GET", "[127.0.0.1]:80", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, HostMetaPath, nil)
			r.Host = tt.host
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tt.code {
				t.Errorf("%s with Host %q: %d, want %d", tt.method, tt.host, rec.Code, tt.code)
			}
			if got := rec.Header().Get("Access-Control-Allow-Origin"); got != "*" {
				t.Errorf("Access-Control-Allow-Origin = %q, want *", got)
			}
			if tt.method == "HEAD" && rec.Body.Len() != 0 {
				t.Errorf("HEAD has a body: %q", rec.Body)
			}
		})
	}
}

// The Host header is untrusted input: a document made from it names that
// host, and nothing else, in every link.
func FuzzHostMeta(f *testing.F) {
	for _, s := range []string{"example.com", "example.com:5280", "[::1]:80", "a b", `x"/><y`, "x/y", "", "[::1", "1.2.3.4:99999"} {
		f.Add(s)
	}
	h := Handler(Config{WebSocketPath: "/ws", BOSHPath: "/bosh"})
	f.Fuzz(func(t *testing.T, host string) {
		r := httptest.NewRequest("GET", HostMetaJSONPath, nil)
		r.Host = host
		res, ls := get(t, h, r)
		if res.StatusCode != http.StatusOK {
			return
		}
		if len(ls) != 2 {
			t.Fatalf("Host %q: links %+v", host, ls)
		}
		for _, l := range ls {
			u, err := url.Parse(l.Href)
			if err != nil || u.Host != host || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
				t.Fatalf("Host %q gives %q", host, l.Href)
			}
		}
	})
}
