package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"time"
)

// login logs a user in and sends initial presence; it returns the bound
// full JID. On an XMPP stream it opens the stream, authenticates with SASL
// PLAIN (the test Prosody allows it without TLS) and binds a resource; on a
// stream whose server logs in for the client (serverLogin: the bridge's
// JSON API) it hands over the credentials instead. There is no stream
// management.
func login(ctx context.Context, s Stream, domain, user, password string) (jid string, err error) {
	if sl, ok := s.(serverLogin); ok {
		jid, err = sl.Login(ctx, domain, user, password)
		if err != nil {
			return "", fmt.Errorf("login: %w", err)
		}
	} else if jid, err = saslLogin(ctx, s, domain, user, password); err != nil {
		return "", err
	}
	if err := s.Send(spellingOf(s).appendPresence(nil)); err != nil {
		return "", err
	}
	return jid, nil
}

// A serverLogin is a Stream whose server logs in upstream for the client
// (the bridge's JSON API): no XMPP stream is opened on it and no SASL done
// over it.
type serverLogin interface {
	// Login logs user@domain in with password and returns the bound
	// full JID.
	Login(ctx context.Context, domain, user, password string) (jid string, err error)
}

// saslLogin opens an XMPP stream, authenticates with SASL PLAIN and binds a
// resource.
func saslLogin(ctx context.Context, s Stream, domain, user, password string) (jid string, err error) {
	if _, err := saslAuth(ctx, s, domain, user, password); err != nil {
		return "", err
	}
	if err := s.Send([]byte(`<iq xmlns="jabber:client" type="set" id="b"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"><resource>load</resource></bind></iq>`)); err != nil {
		return "", err
	}
	el, err := s.Recv()
	if err != nil {
		return "", fmt.Errorf("bind: %w", err)
	}
	jid, ok := textOf(el, "jid")
	if !ok || !bytes.Contains(el[:min(len(el), 80)], []byte("result")) {
		return "", fmt.Errorf("bind: %.200s", el)
	}
	return jid, nil
}

// saslAuth opens an XMPP stream, authenticates with SASL PLAIN and
// restarts the stream; it returns the features after the restart, where
// a client binds or resumes (XEP-0198).
func saslAuth(ctx context.Context, s Stream, domain, user, password string) (features []byte, err error) {
	feat, err := s.Open(ctx, domain)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	if !bytes.Contains(feat, []byte("<mechanism>PLAIN</mechanism>")) {
		return nil, fmt.Errorf("server does not offer SASL PLAIN: %.200s", feat)
	}
	cred := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + password))
	if err := s.Send([]byte(`<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN">` + cred + `</auth>`)); err != nil {
		return nil, err
	}
	el, err := s.Recv()
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	if !bytes.HasPrefix(el, []byte("<success")) {
		return nil, fmt.Errorf("auth %s: %.200s", user, el)
	}
	feat, err = s.Open(ctx, domain)
	if err != nil {
		return nil, fmt.Errorf("restart: %w", err)
	}
	return feat, nil
}

// A spelling writes and reads the few elements the load test itself sends
// and checks, in the form its stream carries: XMPP XML, or the bridge's
// JSON frames. Both carry the same probe in the message body, so latency,
// loss and order are measured alike on every path.
type spelling interface {
	// appendPresence appends initial presence.
	appendPresence(b []byte) []byte
	// appendMessage appends a chat message to full JID to carrying p.
	appendMessage(b []byte, to string, p probe) []byte
	// inspect says what a received element is and, for a message that
	// carries a probe, the probe.
	inspect(el []byte) (k elemKind, p probe, ok bool)
}

// elemKind is what the load test's reader makes of a received element.
type elemKind int

const (
	elemOther   elemKind = iota // presence, iq, anything else: ignored
	elemMessage                 // a message, with or without a probe
	elemEnd                     // the server closing the stream or reporting an error
)

// spellingOf is the spelling of s: a Stream that carries something other
// than XML says so with a spelling method.
func spellingOf(s Stream) spelling {
	if sp, ok := s.(interface{ spelling() spelling }); ok {
		return sp.spelling()
	}
	return xmlSpelling{}
}

// xmlSpelling is XMPP XML, for every path but the JSON API.
type xmlSpelling struct{}

func (xmlSpelling) appendPresence(b []byte) []byte {
	return append(b, `<presence xmlns="jabber:client"/>`...)
}

func (xmlSpelling) appendMessage(b []byte, to string, p probe) []byte {
	return appendMessage(b, to, p)
}

func (xmlSpelling) inspect(el []byte) (elemKind, probe, bool) {
	if !bytes.HasPrefix(el, []byte("<message")) {
		if bytes.HasPrefix(el, []byte("<close")) || bytes.Contains(el[:min(len(el), 20)], []byte("error")) {
			return elemEnd, probe{}, false
		}
		return elemOther, probe{}, false
	}
	p, ok := parseProbe(el)
	return elemMessage, p, ok
}

// textOf returns the text of the first <name>…</name> in el, as raw bytes
// (no entity is expected in what the load test reads this way).
func textOf(el []byte, name string) (string, bool) {
	open := []byte("<" + name + ">")
	i := bytes.Index(el, open)
	if i < 0 {
		return "", false
	}
	rest := el[i+len(open):]
	j := bytes.IndexByte(rest, '<')
	if j < 0 {
		return "", false
	}
	return string(rest[:j]), true
}

// A probe is what a load message carries in its body: the sender's
// sequence number toward this receiver and the send time, in nanoseconds
// since the start of the run (the monotonic clock, same process), and
// where a receiver hears from more than one sender (the soak), who sent it.
type probe struct {
	seq  int64
	sent time.Duration
	from int64 // the sender's number from 1; 0: not said
}

// appendMessage appends a chat message to full JID to carrying p.
func appendMessage(b []byte, to string, p probe) []byte {
	b = append(b, `<message xmlns="jabber:client" type="chat" to="`...)
	b = append(b, to...)
	b = append(b, `"><body>`...)
	b = appendProbe(b, p)
	return append(b, `</body></message>`...)
}

// appendProbe appends p as a message body carries it: "SEQ SENT", or
// "SEQ SENT FROM".
func appendProbe(b []byte, p probe) []byte {
	b = strconv.AppendInt(b, p.seq, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(p.sent), 10)
	if p.from > 0 {
		b = append(b, ' ')
		b = strconv.AppendInt(b, p.from, 10)
	}
	return b
}

// parseProbe finds the probe in a received message.
func parseProbe(el []byte) (probe, bool) {
	return probeAfter(el, "<body>", '<')
}

// probeAfter reads the probe right after the first open in el, which must
// be followed by end.
func probeAfter(el []byte, open string, end byte) (probe, bool) {
	i := bytes.Index(el, []byte(open))
	if i < 0 {
		return probe{}, false
	}
	seq, rest, ok := readInt(el[i+len(open):])
	if !ok || len(rest) == 0 || rest[0] != ' ' {
		return probe{}, false
	}
	sent, rest, ok := readInt(rest[1:])
	if !ok || len(rest) == 0 {
		return probe{}, false
	}
	var from int64
	if rest[0] == ' ' {
		if from, rest, ok = readInt(rest[1:]); !ok || len(rest) == 0 {
			return probe{}, false
		}
	}
	if rest[0] != end {
		return probe{}, false
	}
	return probe{seq: seq, sent: time.Duration(sent), from: from}, true
}

func readInt(b []byte) (int64, []byte, bool) {
	var v int64
	i := 0
	for i < len(b) && i < 19 && b[i] >= '0' && b[i] <= '9' {
		v = v*10 + int64(b[i]-'0')
		i++
	}
	return v, b[i:], i > 0
}
