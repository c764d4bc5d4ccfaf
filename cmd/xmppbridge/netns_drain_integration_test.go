//go:build integration

package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/netbed"
	"github.com/xmppbridge/xmppbridge/interop"
)

// The testbed's drain timing (scripts/netns-testbed.sh): a1 and a2 are
// lame ducks for 3 s and drain within shutdown_timeout, 5 s.
const (
	netbedLameDuck = 3 * time.Second
	netbedShutdown = 5 * time.Second
)

// tally counts, for one client, the messages whose body starts with its
// marker, and what happened to its connection.
type tally struct {
	mu      sync.Mutex
	marker  string
	got     map[string]int
	told    string // how the drain reached it: see-other-uri, item-not-found, ...
	resumed bool
	// peek, if set, tells whether a message has come before got has it
	// (resume.mjs counts its messages in its summary, at the end).
	peek func(body string) bool
	err  error
	done chan struct{} // closed when the client has the end message or failed
}

func newTally(marker string) *tally {
	return &tally{marker: marker, got: map[string]int{}, done: make(chan struct{})}
}

func (tl *tally) message(body string) {
	if !strings.HasPrefix(body, tl.marker+" ") {
		return
	}
	tl.mu.Lock()
	tl.got[body]++
	tl.mu.Unlock()
}

func (tl *tally) has(body string) bool {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return tl.got[tl.marker+" "+body] > 0
}

func (tl *tally) set(f func(*tally)) {
	tl.mu.Lock()
	f(tl)
	tl.mu.Unlock()
}

// finish records the client's end, once.
func (tl *tally) finish(err error) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	select {
	case <-tl.done:
		return
	default:
	}
	tl.err = err
	close(tl.done)
}

// waitFor waits until every tally satisfies ok, failing after d.
func waitFor(t *testing.T, d time.Duration, what string, tallies []*tally, ok func(*tally) bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for _, tl := range tallies {
		for {
			tl.mu.Lock()
			good, err := ok(tl), tl.err
			tl.mu.Unlock()
			if good {
				break
			}
			select {
			case <-tl.done:
				if err != nil {
					t.Fatalf("%s: client %s ended: %v", what, tl.marker, err)
				}
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %v for client %s", what, d, tl.marker)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// TestNetnsDrain: a1, one of the two bridges behind HAProxy, is drained
// with SIGTERM while an RFC 7395 client (xmpp.js, stream management and
// reconnect on), a BOSH client with XEP-0198 and a JSON long-poll page
// have their sessions on it and bob, on a2, writes to each of them before,
// during and after the drain. a1 is a lame duck: its /readyz says 503,
// HAProxy's check takes it out and new sessions go to a2. Within
// lame_duck and shutdown_timeout it exits, having sent the RFC 7395 client
// <close see-other-uri/> and left every upstream stream resumable; each
// client comes back through the balancer to a2 and resumes (xmpp.js and
// the BOSH client with their own XEP-0198, the page with its token and the
// bridge's XEP-0198), and each gets every message exactly once.
func TestNetnsDrain(t *testing.T) {
	tb := netbed.Start(t)
	lb := tb.BalancerURL
	wsLB := strings.Replace(lb, "http://", "ws://", 1)

	// The sessions open on a1: a2 is out of HAProxy's rotation meanwhile.
	haproxy(t, tb, "disable server xmppbridge/a2")

	run := randomHex(4)
	xt, xmppjs := startXmppjs(t, wsLB+"/xmpp-websocket", "x"+run)
	bt := newTally("b" + run)
	carol := boshLogin(t, lb+"/http-bind", "carol", "a.test", "bosh", 1000)
	bosh := &boshPage{c: carol, lb: lb + "/http-bind", tl: bt}
	bosh.enable(t)
	jt := newTally("j" + run)
	page := &jsonPage{c: &jsonHTTP{t: t, bases: []string{lb + "/json"}, poll: true, rid: 10}, tl: jt}
	page.login(t, "alice", "a.test", "json")
	for _, sid := range []string{carol.sid, page.c.sid} {
		if !strings.HasPrefix(sid, "a1.") {
			t.Fatalf("session %s not on a1 with a2 out of the rotation", sid)
		}
	}

	haproxy(t, tb, "enable server xmppbridge/a2")
	waitServer(t, tb, "a2", true, 15*time.Second)
	bob := dialWSWith(t, strings.Replace(tb.A2URL, "http://", "ws://", 1)+"/json/ws", "xmppbridge-json.v1")
	bob.send(`{"kind":"login","jid":"bob@a.test","password":"secret","resource":"sender","id":"l1"}`)
	bob.until(`"jid":"bob@a.test/sender"`)
	send := func(round string) {
		for _, m := range []struct{ to, marker string }{
			{"alice@a.test/resume-" + xt.marker, xt.marker},
			{"carol@a.test/bosh", bt.marker},
			{"alice@a.test/json", jt.marker},
		} {
			bob.send(fmt.Sprintf(`{"kind":"message","to":%q,"type":"chat","body":"%s %s"}`, m.to, m.marker, round))
		}
	}
	tallies := []*tally{xt, bt, jt}
	go bosh.loop()
	go page.loop()

	send("1")
	waitFor(t, 30*time.Second, "round 1", tallies, func(tl *tally) bool {
		return tl.got[tl.marker+" 1"] > 0 || tl.peek != nil && tl.peek(tl.marker+" 1")
	})

	// The drain.
	if err := tb.Term("a1"); err != nil {
		t.Fatal(err)
	}
	term := time.Now()
	send("2")
	if code := getStatus(tb.A1URL + "/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("a1's /readyz while draining: %d; want 503", code)
	}
	// HAProxy takes a1 out, and new sessions go to a2.
	waitServer(t, tb, "a1", false, netbedLameDuck+netbedShutdown)
	stillServing := tb.Running("a1") && getStatus(tb.A1URL+"/healthz") == http.StatusOK
	for i := range 4 {
		c := &boshClient{t: t, url: lb + "/http-bind", rid: uint64(50000 + 100*i)}
		r := c.post("to='a.test' ver='1.6' wait='5' hold='1' xmlns:xmpp='urn:xmpp:xbosh' xmpp:version='1.0'", "")
		m := sidAttr.FindStringSubmatch(r)
		if m == nil || !strings.HasPrefix(m[1], "a2.") {
			t.Fatalf("new BOSH session while a1 drains: %s; want one of a2", r)
		}
		c.sid = m[1]
		c.post("type='terminate'", "")
	}
	t.Logf("HAProxy took a1 out %v after SIGTERM (a1 still serving: %v)", time.Since(term).Round(time.Millisecond), stillServing)

	deadline := term.Add(netbedLameDuck + netbedShutdown + 3*time.Second)
	for tb.Running("a1") {
		if time.Now().After(deadline) {
			t.Fatalf("a1 still runs %v after SIGTERM\n%s", time.Since(term), tb.Log("a1"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("a1 exited %v after SIGTERM", time.Since(term).Round(time.Millisecond))
	// Written while the clients may still be coming back: the server keeps
	// it in the streams a1 left.
	send("3")

	waitFor(t, 60*time.Second, "resumed through a2", tallies, func(tl *tally) bool { return tl.resumed })
	send("end")
	for _, tl := range tallies {
		select {
		case <-tl.done:
		case <-time.After(60 * time.Second):
			t.Fatalf("client %s: no end message within 60s", tl.marker)
		}
	}
	if err := xmppjs.wait(); err != nil {
		t.Errorf("xmpp.js: %v\n%s", err, xmppjs.trace.String())
	}
	for _, tl := range tallies {
		tl.mu.Lock()
		if tl.err != nil {
			t.Errorf("client %s: %v", tl.marker, tl.err)
		}
		for _, r := range []string{"1", "2", "3", "end"} {
			if n := tl.got[tl.marker+" "+r]; n != 1 {
				t.Errorf("client %s got message %q %d times; want once (%v)", tl.marker, r, n, tl.got)
			}
		}
		t.Logf("client %s: told %q, resumed %v", tl.marker, tl.told, tl.resumed)
		tl.mu.Unlock()
	}
	if xt.told != "see-other-uri" {
		t.Errorf("the RFC 7395 client was told %q; want <close see-other-uri/>", xt.told)
	}
}

// haproxy runs a command of HAProxy's runtime API.
func haproxy(t *testing.T, tb *netbed.Testbed, command string) {
	t.Helper()
	out, err := tb.HAProxy(command)
	if err != nil || strings.TrimSpace(out) != "" {
		t.Fatalf("HAProxy %q: %q %v", command, out, err)
	}
}

// waitServer waits until HAProxy sees the bridge node up (its check
// passes, in rotation) or down.
func waitServer(t *testing.T, tb *netbed.Testbed, node string, up bool, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		out, err := tb.HAProxy("show servers state xmppbridge")
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.Lines(out) {
			// be_id be_name srv_id srv_name srv_addr srv_op_state
			// srv_admin_state ...: op state 2 is running, 0 stopped.
			f := strings.Fields(line)
			if len(f) > 6 && f[3] == node && (f[5] == "2" && f[6] == "0") == up {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("HAProxy does not see %s %s within %v:\n%s", node, map[bool]string{true: "up", false: "down"}[up], d, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func getStatus(url string) int {
	res, err := (&http.Client{Timeout: 5 * time.Second}).Get(url)
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ---------------------------------------------------------------- xmpp.js

// xmppjsRun is interop/resume.mjs running as alice.
type xmppjsRun struct {
	cmd   *exec.Cmd
	trace syncBuf
	sum   chan error
}

type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startXmppjs starts resume.mjs through url and waits until it is logged
// in with stream management; its tally learns what it reports.
func startXmppjs(t *testing.T, url, marker string) (*tally, *xmppjsRun) {
	t.Helper()
	dir, err := interop.Dir()
	if err != nil {
		t.Fatal(err)
	}
	tl := newTally(marker)
	x := &xmppjsRun{sum: make(chan error, 1)}
	tl.peek = func(body string) bool { return strings.Contains(x.trace.String(), "<body>"+body+"</body>") }
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	x.cmd = exec.CommandContext(ctx, "node", filepath.Join(dir, "resume.mjs"),
		"--url", url, "--domain", "a.test", "--marker", marker, "--user", "alice", "--timeout", "150", "--verbose")
	x.cmd.Dir = dir
	x.cmd.WaitDelay = 5 * time.Second
	x.cmd.Stderr = &x.trace
	stdout, err := x.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := x.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		var last string
		for sc.Scan() {
			line := sc.Text()
			switch kind, _, _ := strings.Cut(line, " "); kind {
			case "ready":
				close(ready)
			case "resumed":
				tl.set(func(tl *tally) { tl.resumed = true })
			case "failed":
				tl.set(func(tl *tally) { tl.resumed = false })
			}
			last = line
		}
		var sum struct {
			OK       bool           `json:"ok"`
			Messages map[string]int `json:"messages"`
			Failed   int            `json:"failed"`
			Error    string         `json:"error"`
		}
		err := json.Unmarshal([]byte(last), &sum)
		tl.set(func(tl *tally) {
			for body, n := range sum.Messages {
				tl.got[body] += n
			}
			if strings.Contains(x.trace.String(), "see-other-uri") {
				tl.told = "see-other-uri"
			}
		})
		switch {
		case err != nil:
			err = fmt.Errorf("no summary (%q): %v", last, err)
		case !sum.OK:
			err = errors.New(sum.Error)
		case sum.Failed > 0:
			err = fmt.Errorf("%d resumptions failed", sum.Failed)
		}
		x.sum <- errors.Join(err, x.cmd.Wait())
		tl.finish(err)
	}()
	select {
	case <-ready:
	case <-time.After(60 * time.Second):
		t.Fatalf("xmpp.js did not log in within 60s:\n%s", x.trace.String())
	}
	return tl, x
}

// wait returns when resume.mjs has exited, with why it failed.
func (x *xmppjsRun) wait() error {
	select {
	case err := <-x.sum:
		return err
	case <-time.After(30 * time.Second):
		return errors.New("resume.mjs did not exit")
	}
}

// ---------------------------------------------------------------- BOSH

// boshPage is a BOSH client with XEP-0198 that keeps a request open, counts
// the stanzas it handles and, when its session ends, starts a new one
// through the balancer and resumes its stream.
type boshPage struct {
	c      *boshClient
	domain string // default a.test
	lb     string
	tl     *tally
	h      uint64 // stanzas handled since <enabled/>
	previd string
}

// boshEvent is what one response said.
type boshEvent struct {
	terminate string // the condition of a terminate body
	stanzas   int    // counted toward h
	askedAck  bool
	enabled   string // the id of <enabled/>
	resumed   bool
	failed    bool
}

// read goes through one response body, recording messages.
func (p *boshPage) read(r string, counting bool) (boshEvent, error) {
	var ev boshEvent
	d := xml.NewDecoder(strings.NewReader(r))
	depth := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return ev, nil
		}
		if err != nil {
			return ev, fmt.Errorf("BOSH response %q: %w", r, err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 {
				for _, a := range e.Attr {
					if a.Name.Local == "type" && a.Value == "terminate" && ev.terminate == "" {
						ev.terminate = "?"
					}
					if a.Name.Local == "condition" {
						ev.terminate = a.Value
					}
				}
				continue
			}
			if depth != 2 {
				continue
			}
			switch e.Name.Local {
			case "message":
				var m struct {
					Body string `xml:"body"`
				}
				if err := d.DecodeElement(&m, &e); err != nil {
					return ev, err
				}
				depth--
				p.tl.message(m.Body)
				if counting {
					ev.stanzas++
				}
			case "presence", "iq":
				if counting {
					ev.stanzas++
				}
			case "r":
				ev.askedAck = true
			case "enabled":
				for _, a := range e.Attr {
					if a.Name.Local == "id" {
						ev.enabled = a.Value
					}
				}
				counting = true
			case "resumed":
				ev.resumed, counting = true, true
			case "failed":
				ev.failed = true
			}
		case xml.EndElement:
			depth--
		}
	}
}

// enable enables stream management with resumption.
func (p *boshPage) enable(t *testing.T) {
	t.Helper()
	kids := `<enable xmlns="urn:xmpp:sm:3" resume="true"/>`
	for range 5 {
		p.c.rid++
		r, err := p.c.postAt(p.c.rid, "", kids)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := p.read(r, p.previd != "")
		if err != nil {
			t.Fatal(err)
		}
		p.h += uint64(ev.stanzas)
		if ev.enabled != "" {
			p.previd = ev.enabled
			return
		}
		kids = ""
	}
	t.Fatal("no <enabled/> in five responses")
}

// loop polls until the end message, coming back once after its session
// ends.
func (p *boshPage) loop() {
	kids := ""
	for !p.tl.has("end") {
		p.c.rid++
		r, err := p.c.postAt(p.c.rid, "", kids)
		if err != nil {
			p.tl.finish(err)
			return
		}
		ev, err := p.read(r, true)
		if err != nil {
			p.tl.finish(err)
			return
		}
		p.h += uint64(ev.stanzas)
		kids = ""
		if ev.askedAck {
			kids = fmt.Sprintf(`<a xmlns="urn:xmpp:sm:3" h="%d"/>`, p.h)
		}
		if ev.terminate != "" {
			p.tl.set(func(tl *tally) { tl.told = ev.terminate })
			resumed, err := p.reconnect(p.lb)
			switch {
			case err != nil:
				p.tl.finish(fmt.Errorf("after %s: %w", ev.terminate, err))
				return
			case !resumed:
				p.tl.finish(fmt.Errorf("after %s: the stream was not resumed", ev.terminate))
				return
			case !strings.HasPrefix(p.c.sid, "a2."):
				p.tl.finish(fmt.Errorf("came back to %s, not a2", p.c.sid))
				return
			}
			p.tl.set(func(tl *tally) { tl.resumed = true })
		}
	}
	p.tl.finish(nil)
}

// reconnect opens a new session at url, logs in and asks the server to
// resume the stream: it returns whether it did (else it said <failed/>).
// The new session is the page's from then on.
func (p *boshPage) reconnect(url string) (resumed bool, err error) {
	c := &boshClient{t: p.c.t, url: url, rid: p.c.rid + 1000}
	d := p.domain
	if d == "" {
		d = "a.test"
	}
	steps := []struct{ attrs, kids, want string }{
		{"to='" + d + "' ver='1.6' wait='5' hold='1' xmlns:xmpp='urn:xmpp:xbosh' xmpp:version='1.0'", "", "PLAIN"},
		{"", saslPlain("carol"), "<success"},
		{"to='" + d + "' xmpp:restart='true' xmlns:xmpp='urn:xmpp:xbosh'", "", "urn:xmpp:sm:3"},
		{"", fmt.Sprintf(`<resume xmlns="urn:xmpp:sm:3" previd="%s" h="%d"/>`, p.previd, p.h), "urn:xmpp:sm:3"},
	}
	for i, s := range steps {
		attrs, kids := s.attrs, s.kids
		found := false
		for range 5 {
			c.rid++
			r, err := c.postAt(c.rid, attrs, kids)
			if err != nil {
				return false, err
			}
			if i == 0 {
				m := sidAttr.FindStringSubmatch(r)
				if m == nil {
					return false, fmt.Errorf("new session: %s", r)
				}
				c.sid = m[1]
			}
			ev, err := p.read(r, i == len(steps)-1)
			if err != nil {
				return false, err
			}
			if ev.terminate != "" {
				return false, fmt.Errorf("new session %s: terminated (%s): %s", c.sid, ev.terminate, r)
			}
			if i == len(steps)-1 {
				if ev.failed {
					p.c = c
					return false, nil
				}
				if !ev.resumed {
					attrs, kids = "", ""
					continue
				}
				p.h += uint64(ev.stanzas)
			}
			if strings.Contains(r, s.want) {
				found = true
				break
			}
			attrs, kids = "", ""
		}
		if !found {
			return false, fmt.Errorf("new session %s: no %q in five responses", c.sid, s.want)
		}
	}
	p.c = c
	return true, nil
}

// until posts kids and polls until the tally has the message body, counting
// what comes.
func (p *boshPage) until(t *testing.T, kids, body string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !p.tl.has(body) {
		if time.Now().After(deadline) {
			t.Fatalf("BOSH client %s: no message %q within 30s", p.tl.marker, body)
		}
		p.c.rid++
		r, err := p.c.postAt(p.c.rid, "", kids)
		if err != nil {
			t.Fatal(err)
		}
		kids = ""
		ev, err := p.read(r, p.previd != "")
		if err != nil {
			t.Fatal(err)
		}
		if ev.terminate != "" {
			t.Fatalf("BOSH client %s: terminated (%s) waiting for %q", p.tl.marker, ev.terminate, body)
		}
		p.h += uint64(ev.stanzas)
		if ev.askedAck {
			kids = fmt.Sprintf(`<a xmlns="urn:xmpp:sm:3" h="%d"/>`, p.h)
		}
	}
}

// ---------------------------------------------------------------- JSON

// jsonPage is a JSON API page over long-poll that keeps what a resume on
// another bridge needs: its token, h (the server's stanzas it has) and
// the latest confirmation of its own frames.
type jsonPage struct {
	c     *jsonHTTP
	tl    *tally
	token string
	h     uint64
	acked struct{ n, h uint64 }
}

type jsonFrame struct {
	Kind   string `json:"kind"`
	Body   string `json:"body"`
	Token  string `json:"token"`
	Code   string `json:"code"`
	Stanza bool   `json:"stanza"`
}

// take goes through an answer's frames past before (the highest number the
// page had) and returns the close frame's code, if any.
func (p *jsonPage) take(a jsonAnswer, before uint64) (closed string, err error) {
	if a.Acked != nil {
		p.acked.n, p.acked.h = a.Acked.N, a.Acked.H
	}
	if len(a.Resumed) > 0 {
		var f jsonFrame
		if err := json.Unmarshal(a.Resumed, &f); err != nil {
			return "", err
		}
		p.token = f.Token
	}
	for i, raw := range a.Frames {
		if a.First+uint64(i) <= before {
			continue
		}
		var f jsonFrame
		if err := json.Unmarshal(raw, &f); err != nil {
			return "", fmt.Errorf("frame %s: %w", raw, err)
		}
		switch f.Kind {
		case "session", "resumed":
			p.token = f.Token
		case "message":
			p.tl.message(f.Body)
			p.h++
		case "presence", "iq":
			p.h++
		case "error":
			if f.Stanza {
				p.h++
			}
		case "close":
			closed = f.Code
		}
	}
	return closed, nil
}

// until polls, sending frames first, until the tally has the message body.
func (p *jsonPage) until(t *testing.T, body string, frames ...string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !p.tl.has(body) {
		if time.Now().After(deadline) {
			t.Fatalf("JSON page %s: no message %q within 30s", p.tl.marker, body)
		}
		before := p.c.ack
		a, err := p.c.post(frames...)
		frames = nil
		if err != nil || a.Status != http.StatusOK {
			t.Fatalf("JSON page %s: poll: %+v %v", p.tl.marker, a, err)
		}
		if closed, err := p.take(a, before); err != nil || closed != "" {
			t.Fatalf("JSON page %s: waiting for %q: closed %q, %v", p.tl.marker, body, closed, err)
		}
	}
}

func (p *jsonPage) login(t *testing.T, user, domain, resource string) {
	t.Helper()
	before := p.c.ack
	a := p.c.login(user, domain, resource)
	if _, err := p.take(a, before); err != nil {
		t.Fatal(err)
	}
	if p.token == "" {
		t.Fatalf("no resume token in the login's answer: %+v", a)
	}
}

// loop polls until the end message; when its session ends (a close frame,
// or item-not-found from a node that does not hold it), it resumes with its
// token through the balancer.
func (p *jsonPage) loop() {
	for !p.tl.has("end") {
		before := p.c.ack
		a, err := p.c.post()
		if err != nil {
			p.tl.finish(err)
			return
		}
		closed, err := p.take(a, before)
		if err != nil {
			p.tl.finish(err)
			return
		}
		if a.Status == http.StatusNotFound || a.Status == http.StatusServiceUnavailable {
			closed = a.Code
		} else if a.Status != http.StatusOK {
			p.tl.finish(fmt.Errorf("poll: HTTP %d %s", a.Status, a.Code))
			return
		}
		if closed == "" {
			continue
		}
		p.tl.set(func(tl *tally) { tl.told = closed })
		p.c.sid = ""
		before = p.c.ack
		a, err = p.c.post(fmt.Sprintf(`{"kind":"resume","token":%q,"last":%d,"h":%d,"acked":{"n":%d,"h":%d}}`,
			p.token, p.c.ack, p.h, p.acked.n, p.acked.h))
		if err != nil {
			p.tl.finish(fmt.Errorf("resume after %s: %w", closed, err))
			return
		}
		if a.Status != http.StatusOK || len(a.Resumed) == 0 {
			p.tl.finish(fmt.Errorf("resume after %s: HTTP %d %s (resumed: false)", closed, a.Status, a.Code))
			return
		}
		if !strings.HasPrefix(p.c.sid, "a2.") {
			p.tl.finish(fmt.Errorf("resumed on %s, not a2", p.c.sid))
			return
		}
		if _, err := p.take(a, before); err != nil {
			p.tl.finish(err)
			return
		}
		p.tl.set(func(tl *tally) { tl.resumed = true })
	}
	p.tl.finish(nil)
}
