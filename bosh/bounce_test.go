package bosh

import (
	"net/http"
	"strings"
	"testing"

	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// item is an element as the bridge queues it: data from the server, and
// the stream's default namespace to insert.
func item(data string) bridge.Item {
	at := strings.IndexAny(data, " />")
	return bridge.Item{Event: xmppclient.Event{Kind: xmppclient.EventElement, Data: []byte(data), NS: " xmlns='jabber:client'", NSAt: at}}
}

func TestBounce(t *testing.T) {
	tests := []struct {
		name, in, want string // want "": no bounce
	}{
		{"message", `<message from='b@localhost/r' to='a@localhost/web' id='m1' type='chat'><body>hi</body></message>`,
			`<message xmlns='jabber:client' type='error' to='b@localhost/r' id='m1'><error type='wait'><recipient-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`},
		{"message without id", `<message from='b@localhost/r'><body>hi</body></message>`,
			`<message xmlns='jabber:client' type='error' to='b@localhost/r'><error type='wait'><recipient-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`},
		{"escaped attributes", `<message from="o'brien@localhost/&amp;" id="a&lt;b"/>`,
			`<message xmlns='jabber:client' type='error' to='o&apos;brien@localhost/&amp;' id='a&lt;b'><error type='wait'><recipient-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`},
		{"iq get", `<iq from='localhost' id='ping' type='get'><ping xmlns='urn:xmpp:ping'/></iq>`,
			`<iq xmlns='jabber:client' type='error' to='localhost' id='ping'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`},
		{"iq set", `<iq from='b@localhost/r' id='s' type='set'><query xmlns='jabber:iq:roster'/></iq>`,
			`<iq xmlns='jabber:client' type='error' to='b@localhost/r' id='s'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`},
		{"iq result", `<iq from='localhost' id='r' type='result'/>`, ""},
		{"iq error", `<iq from='localhost' id='r' type='error'/>`, ""},
		{"message error", `<message from='b@localhost/r' type='error'/>`, ""},
		{"presence", `<presence from='b@localhost/r'/>`, ""},
		{"no sender", `<message id='x'><body>from the server itself</body></message>`, ""},
		{"not a stanza", `<r xmlns='urn:xmpp:sm:3'/>`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := bounces([]bridge.Item{item(tt.in)})
			switch {
			case tt.want == "" && len(got) != 0:
				t.Fatalf("bounced %q", got)
			case tt.want != "" && (len(got) != 1 || string(got[0]) != tt.want):
				t.Fatalf("got %q\nwant %s", got, tt.want)
			}
		})
	}
}

// What waits for a client that is gone goes back to the senders before the
// stream is closed: when the session times out, and when a request of the
// client's ends it.
func TestBounceAtEnd(t *testing.T) {
	waiting := []string{
		`<message from='b@localhost/r' id='m1' type='chat'><body>1</body></message>`,
		`<presence from='b@localhost/r'/>`,
		`<iq from='localhost' id='ping' type='get'><ping xmlns='urn:xmpp:ping'/></iq>`,
	}
	bounces := []string{
		`<message xmlns='jabber:client' type='error' to='b@localhost/r' id='m1'><error type='wait'><recipient-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`,
		`<iq xmlns='jabber:client' type='error' to='localhost' id='ping'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`,
	}
	tests := []struct {
		name string
		end  func(t *testing.T, s *sess, st *session)
		last string // after the bounces
	}{
		// A client gone: the connection drops without a stream close.
		{"inactivity", func(t *testing.T, s *sess, st *session) {
			st.Idle() // as the engine calls it once the inactivity period is over
		}, dropped},
		{"a request that ends the session", func(t *testing.T, s *sess, st *session) {
			s.sendAt(t, s.rid+5, "", "").terminate(t, "item-not-found", http.StatusOK)
		}, "</stream:stream>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, up := newRecorder(t)
			e := newEnv(t, up.Addr, Config{})
			s, _ := e.open(t, "")
			st := s.state(t)
			st.lp.Lock()
			for _, w := range waiting {
				st.out = append(st.out, item(w))
			}
			st.lp.Unlock()
			tt.end(t, s, st)
			for _, w := range append(bounces, tt.last) {
				if got := rec.next(t); got != w {
					t.Fatalf("upstream got %s\nwant %s", got, w)
				}
			}
			waitSessions(t, e, 0)
		})
	}
}
