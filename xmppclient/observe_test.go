package xmppclient

import (
	"context"
	"testing"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/fakexmpp"
)

// Config.Observe hears of every phase of opening a stream, in order, with
// the error of the one that failed.
func TestObserve(t *testing.T) {
	pki := newPKI(t)
	type seen struct {
		p  Phase
		ok bool
	}
	tests := []struct {
		name  string
		srv   saslServer
		tls   bool
		cred  Credentials
		login bool
		want  []seen
	}{
		{name: "dial plaintext", want: []seen{{PhaseConnect, true}}},
		{name: "dial starttls", tls: true, want: []seen{{PhaseConnect, true}, {PhaseTLS, true}}},
		{
			name: "login", srv: saslServer{mechs: []string{"SCRAM-SHA-256"}}, tls: true, login: true,
			cred: Credentials{Username: "alice", Password: "secret"},
			want: []seen{{PhaseConnect, true}, {PhaseTLS, true}, {PhaseLogin, true}},
		},
		{
			name: "login refused", srv: saslServer{mechs: []string{"SCRAM-SHA-256"}}, login: true,
			cred: Credentials{Username: "alice", Password: "wrong"},
			want: []seen{{PhaseConnect, true}, {PhaseLogin, false}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.srv.received = make(chan string, 8)
			var got []seen
			cfg := Config{Domain: "localhost", Security: Plaintext, Observe: func(p Phase, d time.Duration, err error) {
				if d < 0 {
					t.Errorf("%v took %v", p, d)
				}
				got = append(got, seen{p, err == nil})
			}}
			handler := tt.srv.handler
			if !tt.login {
				handler = script(fakexmpp.DefaultFeatures)
			}
			if tt.tls {
				cfg.Security, cfg.TLS = StartTLS, pki.clientConfig()
				handler = startTLSThen(pki, handler)
			}
			cfg.Addr = fakexmpp.Start(t, handler).Addr
			var c *Conn
			if tt.login {
				c, _ = Login(context.Background(), cfg, tt.cred)
			} else {
				c, _ = Dial(context.Background(), cfg)
			}
			if c != nil {
				c.Close()
			}
			if len(got) != len(tt.want) {
				t.Fatalf("observed %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("observed %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestPhaseString(t *testing.T) {
	for p, want := range map[Phase]string{PhaseConnect: "connect", PhaseTLS: "tls", PhaseLogin: "login", PhaseResume: "resume", 0: "phase?", 99: "phase?"} {
		if got := p.String(); got != want {
			t.Errorf("Phase(%d).String() = %q, want %q", p, got, want)
		}
	}
}
