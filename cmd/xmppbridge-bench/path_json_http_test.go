package main

import (
	"context"
	"errors"
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

// TestSSEResume runs the events client against a stand-in for the bridge
// whose events stream breaks after two events: the client opens it again
// with Last-Event-ID, drops the event sent again, and stops at the 404
// that says the session is over.
func TestSSEResume(t *testing.T) {
	var mu sync.Mutex
	var lastIDs []string
	var posts []string
	streams := 0
	mux := http.NewServeMux()
	mux.HandleFunc("/json/send", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		posts = append(posts, string(b))
		mu.Unlock()
		if strings.Contains(string(b), `"login"`) {
			fmt.Fprint(w, `{"sid":"s1","rid":7,"first":1,"frames":[{"kind":"session","jid":"u0@localhost/load"}]}`)
			return
		}
		fmt.Fprint(w, `{"rid":8}`)
	})
	mux.HandleFunc("/json/events", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		streams++
		n := streams
		lastIDs = append(lastIDs, r.Header.Get("Last-Event-ID"))
		mu.Unlock()
		switch n {
		case 1:
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, ": padding\nretry: 2000\n\nid: 2\ndata: {\"kind\":\"presence\"}\n\n:\n\nid: 3\ndata: {\"kind\":\"message\",\"body\":\"1 2 3\"}\n\n")
		case 2:
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, "id: 3\ndata: {\"kind\":\"message\",\"body\":\"1 2 3\"}\n\nid: 4\ndata: {\"kind\":\"close\",\"code\":\"normal\"}\n\n")
		default:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"kind":"error","type":"cancel","code":"item-not-found"}`)
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	p := &jsonSSEPath{name: "sse", url: srv.URL + "/json"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := p.Dial(ctx, net.IPv4(127, 0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	jid, err := login(ctx, st, "localhost", "u0", "secret")
	if err != nil || jid != "u0@localhost/load" {
		t.Fatalf("login: %q, %v", jid, err)
	}
	var got []string
	for {
		el, err := st.Recv()
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.status != 404 || ae.code != "item-not-found" {
				t.Errorf("the stream ended with %v, want the 404", err)
			}
			break
		}
		got = append(got, string(el))
	}
	want := []string{`{"kind":"presence"}`, `{"kind":"message","body":"1 2 3"}`, `{"kind":"close","code":"normal"}`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("frames %q, want %q", got, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(lastIDs, ",") != "1,3,4" {
		t.Errorf("Last-Event-ID of the streams: %q, want 1, 3, 4", lastIDs)
	}
	// The presence after login went with the next rid and an ack of the
	// session frame.
	if len(posts) < 2 || !strings.Contains(posts[1], `"sid":"s1","rid":`) || !strings.Contains(posts[1], `"ack":1`) {
		t.Errorf("posts %q", posts)
	}
}

func TestJSONPollCodec(t *testing.T) {
	c := jsonPollCodec{}
	q := c.appendQueued(nil, []byte(`{"kind":"presence"}`))
	q = c.appendQueued(q, []byte(`{"kind":"message"}`))
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"empty request", c.appendRequest(nil, 5, "s", false, nil, 3), `{"sid":"s","rid":5,"ack":3}`},
		{"two frames", c.appendRequest(nil, 6, "s", false, q, 3), `{"sid":"s","rid":6,"ack":3,"frames":[{"kind":"presence"},{"kind":"message"}]}`},
		{"close", c.appendTerminate(nil, 7, "s", 4), `{"sid":"s","rid":7,"ack":4,"frames":[{"kind":"close"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if string(tt.got) != tt.want {
				t.Errorf("got %s, want %s", tt.got, tt.want)
			}
		})
	}
	ans, err := c.parseAnswer(200, []byte(`{"sid":"s","requests":2,"first":4,"frames":[{"kind":"a"},{"kind":"b"}]}`))
	if err != nil || ans.sid != "s" || ans.requests != 2 || ans.first != 4 || len(ans.els) != 2 || string(ans.els[1]) != `{"kind":"b"}` {
		t.Errorf("parseAnswer = %+v, %v", ans, err)
	}
	var ae *apiError
	if _, err := c.parseAnswer(404, []byte(`{"kind":"error","type":"cancel","code":"item-not-found","text":"no such session"}`)); !errors.As(err, &ae) || ae.code != "item-not-found" {
		t.Errorf("parseAnswer(404) = %v", err)
	}
}

// TestWindowDropsFramesTaken checks that frames numbered at or below the
// ones taken (an answer sent again) are not handed over twice.
func TestWindowDropsFramesTaken(t *testing.T) {
	w := newWindow(nil, jsonPollCodec{}, 10)
	w.mu.Lock()
	w.deliverLocked(10, windowAnswer{first: 1, els: [][]byte{[]byte("a"), []byte("b")}}, nil)
	w.deliverLocked(12, windowAnswer{first: 3, els: [][]byte{[]byte("c")}}, nil)              // early: waits for 11
	w.deliverLocked(11, windowAnswer{first: 2, els: [][]byte{[]byte("b"), []byte("x")}}, nil) // b again
	w.mu.Unlock()
	var got []string
	for len(w.in) > 0 {
		it := <-w.in
		got = append(got, string(it.el))
	}
	// 11 carries 2 (b, taken) and 3 (x); 12's frame 3 was then taken.
	if strings.Join(got, "") != "abx" {
		t.Errorf("handed over %q, want a b x", got)
	}
}
