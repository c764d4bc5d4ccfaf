package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// boshPath is XMPP over BOSH (XEP-0124/0206): hold=1, so one empty request
// is kept waiting at the server by a poller goroutine while Send posts
// stanzas on a second connection.
type boshPath struct {
	name, url string
}

func (p *boshPath) Name() string { return p.name }

// boshWait is the longest the server holds an empty request, in seconds.
const boshWait = 30

func (p *boshPath) Dial(ctx context.Context, src net.IP) (Stream, error) {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{LocalAddr: &net.TCPAddr{IP: src}}).DialContext,
		MaxIdleConnsPerHost: 2,
		MaxConnsPerHost:     2,
		DisableCompression:  true,
	}
	s := &boshStream{
		url:    p.url,
		client: &http.Client{Transport: tr, Timeout: (boshWait + 30) * time.Second},
		tr:     tr,
		rid:    1 + rand.Int64N(1<<40),
		in:     make(chan boshItem, 4096),
	}
	s.nextOut = s.rid
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

type boshItem struct {
	el  []byte
	err error
}

type boshStream struct {
	url    string
	client *http.Client
	tr     *http.Transport
	ctx    context.Context // ends the poller at Close
	cancel context.CancelFunc
	domain string
	poller sync.WaitGroup

	mu      sync.Mutex // rid, sid and the delivery order below
	rid     int64      // the next request's rid
	sid     string
	nextOut int64              // rid whose elements are delivered next
	pending map[int64][][]byte // responses that came back early
	failed  error

	sendMu sync.Mutex // one Send at a time, so at most two requests are out
	in     chan boshItem
}

func (s *boshStream) Open(ctx context.Context, domain string) ([]byte, error) {
	s.domain = domain
	s.mu.Lock()
	first := s.sid == ""
	s.mu.Unlock()
	var attrs string
	if first {
		attrs = ` content="text/xml; charset=utf-8" hold="1" to="` + domain + `" ver="1.6" wait="` + strconv.Itoa(boshWait) + `" xml:lang="en" xmpp:version="1.0"`
	} else {
		attrs = ` to="` + domain + `" xml:lang="en" xmpp:restart="true"`
	}
	if err := s.request(ctx, attrs, nil); err != nil {
		return nil, err
	}
	if first {
		s.poller.Add(1)
		go s.poll()
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

func (s *boshStream) Send(el []byte) error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	ctx, cancel := context.WithTimeout(s.ctx, ioTimeout)
	defer cancel()
	return s.request(ctx, "", el)
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

func (s *boshStream) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	s.request(ctx, ` type="terminate"`, []byte(`<presence xmlns="jabber:client" type="unavailable"/>`))
	cancel()
	s.cancel()
	s.poller.Wait()
	s.tr.CloseIdleConnections()
	s.deliver(0, nil, errors.New("bosh: closed"))
	return nil
}

// poll keeps one empty request waiting at the server.
func (s *boshStream) poll() {
	defer s.poller.Done()
	for s.ctx.Err() == nil {
		if err := s.request(s.ctx, "", nil); err != nil {
			return
		}
	}
}

// request posts one <body/> with the given attributes and payload and
// delivers what comes back, in rid order.
func (s *boshStream) request(ctx context.Context, attrs string, payload []byte) error {
	s.mu.Lock()
	if s.failed != nil {
		s.mu.Unlock()
		return s.failed
	}
	rid := s.rid
	s.rid++
	sid := s.sid
	s.mu.Unlock()
	var b bytes.Buffer
	b.WriteString(`<body xmlns="http://jabber.org/protocol/httpbind" xmlns:xmpp="urn:xmpp:xbosh" rid="`)
	b.WriteString(strconv.FormatInt(rid, 10))
	b.WriteByte('"')
	if sid != "" {
		b.WriteString(` sid="` + sid + `"`)
	}
	b.WriteString(attrs)
	if payload == nil {
		b.WriteString("/>")
	} else {
		b.WriteByte('>')
		b.Write(payload)
		b.WriteString("</body>")
	}
	els, err := s.post(ctx, rid, b.Bytes())
	s.deliver(rid, els, err)
	return err
}

func (s *boshStream) post(ctx context.Context, rid int64, body []byte) ([][]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("bosh: rid %d: HTTP %s", rid, resp.Status)
	}
	return s.children(data)
}

// children parses a response <body/>, takes the sid from the first one, and
// returns its child elements as raw bytes.
func (s *boshStream) children(data []byte) ([][]byte, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	var els [][]byte
	depth := 0
	var start int64
	for {
		off := d.InputOffset()
		tok, err := d.RawToken()
		if err == io.EOF {
			return els, nil
		}
		if err != nil {
			return nil, fmt.Errorf("bosh: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				for _, a := range t.Attr {
					switch {
					case a.Name.Local == "type" && a.Value == "terminate":
						return nil, fmt.Errorf("bosh: terminated: %.200s", data)
					case a.Name.Local == "sid":
						s.mu.Lock()
						if s.sid == "" {
							s.sid = a.Value
						}
						s.mu.Unlock()
					}
				}
			}
			if depth == 1 {
				start = off
			}
			depth++
		case xml.EndElement:
			depth--
			if depth == 1 {
				els = append(els, data[start:d.InputOffset()])
			}
		}
	}
}

// deliver hands a response's elements to Recv once every earlier rid's have
// been handed over; an error ends the stream.
func (s *boshStream) deliver(rid int64, els [][]byte, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed != nil {
		return
	}
	if err != nil {
		s.failed = err
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
