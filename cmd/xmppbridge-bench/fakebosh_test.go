package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeBOSH is a tiny BOSH connection manager and XMPP server in one: hold
// 1, requests 2, PLAIN for anyone, bind, and messages routed by full JID.
// It holds clients to the request discipline the bridge enforces: never
// more than 'requests' requests open, and no empty request while another
// is open (XEP-0124 §12, with a polling interval longer than the test).
// Like the bridge and Prosody, it takes requests in rid order: one that
// overtook a lower rid on the way waits for it.
type fakeBOSH struct {
	wait time.Duration

	mu         sync.Mutex
	sessions   map[string]*fakeBOSHSession
	byJID      map[string]*fakeBOSHSession
	violations []string
}

type fakeBOSHSession struct {
	sid     string
	user    string
	next    int64 // the rid taken next
	open    int
	held    []int64       // rids of the requests waiting, oldest first
	out     [][]byte      // elements for the next response
	changed chan struct{} // closed and replaced when a held request should look again
	ended   bool
}

func (f *fakeBOSH) wakeLocked(s *fakeBOSHSession) {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (f *fakeBOSH) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	data, _ := io.ReadAll(r.Body)
	attrs, children, err := parseFakeBody(data)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rid, _ := strconv.ParseInt(attrs["rid"], 10, 64)
	f.mu.Lock()
	if attrs["sid"] == "" {
		s := &fakeBOSHSession{sid: fmt.Sprintf("s%d", len(f.sessions)+1), next: rid + 1, changed: make(chan struct{})}
		f.sessions[s.sid] = s
		f.mu.Unlock()
		fmt.Fprintf(w, `<body xmlns="http://jabber.org/protocol/httpbind" xmlns:stream="http://etherx.jabber.org/streams" sid="%s" wait="60" hold="1" requests="2"><stream:features><mechanisms xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><mechanism>PLAIN</mechanism></mechanisms></stream:features></body>`, s.sid)
		return
	}
	s := f.sessions[attrs["sid"]]
	if s == nil || s.ended {
		f.mu.Unlock()
		fmt.Fprint(w, `<body xmlns="http://jabber.org/protocol/httpbind" type="terminate" condition="item-not-found"/>`)
		return
	}
	for s.next != rid && !s.ended {
		ch := s.changed
		f.mu.Unlock()
		<-ch
		f.mu.Lock()
	}
	s.next++
	s.open++
	empty := len(children) == 0 && attrs["restart"] == "" && attrs["type"] == ""
	switch {
	case s.open > 2 && attrs["type"] != "terminate":
		f.violations = append(f.violations, s.sid+": more than 2 requests open")
	case empty && s.open > 1:
		f.violations = append(f.violations, s.sid+": empty request while another is open")
	}
	if attrs["restart"] != "" {
		s.out = append(s.out, []byte(`<stream:features><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"/></stream:features>`))
	}
	for _, c := range children {
		f.stanzaLocked(s, c)
	}
	if attrs["type"] == "terminate" {
		s.ended = true
		delete(f.byJID, s.user+"@localhost/load")
		f.wakeLocked(s)
		s.open--
		f.mu.Unlock()
		fmt.Fprint(w, `<body xmlns="http://jabber.org/protocol/httpbind" type="terminate"/>`)
		return
	}
	s.held = append(s.held, rid)
	slices.Sort(s.held)
	f.wakeLocked(s)
	deadline := time.After(f.wait)
	expired := false
	for {
		oldest := s.held[0] == rid
		if s.ended || oldest && (len(s.out) > 0 || len(s.held) > 1 || expired) {
			break
		}
		ch := s.changed
		f.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			expired = true
		}
		f.mu.Lock()
	}
	var b bytes.Buffer
	b.WriteString(`<body xmlns="http://jabber.org/protocol/httpbind" xmlns:stream="http://etherx.jabber.org/streams">`)
	for _, el := range s.out {
		b.Write(el)
	}
	b.WriteString(`</body>`)
	s.out = nil
	s.held = slices.DeleteFunc(s.held, func(x int64) bool { return x == rid })
	s.open--
	f.wakeLocked(s)
	f.mu.Unlock()
	w.Write(b.Bytes())
}

// stanzaLocked plays the XMPP server for one element from s's client.
func (f *fakeBOSH) stanzaLocked(s *fakeBOSHSession, el []byte) {
	switch {
	case bytes.HasPrefix(el, []byte("<auth")):
		i := bytes.IndexByte(el, '>')
		dec, _ := base64.StdEncoding.DecodeString(string(el[i+1 : bytes.LastIndexByte(el, '<')]))
		s.user = strings.Split(string(dec), "\x00")[1]
		s.out = append(s.out, []byte(`<success xmlns="urn:ietf:params:xml:ns:xmpp-sasl"/>`))
	case bytes.HasPrefix(el, []byte("<iq")):
		jid := s.user + "@localhost/load"
		f.byJID[jid] = s
		s.out = append(s.out, []byte(`<iq xmlns="jabber:client" type="result" id="b"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"><jid>`+jid+`</jid></bind></iq>`))
	case bytes.HasPrefix(el, []byte("<message")):
		i := bytes.Index(el, []byte(`to="`)) + 4
		to := string(el[i : i+bytes.IndexByte(el[i:], '"')])
		if dst := f.byJID[to]; dst != nil {
			dst.out = append(dst.out, slices.Clone(el))
			f.wakeLocked(dst)
		}
	}
}

// parseFakeBody returns a request <body/>'s attributes by local name and
// its children as raw bytes.
func parseFakeBody(data []byte) (map[string]string, [][]byte, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	attrs := map[string]string{}
	var children [][]byte
	depth := 0
	var start int64
	for {
		off := d.InputOffset()
		tok, err := d.RawToken()
		if err == io.EOF {
			return attrs, children, nil
		}
		if err != nil {
			return nil, nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				for _, a := range t.Attr {
					attrs[a.Name.Local] = a.Value
				}
			}
			if depth == 1 {
				start = off
			}
			depth++
		case xml.EndElement:
			depth--
			if depth == 1 {
				children = append(children, data[start:d.InputOffset()])
			}
		}
	}
}

// TestBOSHClientDiscipline runs the load test over BOSH against fakeBOSH,
// with a short wait so that idle requests come back empty and are sent
// again during the run.
func TestBOSHClientDiscipline(t *testing.T) {
	f := &fakeBOSH{wait: 150 * time.Millisecond, sessions: map[string]*fakeBOSHSession{}, byJID: map[string]*fakeBOSHSession{}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c := loadConfig{
		n: 12, rate: 300, duration: 500 * time.Millisecond, hold: 400 * time.Millisecond, drain: 2 * time.Second,
		userFlags: userFlags{domain: "localhost", prefix: "u", password: "secret", sources: 2, concurrency: 4}, senders: 2,
	}
	specs := []pathSpec{{name: "bosh", kind: "bosh", url: srv.URL}}
	p, err := newPath(specs[0].name, specs[0].kind, specs[0].url)
	if err != nil {
		t.Fatal(err)
	}
	r, err := runLoad(context.Background(), c, specs, []Path{p})
	if err != nil {
		t.Fatal(err)
	}
	pr := r.Paths[0]
	if pr.Established != 12 || pr.Held != 12 {
		t.Errorf("established %d, held %d, want 12, 12 (%s)", pr.Established, pr.Held, pr.FirstError)
	}
	if pr.Sent == 0 || pr.Lost != 0 || pr.Reordered != 0 || pr.Received != pr.Sent {
		t.Errorf("sent %d received %d lost %d reordered %d", pr.Sent, pr.Received, pr.Lost, pr.Reordered)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.violations) > 0 {
		t.Errorf("%d violations of the request discipline, the first: %s", len(f.violations), f.violations[0])
	}
	for sid, s := range f.sessions {
		if !s.ended {
			t.Errorf("session %s was not terminated", sid)
		}
	}
}
