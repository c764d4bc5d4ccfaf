//go:build integration

package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/testbed"
	"github.com/xmppbridge/xmppbridge/interop"
)

// scraper reads the daemon's /metrics.
type scraper struct {
	t   *testing.T
	url string
}

// scrape returns every sample, by its series as written (name and
// labels, which the text format sorts).
func (s scraper) scrape() map[string]float64 {
	s.t.Helper()
	res, err := http.Get(s.url)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		s.t.Fatalf("GET %s: %d", s.url, res.StatusCode)
	}
	samples := make(map[string]float64)
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			s.t.Fatalf("sample %q: %v", line, err)
		}
		samples[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		s.t.Fatal(err)
	}
	return samples
}

// get returns one series' value, failing when the daemon has no such
// series.
func (s scraper) get(series string) float64 {
	s.t.Helper()
	v, ok := s.scrape()[series]
	if !ok {
		s.t.Fatalf("no series %s", series)
	}
	return v
}

// wait waits until the series satisfies ok: counts of sessions that end
// move once the session's reader has seen the end.
func (s scraper) wait(series string, what string, ok func(float64) bool) float64 {
	s.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		v := s.get(series)
		if ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s = %v, want %s", series, v, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s scraper) waitFor(series string, want float64) {
	s.t.Helper()
	s.wait(series, fmt.Sprint(want), func(v float64) bool { return v == want })
}

// freeAddr is a loopback address with a port nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestDaemonMetrics scrapes /metrics on the metrics listener while
// browsers use every transport against the test Prosody: sessions open go
// up and down, stanzas and bytes are counted both ways, ends are counted
// by reason, refused logins and held requests show, and the upstream
// dials are timed.
func TestDaemonMetrics(t *testing.T) {
	p := testbed.Start(t)
	maddr := freeAddr(t)
	addr, stop := startDaemonArgs(t, daemonConfig(p), "-metrics", maddr)
	m := scraper{t: t, url: "http://" + maddr + "/metrics"}
	wsURL := "ws://" + addr + "/xmpp-websocket"

	first := m.scrape()
	for _, series := range []string{
		`xmppbridge_sessions{state="open",transport="websocket"}`,
		`xmppbridge_sessions{state="open",transport="bosh"}`,
		`xmppbridge_sessions{state="detached",transport="json"}`,
		`xmppbridge_sessions_opened_total{transport="json"}`,
		`xmppbridge_stanzas_total{direction="in",transport="websocket"}`,
		`xmppbridge_held_requests{transport="bosh"}`,
		`xmppbridge_logins_failed_total`,
	} {
		if v, ok := first[series]; !ok || v != 0 {
			t.Errorf("before any session: %s = %v (present %v), want 0", series, v, ok)
		}
	}
	for _, series := range []string{"go_goroutines", "process_open_fds"} {
		if _, ok := first[series]; !ok {
			t.Errorf("no %s", series)
		}
	}

	t.Run("websocket", func(t *testing.T) {
		m := scraper{t: t, url: m.url}
		c := dialWS(t, wsURL)
		c.send(openLocalhost)
		c.until("<stream:features")
		m.waitFor(`xmppbridge_sessions{state="open",transport="websocket"}`, 1)
		if v := m.get(`xmppbridge_sessions_opened_total{transport="websocket"}`); v != 1 {
			t.Errorf("opened = %v, want 1", v)
		}
		// The dial went through STARTTLS, and both phases were timed.
		for _, phase := range []string{"connect", "tls"} {
			if v := m.get(`xmppbridge_upstream_phase_seconds_count{phase="` + phase + `"}`); v < 1 {
				t.Errorf("%s phases timed: %v", phase, v)
			}
		}

		auth := base64.StdEncoding.EncodeToString([]byte("\x00alice\x00" + testbed.Password))
		c.send(`<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN">` + auth + `</auth>`)
		c.until("<success")
		c.send(openLocalhost)
		c.until("urn:ietf:params:xml:ns:xmpp-bind")
		c.send(`<iq xmlns="jabber:client" type="set" id="b1"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"><resource>metrics</resource></bind></iq>`)
		c.until("<iq ")

		before := m.scrape()
		const pings = 5
		ping := func(i int) string {
			return fmt.Sprintf(`<iq xmlns="jabber:client" type="get" id="ping%d" to="localhost"><ping xmlns="urn:xmpp:ping"/></iq>`, i)
		}
		sent := 0
		for i := range pings {
			c.send(ping(i))
			sent += len(ping(i))
			c.until(fmt.Sprintf("ping%d", i))
		}
		after := m.scrape()
		in := `{direction="in",transport="websocket"}`
		out := `{direction="out",transport="websocket"}`
		if d := after["xmppbridge_stanzas_total"+in] - before["xmppbridge_stanzas_total"+in]; d != pings {
			t.Errorf("stanzas in moved by %v, want %d", d, pings)
		}
		if d := after["xmppbridge_stanza_bytes_total"+in] - before["xmppbridge_stanza_bytes_total"+in]; d != float64(sent) {
			t.Errorf("bytes in moved by %v, want %d", d, sent)
		}
		if d := after["xmppbridge_stanzas_total"+out] - before["xmppbridge_stanzas_total"+out]; d < pings {
			t.Errorf("stanzas out moved by %v, want at least %d", d, pings)
		}
		if d := after["xmppbridge_stanza_bytes_total"+out] - before["xmppbridge_stanza_bytes_total"+out]; d < pings*40 {
			t.Errorf("bytes out moved by %v, want at least %d", d, pings*40)
		}

		normal := m.get(`xmppbridge_sessions_ended_total{reason="normal",transport="websocket"}`)
		c.send(`<close xmlns="urn:ietf:params:xml:ns:xmpp-framing"/>`)
		c.closeCode()
		m.waitFor(`xmppbridge_sessions{state="open",transport="websocket"}`, 0)
		m.waitFor(`xmppbridge_sessions_ended_total{reason="normal",transport="websocket"}`, normal+1)

		// A domain the bridge does not serve: opened, and ended at once.
		c = dialWS(t, wsURL)
		c.send(`<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="elsewhere.example" version="1.0"/>`)
		c.until("<host-unknown ")
		m.waitFor(`xmppbridge_sessions_ended_total{reason="host-unknown",transport="websocket"}`, 1)
		m.waitFor(`xmppbridge_sessions_opened_total{transport="websocket"}`, 2)
	})

	t.Run("json", func(t *testing.T) {
		m := scraper{t: t, url: m.url}
		jsonURL := strings.TrimSuffix(wsURL, "/xmpp-websocket") + "/json/ws"
		logins := m.get(`xmppbridge_upstream_phase_seconds_count{phase="login"}`)
		c := dialWSWith(t, jsonURL, "xmppbridge-json.v1")
		c.send(`{"kind":"login","jid":"alice@localhost","password":"` + testbed.Password + `","resource":"json","id":"l1"}`)
		c.until(`"jid":"alice@localhost/json"`)
		m.waitFor(`xmppbridge_sessions{state="open",transport="json"}`, 1)
		if v := m.get(`xmppbridge_upstream_phase_seconds_count{phase="login"}`); v != logins+1 {
			t.Errorf("login phases timed: %v, want %v", v, logins+1)
		}
		c.send(`{"kind":"iq","type":"get","id":"p1","payload":[{"name":"ping","xmlns":"urn:xmpp:ping"}]}`)
		c.until(`"id":"p1"`)
		if v := m.get(`xmppbridge_stanzas_total{direction="in",transport="json"}`); v < 1 {
			t.Errorf("json stanzas in = %v", v)
		}

		// A wrong password: the server refuses, the session ends so.
		bad := dialWSWith(t, jsonURL, "xmppbridge-json.v1")
		bad.send(`{"kind":"login","jid":"bob@localhost","password":"wrong","id":"l2"}`)
		bad.until(`"not-authorized"`)
		m.waitFor(`xmppbridge_sessions_ended_total{reason="not-authorized",transport="json"}`, 1)
		m.waitFor(`xmppbridge_logins_failed_total`, 1)
		if v := m.get(`xmppbridge_upstream_phase_failures_total{phase="login"}`); v != 1 {
			t.Errorf("failed login phases = %v, want 1", v)
		}

		// A page that goes away without a close frame leaves its
		// session detached, waiting for a resume: counted apart.
		gone := dialWSWith(t, jsonURL, "xmppbridge-json.v1")
		gone.send(`{"kind":"login","jid":"carol@localhost","password":"` + testbed.Password + `","id":"l3"}`)
		var session struct{ Token string }
		if err := json.Unmarshal([]byte(gone.until(`"jid":"carol@localhost/`)), &session); err != nil || session.Token == "" {
			t.Fatalf("no resume token: %v", err)
		}
		m.waitFor(`xmppbridge_sessions{state="open",transport="json"}`, 2)
		gone.ws.Close()
		m.waitFor(`xmppbridge_sessions{state="detached",transport="json"}`, 1)
		m.waitFor(`xmppbridge_sessions{state="open",transport="json"}`, 1)

		// Its page comes back with the token; a forged one is refused.
		back := dialWSWith(t, jsonURL, "xmppbridge-json.v1")
		back.send(fmt.Sprintf(`{"kind":"resume","token":%q,"last":1,"id":"r1"}`, session.Token))
		back.until(`"kind":"resumed"`)
		m.waitFor(`xmppbridge_sessions{state="detached",transport="json"}`, 0)
		m.waitFor(`xmppbridge_sessions{state="open",transport="json"}`, 2)
		forged := dialWSWith(t, jsonURL, "xmppbridge-json.v1")
		forged.send(`{"kind":"resume","token":"forged","last":1,"id":"r2"}`)
		forged.until(`"bad-token"`)
		m.waitFor(`xmppbridge_json_resumes_total{outcome="resumed"}`, 1)
		m.waitFor(`xmppbridge_json_resumes_total{outcome="bad-token"}`, 1)
		back.send(`{"kind":"close"}`)
		m.waitFor(`xmppbridge_sessions{state="open",transport="json"}`, 1)

		c.send(`{"kind":"close"}`)
		m.waitFor(`xmppbridge_sessions{state="open",transport="json"}`, 0)
		m.waitFor(`xmppbridge_sessions_ended_total{reason="normal",transport="json"}`, 2) // it and the resumed one
	})

	t.Run("bosh", func(t *testing.T) {
		m := scraper{t: t, url: m.url}
		c := &boshClient{t: t, url: boshURLOf(wsURL), rid: 7000}
		r := c.post("to='localhost' ver='1.6' wait='60' hold='1' xml:lang='en' xmlns:xmpp='urn:xmpp:xbosh' xmpp:version='1.0'", "")
		sid := sidAttr.FindStringSubmatch(r)
		if sid == nil {
			t.Fatalf("creation response %s", r)
		}
		c.sid = sid[1]
		m.waitFor(`xmppbridge_sessions{state="open",transport="bosh"}`, 1)

		held := make(chan error, 1)
		rid := c.rid + 1
		go func() {
			_, err := c.postAt(rid, "", "")
			held <- err
		}()
		m.waitFor(`xmppbridge_held_requests{transport="bosh"}`, 1)
		if _, err := c.postAt(rid+1, "type='terminate'", `<presence xmlns="jabber:client" type="unavailable"/>`); err != nil {
			t.Fatal(err)
		}
		if err := <-held; err != nil {
			t.Fatal(err)
		}
		m.waitFor(`xmppbridge_held_requests{transport="bosh"}`, 0)
		m.waitFor(`xmppbridge_sessions{state="open",transport="bosh"}`, 0)
		m.waitFor(`xmppbridge_sessions_ended_total{reason="normal",transport="bosh"}`, 1)
		if v := m.get(`xmppbridge_stanzas_total{direction="in",transport="bosh"}`); v != 1 {
			t.Errorf("bosh stanzas in = %v, want the one presence", v)
		}
	})

	// Real clients (interop's login-and-chat.mjs: two users log in and
	// chat), scraped while they run: xmpp.js over WebSocket, Strophe.js
	// over BOSH.
	for _, run := range []struct{ lib, transport, url string }{
		{"xmppjs", "websocket", wsURL},
		{"strophe", "bosh", boshURLOf(wsURL)},
	} {
		t.Run("interop "+run.lib, func(t *testing.T) {
			m := scraper{t: t, url: m.url}
			label := `{transport="` + run.transport + `"}`
			open := `xmppbridge_sessions{state="open",transport="` + run.transport + `"}`
			before := m.scrape()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			const count = 10
			type result struct {
				out string
				err error
			}
			done := make(chan result, 1)
			go func() {
				out, err := interop.RunScript(ctx, "login-and-chat.mjs",
					"--lib", run.lib, "--url", run.url, "--domain", p.Domain, "--count", strconv.Itoa(count))
				done <- result{out, err}
			}()
			most := 0.0
			var r result
		scraping:
			for {
				select {
				case r = <-done:
					break scraping
				case <-time.After(20 * time.Millisecond):
					most = max(most, m.get(open))
				}
			}
			if r.err != nil {
				t.Fatalf("%v\n%s", r.err, r.out)
			}
			if s, err := interop.ParseSummary(r.out); err != nil || !s.OK || s.Sent != 2*count || s.Received != 2*count {
				t.Fatalf("summary %+v %v\n%s", s, err, r.out)
			}
			if most != 2 {
				t.Errorf("while the clients ran, at most %v sessions open, want their 2", most)
			}
			m.waitFor(open, before[open])
			after := m.scrape()
			delta := func(series string) float64 { return after[series] - before[series] }
			if d := delta("xmppbridge_sessions_opened_total" + label); d != 2 {
				t.Errorf("opened moved by %v, want 2", d)
			}
			ended := 0.0
			for series := range after {
				if strings.HasPrefix(series, "xmppbridge_sessions_ended_total{") && strings.Contains(series, `transport="`+run.transport+`"`) {
					ended += delta(series)
				}
			}
			if ended != 2 {
				t.Errorf("ended moved by %v, want 2", ended)
			}
			// Each user sent count messages and got the other's; SASL,
			// bind, roster and presence come on top.
			for _, dir := range []string{"in", "out"} {
				series := `xmppbridge_stanzas_total{direction="` + dir + `",transport="` + run.transport + `"}`
				if d := delta(series); d < 2*count {
					t.Errorf("%s moved by %v, want at least %d", series, d, 2*count)
				}
			}
		})
	}

	// The health endpoints are on the metrics listener too.
	res, err := http.Get("http://" + maddr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("GET /readyz on the metrics listener: %d", res.StatusCode)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(m.url); err == nil {
		t.Error("metrics still served after the daemon returned")
	}
}
