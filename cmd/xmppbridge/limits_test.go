package main

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/xmppbridge/xmppbridge/bridge"
)

// The log line of a refused login names the address, without its port,
// and the account, in a form a fail2ban filter matches.
func TestLogLogin(t *testing.T) {
	failregex := regexp.MustCompile(`msg="login (failed|throttled)" client=(\S+) account=(\S+)`)
	for _, tc := range []struct {
		name   string
		ev     bridge.LoginEvent
		logged bool
		want   string
	}{
		{"failed", bridge.LoginEvent{Client: "192.0.2.7:4242", Account: "alice@example.com", Relayed: true, Outcome: bridge.LoginFailed, Condition: "not-authorized"}, true, "condition=not-authorized"},
		{"throttled", bridge.LoginEvent{Client: "[2001:db8::7]:4242", Account: "alice@example.com", Outcome: bridge.LoginThrottled, RetryAfter: 4 * time.Second, ByAccount: true}, true, "retry_after=4s blocked=false by=account"},
		{"ok at info", bridge.LoginEvent{Client: "192.0.2.7:4242", Account: "alice@example.com", Outcome: bridge.LoginOK}, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			logLogin(slog.New(slog.NewTextHandler(&buf, nil)))(tc.ev)
			line := buf.String()
			if !tc.logged {
				if line != "" {
					t.Errorf("logged %q at info", line)
				}
				return
			}
			m := failregex.FindStringSubmatch(line)
			if m == nil || m[2] != clientHost(tc.ev.Client) || m[3] != tc.ev.Account || !bytes.Contains(buf.Bytes(), []byte(tc.want)) {
				t.Errorf("line %q: want the address %s, the account and %q", line, clientHost(tc.ev.Client), tc.want)
			}
		})
	}
}

func TestWithClient(t *testing.T) {
	var got string
	h := withClient(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = bridge.ClientFrom(r.Context())
	}))
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "192.0.2.7:4242"
	h.ServeHTTP(httptest.NewRecorder(), r)
	if got != "192.0.2.7:4242" {
		t.Errorf("ClientFrom = %q", got)
	}
}
