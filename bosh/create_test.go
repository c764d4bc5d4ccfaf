package bosh

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/internal/fakexmpp"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

func TestSessionCreation(t *testing.T) {
	echo := fakexmpp.Start(t, fakexmpp.Echo)
	streamError := fakexmpp.Start(t, func(c *fakexmpp.Conn) {
		if _, err := c.Read(); err != nil {
			return
		}
		c.Send(fakexmpp.Header("x") + "<stream:error><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>go away</text></stream:error></stream:stream>")
		c.Read()
	})
	closed := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}()
	onlyLocalhost := bridge.Config{Upstream: func(d string) (xmppclient.Config, error) {
		if d != "localhost" {
			return xmppclient.Config{}, errors.New("not served")
		}
		return xmppclient.Config{Domain: d, Addr: echo.Addr, Security: xmppclient.Plaintext}, nil
	}}
	route := func(to, host, port string) bool { return host == "127.0.0.1" && port == "5222" }

	tests := []struct {
		name   string
		up     string
		hub    bridge.Config
		cfg    Config
		attrs  string // the creation request's attributes besides rid and xmlns
		status int
		want   []string // attribute, value ("-": absent) pairs
		check  func(t *testing.T, r resp)
	}{
		{"response attributes and stream features", echo.Addr, bridge.Config{}, Config{}, createAttrs, 200,
			[]string{"type", "-", "wait", "60", "requests", "2", "hold", "1", "inactivity", "60", "polling", "5",
				"maxpause", "120", "ver", "1.6", "authid", "s1", "from", "localhost", "secure", "true",
				"xmpp:version", "1.0", "xmpp:restartlogic", "true", "xmlns:xmpp", nsXBOSH, "xmlns:stream", nsStream, "ack", "1000"},
			func(t *testing.T, r resp) {
				if len(r.attrs["sid"]) != 32 {
					t.Errorf("sid %q is not 128 bits in hex", r.attrs["sid"])
				}
				if len(r.kids) != 1 || !strings.HasPrefix(r.kids[0], "<stream:features xmlns='jabber:client'") || !strings.Contains(r.kids[0], "<mechanism>PLAIN</mechanism>") {
					t.Errorf("children %q, want the server's stream features", r.kids)
				}
			}},
		{"Strophe's request as Prosody saw it", echo.Addr, bridge.Config{}, Config{},
			`content="text/xml; charset=utf-8" hold="1" to="localhost" ver="1.6" wait="60" xml:lang="en" xmlns:xmpp="urn:xmpp:xbosh" xmpp:version="1.0"`, 200,
			[]string{"wait", "60", "hold", "1", "requests", "2"}, nil},
		{"wait and hold clamped to the maxima", echo.Addr, bridge.Config{}, Config{MaxWait: 30 * time.Second, MaxHold: 2},
			`to='localhost' ver='1.6' wait='300' hold='5'`, 200, []string{"wait", "30", "hold", "2", "requests", "3"}, nil},
		{"wait and hold below the maxima kept", echo.Addr, bridge.Config{}, Config{MaxHold: 3},
			`to='localhost' ver='1.6' wait='20' hold='2'`, 200, []string{"wait", "20", "hold", "2", "requests", "3"}, nil},
		{"requests configured", echo.Addr, bridge.Config{}, Config{Requests: 5},
			`to='localhost' ver='1.6' wait='60' hold='1'`, 200, []string{"requests", "5"}, nil},
		{"requests raised above hold", echo.Addr, bridge.Config{}, Config{Requests: 1, MaxHold: 2},
			`to='localhost' ver='1.6' wait='60' hold='2'`, 200, []string{"requests", "3"}, nil},
		{"polling session gets more inactivity", echo.Addr, bridge.Config{}, Config{},
			`to='localhost' ver='1.6' wait='0' hold='0'`, 200, []string{"wait", "0", "hold", "0", "requests", "1", "inactivity", "70"}, nil},
		{"no pausing offered", echo.Addr, bridge.Config{}, Config{MaxPause: -1}, createAttrs, 200, []string{"maxpause", "-"}, nil},
		{"ver: the lower one", echo.Addr, bridge.Config{}, Config{}, `to='localhost' ver='1.20' wait='60' hold='1'`, 200, []string{"ver", "1.11"}, nil},
		{"ver: minor numbers are integers", echo.Addr, bridge.Config{}, Config{}, `to='localhost' ver='1.9' wait='60' hold='1'`, 200, []string{"ver", "1.9"}, nil},
		{"legacy client: no ver in the response", echo.Addr, bridge.Config{}, Config{}, `to='localhost' wait='60' hold='1'`, 200, []string{"ver", "-", "type", "-"}, nil},
		{"content attribute sets Content-Type", echo.Addr, bridge.Config{}, Config{}, `to='localhost' ver='1.6' content='text/html; charset=utf-8'`, 200, nil,
			func(t *testing.T, r resp) {
				if got := r.header.Get("Content-Type"); got != "text/html; charset=utf-8" {
					t.Errorf("Content-Type = %q", got)
				}
			}},
		{"no to: improper-addressing", echo.Addr, bridge.Config{}, Config{}, `ver='1.6' wait='60' hold='1'`, 200,
			[]string{"type", "terminate", "condition", "improper-addressing"}, nil},
		{"domain not served: host-unknown", echo.Addr, onlyLocalhost, Config{}, `to='example.net' ver='1.6'`, 200,
			[]string{"type", "terminate", "condition", "host-unknown"}, nil},
		{"route allowed", echo.Addr, bridge.Config{}, Config{Route: route}, `to='localhost' ver='1.6' route='xmpp:127.0.0.1:5222'`, 200,
			[]string{"type", "-"}, nil},
		{"route not allowed: host-unknown", echo.Addr, bridge.Config{}, Config{Route: route}, `to='localhost' ver='1.6' route='xmpp:192.0.2.1:5222'`, 200,
			[]string{"type", "terminate", "condition", "host-unknown"}, nil},
		{"route with another protocol: host-unknown", echo.Addr, bridge.Config{}, Config{Route: route}, `to='localhost' ver='1.6' route='http:127.0.0.1:5222'`, 200,
			[]string{"type", "terminate", "condition", "host-unknown"}, nil},
		{"route malformed: bad-request", echo.Addr, bridge.Config{}, Config{Route: route}, `to='localhost' ver='1.6' route='xmpp:127.0.0.1'`, 200,
			[]string{"type", "terminate", "condition", "bad-request"}, nil},
		{"route ignored without a Route rule", echo.Addr, bridge.Config{}, Config{}, `to='localhost' ver='1.6' route='xmpp:192.0.2.1:5222'`, 200,
			[]string{"type", "-"}, nil},
		{"server unreachable: remote-connection-failed", closed, bridge.Config{}, Config{}, createAttrs, 200,
			[]string{"type", "terminate", "condition", "remote-connection-failed"}, nil},
		{"server's stream error relayed", streamError.Addr, bridge.Config{}, Config{}, createAttrs, 200,
			[]string{"type", "terminate", "condition", "remote-stream-error", "xmlns:stream", nsStream},
			func(t *testing.T, r resp) {
				if len(r.kids) != 1 || !strings.Contains(r.kids[0], "<policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>") || !strings.Contains(r.kids[0], "go away") {
					t.Errorf("children %q, want the stream error", r.kids)
				}
			}},
		{"see-other-uri", echo.Addr, bridge.Config{}, Config{SeeOtherURI: func(string) string { return "https://other.example.com/http-bind" }}, createAttrs, 200,
			[]string{"type", "terminate", "condition", "see-other-uri"},
			func(t *testing.T, r resp) {
				if len(r.kids) != 1 || r.kids[0] != "<uri>https://other.example.com/http-bind</uri>" {
					t.Errorf("children %q", r.kids)
				}
			}},
		{"unsupported XMPP version: bad-request", echo.Addr, bridge.Config{}, Config{}, `to='localhost' ver='1.6' xmlns:xmpp='urn:xmpp:xbosh' xmpp:version='2.0'`, 200,
			[]string{"type", "terminate", "condition", "bad-request"}, nil},
		{"bad wait: bad-request", echo.Addr, bridge.Config{}, Config{}, `to='localhost' ver='1.6' wait='soon'`, 200,
			[]string{"type", "terminate", "condition", "bad-request"}, nil},
		{"legacy client gets HTTP 400 for bad-request", echo.Addr, bridge.Config{}, Config{}, `to='localhost' wait='-1'`, 400,
			[]string{"type", "terminate", "condition", "bad-request"}, nil},
		{"legacy client: improper-addressing stays 200", echo.Addr, bridge.Config{}, Config{}, `wait='60'`, 200,
			[]string{"type", "terminate", "condition", "improper-addressing"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnvHub(t, tt.up, tt.hub, tt.cfg)
			r := e.post(t, fmt.Sprintf("<body rid='1000' %s xmlns='%s'/>", tt.attrs, nsHTTPBind))
			if r.status != tt.status {
				t.Fatalf("status %d, want %d\n%s", r.status, tt.status, r)
			}
			r.expect(t, tt.want...)
			if tt.check != nil {
				tt.check(t, r)
			}
			if r.attrs["type"] == "terminate" {
				waitSessions(t, e, 0)
				if e.h.Len() != 0 {
					t.Errorf("a failed creation left %d sessions", e.h.Len())
				}
			}
		})
	}
}

// XEP-0206 §3: the creation request's 'to', 'from' and xml:lang make the
// upstream stream header.
func TestCreationHeaderUpstream(t *testing.T) {
	header := make(chan string, 1)
	up := fakexmpp.Start(t, func(c *fakexmpp.Conn) {
		it, err := c.Read()
		if err != nil {
			return
		}
		header <- it.Raw
		c.Send(fakexmpp.Header("h") + fakexmpp.DefaultFeatures)
		c.Read()
	})
	e := newEnv(t, up.Addr, Config{})
	e.post(t, fmt.Sprintf("<body rid='1' %s from='alice@localhost' xmlns='%s'/>", createAttrs, nsHTTPBind)).expect(t, "type", "-")
	h := <-header
	for _, want := range []string{"to='localhost'", "from='alice@localhost'", "xml:lang='en'", "version='1.0'"} {
		if !strings.Contains(h, want) {
			t.Errorf("upstream header %s lacks %s", h, want)
		}
	}
}

// The creation response waits, within wait, for the features that follow
// the server's stream header.
func TestCreationWaitsForFeatures(t *testing.T) {
	release := make(chan struct{})
	up := fakexmpp.Start(t, func(c *fakexmpp.Conn) {
		if _, err := c.Read(); err != nil {
			return
		}
		c.Send(fakexmpp.Header("slow"))
		<-release
		c.Send(fakexmpp.DefaultFeatures)
		c.Read()
	})
	e := newEnv(t, up.Addr, Config{})
	ch := async(t, func(t testing.TB) resp {
		return e.post(t, fmt.Sprintf("<body rid='1' %s xmlns='%s'/>", createAttrs, nsHTTPBind))
	})
	waitSessions(t, e, 1)
	close(release)
	r := recv(t, ch)
	r.expect(t, "authid", "slow", "type", "-")
	if len(r.kids) != 1 || !strings.HasPrefix(r.kids[0], "<stream:features") {
		t.Fatalf("children %q", r.kids)
	}
}

// Without features in time, the creation response goes out with the
// header's attributes alone (XEP-0206 §4: the client then polls).
func TestCreationWithoutFeatures(t *testing.T) {
	up := fakexmpp.Start(t, func(c *fakexmpp.Conn) {
		if _, err := c.Read(); err != nil {
			return
		}
		c.Send(fakexmpp.Header("mute"))
		c.Read()
	})
	e := newEnv(t, up.Addr, Config{MaxWait: 50 * time.Millisecond})
	r := e.post(t, fmt.Sprintf("<body rid='1' %s xmlns='%s'/>", createAttrs, nsHTTPBind))
	r.expect(t, "authid", "mute", "wait", "1", "type", "-")
	if len(r.kids) != 0 {
		t.Fatalf("children %q", r.kids)
	}
	if r.status != http.StatusOK {
		t.Fatal(r)
	}
}

func TestParseRoute(t *testing.T) {
	tests := []struct {
		in                string
		proto, host, port string
		ok                bool
	}{
		{"xmpp:example.com:9999", "xmpp", "example.com", "9999", true},
		{"xmpp:[2001:db8::1]:5222", "xmpp", "2001:db8::1", "5222", true},
		{"xmpp:example.com", "", "", "", false},
		{"example.com:5222", "", "", "", false},
		{"xmpp::5222", "", "", "", false},
		{"xmpp:example.com:0", "", "", "", false},
		{":example.com:5222", "", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			proto, host, port, ok := parseRoute(tt.in)
			if proto != tt.proto || host != tt.host || port != tt.port || ok != tt.ok {
				t.Errorf("parseRoute(%q) = %q %q %q %v", tt.in, proto, host, port, ok)
			}
		})
	}
}
