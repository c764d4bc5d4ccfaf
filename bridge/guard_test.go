package bridge

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/fakexmpp"
	"github.com/xmppbridge/xmppbridge/internal/limits"
	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// saslServer answers SASL PLAIN: success for the password "secret",
// not-authorized else, and counts the <auth/>s that reached it.
type saslServer struct {
	mu    sync.Mutex
	auths int
}

func (f *saslServer) serve(c *fakexmpp.Conn) {
	if err := c.Open("s1", fakexmpp.DefaultFeatures); err != nil {
		return
	}
	for {
		it, err := c.Read()
		if err != nil {
			return
		}
		switch {
		case it.Kind == xmlsplit.KindClose:
			_ = c.Send("</stream:stream>")
			return
		case it.Kind == xmlsplit.KindOpen:
			_ = c.Send(fakexmpp.Header("s2") + "<stream:features/>")
		case strings.HasPrefix(it.Raw, "<auth"):
			f.mu.Lock()
			f.auths++
			f.mu.Unlock()
			ns, cond := nsSASL, "<not-authorized/>"
			if strings.HasPrefix(it.Raw, "<authenticate") {
				ns, cond = nsSASL2, "<not-authorized xmlns='"+nsSASL+"'/>"
			}
			if strings.Contains(it.Raw, base64.StdEncoding.EncodeToString([]byte("\x00alice\x00secret"))) {
				_ = c.Send("<success xmlns='" + ns + "'/>")
			} else {
				_ = c.Send("<failure xmlns='" + ns + "'>" + cond + "</failure>")
			}
		}
	}
}

func (f *saslServer) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.auths
}

func plainAuth(user, password string) []byte {
	return []byte("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
		base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+password)) + "</auth>")
}

// events collects LoginEvents.
type events struct {
	mu sync.Mutex
	ev []LoginEvent
}

func (e *events) add(ev LoginEvent) {
	e.mu.Lock()
	e.ev = append(e.ev, ev)
	e.mu.Unlock()
}

func (e *events) list() []LoginEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]LoginEvent(nil), e.ev...)
}

func openFrom(t *testing.T, h *Hub, client string) (*Session, *recorder, error) {
	t.Helper()
	r := newRecorder()
	s, err := h.Open(WithClient(context.Background(), client), OpenRequest{To: "localhost"}, r)
	return s, r, err
}

// nextElement skips to the next element the browser gets.
func (r *recorder) nextElement(t *testing.T) string {
	t.Helper()
	for {
		it := r.next(t)
		if it.End != nil {
			t.Fatalf("the session ended (%v) before an element", it.End)
		}
		if it.Kind == xmppclient.EventElement && !strings.HasPrefix(string(it.Data), "<stream:features") {
			return string(it.Data)
		}
	}
}

func TestRelayedLoginsThrottled(t *testing.T) {
	srv := &saslServer{}
	fs := fakexmpp.Start(t, srv.serve)
	var ev events
	h := New(Config{
		Upstream: plaintextTo(fs.Addr),
		Limits: limits.New(limits.Config{
			Addr:    limits.Failures{Free: 2, Delay: time.Hour, Refuse: 3},
			Account: limits.Failures{Free: 1000},
		}),
		OnLogin: ev.add,
	})
	s, r, err := openFrom(t, h, "192.0.2.1:4000")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := s.Send(plainAuth("alice", "wrong")); err != nil {
			t.Fatal(err)
		}
		if got := r.nextElement(t); !strings.Contains(got, "<not-authorized/>") {
			t.Fatalf("guess %d: %q, want the server's not-authorized", i, got)
		}
	}
	// The third waits an hour: the bridge answers, the server never hears.
	if err := s.Send(plainAuth("alice", "secret")); err != nil {
		t.Fatal(err)
	}
	got := r.nextElement(t)
	if !strings.Contains(got, "<temporary-auth-failure/>") || !strings.Contains(got, "your address") {
		t.Fatalf("throttled guess: %q, want temporary-auth-failure naming the address", got)
	}
	if n := srv.count(); n != 2 {
		t.Errorf("the server saw %d <auth/>s, want 2", n)
	}
	list := ev.list()
	if len(list) != 3 || list[0].Outcome != LoginFailed || list[0].Account != "alice@localhost" ||
		list[0].Client != "192.0.2.1:4000" || !list[0].Relayed || list[0].Condition != "not-authorized" ||
		list[2].Outcome != LoginThrottled || list[2].RetryAfter <= 0 {
		t.Errorf("login events %+v", list)
	}
	if st := h.LimitStats(); st.LoginsFailed != 2 || st.LoginsThrottled != 1 {
		t.Errorf("LimitStats %+v", st)
	}
	// The metrics' counts see them too.
	if st := h.Stats(); st.LoginsFailed != 2 || st.LoginsThrottled != 1 {
		t.Errorf("Stats: %d failed, %d throttled; want 2 and 1", st.LoginsFailed, st.LoginsThrottled)
	}

	// Another address is not throttled.
	s2, r2, _ := openFrom(t, h, "192.0.2.2:4000")
	s2.Send(plainAuth("alice", "secret"))
	if got := r2.nextElement(t); !strings.Contains(got, "<success") {
		t.Fatalf("another address: %q, want success", got)
	}
	if s2.Account() != "alice@localhost" {
		t.Errorf("Account() = %q", s2.Account())
	}
}

// A browser may log in with XEP-0388 instead: the same throttle, the
// answer in its namespace, the deadline stopped by its success.
func TestRelayedSASL2(t *testing.T) {
	srv := &saslServer{}
	fs := fakexmpp.Start(t, srv.serve)
	var ev events
	h := New(Config{
		Upstream: plaintextTo(fs.Addr),
		Limits:   limits.New(limits.Config{Addr: limits.Failures{Free: 1, Delay: time.Hour}}),
		OnLogin:  ev.add,
	})
	authenticate := func(user, password string) []byte {
		return []byte("<authenticate xmlns='urn:xmpp:sasl:2' mechanism='PLAIN'><initial-response>" +
			base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+password)) +
			"</initial-response><user-agent id='d4565fa7-4d72-4749-b3d3-740edbf87770'/></authenticate>")
	}
	s, r, _ := openFrom(t, h, "192.0.2.1:1")
	s.Send(authenticate("carol", "wrong"))
	if got := r.nextElement(t); !strings.Contains(got, "urn:xmpp:sasl:2") || !strings.Contains(got, "not-authorized") {
		t.Fatalf("first guess: %q", got)
	}
	s.Send(authenticate("alice", "secret"))
	got := r.nextElement(t)
	if !strings.HasPrefix(got, "<failure xmlns='urn:xmpp:sasl:2'><temporary-auth-failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>") {
		t.Fatalf("throttled: %q, want a XEP-0388 failure", got)
	}
	if list := ev.list(); len(list) != 2 || list[0].Account != "carol@localhost" || list[0].Condition != "not-authorized" || list[1].Outcome != LoginThrottled {
		t.Errorf("events %+v", list)
	}
	s2, r2, _ := openFrom(t, h, "192.0.2.2:1")
	s2.Send(authenticate("alice", "secret"))
	r2.nextElement(t)
	if s2.auth.watching.Load() {
		t.Error("a XEP-0388 success left the session watched")
	}
}

func TestRelayedLoginBlockedEndsStream(t *testing.T) {
	srv := &saslServer{}
	fs := fakexmpp.Start(t, srv.serve)
	h := New(Config{
		Upstream: plaintextTo(fs.Addr),
		Limits:   limits.New(limits.Config{Addr: limits.Failures{Free: 2, Refuse: 2}}),
	})
	s, r, _ := openFrom(t, h, "192.0.2.1:4000")
	for range 2 {
		s.Send(plainAuth("bob", "wrong"))
		r.nextElement(t)
	}
	s.Send(plainAuth("bob", "wrong"))
	if e := r.nextEnd(t); e.Reason != ReasonThrottled || e.StreamCondition() != "policy-violation" || !strings.Contains(e.Text, "refused") {
		t.Fatalf("blocked: %+v, want ReasonThrottled (policy-violation)", e)
	}
}

func TestSessionsPerAddress(t *testing.T) {
	fs := fakexmpp.Start(t, fakexmpp.Echo)
	h := New(Config{Upstream: plaintextTo(fs.Addr), Limits: limits.New(limits.Config{SessionsPerAddr: 2})})
	s1, _, err := openFrom(t, h, "192.0.2.1:1")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := openFrom(t, h, "192.0.2.1:2"); err != nil {
		t.Fatal(err)
	}
	_, r, err := openFrom(t, h, "192.0.2.1:3")
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Reason != ReasonAddrLimit || !strings.Contains(ce.Text, "your address") {
		t.Fatalf("a third session: %v, want ReasonAddrLimit", err)
	}
	if e := r.nextEnd(t); e.Reason != ReasonAddrLimit {
		t.Fatalf("the browser heard %v", e)
	}
	if _, _, err := openFrom(t, h, "192.0.2.2:1"); err != nil {
		t.Fatalf("another address: %v", err)
	}
	s1.End(&CloseError{Reason: ReasonGone})
	deadline := time.Now().Add(10 * time.Second)
	for h.cfg.Limits.Sessions("192.0.2.1") != 1 {
		if time.Now().After(deadline) {
			t.Fatal("an ended session kept its address's place")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, _, err := openFrom(t, h, "192.0.2.1:4"); err != nil {
		t.Fatalf("after one ended: %v", err)
	}
	if st := h.LimitStats(); st.AddrRefused != 1 {
		t.Errorf("LimitStats %+v", st)
	}
}

func TestReservedForAuthenticated(t *testing.T) {
	srv := &saslServer{}
	fs := fakexmpp.Start(t, srv.serve)
	h := New(Config{Upstream: plaintextTo(fs.Addr), MaxSessions: 4, Reserved: 2})
	s1, r1, err := openFrom(t, h, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := openFrom(t, h, ""); err != nil {
		t.Fatal(err)
	}
	_, _, err = openFrom(t, h, "")
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Reason != ReasonResourceConstraint {
		t.Fatalf("a third unauthenticated session of 4 with 2 reserved: %v, want resource-constraint", err)
	}
	// Once one logs in, its place among the unauthenticated is free.
	s1.Send(plainAuth("alice", "secret"))
	if got := r1.nextElement(t); !strings.Contains(got, "<success") {
		t.Fatalf("login: %q", got)
	}
	if _, _, err := openFrom(t, h, ""); err != nil {
		t.Fatalf("after one logged in: %v", err)
	}
	if st := h.LimitStats(); st.Reserved != 1 || st.LoginsOK != 1 {
		t.Errorf("LimitStats %+v", st)
	}
}

func TestAuthTimeout(t *testing.T) {
	srv := &saslServer{}
	fs := fakexmpp.Start(t, srv.serve)
	h := New(Config{Upstream: plaintextTo(fs.Addr), AuthTimeout: 100 * time.Millisecond})
	_, r, _ := openFrom(t, h, "")
	e := r.nextEnd(t)
	if e.Reason != ReasonAuthTimeout || e.StreamCondition() != "policy-violation" || !strings.Contains(e.Text, "not authenticated") {
		t.Fatalf("an unauthenticated stream ended with %+v, want ReasonAuthTimeout", e)
	}
	if st := h.LimitStats(); st.AuthTimeouts != 1 {
		t.Errorf("LimitStats %+v", st)
	}

	// One that logs in has its deadline stopped.
	s, r, _ := openFrom(t, h, "")
	s.Send(plainAuth("alice", "secret"))
	r.nextElement(t)
	s.auth.mu.Lock()
	timer := s.auth.timer
	s.auth.mu.Unlock()
	if timer != nil || s.auth.watching.Load() {
		t.Fatal("an authenticated session still has its deadline")
	}
}

func TestAuthcid(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, tc := range []struct{ name, mech, data, want string }{
		{"plain", "PLAIN", b64("\x00alice\x00pw"), "alice"},
		{"plain with authzid", "PLAIN", b64("alice@x\x00alice\x00pw"), "alice"},
		{"scram", "SCRAM-SHA-1", b64("n,,n=bob,r=abc"), "bob"},
		{"scram escaped", "SCRAM-SHA-256", b64("n,,n=a=2Cb=3Dc,r=abc"), "a,b=c"},
		{"scram with authzid", "SCRAM-SHA-1", b64("n,a=bob@x,n=bob,r=abc"), "bob"},
		{"anonymous", "ANONYMOUS", b64("trace"), ""},
		{"not base64", "PLAIN", "!!", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := authcid(tc.mech, tc.data); got != tc.want {
				t.Errorf("authcid = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestIsSASL(t *testing.T) {
	for _, tc := range []struct {
		elem, local, ns string
		want            bool
	}{
		{"<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>", "success", nsSASL, true},
		{`<success xmlns="urn:ietf:params:xml:ns:xmpp-sasl"/>`, "success", nsSASL, true},
		{"<sasl:failure xmlns:sasl='urn:ietf:params:xml:ns:xmpp-sasl'><sasl:not-authorized/></sasl:failure>", "failure", nsSASL, true},
		{"<success xmlns='urn:xmpp:sasl:2'><authorization-identifier>a@b/c</authorization-identifier></success>", "success", nsSASL2, true},
		{"<success xmlns='urn:xmpp:sasl:2'/>", "success", nsSASL, false},
		{"<success xmlns='urn:xmpp:sasl:20'/>", "success", nsSASL2, false},
		{"<success xmlns='urn:example'/>", "success", nsSASL, false},
		{"<message xmlns='jabber:client'><success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/></message>", "success", nsSASL, false},
		{"<successor xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>", "success", nsSASL, false},
	} {
		if got := isSASL([]byte(tc.elem), tc.local, tc.ns); got != tc.want {
			t.Errorf("isSASL(%q, %q) = %v", tc.elem, tc.local, got)
		}
	}
	if c := failureCondition([]byte("<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><text>x</text><aborted/></failure>")); c != "aborted" {
		t.Errorf("failureCondition = %q", c)
	}
}
