package testpeer

import (
	"testing"

	"github.com/xmppbridge/xmppbridge/internal/testbed"
)

// What one user can send another to make Prosody relay elements that are
// not namespace-well-formed: it writes <xml:x/> as
// <x xmlns='http://www.w3.org/XML/1998/namespace'/>, and xml:foo='1' as
// xmlns:ns1='http://www.w3.org/XML/1998/namespace' ns1:foo='1'. A bridge
// that took that for a broken stream would let anyone end anyone's session.
const (
	PoisonElement = "<xml:x/>"
	PoisonAttr    = "<x xmlns='urn:example:poison' xml:foo='1'/>"
)

// Receiver is a bridge user on one transport, as a scenario sees it.
type Receiver struct {
	// JSON says the user speaks the bridge's JSON API, not XML.
	JSON bool
	// Send sends one stanza, given in both forms; the receiver sends the
	// one it speaks.
	Send func(xml, json string)
	// Next returns the next stanza or frame received, as text, or false
	// when nothing came within Timeout. It fails the test when the session
	// ends.
	Next func() (string, bool)

	inbox backlog
}

// await waits for a stanza holding every string of want.
func (r *Receiver) await(t testing.TB, what string, want ...string) string {
	t.Helper()
	return r.inbox.await(t, "bridge user: "+what, want, r.Next)
}

// The forms in which a repaired poison element reaches a bridge user.
func (r *Receiver) elementForm() []string {
	if r.JSON {
		return []string{`"name":"x","xmlns":"http://www.w3.org/XML/1998/namespace"`}
	}
	return []string{"<xml:x/>"}
}

func (r *Receiver) attrForm() []string {
	if r.JSON {
		return []string{`"xmlns":"urn:example:poison"`, `"xml:foo":"1"`}
	}
	return []string{"xmlns='urn:example:poison'", "xml:foo='1'"} // in either order: Prosody's is random
}

// Poison plays the third party who sends a bridge user stanzas that
// Prosody relays not namespace-well-formed — in an offline message
// delivered at login, in presence (the server's answer to the user's probe
// and a broadcast), and in messages — and checks that the user gets each
// one, repaired, and keeps the session: a message goes both ways
// afterwards. sender and receiver are registered users, each other's
// contacts (testbed.Prosody.Friends), neither logged in yet; login logs the
// receiver in through the bridge on the transport under test and returns
// it (without having sent presence).
func Poison(t *testing.T, p *testbed.Prosody, sender, receiver string, login func() *Receiver) {
	t.Helper()
	to := receiver + "@" + p.Domain
	m := Login(t, p, sender, "poison")
	m.Send("<presence><status>p1</status>" + PoisonElement + "</presence>")
	m.Send("<message to='" + to + "' type='chat' id='off'><body>offline</body>" + PoisonElement + "</message>")
	m.Sync()

	r := login()
	r.Send("<presence xmlns='jabber:client'/>", `{"kind":"presence"}`)
	r.await(t, "the offline message, repaired", append([]string{"offline"}, r.elementForm()...)...)
	r.await(t, "the sender's presence, repaired", append([]string{"p1"}, r.elementForm()...)...)
	m.Await("the receiver's presence", "from='"+to+"/")

	m.Send("<message to='" + to + "' type='chat'><body>m1</body>" + PoisonElement + "</message>")
	m.Send("<message to='" + to + "' type='chat'><body>m2</body>" + PoisonAttr + "</message>")
	m.Send("<presence><status>p2</status>" + PoisonAttr + "</presence>")
	r.await(t, "a message with an element in the XML namespace, repaired", append([]string{"m1"}, r.elementForm()...)...)
	r.await(t, "a message with an attribute in the XML namespace, repaired", append([]string{"m2"}, r.attrForm()...)...)
	r.await(t, "a presence broadcast with it, repaired", append([]string{"p2"}, r.attrForm()...)...)

	r.Send("<message xmlns='jabber:client' to='"+m.JID+"' type='chat'><body>back</body></message>",
		`{"kind":"message","type":"chat","to":"`+m.JID+`","body":"back"}`)
	m.Await("the receiver's message afterwards", "<body>back</body>")
	m.Send("<message to='" + to + "' type='chat'><body>after</body></message>")
	r.await(t, "a message afterwards", "after")
}
