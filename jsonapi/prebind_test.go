package jsonapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// TestPrebindBOSHAccount: a BOSH prebind reaches Config.PrebindBOSH with
// the account its jid names, checked and split as a login's is, or not at
// all: a full JID such as alice@example.com/x is refused here rather than
// reaching BOSH with the domain "example.com/x".
func TestPrebindBOSHAccount(t *testing.T) {
	const secret = "0123456789abcdef"
	tests := []struct {
		name   string
		body   string
		err    error   // PrebindBOSH's answer
		want   Account // what PrebindBOSH gets; zero: not called
		status int
		code   string // of the error answer
	}{
		{name: "bare JID", body: `{"jid":"alice@example.com","password":"p","resource":"web","bosh":true}`,
			want: Account{Domain: "example.com", Credentials: xmppclient.Credentials{Username: "alice", Password: "p", Resource: "web"}}, status: 200},
		{name: "domain lower-cased, localpart kept", body: `{"jid":"Alice@Example.COM","password":"p","bosh":true}`,
			want: Account{Domain: "example.com", Credentials: xmppclient.Credentials{Username: "Alice", Password: "p"}}, status: 200},
		{name: "full JID", body: `{"jid":"alice@example.com/x","password":"p","bosh":true}`, status: 400, code: errBadValue},
		{name: "no localpart", body: `{"jid":"@example.com","password":"p","bosh":true}`, status: 400, code: errBadValue},
		{name: "no domain", body: `{"jid":"alice@","password":"p","bosh":true}`, status: 400, code: errBadValue},
		{name: "no @", body: `{"jid":"example.com","password":"p","bosh":true}`, status: 400, code: errBadValue},
		{name: "white space", body: `{"jid":"alice@example.com ","password":"p","bosh":true}`, status: 400, code: errBadValue},
		{name: "refused as a login is", body: `{"jid":"alice@example.org","password":"p","bosh":true}`,
			err:  &bridge.CloseError{Reason: bridge.ReasonHostUnknown},
			want: Account{Domain: "example.org", Credentials: xmppclient.Credentials{Username: "alice", Password: "p"}}, status: 400, code: errHostUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Account
			h := New(Config{Hub: bridge.New(bridge.Config{}), PrebindSecret: secret,
				PrebindBOSH: func(_ context.Context, a Account) (BOSHPrebound, error) {
					got = a
					if tt.err != nil {
						return BOSHPrebound{}, tt.err
					}
					return BOSHPrebound{JID: a.Credentials.Username + "@" + a.Domain + "/r", SID: "s1", RID: 43}, nil
				}})
			r := httptest.NewRequest("POST", "/json/prebind", strings.NewReader(tt.body))
			r.RemoteAddr = "127.0.0.1:4000"
			r.Header.Set("Authorization", "Bearer "+secret)
			w := httptest.NewRecorder()
			http.StripPrefix("/json", h).ServeHTTP(w, r)
			if got != tt.want {
				t.Errorf("PrebindBOSH got %+v, want %+v", got, tt.want)
			}
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d (%s)", w.Code, tt.status, w.Body)
			}
			if tt.code != "" {
				if _, code := errorOf(t, w.Body.String()); code != tt.code {
					t.Errorf("code %q, want %q (%s)", code, tt.code, w.Body)
				}
				return
			}
			var answer struct {
				JID, SID string
				RID      uint64
			}
			if err := json.Unmarshal(w.Body.Bytes(), &answer); err != nil || answer.JID != tt.want.Credentials.Username+"@"+tt.want.Domain+"/r" || answer.SID != "s1" || answer.RID != 43 {
				t.Errorf("answer %s (%v)", w.Body, err)
			}
		})
	}
}
