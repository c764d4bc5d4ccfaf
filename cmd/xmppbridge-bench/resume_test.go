package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestNumbered(t *testing.T) {
	for _, c := range []struct {
		frame string
		want  bool
	}{
		{`{"kind":"session","jid":"a@localhost/load","token":"T","resume_window":120}`, true},
		{`{"kind":"presence","from":"a@localhost/load"}`, true},
		{`{"kind":"message","type":"chat","body":"hi"}`, true},
		{`{"kind":"error","type":"cancel","code":"dropped-stanza","stanza":true}`, true},
		{`{"kind":"close","code":"normal"}`, true},
		{`{"kind":"resumed","jid":"a@localhost/load","first":3,"token":"U"}`, false},
		{`{"kind":"ack","n":4,"h":1}`, false},
		{`{"kind":"error","type":"cancel","code":"conflict"}`, false},
		{`not json`, false},
	} {
		if got := numbered([]byte(c.frame)); got != c.want {
			t.Errorf("numbered(%s) = %v, want %v", c.frame, got, c.want)
		}
	}
}

func TestSessionToken(t *testing.T) {
	tok, err := sessionToken([]byte(`{"kind":"session","jid":"a@localhost/load","id":"l","token":"abc.def","resume_window":120}`))
	if err != nil || tok != "abc.def" {
		t.Errorf("session frame: %q, %v", tok, err)
	}
	for _, f := range []string{
		`{"kind":"session","jid":"a@localhost/load"}`,
		`{"kind":"error","type":"auth","code":"not-authorized"}`,
		`{"kind":"presence"}`,
		`[`,
	} {
		if _, err := sessionToken([]byte(f)); err == nil {
			t.Errorf("sessionToken(%s): no error", f)
		}
	}
}

func TestResumeFrame(t *testing.T) {
	var got struct {
		Kind, Token string
		Last        int64
	}
	b := resumeFrame(`to"ken`, 7)
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Kind != "resume" || got.Token != `to"ken` || got.Last != 7 {
		t.Errorf("resumeFrame = %s", b)
	}
}

func TestParseResumed(t *testing.T) {
	for _, c := range []struct {
		frame       string
		first       int64
		token, code string
	}{
		{`{"kind":"resumed","jid":"a@localhost/load","first":3,"received":1,"token":"U","resume_window":120}`, 3, "U", ""},
		{`{"kind":"error","type":"auth","code":"bad-token"}`, 0, "", "error bad-token"},
		{`{"kind":"error","type":"cancel","code":"conflict"}`, 0, "", "error conflict"},
		{`{"kind":"close","code":"policy-violation"}`, 0, "", "close policy-violation"},
		{`{"kind":"error"}`, 0, "", "error no code"},
		{`{"kind":"resumed","first":3}`, 0, "", "unexpected resumed"},
		{`{"kind":"presence"}`, 0, "", "unexpected presence"},
		{`nope`, 0, "", "bad-json"},
	} {
		first, token, code := parseResumed([]byte(c.frame))
		if first != c.first || token != c.token || code != c.code {
			t.Errorf("parseResumed(%s) = %d, %q, %q; want %d, %q, %q", c.frame, first, token, code, c.first, c.token, c.code)
		}
	}
}

func TestGaugeValue(t *testing.T) {
	const text = `# HELP xmppbridge_sessions sessions now
# TYPE xmppbridge_sessions gauge
xmppbridge_sessions{state="detached",transport="bosh"} 0
xmppbridge_sessions{state="detached",transport="json"} 998
xmppbridge_sessions{state="open",transport="json"} 2
xmppbridge_sessions_opened_total{transport="json"} 1000
`
	want := map[string]string{"transport": "json", "state": "detached"}
	if v, ok := gaugeValue(strings.NewReader(text), "xmppbridge_sessions", want); !ok || v != 998 {
		t.Errorf("detached json = %v, %v; want 998", v, ok)
	}
	if v, ok := gaugeValue(strings.NewReader(text), "xmppbridge_sessions", map[string]string{"transport": "json", "state": "open"}); !ok || v != 2 {
		t.Errorf("open json = %v, %v; want 2", v, ok)
	}
	if _, ok := gaugeValue(strings.NewReader(text), "xmppbridge_sessions", map[string]string{"transport": "websocket", "state": "detached"}); ok {
		t.Error("found a series that is not there")
	}
}

func TestSummariseResumes(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	s := summariseResumes(d)
	if s.N != 100 || s.P50 != 50 || s.P90 != 90 || s.P99 != 99 || s.Max != 100 {
		t.Errorf("summariseResumes = %+v", s)
	}
	if s := summariseResumes(nil); s != (resumeTimes{}) {
		t.Errorf("no samples: %+v", s)
	}
}

func TestFailureList(t *testing.T) {
	if got := failureList(nil); got != "0" {
		t.Errorf("no failures: %q", got)
	}
	got := failureList(map[string]int{"read: timeout": 2, "error bad-token": 5, "error conflict": 2})
	if want := "5 error bad-token, 2 error conflict, 2 read: timeout"; got != want {
		t.Errorf("failureList = %q, want %q", got, want)
	}
}

func TestParsePollResumed(t *testing.T) {
	for _, c := range []struct {
		status           int
		answer           string
		first            int64
		token, sid, code string
	}{
		{200, `{"sid":"S2","resumed":{"kind":"resumed","jid":"a@localhost/load","sid":"S2","first":3,"received":1,"token":"U","resume_window":120},"first":3,"frames":[],"wait":30,"hold":1,"requests":2}`, 3, "U", "S2", ""},
		{401, `{"kind":"error","type":"auth","code":"bad-token","text":"…"}`, 0, "", "", "HTTP 401 bad-token"},
		{409, `{"kind":"error","type":"cancel","code":"conflict"}`, 0, "", "", "HTTP 409 conflict"},
		{502, `Bad Gateway`, 0, "", "", "HTTP 502 no code"},
		{200, `{"sid":"S2","first":1,"frames":[{"kind":"session"}]}`, 0, "", "", "unexpected answer"},
		{200, `{"sid":"S2","resumed":{"kind":"error","code":"bad-request"}}`, 0, "", "S2", "error bad-request"},
		{200, `{`, 0, "", "", "bad-json"},
	} {
		first, token, sid, code := parsePollResumed(c.status, []byte(c.answer))
		if first != c.first || token != c.token || sid != c.sid || code != c.code {
			t.Errorf("parsePollResumed(%d, %s) = %d, %q, %q, %q; want %d, %q, %q, %q", c.status, c.answer, first, token, sid, code, c.first, c.token, c.sid, c.code)
		}
	}
}

func TestMemStats(t *testing.T) {
	const profile = `heap profile: 3: 4096 [10: 40960] @ heap/1048576
1: 4096 [1: 4096] @ 0x1 0x2

# runtime.MemStats
# Alloc = 3000000
# HeapAlloc = 3000000
# HeapInuse = 4194304
# HeapObjects = 100
# Stack = 1048576 / 2097152
# NumGC = 7
`
	heap, stack, live, ok := memStats(strings.NewReader(profile))
	if !ok || heap != 4194304 || stack != 1048576 || live != 3000000 {
		t.Errorf("memStats = %d, %d, %d, %v", heap, stack, live, ok)
	}
	if _, _, _, ok := memStats(strings.NewReader("# HeapInuse = 1\n# HeapAlloc = 1\n")); ok {
		t.Error("ok without Stack")
	}
}
