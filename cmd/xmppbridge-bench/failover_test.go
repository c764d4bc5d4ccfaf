package main

import (
	"errors"
	"testing"
)

func TestParseOpen(t *testing.T) {
	for _, tc := range []struct {
		name, el string
		want     pageOpen
		refused  string // the code of a final refusal
		err      bool
	}{
		{name: "session", el: `{"kind":"session","jid":"a@b/load","token":"T","resume_window":120}`, want: pageOpen{token: "T"}},
		{name: "resumed", el: `{"kind":"resumed","jid":"a@b/load","first":9,"received":4,"acked":{"n":3,"h":2},"token":"U"}`, want: pageOpen{token: "U", received: 4, ackN: 3, ackH: 2}},
		{name: "not here", el: `{"kind":"error","type":"cancel","code":"item-not-found"}`, refused: "item-not-found"},
		{name: "racing resume", el: `{"kind":"error","type":"cancel","code":"conflict"}`, err: true},
		{name: "no token", el: `{"kind":"session","jid":"a@b/load"}`, err: true},
		{name: "not json", el: `<open/>`, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseOpen([]byte(tc.el))
			var r *errRefused
			switch {
			case tc.refused != "":
				if !errors.As(err, &r) || r.code != tc.refused {
					t.Fatalf("err %v, want refused %s", err, tc.refused)
				}
			case tc.err:
				if err == nil || errors.As(err, &r) {
					t.Fatalf("err %v, want a failure worth trying again", err)
				}
			case err != nil || got != tc.want:
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestAckedOf(t *testing.T) {
	n, h, ok := ackedOf([]byte(`{"rid":7,"acked":{"n":12,"h":11},"first":3,"frames":[]}`))
	if !ok || n != 12 || h != 11 {
		t.Fatalf("got %d %d %v", n, h, ok)
	}
	if _, _, ok := ackedOf([]byte(`{"rid":7}`)); ok {
		t.Fatal("acked found where there is none")
	}
}

func TestIsStanzaFrame(t *testing.T) {
	for el, want := range map[string]bool{
		`{"kind":"message","from":"a@b","body":"1 2 3"}`:                    true,
		`{"kind":"presence","from":"a@b/load"}`:                             true,
		`{"kind":"iq","type":"get","id":"p"}`:                               true,
		`{"kind":"error","code":"service-unavailable","stanza":true}`:       true,
		`{"kind":"error","code":"conflict"}`:                                false,
		`{"kind":"ack","n":3,"h":2}`:                                        false,
		`{"kind":"close","code":"normal"}`:                                  false,
		`{"kind":"session","jid":"a@b/load","token":"T","resume_window":1}`: false,
	} {
		if got := isStanzaFrame([]byte(el)); got != want {
			t.Errorf("%s: %v, want %v", el, got, want)
		}
	}
}
