package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// boshPath is XMPP over BOSH (XEP-0124/0206), driven the way browser
// libraries such as Strophe.js drive it: hold=1 and the request discipline
// of window.
type boshPath struct {
	name, url string
}

func (p *boshPath) Name() string { return p.name }

// boshWait is the longest the server may hold an empty request, in
// seconds: what Strophe.js and Converse.js ask for.
const boshWait = 60

func (p *boshPath) Dial(ctx context.Context, src net.IP) (Stream, error) {
	// No Accept-Encoding: neither server compresses bodies this small
	// (the bridge only from 1 KiB on), and leaving gzip out keeps the
	// paths alike.
	po, err := newPoster(p.url, src, (boshWait+30)*time.Second)
	if err != nil {
		return nil, err
	}
	return &boshStream{newWindow(po, boshCodec{}, 1+rand.Int64N(1<<40))}, nil
}

type boshStream struct {
	*window
}

func (s *boshStream) Open(ctx context.Context, domain string) ([]byte, error) {
	s.mu.Lock()
	first := !s.started
	rid := s.rid
	s.mu.Unlock()
	if first {
		attrs := ` content="text/xml; charset=utf-8" hold="1" to="` + domain + `" ver="1.6" wait="` + strconv.Itoa(boshWait) + `" xml:lang="en" xmpp:version="1.0"`
		if err := s.create(ctx, appendBody(nil, rid, "", attrs, nil)); err != nil {
			return nil, err
		}
	} else {
		s.restartStream()
	}
	for {
		el, err := s.recv(ctx)
		if err != nil {
			return nil, err
		}
		if bytes.Contains(el[:min(len(el), 40)], []byte("features")) {
			return el, nil
		}
	}
}

// boshCodec is BOSH's <body/>.
type boshCodec struct{}

func (boshCodec) appendRequest(b []byte, rid int64, sid string, restart bool, payload []byte, _ int64) []byte {
	attrs := ""
	if restart {
		attrs = ` xml:lang="en" xmpp:restart="true"`
	}
	return appendBody(b, rid, sid, attrs, payload)
}

func (boshCodec) appendQueued(q, el []byte) []byte { return append(q, el...) }

// appendTerminate ends the session (XEP-0124 §13) with unavailable
// presence, as Strophe.js does.
func (boshCodec) appendTerminate(b []byte, rid int64, sid string, _ int64) []byte {
	return appendBody(b, rid, sid, ` type="terminate"`, []byte(`<presence xmlns="jabber:client" type="unavailable"/>`))
}

func (boshCodec) parseAnswer(status int, data []byte) (windowAnswer, error) {
	if status != http.StatusOK {
		return windowAnswer{}, fmt.Errorf("bosh: HTTP status %d: %.200s", status, data)
	}
	attrs, els, err := splitBody(data)
	if err != nil {
		return windowAnswer{}, err
	}
	ans := windowAnswer{els: els}
	terminate, condition := false, ""
	for _, a := range attrs {
		switch a.name {
		case "type":
			terminate = a.value == "terminate"
		case "condition":
			condition = a.value
		case "sid":
			ans.sid = a.value
		case "requests":
			ans.requests, _ = strconv.Atoi(a.value)
		}
	}
	if terminate {
		return windowAnswer{}, &terminateError{condition: condition, body: data}
	}
	return ans, nil
}

// terminateError is an answer that ends the BOSH session, with its
// condition ("" for a plain terminate).
type terminateError struct {
	condition string
	body      []byte
}

func (e *terminateError) Error() string { return fmt.Sprintf("bosh: terminated: %.200s", e.body) }

// appendBody appends the <body/> of request rid to b.
func appendBody(b []byte, rid int64, sid, attrs string, payload []byte) []byte {
	b = append(b, `<body xmlns="http://jabber.org/protocol/httpbind" xmlns:xmpp="urn:xmpp:xbosh" rid="`...)
	b = strconv.AppendInt(b, rid, 10)
	b = append(b, '"')
	if sid != "" {
		b = append(b, ` sid="`...)
		b = append(b, sid...)
		b = append(b, '"')
	}
	b = append(b, attrs...)
	if payload == nil {
		return append(b, "/>"...)
	}
	b = append(b, '>')
	b = append(b, payload...)
	return append(b, "</body>"...)
}

type bodyAttr struct{ name, value string }

// splitBody returns the attributes of a response <body/> (local names,
// values as written) and its child elements as raw bytes. It trusts the
// server to send well-formed XML and only finds where elements begin and
// end: at thousands of responses a second, encoding/xml would cost the load
// tool more than it costs the servers under test to make them.
func splitBody(data []byte) ([]bodyAttr, [][]byte, error) {
	i := bytes.IndexByte(data, '<')
	for i >= 0 && i+1 < len(data) && (data[i+1] == '?' || data[i+1] == '!') {
		// An XML declaration or a comment before the body.
		j := bytes.IndexByte(data[i+1:], '>')
		if j < 0 {
			return nil, nil, errors.New("bosh: unterminated markup before <body/>")
		}
		k := bytes.IndexByte(data[i+j+2:], '<')
		if k < 0 {
			i = -1
			break
		}
		i += j + 2 + k
	}
	if i < 0 {
		return nil, nil, errors.New("bosh: no <body/> in the response")
	}
	end, selfClosing, ok := tagEnd(data, i)
	if !ok {
		return nil, nil, errors.New("bosh: unterminated <body> start tag")
	}
	attrs := tagAttrs(data[i+1 : end])
	if selfClosing {
		return attrs, nil, nil
	}
	var els [][]byte
	depth, start := 0, 0
	for p := end + 1; p < len(data); {
		q := bytes.IndexByte(data[p:], '<')
		if q < 0 {
			break
		}
		p += q
		switch {
		case bytes.HasPrefix(data[p:], []byte("<!--")):
			q = bytes.Index(data[p:], []byte("-->"))
			if q < 0 {
				return nil, nil, errors.New("bosh: unterminated comment")
			}
			p += q + 3
			continue
		case bytes.HasPrefix(data[p:], []byte("<![CDATA[")):
			q = bytes.Index(data[p:], []byte("]]>"))
			if q < 0 {
				return nil, nil, errors.New("bosh: unterminated CDATA section")
			}
			p += q + 3
			continue
		}
		e, selfClosing, ok := tagEnd(data, p)
		if !ok {
			return nil, nil, errors.New("bosh: unterminated tag")
		}
		switch {
		case data[p+1] == '/':
			if depth == 0 {
				return attrs, els, nil // </body>
			}
			depth--
			if depth == 0 {
				els = append(els, data[start:e+1])
			}
		case selfClosing && depth == 0:
			els = append(els, data[p:e+1])
		case selfClosing:
		default:
			if depth == 0 {
				start = p
			}
			depth++
		}
		p = e + 1
	}
	return nil, nil, errors.New("bosh: response <body> not closed")
}

// tagEnd finds the '>' that ends the tag starting at data[i] == '<',
// skipping quoted attribute values, and says whether the tag is
// self-closing.
func tagEnd(data []byte, i int) (end int, selfClosing, ok bool) {
	var quote byte
	for j := i + 1; j < len(data); j++ {
		c := data[j]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			return j, data[j-1] == '/', true
		}
	}
	return 0, false, false
}

// tagAttrs returns the attributes of a start tag's inside (name and
// attributes, without the brackets), by local name.
func tagAttrs(tag []byte) []bodyAttr {
	var attrs []bodyAttr
	i := bytes.IndexAny(tag, " \t\r\n")
	if i < 0 {
		return nil
	}
	for i < len(tag) {
		for i < len(tag) && (tag[i] == ' ' || tag[i] == '\t' || tag[i] == '\r' || tag[i] == '\n' || tag[i] == '/') {
			i++
		}
		eq := bytes.IndexByte(tag[i:], '=')
		if eq < 0 {
			break
		}
		name := string(bytes.TrimSpace(tag[i : i+eq]))
		if c := strings.LastIndexByte(name, ':'); c >= 0 {
			name = name[c+1:]
		}
		i += eq + 1
		for i < len(tag) && tag[i] != '"' && tag[i] != '\'' {
			i++
		}
		if i >= len(tag) {
			break
		}
		q := tag[i]
		e := bytes.IndexByte(tag[i+1:], q)
		if e < 0 {
			break
		}
		attrs = append(attrs, bodyAttr{name: name, value: string(tag[i+1 : i+1+e])})
		i += e + 2
	}
	return attrs
}
