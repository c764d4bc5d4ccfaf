package bosh

import (
	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

const nsStanzas = "urn:ietf:params:xml:ns:xmpp-stanzas"

// bounces returns what to send the server for the stanzas in items, which
// the client will never get because its session ended under it
// (XEP-0206 §7): a presence is dropped, a
// message gets recipient-unavailable and an iq get or set
// service-unavailable, each to its sender. Errors and iq results are never
// answered, nor is anything without a sender to answer.
func bounces(items []bridge.Item) [][]byte {
	var out [][]byte
	for i := range items {
		if it := &items[i]; it.End == nil && it.Kind == xmppclient.EventElement {
			if b := bounce(it); b != nil {
				out = append(out, b)
			}
		}
	}
	return out
}

func bounce(it *bridge.Item) []byte {
	el, err := xmlsplit.Parse(it.AppendStandalone(nil), xmlsplit.ParseOptions{})
	if err != nil {
		return nil
	}
	attr := func(name string) string {
		v, ok := el.Attr(name)
		if !ok {
			return ""
		}
		u, err := xmlsplit.Unescape(nil, v)
		if err != nil {
			return ""
		}
		return string(u)
	}
	ns := attr("xmlns")
	if ns != nsClient {
		return nil
	}
	from, typ := attr("from"), attr("type")
	if from == "" {
		return nil
	}
	var name, errType, cond string
	switch string(el.Name) {
	case "message":
		if typ == "error" {
			return nil
		}
		name, errType, cond = "message", "wait", "recipient-unavailable"
	case "iq":
		if typ != "get" && typ != "set" {
			return nil
		}
		name, errType, cond = "iq", "cancel", "service-unavailable"
	default:
		return nil
	}
	b := make([]byte, 0, 192)
	b = append(b, '<')
	b = append(b, name...)
	b = append(b, " xmlns='"+nsClient+"' type='error'"...)
	b = xmlsplit.AppendAttr(b, "to", from)
	b = xmlsplit.AppendAttr(b, "id", attr("id"))
	b = append(b, "><error type='"...)
	b = append(b, errType...)
	b = append(b, "'><"...)
	b = append(b, cond...)
	b = append(b, " xmlns='"+nsStanzas+"'/></error></"...)
	b = append(b, name...)
	return append(b, '>')
}

// undeliveredLocked takes everything waiting for the client, which will
// not get it, and returns the bounces for it.
func (s *session) undeliveredLocked() [][]byte {
	s.pullLocked()
	b := bounces(s.out)
	if s.bs != nil && s.out != nil {
		s.bs.Release(s.out)
	}
	s.out = nil
	return b
}

// sendBounces sends bounces upstream, before the bridge session ends.
func sendBounces(bs *bridge.Session, bounced [][]byte) {
	for _, b := range bounced {
		if bs.Send(b) != nil {
			return
		}
	}
}
