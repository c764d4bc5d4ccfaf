package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/gorilla/websocket"

	"github.com/xmppbridge/xmppbridge/jsonxlate"
)

// jsonSubprotocol is the WebSocket subprotocol of the bridge's JSON API
// (docs/json-api.md).
const jsonSubprotocol = "xmppbridge-json.v1"

// jsonPath is the bridge's JSON API over WebSocket: one JSON frame per text
// message. The bridge logs in upstream itself, from a login frame, so a
// session on this path does no SASL of its own, and its elements are JSON
// frames (docs/json.md) rather than XML.
type jsonPath struct {
	name, url string
}

func (p *jsonPath) Name() string { return p.name }

func (p *jsonPath) Dial(ctx context.Context, src net.IP) (Stream, error) {
	c, err := dialWebSocket(ctx, p.url, jsonSubprotocol, src)
	if err != nil {
		return nil, err
	}
	return &jsonStream{wsStream{c: c, buf: make([]byte, 0, 1024)}}, nil
}

// jsonStream sends and receives JSON frames as wsStream does XML elements.
// It acknowledges nothing: over WebSocket the bridge drops a frame once it
// has written it, and only the HTTP transports keep frames until an ack.
type jsonStream struct {
	wsStream
}

var errNoXMPPStream = errors.New("json: the bridge opens the XMPP stream itself: log in with a login frame")

// Open fails: there is no XMPP stream for the client to open.
func (s *jsonStream) Open(context.Context, string) ([]byte, error) {
	return nil, errNoXMPPStream
}

// Login sends the login frame and waits for the session frame that
// answers it.
func (s *jsonStream) Login(ctx context.Context, domain, user, password string) (string, error) {
	if dl, ok := ctx.Deadline(); ok {
		s.c.SetReadDeadline(dl)
		defer s.c.SetReadDeadline(time.Time{})
	}
	if err := s.Send(loginFrame(domain, user, password)); err != nil {
		return "", err
	}
	el, err := s.Recv()
	if err != nil {
		return "", err
	}
	return sessionJID(el)
}

// loginFrame is the login frame of user@domain, with the load tool's
// resource.
func loginFrame(domain, user, password string) []byte {
	f, _ := json.Marshal(struct {
		Kind     string `json:"kind"`
		ID       string `json:"id"`
		JID      string `json:"jid"`
		Password string `json:"password"`
		Resource string `json:"resource"`
	}{"login", "l", user + "@" + domain, password, "load"})
	return f
}

// sessionJID reads the frame that answers a login: the bound full JID
// from a session frame, or the error.
func sessionJID(el []byte) (string, error) {
	var got struct {
		Kind string `json:"kind"`
		JID  string `json:"jid"`
		Code string `json:"code"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(el, &got); err != nil {
		return "", fmt.Errorf("json: %w: %.200s", err, el)
	}
	switch {
	case got.Kind == "session" && got.JID != "":
		return got.JID, nil
	case got.Kind == "error" || got.Kind == "close":
		return "", fmt.Errorf("json: %s %s: %s", got.Kind, got.Code, got.Text)
	}
	return "", fmt.Errorf("json: got %.200s, want a session frame", el)
}

// Close asks the bridge to end the session and closes the connection.
func (s *jsonStream) Close() error {
	s.Send([]byte(`{"kind":"close"}`))
	s.c.SetWriteDeadline(time.Now().Add(time.Second))
	s.c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	return s.c.Close()
}

func (s *jsonStream) spelling() spelling { return jsonSpelling{} }

// jsonSpelling is the JSON API's frames. What is received is read with a
// byte scan rather than decoded: the bridge writes compact JSON with kind
// first (jsonxlate.AppendJSON and the API's own frames), and a message's
// friendly body field is a top-level key no other part of a load message
// has.
type jsonSpelling struct{}

func (jsonSpelling) appendPresence(b []byte) []byte {
	return append(b, `{"kind":"presence"}`...)
}

// appendMessage appends {"kind":"message","type":"chat","to":…,"body":"SEQ SENT"},
// the JSON form of the XML spelling's message.
func (jsonSpelling) appendMessage(b []byte, to string, p probe) []byte {
	b = append(b, `{"kind":"message","type":"chat","to":`...)
	b = jsonxlate.AppendString(b, to)
	b = append(b, `,"body":"`...)
	b = appendProbe(b, p)
	return append(b, `"}`...)
}

func (jsonSpelling) inspect(el []byte) (elemKind, probe, bool) {
	kind, ok := bytes.CutPrefix(el, []byte(`{"kind":"`))
	switch {
	case !ok:
		return elemOther, probe{}, false
	case bytes.HasPrefix(kind, []byte(`message"`)):
		p, ok := probeAfter(el, `"body":"`, '"')
		return elemMessage, p, ok
	case bytes.HasPrefix(kind, []byte(`close"`)), bytes.HasPrefix(kind, []byte(`error"`)):
		return elemEnd, probe{}, false
	}
	return elemOther, probe{}, false
}
