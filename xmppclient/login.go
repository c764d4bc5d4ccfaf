package xmppclient

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
)

const (
	nsBind    = "urn:ietf:params:xml:ns:xmpp-bind"
	nsSession = "urn:ietf:params:xml:ns:xmpp-session"
	nsClient  = "jabber:client"
)

// Login opens a bridge-authenticated stream: it connects and secures the
// link as Dial does, authenticates with SASL (SCRAM-SHA-256, else
// SCRAM-SHA-1, else PLAIN but only over TLS), restarts the stream and binds
// a resource, and, if the server requires it, establishes a legacy session
// (RFC 3921). DialTimeout bounds all of it. JID then returns the bound
// address, and Next the stanzas that follow.
//
// Failures are as for Dial, plus: a SASL failure is an *Error with SASL
// set and the server's condition (not-authorized, ...); no mechanism we may
// use is remote-connection-failed wrapping ErrNoMechanism, since no
// credentials were tried; a bind or session error is an *Error with the
// server's condition when it is also a stream condition, else
// undefined-condition.
func Login(ctx context.Context, cfg Config, cred Credentials) (*Conn, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	c, err := open(ctx, &cfg, false)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	err = c.negotiate(ctx, func() error { return c.login(cred) })
	cfg.observe(PhaseLogin, start, err)
	if err != nil {
		c.Close()
		return nil, err
	}
	c.startKeepalive(true)
	return c, nil
}

func (c *Conn) login(cred Credentials) error {
	feat, err := c.readFeatures()
	if err != nil {
		return err
	}
	if err := c.authenticate(&feat, cred); err != nil {
		return err
	}
	if err := c.startStream(); err != nil {
		return err
	}
	if feat, err = c.readFeatures(); err != nil {
		return err
	}
	if err := c.bindResource(&feat, cred.Resource); err != nil {
		return err
	}
	if s := findChild(&feat, "session", nsSession); s != nil && !sessionOptional(s, &feat) {
		if _, err := c.iq("xmppclient-session", "<session xmlns='"+nsSession+"'/>"); err != nil {
			return err
		}
	}
	if c.cfg.StreamManagement {
		return c.enableSM(&feat)
	}
	return nil
}

// mechanismPreference is the order Login picks SASL mechanisms in. PLAIN
// is last and only over TLS. The -PLUS variants are not used: the bridge
// authenticates for itself, and the order stays the one documented.
var mechanismPreference = []string{"SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"}

// chooseMechanism picks the mechanism to use from those offered: with a
// Secret instead of a password, only the Secret's.
func chooseMechanism(offered []string, secure bool, cred *Credentials) (string, bool) {
	for _, m := range mechanismPreference {
		switch {
		case m == "PLAIN" && !secure:
			continue
		case cred.Secret != nil && m != cred.Secret.Mechanism:
			continue
		}
		for _, o := range offered {
			if o == m {
				return m, true
			}
		}
	}
	return "", false
}

// offeredMechanisms lists the SASL mechanisms in the features.
func offeredMechanisms(feat *xmlsplit.Element) ([]string, error) {
	ms := findChild(feat, "mechanisms", nsSASL)
	if ms == nil {
		return nil, nil
	}
	el, err := parseChildren(ms, nil, feat)
	if err != nil {
		return nil, err
	}
	var names []string
	for i := range el.Children {
		if ch := &el.Children[i]; is(ch, "mechanism", nsSASL, &el, feat) {
			names = append(names, string(elementText(ch)))
		}
	}
	return names, nil
}

// authenticate runs the SASL exchange of RFC 6120 §6.
func (c *Conn) authenticate(feat *xmlsplit.Element, cred Credentials) error {
	offered, err := offeredMechanisms(feat)
	if err != nil {
		return err
	}
	mech, ok := chooseMechanism(offered, c.Secure(), &cred)
	switch {
	case !ok && cred.Secret != nil:
		return &Error{SASL: true, Cond: "not-authorized", Err: ErrSecretStale}
	case !ok:
		// Not the user's credentials at fault: the bridge cannot log in
		// to this server at all.
		return &Error{Cond: condRemoteConnectionFailed, Err: fmt.Errorf(
			"%w among %q (PLAIN needs TLS)", ErrNoMechanism, offered)}
	}
	c.mech = mech
	var sc *scram
	resp := plainResponse(&cred)
	if mech != "PLAIN" {
		sc = newScram(mech, &cred)
		resp = sc.first()
	}
	if err := c.writeNegotiating(saslElement("<auth xmlns='"+nsSASL+"' mechanism='"+mech+"'>", resp, "</auth>")); err != nil {
		return err
	}
	challenged := false
	for {
		_, el, err := c.nextElement()
		if err != nil {
			return err
		}
		data, err := base64Text(&el)
		switch {
		case is(&el, "failure", nsSASL):
			cond, text := errorCondition(&el, nsSASL)
			if cond == "" {
				cond = "not-authorized"
			}
			return &Error{SASL: true, Cond: cond, Text: text, Err: errors.New("xmppclient: SASL " + mech + " failed")}
		case err != nil:
			return err
		case is(&el, "challenge", nsSASL):
			if sc == nil || challenged {
				return fmt.Errorf("xmppclient: SASL %s: unexpected challenge", mech)
			}
			challenged = true
			final, err := sc.final(data)
			if errors.Is(err, ErrSecretStale) {
				return &Error{SASL: true, Cond: "not-authorized", Err: err}
			} else if err != nil {
				return err
			}
			if err := c.writeNegotiating(saslElement("<response xmlns='"+nsSASL+"'>", final, "</response>")); err != nil {
				return err
			}
		case is(&el, "success", nsSASL):
			if sc != nil {
				// SCRAM: check the server's signature, proving it knew
				// the password too.
				if !challenged {
					return fmt.Errorf("xmppclient: SASL %s: success before the exchange", mech)
				}
				if err := sc.verify(data); err != nil {
					return fmt.Errorf("xmppclient: SASL %s: server not verified: %w", mech, err)
				}
				c.secret = sc.derived
			}
			return nil
		default:
			return fmt.Errorf("xmppclient: SASL: unexpected %.64q", el.Raw)
		}
	}
}

// saslElement is open + base64(data) + close, "=" standing for empty data
// (RFC 6120 §6.4.2).
func saslElement(open string, data []byte, close string) []byte {
	b := make([]byte, 0, len(open)+base64.StdEncoding.EncodedLen(len(data))+len(close)+1)
	b = append(b, open...)
	if len(data) == 0 {
		b = append(b, '=')
	} else {
		b = base64.StdEncoding.AppendEncode(b, data)
	}
	return append(b, close...)
}

// base64Text decodes the text of a SASL element; "=" and nothing are both
// empty.
func base64Text(el *xmlsplit.Element) ([]byte, error) {
	t := elementText(el)
	if len(t) == 0 || string(t) == "=" {
		return nil, nil
	}
	b, err := base64.StdEncoding.AppendDecode(nil, t)
	if err != nil {
		return nil, fmt.Errorf("xmppclient: SASL: bad base64: %w", err)
	}
	return b, nil
}

// bindResource binds the resource (RFC 6120 §7), or lets the server pick
// one when resource is empty, and keeps the JID the server bound.
func (c *Conn) bindResource(feat *xmlsplit.Element, resource string) error {
	if findChild(feat, "bind", nsBind) == nil {
		return remoteFailed("the server offers no resource binding")
	}
	payload := "<bind xmlns='" + nsBind + "'/>"
	if resource != "" {
		payload = "<bind xmlns='" + nsBind + "'><resource>" + string(appendEscaped(nil, resource)) + "</resource></bind>"
	}
	res, err := c.iq("xmppclient-bind", payload)
	if err != nil {
		return err
	}
	b := findChild(&res, "bind", nsBind)
	if b == nil {
		return remoteFailed("bind result without <bind/>")
	}
	bel, err := parseChildren(b, nil, &res)
	if err != nil {
		return err
	}
	j := findChild(&bel, "jid", nsBind)
	if j == nil {
		return remoteFailed("bind result without <jid/>")
	}
	c.jid = string(elementText(j))
	return nil
}

// sessionOptional reports whether a session feature (RFC 3921, XEP-0206
// of old servers) carries <optional/>, as RFC 6121 servers send it.
func sessionOptional(s, feat *xmlsplit.Element) bool {
	el, err := parseChildren(s, nil, feat)
	return err == nil && findChild(&el, "optional", nsSession) != nil
}

// iq sends an IQ set with the given payload and waits for its answer,
// skipping anything else the server sends meanwhile. An error answer is an
// *Error.
func (c *Conn) iq(id, payload string) (xmlsplit.Element, error) {
	if err := c.writeNegotiating([]byte("<iq type='set' id='" + id + "'>" + payload + "</iq>")); err != nil {
		return xmlsplit.Element{}, err
	}
	for {
		_, el, err := c.nextElement()
		if err != nil {
			return el, err
		}
		if !is(&el, "iq", nsClient) {
			continue
		}
		if v, ok := el.Attr("id"); !ok || unescapeString(v) != id {
			continue
		}
		typ, _ := el.Attr("type")
		switch string(typ) {
		case "result":
			return el, nil
		case "error":
			e := &Error{Cond: condUndefined, Err: fmt.Errorf("xmppclient: %s refused", strings.TrimPrefix(id, "xmppclient-"))}
			if errEl := findChild(&el, "error", nsClient); errEl != nil {
				if pe, err := parseChildren(errEl, nil, &el); err == nil {
					cond, text := errorCondition(&pe, nsStanzaErr)
					if streamConditions[cond] {
						e.Cond = cond
					}
					e.Text = text
					e.Err = fmt.Errorf("%w: %s", e.Err, cond)
				}
			}
			return el, e
		default:
			return el, fmt.Errorf("xmppclient: bad IQ answer %.64q", el.Raw)
		}
	}
}
