package jsonapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/internal/fakexmpp"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// errorOf decodes an error frame answer.
func errorOf(t *testing.T, body string) (typ, code string) {
	t.Helper()
	var f struct{ Kind, Type, Code string }
	if err := json.Unmarshal([]byte(body), &f); err != nil || f.Kind != "error" {
		t.Fatalf("answer %q is not an error frame (%v)", body, err)
	}
	return f.Type, f.Code
}

// TestRefusals: every request the API cannot serve gets a JSON error frame
// with the right status, never an HTML page, and never touches the hub.
func TestRefusals(t *testing.T) {
	hub := bridge.New(bridge.Config{})
	tests := []struct {
		name    string
		cfg     Config
		method  string
		target  string
		body    string
		remote  string
		headers map[string]string
		status  int
		code    string
	}{
		{name: "unknown endpoint", method: "GET", target: "/json/nope", status: 404, code: errItemNotFound},
		{name: "an endpoint further down", method: "POST", target: "/json/x/poll", body: `{"rid":7}`, status: 404, code: errItemNotFound},
		{name: "an endpoint as a directory", method: "POST", target: "/json/poll/", body: `{"rid":7}`, status: 404, code: errItemNotFound},
		{name: "the base path", method: "GET", target: "/json/", status: 404, code: errItemNotFound},
		{name: "GET poll", method: "GET", target: "/json/poll", status: 405, code: errBadRequest},
		{name: "POST events", method: "POST", target: "/json/events", status: 405, code: errBadRequest},
		{name: "foreign origin", method: "POST", target: "/json/poll", body: `{}`, headers: map[string]string{"Origin": "http://evil.example"}, status: 403, code: errPolicy},
		{name: "not JSON", method: "POST", target: "/json/poll", body: `<body/>`, status: 400, code: errBadJSON},
		{name: "no rid", method: "POST", target: "/json/poll", body: `{"frames":[]}`, status: 400, code: errMissingField},
		{name: "rid zero", method: "POST", target: "/json/poll", body: `{"rid":0}`, status: 400, code: errBadValue},
		{name: "rid too big", method: "POST", target: "/json/poll", body: `{"rid":9007199254740992}`, status: 400, code: errBadValue},
		{name: "rid a string", method: "POST", target: "/json/poll", body: `{"rid":"7"}`, status: 400, code: errBadValue},
		{name: "negative wait", method: "POST", target: "/json/poll", body: `{"rid":7,"wait":-1}`, status: 400, code: errBadValue},
		{name: "no login", method: "POST", target: "/json/poll", body: `{"rid":7}`, status: 400, code: errMissingField},
		{name: "stanza first", method: "POST", target: "/json/send", body: `{"rid":7,"frames":[{"kind":"message"}]}`, status: 400, code: errNotLoggedIn},
		{name: "login without kind", method: "POST", target: "/json/poll", body: `{"rid":7,"frames":[{"jid":"a@b"}]}`, status: 400, code: errUnknownKind},
		{name: "login without password", method: "POST", target: "/json/poll", body: `{"rid":7,"frames":[{"kind":"login","jid":"a@b"}]}`, status: 400, code: errMissingField},
		{name: "login with a full JID", method: "POST", target: "/json/poll", body: `{"rid":7,"frames":[{"kind":"login","jid":"a@b/c","password":"p"}]}`, status: 400, code: errBadValue},
		{name: "password from afar", method: "POST", target: "/json/poll", remote: "192.0.2.1:4000", body: `{"rid":7,"frames":[{"kind":"login","jid":"a@b","password":"p"}]}`, status: 403, code: errEncryptionRequired},
		{name: "unknown token", method: "POST", target: "/json/poll", body: `{"rid":7,"frames":[{"kind":"login","token":"abc"}]}`, status: 401, code: errBadToken},
		{name: "unknown sid", method: "POST", target: "/json/poll", body: `{"sid":"abc","rid":7}`, status: 404, code: errItemNotFound},
		{name: "events of an unknown sid", method: "GET", target: "/json/events?sid=abc", status: 404, code: errItemNotFound},
		{name: "plain GET of ws", method: "GET", target: "/json/ws", status: 400, code: errBadRequest},
		{name: "ws without the subprotocol", method: "GET", target: "/json/ws", headers: map[string]string{
			"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
		}, status: 400, code: errBadRequest},
		{name: "prebind off", method: "POST", target: "/json/prebind", body: `{}`, status: 404, code: errItemNotFound},
		{name: "prebind without the secret", cfg: Config{PrebindSecret: "0123456789abcdef"}, method: "POST", target: "/json/prebind", body: `{}`, status: 401, code: errNotAuthorized},
		{name: "prebind with a wrong secret", cfg: Config{PrebindSecret: "0123456789abcdef"}, method: "POST", target: "/json/prebind", body: `{}`,
			headers: map[string]string{"Authorization": "Bearer 0123456789abcdeX"}, status: 401, code: errNotAuthorized},
		{name: "prebind GET", cfg: Config{PrebindSecret: "0123456789abcdef"}, method: "GET", target: "/json/prebind",
			headers: map[string]string{"Authorization": "Bearer 0123456789abcdef"}, status: 405, code: errBadRequest},
		{name: "prebind without a password", cfg: Config{PrebindSecret: "0123456789abcdef"}, method: "POST", target: "/json/prebind", body: `{"jid":"a@b"}`,
			headers: map[string]string{"Authorization": "Bearer 0123456789abcdef"}, status: 400, code: errMissingField},
		{name: "BOSH prebind not served", cfg: Config{PrebindSecret: "0123456789abcdef"}, method: "POST", target: "/json/prebind", body: `{"jid":"a@b","password":"p","bosh":true}`,
			headers: map[string]string{"Authorization": "Bearer 0123456789abcdef"}, status: 404, code: errItemNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Hub = hub
			h := New(cfg)
			r := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			if tt.remote != "" {
				r.RemoteAddr = tt.remote
			} else {
				r.RemoteAddr = "127.0.0.1:4000"
			}
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			mux := http.NewServeMux()
			mux.Handle("/json/", h)
			mux.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Errorf("status %d, want %d (%s)", w.Code, tt.status, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if _, code := errorOf(t, w.Body.String()); code != tt.code {
				t.Errorf("code %q, want %q (%s)", code, tt.code, w.Body)
			}
			if hub.Len() != 0 {
				t.Errorf("the hub holds %d sessions", hub.Len())
			}
		})
	}
}

func TestPreflight(t *testing.T) {
	h := New(Config{Hub: bridge.New(bridge.Config{}), CheckOrigin: func(r *http.Request) bool {
		return r.Header.Get("Origin") == "https://chat.example"
	}})
	r := httptest.NewRequest("OPTIONS", "/json/poll", nil)
	r.Header.Set("Origin", "https://chat.example")
	r.Header.Set("Access-Control-Request-Method", "POST")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	hd := w.Header()
	if w.Code != http.StatusNoContent || hd.Get("Access-Control-Allow-Origin") != "https://chat.example" ||
		!strings.Contains(hd.Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.Contains(hd.Get("Access-Control-Allow-Headers"), "Content-Type") {
		t.Errorf("preflight: %d %v", w.Code, hd)
	}

	r = httptest.NewRequest("OPTIONS", "/json/poll", nil)
	r.Header.Set("Origin", "https://evil.example")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusForbidden || w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("foreign preflight: %d %v", w.Code, w.Header())
	}
}

func TestErrorFrame(t *testing.T) {
	b := errorFrame(nil, errBadJSON, "m1", "bad \"quote\" <here>\n")
	var f map[string]string
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	want := map[string]string{"kind": "error", "type": "modify", "code": "bad-json", "id": "m1", "text": "bad \"quote\" <here>\n"}
	for k, v := range want {
		if f[k] != v {
			t.Errorf("%s = %q, want %q", k, f[k], v)
		}
	}
	if strings.ContainsRune(string(b), '\n') {
		t.Errorf("a frame spans lines: %q", b)
	}
}

// TestEndpoint: the endpoint is the path right below the pattern that
// routed the request, or below "/" after http.StripPrefix.
func TestEndpoint(t *testing.T) {
	for _, tt := range []struct{ pattern, path, want string }{
		{"/json/", "/json/ws", "ws"},
		{"POST /json/", "/json/poll", "poll"},
		{"example.com/json/", "/json/send", "send"},
		{"/json/", "/json/x/ws", ""},
		{"/json/", "/json/ws/", ""},
		{"", "/events", "events"},
		{"", "/x/events", ""},
		{"/api/", "/api/prebind", "prebind"},
	} {
		r := httptest.NewRequest("GET", tt.path, nil)
		r.Pattern = tt.pattern
		if got := endpoint(r); got != tt.want {
			t.Errorf("pattern %q, path %q: %q, want %q", tt.pattern, tt.path, got, tt.want)
		}
	}
}

// A cluster's node name starts the sid of every HTTP session; WebSocket
// sessions have none.
func TestSIDPrefix(t *testing.T) {
	h := New(Config{Hub: bridge.New(bridge.Config{}), SIDPrefix: "a1."})
	if sid := h.newSession(newSID()).sid; !strings.HasPrefix(sid, "a1.") || len(sid) != 3+32 {
		t.Errorf("HTTP sid %q: want a1. and 32 hex digits", sid)
	}
	if sid := h.newSession("").sid; sid != "" {
		t.Errorf("WebSocket sid %q, want none", sid)
	}
}

// TestBaseContext: logins open under Config.BaseContext; when it is done, a
// login under way stops, and the page hears that the server was not
// reached.
func TestBaseContext(t *testing.T) {
	reached := make(chan struct{}, 1)
	up := fakexmpp.Start(t, fakexmpp.Silent(reached))
	base, cut := context.WithCancel(context.Background())
	defer cut()
	// Only the base context ends the login, not the dial timeout.
	hub := bridge.New(bridge.Config{Upstream: func(domain string) (xmppclient.Config, error) {
		return xmppclient.Config{Domain: domain, Addr: up.Addr, Security: xmppclient.Plaintext, DialTimeout: time.Hour}, nil
	}})
	url, _ := serveAt(t, Config{Hub: hub, BaseContext: base}, "")
	ws := dialWS(t, url)
	ws.send(t, login("alice"))
	select {
	case <-reached:
	case <-time.After(frameTimeout):
		t.Fatal("the login never reached the server")
	}
	cut()
	if f := nextKind(t, ws, "error"); f.Code != errRemoteFailed || f.ID != "l1" {
		t.Fatalf("login answer: %s", f.raw)
	}
}

// TestSlowRefusalAnswered: a login refused after longer than the write
// timeout, as one whose server takes its time and then fails, is still
// answered with its error frame. (The answer used to be written under the
// deadline the body was read under, long past by then, and the page got
// its connection closed instead: behind HAProxy a 502, and after a resume
// elsewhere that timed out, no word that it should log in again.)
func TestSlowRefusalAnswered(t *testing.T) {
	srv := fakexmpp.Start(t, func(c *fakexmpp.Conn) {
		if _, err := c.Read(); err != nil {
			return
		}
		time.Sleep(400 * time.Millisecond)
	})
	base, _ := serveAt(t, Config{WriteTimeout: 100 * time.Millisecond}, srv.Addr)
	body := `{"rid":1,"frames":[{"kind":"login","jid":"alice@localhost","password":"secret"}]}`
	resp, err := http.Post(base+"/send", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	defer resp.Body.Close()
	var f struct{ Kind, Code string }
	if err := json.NewDecoder(resp.Body).Decode(&f); err != nil || resp.StatusCode == http.StatusOK || f.Kind != "error" || f.Code == "" {
		t.Fatalf("answer %d %+v (%v), want an error frame", resp.StatusCode, f, err)
	}
}
