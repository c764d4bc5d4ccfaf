package fakexmpp

import (
	"bytes"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
)

// Router is a small XMPP server for unit tests of code that logs users in
// itself: it accepts any user whose password is RouterPassword (SASL
// SCRAM-SHA-1, which needs no TLS), binds the
// resource asked for on the domain "localhost", and routes stanzas among
// its clients by JID, stamping each with its sender's full JID. A message
// or presence to a bare JID goes to every resource of that user; presence
// without a to comes back to its sender, as a server's broadcast would
// (the only contact here being oneself); an iq to the domain is answered
// with an empty result. What is addressed to nobody online is dropped.
type Router struct {
	*Server
	mu      sync.Mutex
	clients map[string]*routed // by full JID
}

type routed struct {
	c  *Conn
	mu sync.Mutex // orders writes to c
}

// StartRouter starts a Router on 127.0.0.1; it is closed when the test
// ends.
func StartRouter(t testing.TB) *Router {
	t.Helper()
	r := &Router{clients: make(map[string]*routed)}
	r.Server = Start(t, r.serve)
	return r
}

// Online is the number of bound sessions.
func (r *Router) Online() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.clients)
}

func (r *Router) serve(c *Conn) {
	if c.Open("r1", "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism></mechanisms></stream:features>") != nil {
		return
	}
	user, ok := scramLogin(c, RouterPassword)
	if !ok {
		_ = c.Send("<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure></stream:stream>")
		return
	}
	if c.Open("r2", "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>") != nil {
		return
	}
	it, err := c.Read()
	if err != nil {
		return
	}
	el, err := xmlsplit.Parse([]byte(it.Raw), xmlsplit.ParseOptions{})
	if err != nil {
		return
	}
	id, _ := el.Attr("id")
	resource := "r"
	if i := strings.Index(it.Raw, "<resource>"); i >= 0 {
		if j := strings.Index(it.Raw[i:], "</resource>"); j > 0 {
			resource = it.Raw[i+len("<resource>") : i+j]
		}
	}
	jid := user + "@localhost/" + resource
	me := &routed{c: c}
	r.mu.Lock()
	if old := r.clients[jid]; old != nil {
		old.send("<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>")
		old.c.Close()
	}
	r.clients[jid] = me
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		if r.clients[jid] == me {
			delete(r.clients, jid)
		}
		r.mu.Unlock()
	}()
	if me.send(fmt.Sprintf("<iq type='result' id='%s'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>%s</jid></bind></iq>", id, jid)) != nil {
		return
	}
	for {
		it, err := c.Read()
		if err != nil {
			return
		}
		if it.Kind == xmlsplit.KindClose {
			_ = me.send("</stream:stream>")
			return
		}
		if it.Kind == xmlsplit.KindElement {
			r.route(me, jid, it.Raw)
		}
	}
}

// route delivers raw, from the client bound to from, by its to.
func (r *Router) route(me *routed, from, raw string) {
	el, err := xmlsplit.Parse([]byte(raw), xmlsplit.ParseOptions{})
	if err != nil {
		return
	}
	to, _ := el.Attr("to")
	stamped := raw[:el.NSAt] + " from='" + from + "'" + raw[el.NSAt:]
	name := string(el.Name)
	switch {
	case name == "iq" && (len(to) == 0 || string(to) == "localhost"):
		id, _ := el.Attr("id")
		_ = me.send(fmt.Sprintf("<iq type='result' from='localhost' to='%s' id='%s'/>", from, id))
		return
	case name == "presence" && len(to) == 0:
		_ = me.send(stamped)
		return
	}
	r.mu.Lock()
	var targets []*routed
	for jid, c := range r.clients {
		if jid == string(to) || strings.HasPrefix(jid, string(to)+"/") && !bytes.ContainsRune(to, '/') {
			targets = append(targets, c)
		}
	}
	r.mu.Unlock()
	for _, c := range targets {
		_ = c.send(stamped)
	}
}

func (r *routed) send(s string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.c.Send(s)
}

// RouterPassword is every user's password on a Router.
const RouterPassword = "secret"

// scramLogin runs the server's side of SASL SCRAM-SHA-1 (RFC 5802) for
// password, up to and including <success/>, and returns the user.
func scramLogin(c *Conn, password string) (user string, ok bool) {
	it, err := c.Read()
	if err != nil || !strings.Contains(it.Raw, "SCRAM-SHA-1") {
		return "", false
	}
	clientFirst, err := saslPayload(it.Raw)
	if err != nil || !strings.HasPrefix(clientFirst, "n,,") {
		return "", false
	}
	bare := clientFirst[3:]
	fields := scramFields(bare)
	user, nonce := fields["n"], fields["r"]
	if user == "" || nonce == "" {
		return "", false
	}
	salt := []byte("fakexmpp-salt")
	const iterations = 4096
	serverFirst := fmt.Sprintf("r=%sfakexmpp,s=%s,i=%d", nonce, base64.StdEncoding.EncodeToString(salt), iterations)
	if c.Send("<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"+base64.StdEncoding.EncodeToString([]byte(serverFirst))+"</challenge>") != nil {
		return "", false
	}
	if it, err = c.Read(); err != nil {
		return "", false
	}
	clientFinal, err := saslPayload(it.Raw)
	if err != nil {
		return "", false
	}
	withoutProof, proof, _ := strings.Cut(clientFinal, ",p=")
	authMessage := bare + "," + serverFirst + "," + withoutProof
	salted, err := pbkdf2.Key(sha1.New, password, salt, iterations, sha1.Size)
	if err != nil {
		return "", false
	}
	mac := func(key []byte, msg string) []byte {
		h := hmac.New(sha1.New, key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	clientKey := mac(salted, "Client Key")
	storedKey := sha1.Sum(clientKey)
	signature := mac(storedKey[:], authMessage)
	want := make([]byte, len(clientKey))
	for i := range want {
		want[i] = clientKey[i] ^ signature[i]
	}
	if got, err := base64.StdEncoding.DecodeString(proof); err != nil || !hmac.Equal(got, want) {
		return "", false
	}
	verifier := "v=" + base64.StdEncoding.EncodeToString(mac(mac(salted, "Server Key"), authMessage))
	return user, c.Send("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"+base64.StdEncoding.EncodeToString([]byte(verifier))+"</success>") == nil
}

// saslPayload decodes the base64 text of a SASL element.
func saslPayload(raw string) (string, error) {
	i := strings.IndexByte(raw, '>')
	j := strings.LastIndex(raw, "</")
	if i < 0 || j <= i {
		return "", fmt.Errorf("fakexmpp: no SASL payload in %q", raw)
	}
	b, err := base64.StdEncoding.DecodeString(raw[i+1 : j])
	return string(b), err
}

// scramFields splits a SCRAM message into its attributes.
func scramFields(msg string) map[string]string {
	m := make(map[string]string)
	for _, f := range strings.Split(msg, ",") {
		if k, v, ok := strings.Cut(f, "="); ok {
			m[k] = v
		}
	}
	return m
}
