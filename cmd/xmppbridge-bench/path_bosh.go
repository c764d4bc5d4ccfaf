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
	"sync"
	"time"
)

// boshPath is XMPP over BOSH (XEP-0124/0206), driven the way browser
// libraries such as Strophe.js drive it: hold=1, and
//
//   - an empty request is sent only when no other request is open, so
//     exactly one request waits at the server while the session is idle and
//     is sent again when it comes back (after wait, or with data);
//   - a stanza goes out at once on a request of its own while fewer than
//     'requests' are open (the server then answers the older, held one),
//     else it waits and leaves with everything else queued on the next
//     request that is free.
//
// So the client never has more than 'requests' requests open and never
// sends an empty request while another is waiting, which a connection
// manager may take for polling too often (XEP-0124 §12). Each session has
// its own connections (see poster): one while idle, two while sending.
type boshPath struct {
	name, url string
}

func (p *boshPath) Name() string { return p.name }

// boshWait is the longest the server may hold an empty request, in
// seconds: what Strophe.js and Converse.js ask for.
const boshWait = 60

// boshMaxQueued bounds the stanzas waiting for a free request; Send blocks
// past it, as a WebSocket write blocks when the socket buffer is full.
const boshMaxQueued = 256

func (p *boshPath) Dial(ctx context.Context, src net.IP) (Stream, error) {
	// No Accept-Encoding: neither server compresses bodies this small
	// (the bridge only from 1 KiB on), and leaving gzip out keeps the
	// paths alike.
	po, err := newPoster(p.url, src, (boshWait+30)*time.Second)
	if err != nil {
		return nil, err
	}
	s := &boshStream{
		po:      po,
		rid:     1 + rand.Int64N(1<<40),
		maxOpen: 2,
		in:      make(chan boshItem, 4096),
	}
	s.cond = sync.NewCond(&s.mu)
	s.nextOut = s.rid
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

type boshItem struct {
	el  []byte
	err error
}

type boshStream struct {
	po     *poster
	ctx    context.Context // cancelled at Close: ends every request
	cancel context.CancelFunc
	reqs   sync.WaitGroup // request goroutines

	mu      sync.Mutex
	cond    *sync.Cond // queued stanzas left, or the stream failed or closes
	rid     int64      // the next request's rid
	sid     string
	maxOpen int  // the server's 'requests'
	open    int  // requests posted and not yet answered
	started bool // the session exists: requests go out by themselves
	restart bool // a stream restart waits for a free request
	queue   []byte
	queued  int // stanzas in queue
	closing bool
	failed  error
	nextOut int64              // rid whose elements are delivered next
	pending map[int64][][]byte // responses that came back early

	in chan boshItem
}

// What the next request carries, if one is sent.
type boshNext int

const (
	boshNone    boshNext = iota // nothing to send, or no request free
	boshRestart                 // xmpp:restart, on a request of its own
	boshPayload                 // every queued stanza
	boshPoll                    // empty: keeps one request waiting
)

// nextRequest decides whether another request goes out now and with what.
func nextRequest(open, maxOpen int, restart bool, queued int) boshNext {
	switch {
	case open >= maxOpen:
		return boshNone
	case restart:
		return boshRestart
	case queued > 0:
		return boshPayload
	case open == 0:
		return boshPoll
	default:
		return boshNone
	}
}

func (s *boshStream) Open(ctx context.Context, domain string) ([]byte, error) {
	s.mu.Lock()
	first := !s.started
	if first {
		rid := s.rid
		s.rid++
		s.open++
		s.mu.Unlock()
		attrs := ` content="text/xml; charset=utf-8" hold="1" to="` + domain + `" ver="1.6" wait="` + strconv.Itoa(boshWait) + `" xml:lang="en" xmpp:version="1.0"`
		els, err := s.post(ctx, rid, appendBody(nil, rid, "", attrs, nil))
		s.mu.Lock()
		s.open--
		s.deliverLocked(rid, els, err)
		if err != nil {
			s.mu.Unlock()
			return nil, err
		}
		s.started = true
	} else {
		s.restart = true
	}
	s.kickLocked()
	s.mu.Unlock()
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

// Send queues el for the next free request and sends it if one is free.
// While boshMaxQueued stanzas wait already it blocks, at most ioTimeout.
func (s *boshStream) Send(el []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.queued >= boshMaxQueued {
		timedOut := false
		t := time.AfterFunc(ioTimeout, func() {
			s.mu.Lock()
			timedOut = true
			s.cond.Broadcast()
			s.mu.Unlock()
		})
		defer t.Stop()
		for s.failed == nil && !s.closing && s.queued >= boshMaxQueued && !timedOut {
			s.cond.Wait()
		}
		if timedOut && s.queued >= boshMaxQueued {
			return fmt.Errorf("bosh: %d stanzas still waiting for a request after %v", s.queued, ioTimeout)
		}
	}
	switch {
	case s.failed != nil:
		return s.failed
	case s.closing:
		return errors.New("bosh: closed")
	}
	s.queue = append(s.queue, el...)
	s.queued++
	s.kickLocked()
	return nil
}

func (s *boshStream) Recv() ([]byte, error) { return s.recv(context.Background()) }

func (s *boshStream) recv(ctx context.Context) ([]byte, error) {
	select {
	case it := <-s.in:
		return it.el, it.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close terminates the session (XEP-0124 §13), which makes the server
// answer the requests it holds, and then ends whatever is still open.
func (s *boshStream) Close() error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return nil
	}
	s.closing = true
	s.cond.Broadcast()
	live := s.started && s.failed == nil
	rid := s.rid
	s.rid++
	body := appendBody(nil, rid, s.sid, ` type="terminate"`, []byte(`<presence xmlns="jabber:client" type="unavailable"/>`))
	s.mu.Unlock()
	if live {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s.post(ctx, rid, body)
		cancel()
	}
	s.cancel()
	s.reqs.Wait()
	s.po.closeIdle()
	s.mu.Lock()
	s.deliverLocked(0, nil, errors.New("bosh: closed"))
	s.mu.Unlock()
	return nil
}

// openRequests is the number of requests posted and not yet answered.
func (s *boshStream) openRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.open
}

// closeIdle closes the session's keep-alive connections that no request
// uses, so an idle session holds one connection, not two.
func (s *boshStream) closeIdle() { s.po.closeIdle() }

// kickLocked sends every request nextRequest allows.
func (s *boshStream) kickLocked() {
	for s.started && !s.closing && s.failed == nil {
		var attrs string
		var payload []byte
		switch nextRequest(s.open, s.maxOpen, s.restart, s.queued) {
		case boshNone:
			return
		case boshRestart:
			attrs = ` xml:lang="en" xmpp:restart="true"`
			s.restart = false
		case boshPayload:
			payload = s.queue
			s.queue, s.queued = nil, 0
			s.cond.Broadcast()
		case boshPoll:
		}
		rid := s.rid
		s.rid++
		s.open++
		s.reqs.Add(1)
		go s.do(rid, appendBody(make([]byte, 0, 200+len(payload)), rid, s.sid, attrs, payload))
	}
}

// do posts one request and delivers its answer.
func (s *boshStream) do(rid int64, body []byte) {
	defer s.reqs.Done()
	els, err := s.post(s.ctx, rid, body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.open--
	if s.closing && err != nil {
		return // cut off by Close, which reports the end itself
	}
	s.deliverLocked(rid, els, err)
	s.kickLocked()
}

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

func (s *boshStream) post(ctx context.Context, rid int64, body []byte) ([][]byte, error) {
	status, data, err := s.po.post(ctx, body)
	if err != nil {
		return nil, fmt.Errorf("bosh: rid %d: %w", rid, err)
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("bosh: rid %d: HTTP status %d: %.200s", rid, status, data)
	}
	return s.children(data)
}

// children parses a response <body/>, takes the sid and the 'requests'
// limit from the first one, and returns its child elements as raw bytes.
func (s *boshStream) children(data []byte) ([][]byte, error) {
	attrs, els, err := splitBody(data)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	first := s.sid == ""
	for _, a := range attrs {
		switch {
		case a.name == "type" && a.value == "terminate":
			return nil, fmt.Errorf("bosh: terminated: %.200s", data)
		case a.name == "sid" && first:
			s.sid = a.value
		case a.name == "requests" && first:
			if n, err := strconv.Atoi(a.value); err == nil && n >= 1 {
				s.maxOpen = n
			}
		}
	}
	return els, nil
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

// deliverLocked hands a response's elements to Recv once every earlier
// rid's have been handed over; an error ends the stream.
func (s *boshStream) deliverLocked(rid int64, els [][]byte, err error) {
	if s.failed != nil {
		return
	}
	if err != nil {
		s.failed = err
		s.cond.Broadcast()
		s.in <- boshItem{err: err}
		return
	}
	if s.pending == nil {
		s.pending = map[int64][][]byte{}
	}
	s.pending[rid] = els
	for {
		els, ok := s.pending[s.nextOut]
		if !ok {
			return
		}
		delete(s.pending, s.nextOut)
		s.nextOut++
		for _, el := range els {
			s.in <- boshItem{el: el}
		}
	}
}
