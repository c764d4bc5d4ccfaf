package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestMakeUsers(t *testing.T) {
	kinds := []string{"ws", "bosh", "json", "sse", "poll"}
	kindOf := func(i int) string { return kinds[i] }
	tests := []struct {
		name   string
		n, np  int
		poison int
	}{
		{"whole groups", 100, 5, 5},
		{"groups and a ring", 60, 5, 5},
		{"ring only", 7, 5, 2},
		{"one path", 4, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := soakConfig{n: tt.n, userFlags: userFlags{prefix: "u", sources: 4}}
			c.faults.poisonSenders = tt.poison
			users := makeUsers(c, tt.np, kindOf)
			heard := map[*soakUser]int{}
			shifts := map[int]bool{}
			for _, u := range users {
				if u.partner == nil || u.partner == u {
					t.Fatalf("%s sends to %v", u.name, u.partner)
				}
				heard[u.partner]++
				shifts[(u.partner.path-u.path+tt.np)%tt.np] = true
			}
			// In whole groups every user hears from exactly one sender,
			// and every path sends to every path.
			whole := tt.n / (tt.np * tt.np) * tt.np * tt.np
			if tt.np == 1 {
				whole = 0
			}
			for _, u := range users[:whole] {
				if heard[u] != 1 {
					t.Errorf("%s hears from %d senders, want 1", u.name, heard[u])
				}
			}
			if whole > 0 && len(shifts) != tt.np {
				t.Errorf("paths reached from a path: %d shifts, want %d", len(shifts), tt.np)
			}
			covered := map[int]bool{}
			senders := 0
			for _, u := range users {
				if !u.poison {
					continue
				}
				senders++
				if k := kindOf(u.path); k != "ws" && k != "bosh" {
					t.Errorf("poison sender %s on a %s path", u.name, k)
				}
				covered[u.partner.path] = true
			}
			if senders != tt.poison {
				t.Errorf("%d poison senders, want %d", senders, tt.poison)
			}
			if whole > 0 && len(covered) != tt.np {
				t.Errorf("poison reaches %d paths, want %d", len(covered), tt.np)
			}
		})
	}
}

func TestExcusedBy(t *testing.T) {
	s := time.Second
	user := []faultWindow{{Kind: "drop", From: 10 * s, To: 12 * s, excuses: true}, {Kind: "slow", From: 20 * s, To: 25 * s}}
	server := []faultWindow{{Kind: "restart", From: 40 * s, To: -1, excuses: true}}
	tests := []struct {
		name   string
		t0, t1 time.Duration
		want   string
	}{
		{"before everything", 0, 9 * s, ""},
		{"overlaps the drop", 9 * s, 10 * s, "drop"},
		{"inside the drop", 11 * s, 11 * s, "drop"},
		{"after the drop", 12*s + 1, 19 * s, ""},
		{"a slow reader excuses nothing", 21 * s, 24 * s, ""},
		{"a server fault still in force", 100 * s, 101 * s, "restart"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := excusedBy(tt.t0, tt.t1, user, server)
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("excusedBy(%v, %v) = %q, %v; want %q", tt.t0, tt.t1, got, ok, tt.want)
			}
		})
	}
}

func TestMalformedAnswers(t *testing.T) {
	tests := []struct {
		name   string
		kind   malformedKind
		el     string
		err    error
		status int
		ended  bool
		want   bool
	}{
		{"ws: stream error and close code", malformedKinds["ws"][0],
			`<stream:error xmlns:stream="http://etherx.jabber.org/streams"><not-well-formed xmlns="urn:ietf:params:xml:ns:xmpp-streams"/></stream:error>`,
			&websocket.CloseError{Code: 1007}, 0, true, true},
		{"ws: wrong close code", malformedKinds["ws"][0],
			`<stream:error><not-well-formed/></stream:error>`, &websocket.CloseError{Code: 1000}, 0, true, false},
		{"bosh: terminate condition", malformedKinds["bosh"][1], "", &terminateError{condition: "item-not-found"}, 200, true, true},
		{"bosh: other-request is not the answer", malformedKinds["bosh"][0], "", &terminateError{condition: "other-request"}, 200, true, false},
		{"json: an error frame and the session goes on", malformedKinds["json"][0], `{"kind":"error","type":"modify","code":"bad-json"}`, nil, 0, false, true},
		{"json: the session must not end", malformedKinds["json"][0], `{"kind":"close","code":"bad-json"}`, nil, 0, true, false},
		{"poll: HTTP error", malformedKinds["poll"][2], "", &apiError{status: 413, code: "too-large"}, 0, false, true},
		{"sse: wrong status", malformedKinds["sse"][0], "", &apiError{status: 500, code: "bad-json"}, 0, false, false},
		{"not sent at all", malformedKinds["sse"][0], "", errors.New("connection refused"), 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := describeEnd([]byte(tt.el), tt.err)
			if tt.status != 0 {
				got.status = tt.status // as the injector records it
			}
			if ok := tt.kind.matches(got, tt.ended); ok != tt.want {
				t.Errorf("%v matches %q (ended %v) = %v, want %v", tt.kind, got, tt.ended, ok, tt.want)
			}
		})
	}
}

func TestAppendPoison(t *testing.T) {
	p := probe{seq: 5, sent: time.Second, from: 3}
	for k := range 4 {
		msg, presence := appendPoison(nil, "u1@localhost/load", p, k)
		if got, ok := parseProbe(msg); !ok || got != p {
			t.Errorf("poison %d: probe %v, %v in %s", k, got, ok, msg)
		}
		payload := "<xml:x/>"
		if k%2 == 1 {
			payload = `xml:foo="1"`
		}
		if !strings.Contains(string(msg), payload) || !strings.HasSuffix(string(msg), "</message>") {
			t.Errorf("poison %d: %s", k, msg)
		}
		if (presence != nil) != (k%4 >= 2) || presence != nil && !strings.Contains(string(presence), payload) {
			t.Errorf("poison %d: presence %s", k, presence)
		}
	}
}
