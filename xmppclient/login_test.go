package xmppclient

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"strings"
	"testing"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/fakexmpp"
	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
	"mellium.im/sasl"
)

// saslServer is a scripted server for Login: SASL with mellium's server
// side, then bind and, if asked, a legacy session.
type saslServer struct {
	mechs    []string // offered
	failure  string   // sent in answer to <auth/> instead of running SASL
	forge    bool     // answer SCRAM with a success the password does not sign
	session  string   // "": no session feature; "required"; "optional"
	bindErr  string   // sent in answer to the bind iq instead of a result
	after    string   // sent after the bind (and session) result
	sm       string   // offers stream management and answers <enable/> with this
	received chan string
}

func (s *saslServer) handler(c *fakexmpp.Conn) {
	defer close(s.received)
	mechs := ""
	for _, m := range s.mechs {
		mechs += "<mechanism>" + m + "</mechanism>"
	}
	if _, err := c.Read(); err != nil {
		return
	}
	if c.Send(fakexmpp.Header("s1")+"<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"+mechs+"</mechanisms></stream:features>") != nil {
		return
	}
	it, err := c.Read()
	if err != nil {
		return
	}
	s.received <- it.Raw
	if s.failure != "" {
		_ = c.Send(s.failure)
		drain(c)
		return
	}
	if !s.authenticate(c, it.Raw) {
		drain(c)
		return
	}
	if it, err = c.Read(); err != nil || it.Kind != xmlsplit.KindOpen {
		return
	}
	feat := "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"
	switch s.session {
	case "required":
		feat += "<session xmlns='urn:ietf:params:xml:ns:xmpp-session'/>"
	case "optional":
		feat += "<session xmlns='urn:ietf:params:xml:ns:xmpp-session'><optional/></session>"
	}
	if s.sm != "" {
		feat += "<sm xmlns='urn:xmpp:sm:3'/>"
	}
	if c.Send(fakexmpp.Header("s2")+feat+"</stream:features>") != nil {
		return
	}
	if it, err = c.Read(); err != nil {
		return
	}
	s.received <- it.Raw
	if s.bindErr != "" {
		_ = c.Send(s.bindErr)
		drain(c)
		return
	}
	res := "generated"
	if i := strings.Index(it.Raw, "<resource>"); i >= 0 {
		res = it.Raw[i+len("<resource>") : strings.Index(it.Raw, "</resource>")]
	}
	if c.Send("<iq type='result' id='xmppclient-bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>alice@localhost/"+res+"</jid></bind></iq>") != nil {
		return
	}
	if s.session == "required" {
		if it, err = c.Read(); err != nil {
			return
		}
		s.received <- it.Raw
		if c.Send("<iq type='result' id='xmppclient-session'/>") != nil {
			return
		}
	}
	if s.sm != "" {
		if it, err = c.Read(); err != nil {
			return
		}
		s.received <- it.Raw
		if c.Send(s.sm) != nil {
			return
		}
	}
	if c.Send(s.after) != nil {
		return
	}
	drain(c)
}

func (s *saslServer) authenticate(c *fakexmpp.Conn, auth string) bool {
	el, err := xmlsplit.Parse([]byte(auth), xmlsplit.ParseOptions{})
	if err != nil {
		return false
	}
	mech, _ := el.Attr("mechanism")
	data, err := base64Text(&el)
	if err != nil {
		return false
	}
	fail := "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>"
	var fn func() hash.Hash
	switch string(mech) {
	case "PLAIN":
		if string(data) != "\x00alice\x00secret" {
			_ = c.Send(fail)
			return false
		}
		return c.Send("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>") == nil
	case "SCRAM-SHA-256":
		fn = sha256.New
	case "SCRAM-SHA-1":
		fn = sha1.New
	default:
		_ = c.Send("<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><invalid-mechanism/></failure>")
		return false
	}
	salt := []byte("0123456789abcdef")
	neg := sasl.NewServer(scramOf(string(mech)), nil,
		sasl.SaltedCredentials(func(user, _ []byte, _ string) ([]byte, []byte, int64, error) {
			if string(user) != "alice" {
				return nil, nil, 0, sasl.ErrAuthn
			}
			return salt, sasl.SCRAMSaltPassword(fn, []byte("secret"), salt, 4096), 4096, nil
		}))
	_, first, err := neg.Step(data)
	if err != nil {
		_ = c.Send(fail)
		return false
	}
	if c.Send("<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"+base64.StdEncoding.EncodeToString(first)+"</challenge>") != nil {
		return false
	}
	it, err := c.Read()
	if err != nil {
		return false
	}
	rel, err := xmlsplit.Parse([]byte(it.Raw), xmlsplit.ParseOptions{})
	if err != nil {
		return false
	}
	resp, err := base64Text(&rel)
	if err != nil {
		return false
	}
	_, final, err := neg.Step(resp)
	if err != nil {
		_ = c.Send(fail)
		return false
	}
	if s.forge {
		final = []byte("v=" + base64.StdEncoding.EncodeToString(make([]byte, fn().Size())))
	}
	return c.Send("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"+base64.StdEncoding.EncodeToString(final)+"</success>") == nil
}

// TestLoginStanzaBeforeEnabled: a stanza the server sends between the
// bind and its answer to <enable/>, as a contact's message to the resource
// just bound, is handed to the caller first, once, and Login finishes.
// (It used to be kept where Next reads first, and enableSM read it back
// for ever.)
func TestLoginStanzaBeforeEnabled(t *testing.T) {
	const early = "<message from='bob@localhost/x' to='alice@localhost/web' type='chat'><body>early</body></message>"
	srv := saslServer{
		mechs:    []string{"SCRAM-SHA-256"},
		sm:       early + "<enabled xmlns='urn:xmpp:sm:3' id='sm1' resume='true'/>",
		after:    "<message from='bob@localhost' id='after'><body>hi</body></message>",
		received: make(chan string, 8),
	}
	cfg := Config{Domain: "localhost", Security: Plaintext, Addr: fakexmpp.Start(t, srv.handler).Addr, StreamManagement: true}
	type result struct {
		c   *Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := Login(context.Background(), cfg, Credentials{Username: "alice", Password: "secret", Resource: "web"})
		done <- result{c, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Login did not return")
	}
	if r.err != nil {
		t.Fatalf("Login: %v", r.err)
	}
	c := r.c
	defer c.Close()
	if sm := c.SM(); !sm.On || sm.ID != "sm1" {
		t.Errorf("SM() %+v, want on with id sm1", sm)
	}
	for _, want := range []string{early, srv.after} {
		if ev := nextT(t, c); string(ev.Data) != want {
			t.Errorf("Next: %q, want %q", ev.Data, want)
		}
	}
}

func scramOf(name string) sasl.Mechanism {
	if name == "SCRAM-SHA-1" {
		return sasl.ScramSha1
	}
	return sasl.ScramSha256
}

func TestLogin(t *testing.T) {
	pki := newPKI(t)
	tests := []struct {
		name     string
		srv      saslServer
		tls      bool
		cred     Credentials
		mech     string // the mechanism the client must pick
		jid      string
		cond     string // the *Error condition expected; "" for success
		sasl     bool
		text     string
		received []string // what the server must see after <auth/>
	}{
		{
			name: "scram-sha-256 preferred", srv: saslServer{mechs: []string{"PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS"}},
			tls: true, cred: Credentials{Username: "alice", Password: "secret", Resource: "web"}, mech: "SCRAM-SHA-256", jid: "alice@localhost/web",
			received: []string{"<iq type='set' id='xmppclient-bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>web</resource></bind></iq>"},
		},
		{
			name: "scram-sha-1 over plaintext", srv: saslServer{mechs: []string{"SCRAM-SHA-1", "PLAIN"}},
			cred: Credentials{Username: "alice", Password: "secret", Resource: ""}, mech: "SCRAM-SHA-1", jid: "alice@localhost/generated",
			received: []string{"<iq type='set' id='xmppclient-bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>"},
		},
		{
			name: "plain over tls", srv: saslServer{mechs: []string{"PLAIN"}},
			tls: true, cred: Credentials{Username: "alice", Password: "secret", Resource: "r&d"}, mech: "PLAIN", jid: "alice@localhost/r&d",
		},
		{
			// Nothing was tried, so it is not the credentials that failed.
			name: "plain refused over plaintext", srv: saslServer{mechs: []string{"PLAIN"}},
			cred: Credentials{Username: "alice", Password: "secret", Resource: ""}, cond: "remote-connection-failed",
		},
		{
			name: "no mechanism at all", srv: saslServer{},
			cred: Credentials{Username: "alice", Password: "secret", Resource: ""}, cond: "remote-connection-failed",
		},
		{
			name: "wrong password", srv: saslServer{mechs: []string{"SCRAM-SHA-256"}},
			cred: Credentials{Username: "alice", Password: "wrong", Resource: ""}, mech: "SCRAM-SHA-256", cond: "not-authorized", sasl: true,
		},
		{
			name: "failure with text",
			srv: saslServer{mechs: []string{"SCRAM-SHA-1"}, failure: "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><account-disabled/>" +
				"<text xml:lang='en'>Call the helpdesk</text></failure>"},
			cred: Credentials{Username: "alice", Password: "secret", Resource: ""}, mech: "SCRAM-SHA-1", cond: "account-disabled", sasl: true, text: "Call the helpdesk",
		},
		{
			name: "server that does not know the password", srv: saslServer{mechs: []string{"SCRAM-SHA-256"}, forge: true},
			cred: Credentials{Username: "alice", Password: "secret", Resource: ""}, mech: "SCRAM-SHA-256", cond: "remote-connection-failed",
		},
		{
			name: "legacy session required", srv: saslServer{mechs: []string{"SCRAM-SHA-1"}, session: "required"},
			cred: Credentials{Username: "alice", Password: "secret", Resource: "x"}, mech: "SCRAM-SHA-1", jid: "alice@localhost/x",
			received: []string{
				"<iq type='set' id='xmppclient-bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>x</resource></bind></iq>",
				"<iq type='set' id='xmppclient-session'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>",
			},
		},
		{
			name: "optional session skipped", srv: saslServer{mechs: []string{"SCRAM-SHA-1"}, session: "optional"},
			cred: Credentials{Username: "alice", Password: "secret", Resource: "x"}, mech: "SCRAM-SHA-1", jid: "alice@localhost/x",
			received: []string{"<iq type='set' id='xmppclient-bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>x</resource></bind></iq>"},
		},
		{
			name: "bind conflict",
			srv: saslServer{mechs: []string{"SCRAM-SHA-1"}, bindErr: "<iq type='error' id='xmppclient-bind'><error type='cancel'>" +
				"<conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>in use</text></error></iq>"},
			cred: Credentials{Username: "alice", Password: "secret", Resource: "x"}, mech: "SCRAM-SHA-1", cond: "conflict", text: "in use",
		},
		{
			name: "bind not allowed",
			srv: saslServer{mechs: []string{"SCRAM-SHA-1"}, bindErr: "<iq type='error' id='xmppclient-bind'><error type='cancel'>" +
				"<not-allowed xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"},
			cred: Credentials{Username: "alice", Password: "secret", Resource: "x"}, mech: "SCRAM-SHA-1", cond: "undefined-condition",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.srv.received = make(chan string, 8)
			tt.srv.after = "<message from='bob@localhost' id='after'><body>hi</body></message>"
			cfg := Config{Domain: "localhost", Security: Plaintext}
			if tt.tls {
				cfg.Security, cfg.TLS = StartTLS, pki.clientConfig()
				cfg.Addr = fakexmpp.Start(t, startTLSThen(pki, tt.srv.handler)).Addr
			} else {
				cfg.Addr = fakexmpp.Start(t, tt.srv.handler).Addr
			}
			c, err := Login(context.Background(), cfg, tt.cred)
			if tt.mech != "" {
				auth := <-tt.srv.received
				if !strings.HasPrefix(auth, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='"+tt.mech+"'>") {
					t.Errorf("auth %q, want mechanism %s", auth, tt.mech)
				}
			}
			if tt.cond != "" {
				if err == nil {
					c.Close()
					t.Fatal("Login succeeded")
				}
				xe := wantCond(t, err, tt.cond)
				if xe.SASL != tt.sasl || xe.Text != tt.text {
					t.Errorf("SASL %v text %q, want %v %q", xe.SASL, xe.Text, tt.sasl, tt.text)
				}
				return
			}
			if err != nil {
				t.Fatalf("Login: %v", err)
			}
			defer c.Close()
			if c.JID() != tt.jid || c.Secure() != tt.tls {
				t.Errorf("JID() %q Secure() %v, want %q %v", c.JID(), c.Secure(), tt.jid, tt.tls)
			}
			for _, want := range tt.received {
				if got := <-tt.srv.received; got != want {
					t.Errorf("server received\n %s\nwant %s", got, want)
				}
			}
			ev := nextT(t, c)
			if string(ev.Data) != tt.srv.after || ev.NS != nsDefault {
				t.Errorf("Next after Login: %q NS %q", ev.Data, ev.NS)
			}
			if h := c.Header(); h.ID != "s2" {
				t.Errorf("Header() %+v, want the restarted stream's", h)
			}
		})
	}
}

func TestChooseMechanism(t *testing.T) {
	tests := []struct {
		name    string
		offered []string
		secure  bool
		secret  *Secret
		want    string // "": none
	}{
		{"all", []string{"PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256"}, true, nil, "SCRAM-SHA-256"},
		{"sha-1 before plain", []string{"PLAIN", "SCRAM-SHA-1"}, true, nil, "SCRAM-SHA-1"},
		{"plain over tls", []string{"PLAIN", "DIGEST-MD5"}, true, nil, "PLAIN"},
		{"plain not over plaintext", []string{"PLAIN"}, false, nil, ""},
		{"plus variants are not chosen", []string{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS"}, true, nil, ""},
		{"nothing offered", nil, true, nil, ""},
		{"a secret takes its own mechanism", []string{"PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256"}, true, &Secret{Mechanism: "SCRAM-SHA-1"}, "SCRAM-SHA-1"},
		{"a secret and its mechanism gone", []string{"PLAIN", "SCRAM-SHA-256"}, true, &Secret{Mechanism: "SCRAM-SHA-1"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ok := chooseMechanism(tt.offered, tt.secure, &Credentials{Secret: tt.secret})
			if ok != (tt.want != "") || m != tt.want {
				t.Errorf("chose %q (%v), want %q", m, ok, tt.want)
			}
		})
	}
}
