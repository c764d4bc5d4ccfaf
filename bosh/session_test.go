package bosh

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/internal/fakexmpp"
	"github.com/xmppbridge/xmppbridge/internal/longpoll"
	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
)

// clock is an injected clock for the request-frequency rules.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(e *env) *clock {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	e.h.now = c.now
	return c
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// msg is a stanza the fake servers echo.
func msg(id string) string {
	return "<message xmlns='jabber:client' to='b@localhost' id='" + id + "'><body>" + id + "</body></message>"
}

// kidsOf gathers the children of several responses.
func kidsOf(rs ...resp) string {
	var b strings.Builder
	for _, r := range rs {
		for _, k := range r.kids {
			b.WriteString(k)
		}
	}
	return b.String()
}

// The rules of the request protocol (XEP-0124 §8-§15, XEP-0206), one case
// each, against fakexmpp.Echo or a recorder.
func TestRequestProtocol(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		run  func(t *testing.T, e *env, rec *recorder)
	}{
		{"payloads go upstream in rid order", Config{}, func(t *testing.T, e *env, rec *recorder) {
			s, _ := e.open(t, "")
			r1, r2 := s.next(), s.next()
			second := async(t, func(t testing.TB) resp { return s.sendAt(t, r2, "", msg("b")) })
			s.waitEarly(t, 1)
			first := async(t, func(t testing.TB) resp { return s.sendAt(t, r1, "", msg("a")) })
			if got := rec.next(t); !strings.Contains(got, "id='a'") {
				t.Fatalf("upstream got %s first", got)
			}
			if got := rec.next(t); !strings.Contains(got, "id='b'") {
				t.Fatalf("upstream got %s second", got)
			}
			recv(t, first)
			s.send(t, "type='terminate'", "")
			recv(t, second)
		}},
		{"responses go out in rid order", Config{MaxHold: 2}, func(t *testing.T, e *env, rec *recorder) {
			s, _ := e.open(t, "hold='2'")
			r1, r2 := s.next(), s.next()
			got := make(chan uint64, 2)
			async(t, func(t testing.TB) resp { r := s.sendAt(t, r1, "", ""); got <- r1; return r })
			s.waitHeld(t, 1)
			async(t, func(t testing.TB) resp { r := s.sendAt(t, r2, "", ""); got <- r2; return r })
			s.waitHeld(t, 2)
			// Three held with hold=2: r1 goes. (Not empty: three empty
			// requests at once would be too frequent.)
			third := async(t, func(t testing.TB) resp { return s.send(t, "", "<presence/>") })
			if rid := <-got; rid != r1 {
				t.Fatalf("rid %d answered before %d", rid, r1)
			}
			s.send(t, "type='terminate'", "")
			recv(t, third)
		}},
		{"a repeated rid is answered from the cache", Config{}, func(t *testing.T, e *env, rec *recorder) {
			s, _ := e.open(t, "")
			rid := s.next()
			first := s.sendAt(t, rid, "", msg("x"))
			for !strings.Contains(first.raw, "id='x'") {
				t.Fatalf("no echo in %s", first)
			}
			again := s.sendAt(t, rid, "", msg("x"))
			if again.raw != first.raw {
				t.Fatalf("resend got\n%s\nwant\n%s", again, first)
			}
			rec.next(t)
			select {
			case got := <-rec.got:
				t.Fatalf("a resend went upstream again: %s", got)
			default:
			}
		}},
		{"rid beyond the window: item-not-found", Config{}, func(t *testing.T, e *env, rec *recorder) {
			s, _ := e.open(t, "")
			s.sendAt(t, s.rid+3, "", "").terminate(t, "item-not-found", http.StatusOK)
			s.send(t, "", "").terminate(t, "item-not-found", http.StatusOK)
			waitSessions(t, e, 0)
		}},
		{"rid no longer kept: item-not-found", Config{}, func(t *testing.T, e *env, rec *recorder) {
			s, _ := e.open(t, "")
			old := s.next()
			s.sendAt(t, old, "", msg("1"))
			s.send(t, "", msg("2"))
			s.send(t, "", msg("3"))
			s.sendAt(t, old, "", msg("1")).terminate(t, "item-not-found", http.StatusOK)
		}},
		{"only the creation response states the session", Config{}, func(t *testing.T, e *env, rec *recorder) {
			// XEP-0124 §7.2: those attributes SHOULD NOT be in other
			// responses.
			s, _ := e.open(t, "")
			r := s.send(t, "", msg("x"))
			for _, a := range []string{"sid", "wait", "requests", "hold", "inactivity", "polling", "maxpause", "ver", "authid", "from", "accept", "charsets", "stream"} {
				r.expect(t, a, "-")
			}
		}},
		{"wait runs out: an empty body", Config{MaxWait: 30 * time.Millisecond}, func(t *testing.T, e *env, rec *recorder) {
			s, _ := e.open(t, "")
			r := s.send(t, "", "")
			if r.raw != "<body xmlns='"+nsHTTPBind+"'/>" {
				t.Fatalf("got %s, want an empty body", r)
			}
		}},
		{"hold=1: a new request releases the held one", Config{}, func(t *testing.T, e *env, rec *recorder) {
			s, _ := e.open(t, "")
			held := async(t, func(t testing.TB) resp { return s.send(t, "", "") })
			s.waitHeld(t, 1)
			second := async(t, func(t testing.TB) resp { return s.send(t, "", msg("m")) })
			first := recv(t, held) // long before wait (60 s) runs out
			if strings.Contains(first.raw, "id='m'") {
				return // the echo was in before the held request went
			}
			if r := recv(t, second); !strings.Contains(r.raw, "id='m'") {
				t.Fatalf("no echo in %s", r)
			}
		}},
		{"hold=2 keeps two requests", Config{MaxHold: 2}, func(t *testing.T, e *env, rec *recorder) {
			s, _ := e.open(t, "hold='2'")
			a := async(t, func(t testing.TB) resp { return s.send(t, "", "") })
			s.waitHeld(t, 1)
			async(t, func(t testing.TB) resp { return s.send(t, "", "") })
			s.waitHeld(t, 2)
			select {
			case r := <-a:
				t.Fatalf("a request answered with two held and hold=2: %v", r)
			default:
			}
			async(t, func(t testing.TB) resp { return s.send(t, "", "<presence/>") })
			recv(t, a).expect(t, "type", "-")
		}},
		{"too many requests open: policy-violation", Config{MaxHold: 2}, func(t *testing.T, e *env, rec *recorder) {
			s, _ := e.open(t, "hold='2'") // requests='3'
			r1, r2, r3, r4, r5 := s.next(), s.next(), s.next(), s.next(), s.next()
			async(t, func(t testing.TB) resp { return s.sendAt(t, r1, "", "") })
			s.waitHeld(t, 1)
			async(t, func(t testing.TB) resp { return s.sendAt(t, r2, "", "") })
			s.waitHeld(t, 2)
			async(t, func(t testing.TB) resp { return s.sendAt(t, r4, "", msg("4")) }) // early: r3 not here
			s.waitEarly(t, 1)
			_ = r3
			s.sendAt(t, r5, "", msg("5")).terminate(t, "policy-violation", http.StatusOK)
		}},
		{"empty requests too often: policy-violation", Config{}, func(t *testing.T, e *env, rec *recorder) {
			c := newClock(e)
			s, _ := e.open(t, "")
			c.advance(10 * time.Second)
			held := async(t, func(t testing.TB) resp { return s.send(t, "", "") })
			s.waitHeld(t, 1)
			c.advance(time.Second) // polling is 5 s
			s.send(t, "", "").terminate(t, "policy-violation", http.StatusOK)
			// XEP-0124 §17.2: the request held at the time did nothing wrong.
			recv(t, held).terminate(t, "other-request", http.StatusOK)
		}},
		{"empty requests slower than polling are fine", Config{}, func(t *testing.T, e *env, rec *recorder) {
			c := newClock(e)
			s, _ := e.open(t, "")
			c.advance(10 * time.Second)
			held := async(t, func(t testing.TB) resp { return s.send(t, "", "") })
			s.waitHeld(t, 1)
			c.advance(6 * time.Second)
			second := async(t, func(t testing.TB) resp { return s.send(t, "", "") })
			recv(t, held).expect(t, "type", "-")
			s.waitHeld(t, 1)
			s.send(t, "type='terminate'", "")
			recv(t, second).terminate(t, "", http.StatusOK)
		}},
		{"polling session: polling too often is policy-violation", Config{}, func(t *testing.T, e *env, rec *recorder) {
			c := newClock(e)
			s, _ := e.open(t, "wait='0' hold='0'")
			c.advance(10 * time.Second)
			s.send(t, "", "").expect(t, "type", "-")
			c.advance(6 * time.Second)
			s.send(t, "", "").expect(t, "type", "-")
			c.advance(time.Second)
			s.send(t, "", "").terminate(t, "policy-violation", http.StatusOK)
		}},
		{"polling session: polling again at once after payloads is fine", Config{}, func(t *testing.T, e *env, rec *recorder) {
			c := newClock(e)
			s, _ := e.open(t, "wait='0' hold='0'")
			c.advance(10 * time.Second)
			r := s.send(t, "", msg("p"))
			for !strings.Contains(r.raw, "id='p'") {
				c.advance(6 * time.Second)
				r = s.send(t, "", "")
			}
			c.advance(time.Millisecond)
			s.send(t, "", "").expect(t, "type", "-")
		}},
		{"inactivity ends the session", Config{Inactivity: 20 * time.Millisecond}, func(t *testing.T, e *env, rec *recorder) {
			s, _ := e.open(t, "")
			waitSessions(t, e, 0)
			// A client gone: the connection drops without a stream close,
			// so a server may keep a resumable session (XEP-0198).
			if got := rec.next(t); got != dropped {
				t.Fatalf("upstream got %s, want the connection dropped", got)
			}
			s.send(t, "", "").terminate(t, "item-not-found", http.StatusOK)
		}},
		{"a held request is not inactivity", Config{Inactivity: 200 * time.Millisecond, MaxWait: 600 * time.Millisecond}, func(t *testing.T, e *env, rec *recorder) {
			s, _ := e.open(t, "")
			s.send(t, "", "").expect(t, "type", "-") // held past the inactivity period
			s.send(t, "", msg("alive")).expect(t, "type", "-")
		}},
		{"pause answers held requests and lengthens inactivity", Config{Inactivity: time.Second}, func(t *testing.T, e *env, rec *recorder) {
			s, _ := e.open(t, "")
			held := async(t, func(t testing.TB) resp { return s.send(t, "", "") })
			s.waitHeld(t, 1)
			p := s.send(t, "pause='30'", "")
			if p.attrs["type"] != "" || len(p.kids) != 0 {
				t.Fatalf("pause got %s", p)
			}
			recv(t, held).expect(t, "type", "-")
			st := s.state(t)
			st.lp.Lock()
			paused, due := st.lp.InactivityLocked()
			st.lp.Unlock()
			if left := time.Until(due); paused != 30*time.Second || left < 20*time.Second {
				t.Fatalf("inactivity %v, ending in %v; want the pause of 30 s", paused, left)
			}
			s.send(t, "", msg("back")).expect(t, "type", "-")
			st.lp.Lock()
			paused, _ = st.lp.InactivityLocked()
			st.lp.Unlock()
			if paused != time.Second {
				t.Fatalf("the pause outlived the next request")
			}
		}},
		{"a pause is not answered from the cache", Config{}, func(t *testing.T, e *env, rec *recorder) {
			s, _ := e.open(t, "")
			rid := s.next()
			s.sendAt(t, rid, "pause='10'", "")
			s.sendAt(t, rid, "pause='10'", "").terminate(t, "item-not-found", http.StatusOK)
		}},
		{"pause over maxpause: policy-violation", Config{MaxPause: 10 * time.Second}, func(t *testing.T, e *env, rec *recorder) {
			s, _ := e.open(t, "")
			s.send(t, "pause='11'", "").terminate(t, "policy-violation", http.StatusOK)
		}},
		{"pause not offered: policy-violation", Config{MaxPause: -1}, func(t *testing.T, e *env, rec *recorder) {
			s, _ := e.open(t, "")
			s.send(t, "pause='5'", "").terminate(t, "policy-violation", http.StatusOK)
		}},
		{"terminate: its payloads first, then the end", Config{}, func(t *testing.T, e *env, rec *recorder) {
			s, _ := e.open(t, "")
			held := async(t, func(t testing.TB) resp { return s.send(t, "", "") })
			s.waitHeld(t, 1)
			last := s.send(t, "type='terminate'", "<presence type='unavailable'/>")
			if got := rec.next(t); got != "<presence xmlns='jabber:client' type='unavailable'/>" {
				t.Fatalf("upstream got %s", got)
			}
			if got := rec.next(t); got != "</stream:stream>" {
				t.Fatalf("upstream got %s, want the stream closed", got)
			}
			// XEP-0124 §13: the oldest request carries the terminate.
			recv(t, held).terminate(t, "", http.StatusOK)
			if last.raw != string(emptyBody) {
				t.Fatalf("the terminate request got %s, want an empty body", last)
			}
			if e.h.Len() != 0 {
				t.Fatal("the session is still there")
			}
		}},
		{"terminate alone", Config{}, func(t *testing.T, e *env, rec *recorder) {
			s, _ := e.open(t, "")
			s.send(t, "type='terminate'", "").terminate(t, "", http.StatusOK)
			waitSessions(t, e, 0)
		}},
		{"key sequence", Config{}, func(t *testing.T, e *env, rec *recorder) {
			k := keys("seed", 4) // k[3] = K(4) goes first
			s, _ := e.open(t, "newkey='"+k[3]+"'")
			s.send(t, "key='"+strings.ToUpper(k[2])+"'", msg("1")).expect(t, "type", "-")
			n := keys("other", 3)
			s.send(t, "key='"+k[1]+"' newkey='"+n[2]+"'", msg("2")).expect(t, "type", "-")
			s.send(t, "key='"+n[1]+"'", msg("3")).expect(t, "type", "-")
			s.send(t, "key='"+k[0]+"'", msg("4")).terminate(t, "item-not-found", http.StatusOK)
		}},
		{"key missing: item-not-found", Config{}, func(t *testing.T, e *env, rec *recorder) {
			k := keys("seed", 2)
			s, _ := e.open(t, "newkey='"+k[1]+"'")
			s.send(t, "", msg("1")).terminate(t, "item-not-found", http.StatusOK)
			if got := rec.next(t); got != "</stream:stream>" {
				t.Fatalf("a request with a bad key went upstream: %s", got)
			}
		}},
		{"request acknowledgements", Config{MaxWait: 100 * time.Millisecond}, func(t *testing.T, e *env, rec *recorder) {
			s, _ := e.open(t, "")
			held := async(t, func(t testing.TB) resp { return s.send(t, "", "") })
			s.waitHeld(t, 1)
			rid := s.rid
			second := async(t, func(t testing.TB) resp { return s.send(t, "", "<presence/>") })
			recv(t, held).expect(t, "ack", strconv.FormatUint(rid+1, 10))
			recv(t, second).expect(t, "ack", "-") // the same as its rid
		}},
		{"response acknowledgements and report", Config{}, func(t *testing.T, e *env, rec *recorder) {
			c := newClock(e)
			s, first := e.open(t, "ack='1'")
			first.expect(t, "ack", "1000")
			missed := s.send(t, "", msg("m"))
			for !strings.Contains(missed.raw, "id='m'") {
				t.Fatalf("no echo in %s", missed)
			}
			c.advance(10 * time.Second)
			r := s.send(t, "ack='1000'", "")
			r.expect(t, "report", strconv.FormatUint(s.rid-1, 10), "time", "10000")
			if again := s.sendAt(t, s.rid-1, "", msg("m")); again.raw != missed.raw {
				t.Fatalf("resend got %s", again)
			}
			// Acknowledged responses leave the cache.
			s.send(t, "ack='"+strconv.FormatUint(s.rid, 10)+"'", msg("n"))
			s.sendAt(t, s.rid-2, "", msg("m")).terminate(t, "item-not-found", http.StatusOK)
		}},
		{"restart answered with the new stream features", Config{}, func(t *testing.T, e *env, rec *recorder) {
			s, _ := e.open(t, "")
			r := s.send(t, "to='localhost' xml:lang='en' xmpp:restart='true' xmlns:xmpp='urn:xmpp:xbosh'", "<ignored/>")
			if got := rec.next(t); got != "<restart/>" {
				t.Fatalf("upstream got %s, want a stream restart", got)
			}
			r.expect(t, "xmlns:stream", nsStream)
			if len(r.kids) != 1 || !strings.Contains(r.kids[0], "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>") {
				t.Fatalf("restart got %s", r)
			}
		}},
		{"payloads take their namespaces along", Config{}, func(t *testing.T, e *env, rec *recorder) {
			s, _ := e.open(t, "")
			s.e.post(t, fmt.Sprintf("<body rid='%d' sid='%s' xmlns='%s' xmlns:ext='urn:example:ext'>"+
				"<message to='b@localhost'><ext:x ext:a='1'/></message>\n  <iq xmlns='jabber:client' type='get' id='i'/></body>",
				s.next(), s.sid, nsHTTPBind))
			want := []string{
				"<message xmlns='jabber:client' xmlns:ext='urn:example:ext' to='b@localhost'><ext:x ext:a='1'/></message>",
				"<iq xmlns='jabber:client' type='get' id='i'/>",
			}
			for _, w := range want {
				if got := rec.next(t); got != w {
					t.Fatalf("upstream got %s, want %s", got, w)
				}
			}
		}},
		{"a repeated rid takes over the held copy", Config{}, func(t *testing.T, e *env, rec *recorder) {
			s, _ := e.open(t, "")
			rid := s.next()
			first := async(t, func(t testing.TB) resp { return s.sendAt(t, rid, "", "") })
			s.waitHeld(t, 1)
			second := async(t, func(t testing.TB) resp { return s.sendAt(t, rid, "", "") })
			recv(t, first).expect(t, "type", "error")
			s.waitHeld(t, 1)
			s.send(t, "type='terminate'", "")
			recv(t, second).terminate(t, "", http.StatusOK)
		}},
		{"a held request whose client went away is answered and kept", Config{}, func(t *testing.T, e *env, rec *recorder) {
			s, _ := e.open(t, "")
			rid := s.next()
			ctx, cancel := context.WithCancel(context.Background())
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.url, strings.NewReader(s.bodyAt(rid, "", "")))
			gone := make(chan error, 1)
			go func() {
				res, err := client.Do(req)
				if err == nil {
					res.Body.Close()
				}
				gone <- err
			}()
			s.waitHeld(t, 1)
			cancel()
			<-gone
			s.waitHeld(t, 0) // answered long before wait (60 s) ran out
			// The resend gets the answer that went nowhere (XEP-0124 §14.3).
			if r := s.sendAt(t, rid, "", ""); r.raw != string(emptyBody) {
				t.Fatalf("resend got %s", r)
			}
		}},
		{"a gap not filled within wait: recoverable error", Config{MaxWait: 30 * time.Millisecond}, func(t *testing.T, e *env, rec *recorder) {
			s, _ := e.open(t, "")
			s.sendAt(t, s.rid+2, "", msg("late")).expect(t, "type", "error")
			s.send(t, "", msg("1")).expect(t, "type", "-") // the session goes on
		}},
		{"stream attribute with payloads: item-not-found", Config{}, func(t *testing.T, e *env, rec *recorder) {
			// XEP-0124 §16.4: multiple streams are not offered, so no
			// stream name is valid.
			s, _ := e.open(t, "")
			s.send(t, "stream='s2'", msg("1")).terminate(t, "item-not-found", http.StatusOK)
			if got := rec.next(t); got != "</stream:stream>" {
				t.Fatalf("upstream got %s, want the stream closed", got)
			}
		}},
		{"stream attribute with from: item-not-found", Config{}, func(t *testing.T, e *env, rec *recorder) {
			s, _ := e.open(t, "")
			s.send(t, "stream='s2' from='a@localhost'", "").terminate(t, "item-not-found", http.StatusOK)
		}},
		{"stream attribute on an empty body: ignored", Config{MaxWait: 30 * time.Millisecond}, func(t *testing.T, e *env, rec *recorder) {
			// §16.4: an empty body without 'from' speaks for no stream.
			s, _ := e.open(t, "")
			s.send(t, "stream='s2'", "").expect(t, "type", "-")
			s.send(t, "", msg("1")).expect(t, "type", "-")
		}},
		{"adding a stream: a normal empty request", Config{MaxWait: 30 * time.Millisecond}, func(t *testing.T, e *env, rec *recorder) {
			// §16.3: a connection manager that did not offer multiple
			// streams ignores the extra attributes.
			s, r := e.open(t, "")
			r.expect(t, "stream", "-")
			s.send(t, "to='example.net' route='xmpp:example.net:5222' xml:lang='de'", "").expect(t, "type", "-", "stream", "-")
			if r := s.send(t, "", msg("still")); !strings.Contains(r.raw, "id='still'") {
				t.Fatalf("got %s", r)
			}
		}},
		{"malformed body ends its session: bad-request", Config{}, func(t *testing.T, e *env, rec *recorder) {
			s, _ := e.open(t, "")
			e.post(t, s.bodyAt(s.next(), "", "<message><body>x</message>")).terminate(t, "bad-request", http.StatusOK)
			s.send(t, "", "").terminate(t, "item-not-found", http.StatusOK)
		}},
		{"character data in the body: bad-request", Config{}, func(t *testing.T, e *env, rec *recorder) {
			s, _ := e.open(t, "")
			s.send(t, "", "hello"+msg("1")).terminate(t, "bad-request", http.StatusOK)
		}},
		{"oversize body: policy-violation", Config{MaxStanzaBytes: 1024, MaxBodyBytes: 2048}, func(t *testing.T, e *env, rec *recorder) {
			s, _ := e.open(t, "")
			s.send(t, "", strings.Repeat(msg("big"), 40)).terminate(t, "policy-violation", http.StatusOK)
			s.send(t, "", "").terminate(t, "item-not-found", http.StatusOK)
		}},
		{"oversize stanza: policy-violation", Config{MaxStanzaBytes: 1024}, func(t *testing.T, e *env, rec *recorder) {
			s, _ := e.open(t, "")
			s.send(t, "", msg(strings.Repeat("x", 1100))).terminate(t, "policy-violation", http.StatusOK)
		}},
		{"a stream header is no payload: bad-request", Config{}, func(t *testing.T, e *env, rec *recorder) {
			s, _ := e.open(t, "")
			s.send(t, "", "<stream:stream xmlns:stream='"+nsStream+"'/>").terminate(t, "bad-request", http.StatusOK)
		}},
		{"legacy client: item-not-found is HTTP 404", Config{}, func(t *testing.T, e *env, rec *recorder) {
			r := e.post(t, "<body rid='10' to='localhost' wait='60' hold='1' xmlns='"+nsHTTPBind+"'/>")
			s := &sess{e: e, sid: r.attrs["sid"], rid: 10}
			s.sendAt(t, 20, "", "").terminate(t, "item-not-found", http.StatusNotFound)
		}},
		{"legacy client: policy-violation is HTTP 403", Config{}, func(t *testing.T, e *env, rec *recorder) {
			r := e.post(t, "<body rid='10' to='localhost' wait='60' hold='1' xmlns='"+nsHTTPBind+"'/>")
			s := &sess{e: e, sid: r.attrs["sid"], rid: 10}
			s.send(t, "pause='100000'", "").terminate(t, "policy-violation", http.StatusForbidden)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, up := newRecorder(t)
			tt.run(t, newEnv(t, up.Addr, tt.cfg), rec)
		})
	}
}

// keys returns K(1)…K(n) of XEP-0124 §15.3 for seed.
func keys(seed string, n int) []string {
	k := make([]string, n)
	prev := seed
	for i := range n {
		sum := sha1.Sum([]byte(prev))
		k[i] = hex.EncodeToString(sum[:])
		prev = k[i]
	}
	return k
}

// What the server sends, with the namespaces it needs to stand in the
// <body/>, and its end.
func TestFromUpstream(t *testing.T) {
	tests := []struct {
		name  string
		send  string // after the client's first element
		check func(t *testing.T, rs []resp)
	}{
		{"elements get the stream's namespaces", "<message from='a@localhost'><body>hi</body></message>", func(t *testing.T, rs []resp) {
			if !strings.Contains(kidsOf(rs...), "<message xmlns='jabber:client' from='a@localhost'><body>hi</body></message>") {
				t.Fatalf("got %v", rs)
			}
		}},
		{"stream error: remote-stream-error with the error inside",
			"<message from='a@localhost'/><stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>",
			func(t *testing.T, rs []resp) {
				last := rs[len(rs)-1]
				last.terminate(t, "remote-stream-error", http.StatusOK)
				last.expect(t, "xmlns:stream", nsStream)
				if !strings.Contains(kidsOf(rs...), "<message xmlns='jabber:client' from='a@localhost'/>") ||
					!strings.HasPrefix(last.kids[len(last.kids)-1], "<stream:error") || !strings.Contains(last.raw, "<conflict ") {
					t.Fatalf("got %v", rs)
				}
			}},
		{"server closes its stream: terminate", "</stream:stream>", func(t *testing.T, rs []resp) {
			rs[len(rs)-1].terminate(t, "", http.StatusOK)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := fakexmpp.Start(t, func(c *fakexmpp.Conn) {
				if c.Open("u", fakexmpp.DefaultFeatures) != nil {
					return
				}
				if it, err := c.Read(); err != nil || it.Kind != xmlsplit.KindElement {
					return
				}
				c.Send(tt.send)
				c.Read()
			})
			e := newEnv(t, up.Addr, Config{})
			s, _ := e.open(t, "")
			rs := []resp{s.send(t, "", "<presence/>")}
			ends := strings.Contains(tt.send, "</stream:stream>")
			for rs[len(rs)-1].attrs["type"] == "" && (ends || len(rs[len(rs)-1].kids) == 0) {
				rs = append(rs, s.send(t, "", ""))
			}
			tt.check(t, rs)
			if rs[len(rs)-1].attrs["type"] == "terminate" {
				waitSessions(t, e, 0)
			}
		})
	}
}

// A client that does not poll while the server floods loses its own
// session, with policy-violation, and nobody else's.
func TestQueueOverflow(t *testing.T) {
	flood := strings.Repeat("<message from='a@localhost'><body>"+strings.Repeat("x", 1000)+"</body></message>", 64)
	up := fakexmpp.Start(t, func(c *fakexmpp.Conn) {
		if c.Open("f", fakexmpp.DefaultFeatures) != nil {
			return
		}
		for {
			it, err := c.Read()
			if err != nil || it.Kind == xmlsplit.KindClose {
				c.Send("</stream:stream>")
				return
			}
			if strings.Contains(it.Raw, "flood") {
				c.Send(flood)
			} else {
				c.Send(it.Raw)
			}
		}
	})
	e := newEnvHub(t, up.Addr, bridge.Config{QueueBytes: 16 << 10}, Config{})
	slow, _ := e.open(t, "")
	fast, _ := e.open(t, "")
	r := slow.send(t, "", "<flood xmlns='urn:example'/>")
	waitSessions(t, e, 1)
	for range 3 {
		if r.attrs["type"] == "terminate" {
			break
		}
		r = slow.send(t, "", "")
	}
	r.terminate(t, "policy-violation", http.StatusOK)
	if r := fast.send(t, "", msg("ok")); !strings.Contains(r.raw, "id='ok'") {
		t.Fatalf("the other session got %s", r)
	}
}

// XEP-0124 §11: more than 'requests' open is too many, but one more may
// come to pause or terminate.
func TestOveractive(t *testing.T) {
	tests := []struct {
		name       string
		held, open int
		body       body
		polling    bool
		since      time.Duration
		want       bool // policy-violation
	}{
		{"within requests", 1, 0, body{payloads: [][]byte{nil}}, false, time.Minute, false},
		{"over requests", 2, 0, body{payloads: [][]byte{nil}}, false, time.Minute, true},
		{"one more to terminate", 2, 0, body{typ: "terminate"}, false, time.Minute, false},
		{"one more to pause", 2, 0, body{hasPause: true, pause: 5}, false, time.Minute, false},
		{"two more to terminate", 2, 1, body{typ: "terminate"}, false, time.Minute, true},
		{"empty at the limit, too soon", 1, 0, body{rid: 5}, false, time.Second, true},
		{"empty at the limit, too soon, but overtaken", 0, 1, body{rid: 3}, false, time.Second, false},
		{"empty at the limit, late enough", 1, 0, body{rid: 5}, false, 6 * time.Second, false},
		{"not empty at the limit, too soon", 1, 0, body{payloads: [][]byte{nil}}, false, time.Second, false},
		{"polling session ignores the limit rule", 0, 0, body{}, true, time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Unix(1_700_000_000, 0)
			s := &session{polling: 5 * time.Second, pollingSession: tt.polling, lastNew: now.Add(-tt.since), maxRID: 4}
			p := longpoll.Params{Requests: 2}
			if tt.polling {
				p.Requests = 1
			}
			s.lp = longpoll.New(p, s, 1)
			if got := s.overactiveLocked(&tt.body, tt.held+tt.open, now) != nil; got != tt.want {
				t.Errorf("policy-violation = %v, want %v", got, tt.want)
			}
		})
	}
}
