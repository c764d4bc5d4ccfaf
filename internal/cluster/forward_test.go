package cluster

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// node is one bridge of a test cluster, with a fake transport that holds
// sessions named by its prefix and answers what it saw.
type node struct {
	name string
	srv  *httptest.Server
	c    *Cluster
	mu   sync.Mutex
	fwd  []error // OnForward's errors, in order
	gate chan struct{}
}

func (n *node) transport(w http.ResponseWriter, r *http.Request) {
	var body []byte
	if r.Method == http.MethodPost {
		var err error
		body, err = io.ReadAll(io.LimitReader(r.Body, 64))
		if err != nil {
			http.Error(w, "read: "+err.Error(), http.StatusBadRequest)
			return
		}
		if len(body) > 32 {
			http.Error(w, "too large at "+n.name, http.StatusRequestEntityTooLarge)
			return
		}
	}
	sid := r.URL.Query().Get("sid")
	if body != nil {
		sid = strings.TrimPrefix(string(body), "sid=")
	}
	if Owner(sid) != n.name {
		http.Error(w, "item-not-found at "+n.name, http.StatusNotFound)
		return
	}
	if r.URL.Path == "/events" {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		<-n.gate
		fmt.Fprint(w, "data: two\n\n")
		return
	}
	fmt.Fprintf(w, "%s served %s (forwarded by %q, host %s)", n.name, sid, r.Header.Get(ForwardedHeader), r.Host)
}

func testCluster(t testing.TB, names ...string) map[string]*node {
	t.Helper()
	nodes := map[string]*node{}
	peers := map[string]string{}
	for _, name := range names {
		n := &node{name: name, gate: make(chan struct{})}
		n.srv = httptest.NewUnstartedServer(nil)
		nodes[name] = n
		peers[name] = "http://" + n.srv.Listener.Addr().String()
	}
	for _, n := range nodes {
		c, err := New(Config{Node: n.name, Peers: peers, OnForward: func(r *http.Request, _ string, err error) {
			n.mu.Lock()
			n.fwd = append(n.fwd, err)
			n.mu.Unlock()
		}})
		if err != nil {
			t.Fatal(err)
		}
		n.c = c
		n.srv.Config.Handler = c.Handler(http.HandlerFunc(n.transport), Route{
			SID: func(r *http.Request, body []byte) string {
				if body == nil {
					return r.URL.Query().Get("sid")
				}
				return strings.TrimPrefix(string(body), "sid=")
			},
			MaxBodyBytes: 32,
			HoldTimeout:  time.Second,
		})
		n.srv.Start()
		t.Cleanup(func() { n.srv.Close(); c.Close() })
	}
	return nodes
}

func post(t *testing.T, url, body string, hdr ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestForward(t *testing.T) {
	nodes := testCluster(t, "a", "b")
	a := nodes["a"].srv.URL
	for _, tc := range []struct {
		name, body string
		hdr        []string
		status     int
		want       string
	}{
		{"own session", "sid=a.1", nil, 200, `a served a.1 (forwarded by "", host`},
		{"peer's session", "sid=b.2", nil, 200, `b served b.2 (forwarded by "a", host 127.0.0.1`},
		{"no sid", "hello", nil, 404, "item-not-found at a"},
		{"unknown node", "sid=zz.3", nil, 404, "item-not-found at a"},
		{"already forwarded", "sid=b.2", []string{ForwardedHeader, "b"}, 404, "item-not-found at a"},
		{"body over the limit", "sid=b.2" + strings.Repeat("x", 40), nil, 413, "too large at a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(t, a, tc.body, tc.hdr...)
			if status != tc.status || !strings.Contains(body, tc.want) {
				t.Errorf("got %d %q, want %d %q", status, body, tc.status, tc.want)
			}
		})
	}
	// The Host the client asked for reaches the owner.
	if _, body := post(t, a, "sid=b.2"); !strings.Contains(body, "host "+strings.TrimPrefix(a, "http://")) {
		t.Errorf("owner saw %q, want the client's Host %s", body, a)
	}
}

func TestForwardOwnerGone(t *testing.T) {
	nodes := testCluster(t, "a", "b")
	nodes["b"].srv.Close()
	status, body := post(t, nodes["a"].srv.URL, "sid=b.2")
	if status != 404 || !strings.Contains(body, "item-not-found at a") {
		t.Errorf("got %d %q, want the local transport's item-not-found", status, body)
	}
	n := nodes["a"]
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.fwd) != 1 || n.fwd[0] == nil {
		t.Errorf("OnForward heard %v, want one error", n.fwd)
	}
}

func TestForwardOwnerSilent(t *testing.T) {
	nodes := testCluster(t, "a", "b")
	// b's address now takes connections and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	u, _ := ParsePeerURL("http://" + ln.Addr().String())
	nodes["a"].c.peers["b"] = &peer{url: u}
	status, body := post(t, nodes["a"].srv.URL, "sid=b.2")
	if status != 404 || !strings.Contains(body, "item-not-found at a") {
		t.Errorf("got %d %q, want the local transport's item-not-found after HoldTimeout", status, body)
	}
}

// A request held by an owner that stops answering (its box cut off) is
// answered when a probe finds the owner gone, long before the hold's end;
// one held by an owner that answers probes waits.
func TestForwardProbes(t *testing.T) {
	held := make(chan struct{})
	owner := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			return
		}
		select {
		case <-held:
		case <-r.Context().Done():
		}
	}))
	defer owner.Close()
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	c, err := New(Config{Node: "a", Peers: map[string]string{"b": owner.URL, "c": "http://" + silent.Addr().String()},
		DialTimeout: 50 * time.Millisecond, ProbeInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	local := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "item-not-found here", 404) })
	srv := httptest.NewServer(c.Handler(local, Route{SID: func(r *http.Request, body []byte) string { return string(body) }, HoldTimeout: time.Hour}))
	defer srv.Close()

	status, body := post(t, srv.URL, "c.1")
	if status != 404 || !strings.Contains(body, "item-not-found here") {
		t.Errorf("owner cut off: got %d %q, want the local item-not-found", status, body)
	}
	done := make(chan int, 1)
	go func() {
		res, err := http.Post(srv.URL, "text/plain", strings.NewReader("b.1"))
		if err != nil {
			done <- -1
			return
		}
		res.Body.Close()
		done <- res.StatusCode
	}()
	select {
	case s := <-done:
		t.Fatalf("a request held by an owner that answers probes ended: %d", s)
	case <-time.After(time.Second): // ten probes
	}
	close(held) // before the servers close, which wait for their handlers
	<-done
}

func TestForwardEventStream(t *testing.T) {
	nodes := testCluster(t, "a", "b")
	resp, err := http.Get(nodes["a"].srv.URL + "/events?sid=b.1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	// The first event comes through before the owner writes the second:
	// nothing is buffered on the way.
	line, err := r.ReadString('\n')
	if err != nil || line != "data: one\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	close(nodes["b"].gate)
	rest, _ := io.ReadAll(r)
	if !strings.Contains(string(rest), "data: two") {
		t.Errorf("rest %q", rest)
	}
}
