package bosh

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/internal/fakexmpp"
	"github.com/xmppbridge/xmppbridge/internal/httphold"
	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// env is a Handler in an httptest server in front of a fake upstream.
type env struct {
	hub *bridge.Hub
	h   *Handler
	srv *httptest.Server
	hl  *httphold.Listener
	url string
}

func newEnv(t testing.TB, upstreamAddr string, cfg Config) *env {
	return newEnvHub(t, upstreamAddr, bridge.Config{}, cfg)
}

func newEnvHub(t testing.TB, upstreamAddr string, hc bridge.Config, cfg Config) *env {
	t.Helper()
	if hc.Upstream == nil {
		hc.Upstream = func(d string) (xmppclient.Config, error) {
			return xmppclient.Config{Domain: d, Addr: upstreamAddr, Security: xmppclient.Plaintext}, nil
		}
	}
	hub := bridge.New(hc)
	cfg.Hub = hub
	h := New(cfg)
	// Served as the daemon serves it: held requests are taken over
	// (httphold) and handed back to the server between requests.
	srv := httptest.NewUnstartedServer(h)
	hl := httphold.Attach(srv.Config, srv.Listener, 0)
	srv.Listener = hl
	srv.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hub.Shutdown(ctx)
		h.Shutdown(ctx)
		srv.Close()
	})
	return &env{hub: hub, h: h, srv: srv, hl: hl, url: srv.URL + "/http-bind"}
}

// resp is one parsed response.
type resp struct {
	status int
	header http.Header
	raw    string
	attrs  map[string]string
	kids   []string
}

func (r resp) String() string { return fmt.Sprintf("%d %s", r.status, r.raw) }

// post sends one body and parses the answer, failing the test unless it is
// a <body/> in the BOSH namespace.
func (e *env) post(t testing.TB, body string, header ...string) resp {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(t, req)
}

var client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 16}}

func do(t testing.TB, req *http.Request) resp {
	t.Helper()
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", req.Method, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	return parseResp(t, res.StatusCode, res.Header, b)
}

func parseResp(t testing.TB, status int, h http.Header, b []byte) resp {
	t.Helper()
	el, err := xmlsplit.Parse(b, xmlsplit.ParseOptions{Children: true})
	if err != nil {
		t.Fatalf("response %d is not one element: %v\n%s", status, err, b)
	}
	r := resp{status: status, header: h, raw: string(b), attrs: map[string]string{}}
	if string(el.Name) != "body" {
		t.Fatalf("response root is <%s/>:\n%s", el.Name, b)
	}
	for _, a := range el.Attrs {
		v, err := xmlsplit.Unescape(nil, a.Value)
		if err != nil {
			t.Fatal(err)
		}
		r.attrs[string(a.Name)] = string(v)
	}
	if r.attrs["xmlns"] != nsHTTPBind {
		t.Fatalf("response not in the BOSH namespace:\n%s", b)
	}
	for _, c := range el.Children {
		r.kids = append(r.kids, string(c.Raw))
	}
	return r
}

func (r resp) expect(t testing.TB, attrs ...string) {
	t.Helper()
	for i := 0; i+1 < len(attrs); i += 2 {
		if got, ok := r.attrs[attrs[i]]; attrs[i+1] == "-" && ok || attrs[i+1] != "-" && got != attrs[i+1] {
			t.Fatalf("%s = %q, want %q in\n%s", attrs[i], got, attrs[i+1], r)
		}
	}
}

func (r resp) terminate(t testing.TB, cond string, status int) {
	t.Helper()
	r.expect(t, "type", "terminate", "condition", cond)
	if r.status != status {
		t.Fatalf("HTTP status %d, want %d\n%s", r.status, status, r)
	}
	if cond == "" {
		r.expect(t, "condition", "-")
	}
}

// sess is a test client of one session.
type sess struct {
	e   *env
	sid string
	rid uint64
	mu  sync.Mutex
}

// baseAttrs are the attributes Strophe.js sends in a session creation
// request, but hold and wait; createAttrs are all of them.
const (
	baseAttrs   = `content='text/xml; charset=utf-8' to='localhost' ver='1.6' xml:lang='en' xmlns:xmpp='urn:xmpp:xbosh' xmpp:version='1.0'`
	createAttrs = baseAttrs + ` hold='1' wait='60'`
)

// open creates a session with createAttrs, extra attributes added or, for
// hold and wait, instead.
func (e *env) open(t testing.TB, extra string) (*sess, resp) {
	t.Helper()
	const rid = 1000
	attrs := baseAttrs
	if !strings.Contains(extra, "hold=") {
		attrs += " hold='1'"
	}
	if !strings.Contains(extra, "wait=") {
		attrs += " wait='60'"
	}
	r := e.post(t, fmt.Sprintf("<body rid='%d' %s %s xmlns='%s'/>", rid, attrs, extra, nsHTTPBind))
	if r.status != http.StatusOK || r.attrs["type"] != "" || r.attrs["sid"] == "" {
		t.Fatalf("session creation failed:\n%s", r)
	}
	return &sess{e: e, sid: r.attrs["sid"], rid: rid}, r
}

// next returns the next rid.
func (s *sess) next() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rid++
	return s.rid
}

// bodyAt builds a request body with the given rid.
func (s *sess) bodyAt(rid uint64, attrs, kids string) string {
	b := fmt.Sprintf("<body rid='%d' sid='%s' %s xmlns='%s'", rid, s.sid, attrs, nsHTTPBind)
	if kids == "" {
		return b + "/>"
	}
	return b + ">" + kids + "</body>"
}

// send posts the next request.
func (s *sess) send(t testing.TB, attrs, kids string) resp {
	t.Helper()
	return s.e.post(t, s.bodyAt(s.next(), attrs, kids))
}

// sendAt posts a request with the given rid.
func (s *sess) sendAt(t testing.TB, rid uint64, attrs, kids string) resp {
	t.Helper()
	return s.e.post(t, s.bodyAt(rid, attrs, kids))
}

// bg stands in for a test in a goroutine of its own: a fatal failure ends
// only that goroutine, and recv reports it on the test's own.
type bg struct {
	testing.TB
	msg string
}

type bgFailed struct{}

func (b *bg) Helper() {}

func (b *bg) Fatal(args ...any) { b.msg = fmt.Sprint(args...); panic(bgFailed{}) }

func (b *bg) Fatalf(format string, args ...any) {
	b.msg = fmt.Sprintf(format, args...)
	panic(bgFailed{})
}

type result struct {
	resp
	failed string
}

// async runs f, which posts a request, in the background; the result comes
// out of recv.
func async(t testing.TB, f func(t testing.TB) resp) <-chan result {
	ch := make(chan result, 1)
	b := &bg{TB: t}
	go func() {
		defer func() {
			if p := recover(); p != nil {
				if _, ok := p.(bgFailed); !ok {
					panic(p)
				}
				ch <- result{failed: b.msg}
			}
		}()
		ch <- result{resp: f(b)}
	}()
	return ch
}

func recv(t testing.TB, ch <-chan result) resp {
	t.Helper()
	select {
	case r := <-ch:
		if r.failed != "" {
			t.Fatal(r.failed)
		}
		return r.resp
	case <-time.After(10 * time.Second):
		t.Fatal("no response")
		return resp{}
	}
}

// session returns the handler's state for the client's session.
func (s *sess) state(t testing.TB) *session {
	t.Helper()
	st := s.e.h.session(s.sid)
	if st == nil {
		t.Fatal("session gone")
	}
	return st
}

// waitFor waits until cond holds (read under the session's lock), for
// requests in flight to reach the handler.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func (s *sess) waitHeld(t testing.TB, n int) {
	t.Helper()
	st := s.state(t)
	waitFor(t, strconv.Itoa(n)+" held requests", func() bool {
		st.lp.Lock()
		defer st.lp.Unlock()
		return st.lp.HeldLocked() == n
	})
}

func (s *sess) waitEarly(t testing.TB, n int) {
	t.Helper()
	st := s.state(t)
	waitFor(t, strconv.Itoa(n)+" early requests", func() bool {
		st.lp.Lock()
		defer st.lp.Unlock()
		return st.lp.EarlyLocked() == n
	})
}

func waitSessions(t testing.TB, e *env, n int) {
	t.Helper()
	waitFor(t, "hub sessions", func() bool { return e.hub.Len() == n })
}

// recorder is a fake upstream that records what the bridge sends it and
// answers as Echo does, except that it echoes only elements with an id.
type recorder struct {
	got chan string
}

// dropped is what a recorder gets when the bridge drops the connection
// without closing the stream.
const dropped = "<dropped/>"

func newRecorder(t testing.TB) (*recorder, *fakexmpp.Server) {
	rec := &recorder{got: make(chan string, 256)}
	srv := fakexmpp.Start(t, func(c *fakexmpp.Conn) {
		if c.Open("r1", fakexmpp.DefaultFeatures) != nil {
			return
		}
		n := 1
		for {
			it, err := c.Read()
			if err != nil {
				// The connection closed without a stream close, as for a
				// browser that vanished.
				rec.got <- dropped
				return
			}
			switch it.Kind {
			case xmlsplit.KindOpen:
				n++
				rec.got <- "<restart/>"
				c.Send(fakexmpp.Header(fmt.Sprintf("r%d", n)) + "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>")
			case xmlsplit.KindClose:
				rec.got <- "</stream:stream>"
				c.Send("</stream:stream>")
				return
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

func (r *recorder) next(t testing.TB) string {
	t.Helper()
	select {
	case s := <-r.got:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("upstream got nothing")
		return ""
	}
}

func TestHTTP(t *testing.T) {
	up := fakexmpp.Start(t, fakexmpp.Echo)
	allow := func(r *http.Request) bool {
		o := r.Header.Get("Origin")
		return o == "" || o == "https://chat.example.com"
	}
	tests := []struct {
		name string
		cfg  Config
		run  func(t *testing.T, e *env)
	}{
		{"GET is 405 with a BOSH body", Config{}, func(t *testing.T, e *env) {
			req, _ := http.NewRequest(http.MethodGet, e.url, nil)
			r := do(t, req)
			r.terminate(t, "bad-request", http.StatusMethodNotAllowed)
			if got := r.header.Get("Allow"); got != "POST, OPTIONS" {
				t.Errorf("Allow = %q", got)
			}
		}},
		{"preflight from an allowed origin", Config{CheckOrigin: allow, AllowCredentials: true, CORSMaxAge: time.Hour}, func(t *testing.T, e *env) {
			req, _ := http.NewRequest(http.MethodOptions, e.url, nil)
			req.Header.Set("Origin", "https://chat.example.com")
			req.Header.Set("Access-Control-Request-Method", "POST")
			req.Header.Set("Access-Control-Request-Headers", "content-type")
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			want := map[string]string{
				"Access-Control-Allow-Origin":      "https://chat.example.com",
				"Access-Control-Allow-Methods":     "POST, OPTIONS",
				"Access-Control-Allow-Headers":     "Content-Type",
				"Access-Control-Max-Age":           "3600",
				"Access-Control-Allow-Credentials": "true",
			}
			if res.StatusCode != http.StatusOK {
				t.Errorf("status %d", res.StatusCode)
			}
			for k, v := range want {
				if got := res.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if e.h.Len() != 0 || e.hub.Len() != 0 {
				t.Error("a preflight touched sessions")
			}
		}},
		{"preflight from another origin is 403", Config{CheckOrigin: allow}, func(t *testing.T, e *env) {
			req, _ := http.NewRequest(http.MethodOptions, e.url, nil)
			req.Header.Set("Origin", "https://evil.example.net")
			r := do(t, req)
			r.terminate(t, "policy-violation", http.StatusForbidden)
			if got := r.header.Get("Access-Control-Allow-Origin"); got != "" {
				t.Errorf("Access-Control-Allow-Origin = %q for a refused origin", got)
			}
		}},
		{"POST from another origin is 403", Config{CheckOrigin: allow}, func(t *testing.T, e *env) {
			r := e.post(t, "<body rid='1' to='localhost' xmlns='"+nsHTTPBind+"'/>", "Origin", "https://evil.example.net")
			r.terminate(t, "policy-violation", http.StatusForbidden)
			if e.hub.Len() != 0 {
				t.Error("a session was opened")
			}
		}},
		{"default origin check: same origin only", Config{}, func(t *testing.T, e *env) {
			r := e.post(t, "<body rid='1' to='localhost' xmlns='"+nsHTTPBind+"'/>", "Origin", "https://evil.example.net")
			r.terminate(t, "policy-violation", http.StatusForbidden)
			r = e.post(t, "<body rid='1' to='localhost' ver='1.6' xmlns='"+nsHTTPBind+"'/>", "Origin", e.srv.URL)
			r.expect(t, "type", "-")
			if r.header.Get("Access-Control-Allow-Origin") != e.srv.URL {
				t.Errorf("Access-Control-Allow-Origin = %q", r.header.Get("Access-Control-Allow-Origin"))
			}
		}},
		{"POST from an allowed origin echoes it", Config{CheckOrigin: allow, AllowCredentials: true}, func(t *testing.T, e *env) {
			r := e.post(t, "<body rid='1' to='localhost' ver='1.6' xmlns='"+nsHTTPBind+"'/>", "Origin", "https://chat.example.com")
			if got := r.header.Get("Access-Control-Allow-Origin"); got != "https://chat.example.com" {
				t.Errorf("Access-Control-Allow-Origin = %q", got)
			}
			if got := r.header.Get("Access-Control-Allow-Credentials"); got != "true" {
				t.Errorf("Access-Control-Allow-Credentials = %q", got)
			}
			if !strings.Contains(r.header.Get("Vary"), "Origin") {
				t.Errorf("Vary = %q", r.header.Get("Vary"))
			}
		}},
		{"Content-Type", Config{}, func(t *testing.T, e *env) {
			_, r := e.open(t, "")
			if got := r.header.Get("Content-Type"); got != "text/xml; charset=utf-8" {
				t.Errorf("Content-Type = %q", got)
			}
		}},
		{"responses have a Content-Length, never chunked", Config{}, func(t *testing.T, e *env) {
			// XEP-0124 §5: intermediaries may buffer chunked responses.
			s, r := e.open(t, "")
			for _, r := range []resp{r, s.send(t, "", msg("x")), e.post(t, "<body rid='1' sid='nope' xmlns='"+nsHTTPBind+"'/>")} {
				if r.header.Get("Content-Length") == "" || len(r.header.Values("Transfer-Encoding")) != 0 {
					t.Fatalf("Content-Length %q, Transfer-Encoding %q", r.header.Get("Content-Length"), r.header.Values("Transfer-Encoding"))
				}
			}
		}},
		{"the request's Content-Type is ignored", Config{}, func(t *testing.T, e *env) {
			// XEP-0124 §5: constrained clients may send another one.
			s, _ := e.open(t, "")
			for _, ct := range []string{"application/x-www-form-urlencoded", "text/plain", ""} {
				r := e.post(t, s.bodyAt(s.next(), "", msg(ct)), "Content-Type", ct)
				if r.attrs["type"] != "" || !strings.Contains(r.raw, "<body>"+ct+"</body>") {
					t.Fatalf("Content-Type %q: %s", ct, r)
				}
			}
		}},
		{"gzip when accepted and worth it", Config{}, func(t *testing.T, e *env) {
			s, _ := e.open(t, "")
			big := "<message xmlns='jabber:client' id='big'><body>" + strings.Repeat("compressible ", 200) + "</body></message>"
			r := s.e.post(t, s.bodyAt(s.next(), "", big), "Accept-Encoding", "gzip, deflate")
			if r.header.Get("Content-Encoding") != "gzip" || len(r.kids) != 1 || r.kids[0] != big {
				t.Fatalf("Content-Encoding %q, kids %q", r.header.Get("Content-Encoding"), r.kids)
			}
			small := "<message xmlns='jabber:client' id='small'/>"
			r = s.e.post(t, s.bodyAt(s.next(), "", small), "Accept-Encoding", "gzip")
			if r.header.Get("Content-Encoding") != "" {
				t.Error("a small body was compressed")
			}
			r = s.e.post(t, s.bodyAt(s.next(), "", big), "Accept-Encoding", "gzip;q=0, deflate")
			if r.header.Get("Content-Encoding") != "" {
				t.Error("compressed although gzip;q=0")
			}
		}},
		{"compressed request is bad-request", Config{}, func(t *testing.T, e *env) {
			r := e.post(t, "<body rid='1' to='localhost' xmlns='"+nsHTTPBind+"'/>", "Content-Encoding", "gzip")
			r.terminate(t, "bad-request", http.StatusOK)
		}},
		{"unknown sid is item-not-found", Config{}, func(t *testing.T, e *env) {
			r := e.post(t, "<body rid='5' sid='nope' xmlns='"+nsHTTPBind+"'/>")
			r.terminate(t, "item-not-found", http.StatusOK)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, newEnv(t, up.Addr, tt.cfg))
		})
	}
}

func TestAcceptsGzip(t *testing.T) {
	tests := []struct {
		in   []string
		want bool
	}{
		{nil, false},
		{[]string{"gzip"}, true},
		{[]string{"deflate, gzip;q=0.5"}, true},
		{[]string{"gzip;q=0"}, false},
		{[]string{"br", "GZIP"}, true},
		{[]string{"*"}, true},
		{[]string{"*;q=0"}, false},
		{[]string{"identity"}, false},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.in, "|"), func(t *testing.T) {
			if got := acceptsGzip(tt.in); got != tt.want {
				t.Errorf("acceptsGzip(%q) = %v", tt.in, got)
			}
		})
	}
}

func TestSessionIDs(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := newSID()
		if len(id) != 32 || seen[id] {
			t.Fatalf("sid %q: want 32 hex digits (128 bits), never repeated", id)
		}
		seen[id] = true
	}
}

func TestShutdown(t *testing.T) {
	up := fakexmpp.Start(t, fakexmpp.Echo)
	e := newEnv(t, up.Addr, Config{})
	s, _ := e.open(t, "")
	held := async(t, func(t testing.TB) resp { return s.send(t, "", "") })
	s.waitHeld(t, 1)
	idle, _ := e.open(t, "")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.hub.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.h.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	recv(t, held).terminate(t, "system-shutdown", http.StatusOK)
	idle.send(t, "", "").terminate(t, "system-shutdown", http.StatusOK)
	e.post(t, "<body rid='1' to='localhost' xmlns='"+nsHTTPBind+"'/>").terminate(t, "system-shutdown", http.StatusOK)
	if e.h.Len() != 0 {
		t.Errorf("%d sessions left", e.h.Len())
	}
}

// A drain with DrainURI sends clients there (see-other-uri, XEP-0124
// §17.2) instead of telling them the bridge shuts down.
func TestShutdownDrainURI(t *testing.T) {
	up := fakexmpp.Start(t, fakexmpp.Echo)
	e := newEnv(t, up.Addr, Config{DrainURI: "https://peer.example/http-bind"})
	s, _ := e.open(t, "")
	held := async(t, func(t testing.TB) resp { return s.send(t, "", "") })
	s.waitHeld(t, 1)
	idle, _ := e.open(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.hub.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.h.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for _, r := range []resp{recv(t, held), idle.send(t, "", "")} {
		r.terminate(t, "see-other-uri", http.StatusOK)
		if len(r.kids) != 1 || r.kids[0] != "<uri>https://peer.example/http-bind</uri>" {
			t.Fatalf("see-other-uri without the URI: %s", r)
		}
	}
}

// Shutdown answers held requests itself when the sessions do not end in
// time.
func TestShutdownCutsShort(t *testing.T) {
	up := fakexmpp.Start(t, fakexmpp.Echo)
	e := newEnv(t, up.Addr, Config{})
	s, _ := e.open(t, "")
	held := async(t, func(t testing.TB) resp { return s.send(t, "", "") })
	s.waitHeld(t, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	e.h.Shutdown(ctx)
	recv(t, held).terminate(t, "system-shutdown", http.StatusOK)
}

// A request whose body never fully arrives was not received: the session
// goes on, and the client may send that rid again (XEP-0124 §14.3).
func TestBrokenRequestBody(t *testing.T) {
	up := fakexmpp.Start(t, fakexmpp.Echo)
	e := newEnv(t, up.Addr, Config{})
	s, _ := e.open(t, "")
	rid := s.next()
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	body := s.bodyAt(rid, "", msg("lost"))
	fmt.Fprintf(conn, "POST /http-bind HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n%s", len(body)+100, body)
	conn.(*net.TCPConn).CloseWrite()
	io.Copy(io.Discard, conn) // the answer, if any, and the close
	conn.Close()
	if r := s.sendAt(t, rid, "", msg("again")); !strings.Contains(r.raw, "id='again'") {
		t.Fatalf("resent request got %s", r)
	}
	if e.h.Len() != 1 {
		t.Fatal("the session ended")
	}
}

// XEP-0124 §19.1: a request of a session begun over TLS that comes
// without it gets its connection closed; the session goes on.
func TestTLSSessionWithoutTLS(t *testing.T) {
	up := fakexmpp.Start(t, fakexmpp.Echo)
	e := newEnv(t, up.Addr, Config{})
	tlsSrv := httptest.NewTLSServer(e.h)
	defer tlsSrv.Close()
	tlsClient := tlsSrv.Client()
	post := func(c *http.Client, url, body string) (resp, error) {
		res, err := c.Post(url, "text/xml; charset=utf-8", strings.NewReader(body))
		if err != nil {
			return resp{}, err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			return resp{}, err
		}
		return parseResp(t, res.StatusCode, res.Header, b), nil
	}
	r, err := post(tlsClient, tlsSrv.URL, fmt.Sprintf("<body rid='1' %s xmlns='%s'/>", createAttrs, nsHTTPBind))
	if err != nil {
		t.Fatal(err)
	}
	s := &sess{e: e, sid: r.attrs["sid"], rid: 1}
	if r, err := post(client, e.url, s.bodyAt(2, "", msg("plain"))); err == nil {
		t.Fatalf("a plain HTTP request of a TLS session got %s", r)
	}
	r, err = post(tlsClient, tlsSrv.URL, s.bodyAt(2, "", msg("tls")))
	if err != nil || !strings.Contains(r.raw, "id='tls'") {
		t.Fatalf("over TLS again: %v %s", err, r)
	}
	// A session begun without TLS may go on over either.
	p, _ := e.open(t, "")
	if r, err := post(tlsClient, tlsSrv.URL, p.bodyAt(p.next(), "", msg("up"))); err != nil || !strings.Contains(r.raw, "id='up'") {
		t.Fatalf("plain session over TLS: %v %s", err, r)
	}
}

// The bridge full: undefined-condition, not the client's policy-violation
// (XEP-0124 §17.2), with the stream error that says why in the body.
func TestResourceConstraint(t *testing.T) {
	up := fakexmpp.Start(t, fakexmpp.Echo)
	e := newEnvHub(t, up.Addr, bridge.Config{MaxSessions: 1}, Config{})
	e.open(t, "")
	r := e.post(t, fmt.Sprintf("<body rid='1' %s xmlns='%s'/>", createAttrs, nsHTTPBind))
	r.terminate(t, "undefined-condition", http.StatusOK)
	r.expect(t, "xmlns:stream", nsStream)
	if len(r.kids) != 1 || !strings.Contains(r.kids[0], "<resource-constraint xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>") {
		t.Fatalf("got %s", r)
	}
	if e.h.Len() != 1 {
		t.Fatalf("%d sessions", e.h.Len())
	}
}

// A held request costs no goroutine of net/http's: its connection is
// taken over, and handed back for the next request once answered.
func TestHeldRequestsTakenOver(t *testing.T) {
	e := newEnv(t, fakexmpp.Start(t, fakexmpp.Echo).Addr, Config{})
	// A short wait: the echo of x may answer the held request rather than
	// the one that sent x, which then waits for nothing.
	s, _ := e.open(t, "wait='2'")
	held := async(t, func(t testing.TB) resp { return s.send(t, "", "") })
	s.waitHeld(t, 1)
	waitFor(t, "the held request's connection taken over", func() bool {
		n, _ := e.hl.Counts()
		return n == 1
	})
	s.send(t, "", msg("x"))
	if r := recv(t, held); r.attrs["type"] != "" {
		t.Fatalf("held request: %s", r)
	}
	waitFor(t, "answered connections parked for their next request", func() bool {
		n, parked := e.hl.Counts()
		return n <= 1 && parked >= 1
	})
}
