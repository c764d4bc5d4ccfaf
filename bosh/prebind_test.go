package bosh

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/internal/fakexmpp"
	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
	"github.com/xmppbridge/xmppbridge/xmppclient"
	"mellium.im/sasl"
)

// loginServer is a fake upstream for bridge-side logins: SCRAM-SHA-1 for
// alice with password "secret" (mellium's server side), resource binding,
// then a recorder's behaviour: what the bridge sends after binding is
// recorded, and elements with an id are echoed.
func loginServer(t testing.TB) (*recorder, *fakexmpp.Server) {
	rec := &recorder{got: make(chan string, 256)}
	srv := fakexmpp.Start(t, func(c *fakexmpp.Conn) {
		const mechs = "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism></mechanisms></stream:features>"
		if c.Open("pre", mechs) != nil || !scram(c) {
			return
		}
		if c.Open("bound", "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>") != nil {
			return
		}
		it, err := c.Read()
		if err != nil {
			return
		}
		res := "generated"
		if i := strings.Index(it.Raw, "<resource>"); i >= 0 {
			res = it.Raw[i+len("<resource>") : strings.Index(it.Raw, "</resource>")]
		}
		id := attrOf(it.Raw, "id")
		if c.Send("<iq type='result' id='"+id+"'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>alice@localhost/"+res+"</jid></bind></iq>") != nil {
			return
		}
		for {
			it, err := c.Read()
			if err != nil {
				rec.got <- dropped
				return
			}
			switch it.Kind {
			case xmlsplit.KindClose:
				rec.got <- "</stream:stream>"
				c.Send("</stream:stream>")
				return
			case xmlsplit.KindOpen:
				rec.got <- "<restart/>"
			default:
				rec.got <- it.Raw
				if strings.Contains(it.Raw, " id=") {
					c.Send(it.Raw)
				}
			}
		}
	})
	return rec, srv
}

// scram runs the server side of SCRAM-SHA-1 and reports success.
func scram(c *fakexmpp.Conn) bool {
	failure := "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>"
	salt := []byte("0123456789abcdef")
	neg := sasl.NewServer(sasl.ScramSha1, nil, sasl.SaltedCredentials(func(user, _ []byte, _ string) ([]byte, []byte, int64, error) {
		if string(user) != "alice" {
			return nil, nil, 0, sasl.ErrAuthn
		}
		return salt, sasl.SCRAMSaltPassword(sha1.New, []byte("secret"), salt, 4096), 4096, nil
	}))
	step := func() ([]byte, bool) {
		it, err := c.Read()
		if err != nil {
			return nil, false
		}
		_, out, err := neg.Step(saslText(it.Raw))
		if err != nil {
			c.Send(failure)
			return nil, false
		}
		return out, true
	}
	first, ok := step()
	if !ok || c.Send("<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"+base64.StdEncoding.EncodeToString(first)+"</challenge>") != nil {
		return false
	}
	final, ok := step()
	return ok && c.Send("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"+base64.StdEncoding.EncodeToString(final)+"</success>") == nil
}

// saslText decodes the base64 text of a SASL element.
func saslText(raw string) []byte {
	i, j := strings.IndexByte(raw, '>'), strings.LastIndexByte(raw, '<')
	if i < 0 || j <= i {
		return nil
	}
	b, _ := base64.StdEncoding.DecodeString(raw[i+1 : j])
	return b
}

// attrOf returns the value of a single-quoted attribute in a start tag.
func attrOf(raw, name string) string {
	_, v, ok := strings.Cut(raw, " "+name+"='")
	if !ok {
		return ""
	}
	v, _, _ = strings.Cut(v, "'")
	return v
}

// attach is a client of a prebound session: it sends ordinary requests from
// NextRID on.
func (e *env) attach(p Prebound) *sess {
	return &sess{e: e, sid: p.SID, rid: p.RID}
}

var alice = xmppclient.Credentials{Username: "alice", Password: "secret", Resource: "web"}

func TestPrebind(t *testing.T) {
	tests := []struct {
		name string
		hub  bridge.Config
		cfg  Config
		req  PrebindRequest
		// err is the reason the prebind must fail with; run is called
		// after a successful one.
		err bridge.Reason
		run func(t *testing.T, e *env, rec *recorder, p Prebound)
	}{
		{"attached client finds a bound stream", bridge.Config{}, Config{}, PrebindRequest{To: "localhost", Credentials: alice}, 0,
			func(t *testing.T, e *env, rec *recorder, p Prebound) {
				if p.JID != "alice@localhost/web" || len(p.SID) != 32 || p.RID == 0 || p.RID > 1<<52 {
					t.Fatalf("Prebound %+v", p)
				}
				s := e.attach(p)
				r := s.send(t, "", msg("hello")) // rid NextRID
				// The echo, and nothing of a stream negotiation before it.
				if len(r.kids) != 1 || !strings.Contains(r.kids[0], "id='hello'") || r.attrs["type"] != "" {
					t.Fatalf("first response %s", r)
				}
				if got := rec.next(t); got != msg("hello") {
					t.Fatalf("upstream got %s", got)
				}
				if jid, ok := e.h.JID(p.SID); !ok || jid != p.JID {
					t.Errorf("JID(sid) = %q, %v", jid, ok)
				}
				s.send(t, "type='terminate'", "<presence type='unavailable'/>").terminate(t, "", http.StatusOK)
				if got := rec.next(t); got != "<presence xmlns='jabber:client' type='unavailable'/>" {
					t.Fatalf("upstream got %s", got)
				}
				if got := rec.next(t); got != "</stream:stream>" {
					t.Fatalf("upstream got %s, want the stream closed", got)
				}
				waitSessions(t, e, 0)
			}},
		{"creation attributes as a response would state them", bridge.Config{}, Config{MaxWait: 30 * time.Second, MaxHold: 2, Polling: 2 * time.Second, MaxPause: time.Minute},
			PrebindRequest{To: "localhost", Credentials: alice, RID: 1000, Wait: 300 * time.Second, Hold: 5}, 0,
			func(t *testing.T, e *env, rec *recorder, p Prebound) {
				want := Prebound{JID: "alice@localhost/web", SID: p.SID, RID: 1000, Wait: 30 * time.Second, Hold: 2, Requests: 3,
					Inactivity: 60 * time.Second, Polling: 2 * time.Second, MaxPause: time.Minute}
				if p != want || p.NextRID() != 1001 {
					t.Fatalf("Prebound %+v, want %+v", p, want)
				}
			}},
		{"server chooses the resource", bridge.Config{}, Config{}, PrebindRequest{To: "localhost", Credentials: xmppclient.Credentials{Username: "alice", Password: "secret"}}, 0,
			func(t *testing.T, e *env, rec *recorder, p Prebound) {
				if p.JID != "alice@localhost/generated" {
					t.Fatalf("JID %q", p.JID)
				}
			}},
		{"a client counting from RID gets an empty body and goes on", bridge.Config{}, Config{}, PrebindRequest{To: "localhost", Credentials: alice, RID: 77}, 0,
			func(t *testing.T, e *env, rec *recorder, p Prebound) {
				s := e.attach(p)
				if r := s.sendAt(t, p.RID, "", ""); r.raw != string(emptyBody) {
					t.Fatalf("rid %d got %s", p.RID, r)
				}
				if r := s.sendAt(t, p.NextRID(), "", msg("on")); !strings.Contains(r.raw, "id='on'") {
					t.Fatalf("got %s", r)
				}
			}},
		// The echo may come back in either request: in the held one when
		// it is back before the second request is taken as held, and then
		// the second is held until its wait (one second here) ends.
		{"held requests as usual", bridge.Config{}, Config{}, PrebindRequest{To: "localhost", Credentials: alice, Wait: time.Second}, 0,
			func(t *testing.T, e *env, rec *recorder, p Prebound) {
				s := e.attach(p)
				held := async(t, func(t testing.TB) resp { return s.send(t, "", "") })
				s.waitHeld(t, 1)
				second := async(t, func(t testing.TB) resp { return s.send(t, "", msg("m")) })
				if r := kidsOf(recv(t, held), recv(t, second)); !strings.Contains(r, "id='m'") {
					t.Fatalf("no echo in %s", r)
				}
			}},
		{"inactivity runs from the prebind", bridge.Config{}, Config{Inactivity: 20 * time.Millisecond}, PrebindRequest{To: "localhost", Credentials: alice}, 0,
			func(t *testing.T, e *env, rec *recorder, p Prebound) {
				waitSessions(t, e, 0)
				if got := rec.next(t); got != dropped {
					t.Fatalf("upstream got %s, want the connection dropped, as for a client gone", got)
				}
				e.attach(p).send(t, "", "").terminate(t, "item-not-found", http.StatusOK)
			}},
		{"wrong password: not-authorized", bridge.Config{}, Config{}, PrebindRequest{To: "localhost", Credentials: xmppclient.Credentials{Username: "alice", Password: "wrong"}},
			bridge.ReasonNotAuthorized, nil},
		{"no domain: improper-addressing", bridge.Config{}, Config{}, PrebindRequest{Credentials: alice}, bridge.ReasonImproperAddressing, nil},
		{"domain not served: host-unknown", bridge.Config{Upstream: func(d string) (xmppclient.Config, error) {
			return xmppclient.Config{}, errors.New("not served")
		}}, Config{}, PrebindRequest{To: "example.net", Credentials: alice}, bridge.ReasonHostUnknown, nil},
		{"rid past the limit: bad-format", bridge.Config{}, Config{}, PrebindRequest{To: "localhost", Credentials: alice, RID: maxRID}, bridge.ReasonBadFormat, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, up := loginServer(t)
			e := newEnvHub(t, up.Addr, tt.hub, tt.cfg)
			p, err := e.h.Prebind(context.Background(), tt.req)
			if tt.run == nil {
				var ce *bridge.CloseError
				if !errors.As(err, &ce) || ce.Reason != tt.err {
					t.Fatalf("Prebind = %+v, %v; want %v", p, err, tt.err)
				}
				if !strings.HasPrefix(err.Error(), "bosh: prebind") {
					t.Errorf("error %q has no package prefix", err)
				}
				waitSessions(t, e, 0)
				if e.h.Len() != 0 {
					t.Fatalf("a failed prebind left %d sessions", e.h.Len())
				}
				return
			}
			if err != nil {
				t.Fatalf("Prebind: %v", err)
			}
			tt.run(t, e, rec, p)
		})
	}
}

func TestPrebindShutdown(t *testing.T) {
	_, up := loginServer(t)
	e := newEnv(t, up.Addr, Config{})
	p, err := e.h.Prebind(context.Background(), PrebindRequest{To: "localhost", Credentials: alice})
	if err != nil {
		t.Fatal(err)
	}
	s := e.attach(p)
	held := async(t, func(t testing.TB) resp { return s.send(t, "", "") })
	s.waitHeld(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e.hub.Shutdown(ctx)
	if err := e.h.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	recv(t, held).terminate(t, "system-shutdown", http.StatusOK)
	_, err = e.h.Prebind(context.Background(), PrebindRequest{To: "localhost", Credentials: alice})
	var ce *bridge.CloseError
	if !errors.As(err, &ce) || ce.Reason != bridge.ReasonShutdown {
		t.Fatalf("Prebind after Shutdown: %v", err)
	}
}

// TestBaseContext: a session opens under Config.BaseContext; when it is
// done, an open under way stops, though its request's context is not.
func TestBaseContext(t *testing.T) {
	reached := make(chan struct{}, 1)
	up := fakexmpp.Start(t, fakexmpp.Silent(reached))
	base, cut := context.WithCancel(context.Background())
	defer cut()
	e := newEnv(t, up.Addr, Config{BaseContext: base})
	go func() {
		<-reached
		cut()
	}()
	_, err := e.h.Prebind(context.Background(), PrebindRequest{To: "localhost", Credentials: alice})
	var ce *bridge.CloseError
	if !errors.As(err, &ce) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Prebind: %v, want a CloseError for the cancelled open", err)
	}
	if e.h.Len() != 0 || e.hub.Len() != 0 {
		t.Errorf("sessions left: %d in the handler, %d in the hub", e.h.Len(), e.hub.Len())
	}
}

func TestJID(t *testing.T) {
	up := fakexmpp.Start(t, fakexmpp.Echo)
	e := newEnv(t, up.Addr, Config{})
	s, _ := e.open(t, "")
	if jid, ok := e.h.JID(s.sid); jid != "" || !ok {
		t.Errorf("JID of a relayed session = %q, %v", jid, ok)
	}
	if _, ok := e.h.JID("nope"); ok {
		t.Error("JID of no session")
	}
}
