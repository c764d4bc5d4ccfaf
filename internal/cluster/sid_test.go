package cluster

import (
	"net/http/httptest"
	"testing"
)

func TestBOSHSID(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"session", `<body rid='2' sid='a1.ff00' xmlns='http://jabber.org/protocol/httpbind'/>`, "a1.ff00"},
		{"double quotes and children", `<?xml version="1.0"?><body sid="b.1" rid="3" xmlns="http://jabber.org/protocol/httpbind"><message sid='no'/></body>`, "b.1"},
		{"creation", `<body rid='1' to='a.test' wait='60' hold='1' ver='1.6' xmlns='http://jabber.org/protocol/httpbind'/>`, ""},
		{"sid only in a child", `<body rid='1'><iq sid='x.y'/></body>`, ""},
		{"prefixed attribute", `<body x:sid='n.1' xmlns:x='urn:x'/>`, ""},
		{"malformed", `<body sid='n.1`, ""},
		{"empty", ``, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := BOSHSID(nil, []byte(tc.body)); got != tc.want {
				t.Errorf("BOSHSID = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestJSONSID(t *testing.T) {
	for _, tc := range []struct{ name, url, body, want string }{
		{"events", "/json/events?sid=a.1&last=3", "", "a.1"},
		{"post", "/json/poll", `{"sid":"b.2","rid":4}`, "b.2"},
		{"login", "/json/poll", `{"rid":1,"frames":[{"kind":"login","sid":"x.y"}]}`, ""},
		{"not JSON", "/json/send", `{"sid":`, ""},
		{"websocket", "/json/ws", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body []byte
			if tc.body != "" {
				body = []byte(tc.body)
			}
			if got := JSONSID(httptest.NewRequest("GET", tc.url, nil), body); got != tc.want {
				t.Errorf("JSONSID = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestOwner(t *testing.T) {
	for sid, want := range map[string]string{"a1.00ff": "a1", "00ff": "", ".x": "", "": "", "a.b.c": "a"} {
		if got := Owner(sid); got != want {
			t.Errorf("Owner(%q) = %q, want %q", sid, got, want)
		}
	}
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"good", Config{Node: "a1", Peers: map[string]string{"a1": "http://10.0.0.1:5280", "a2": "http://10.0.0.2:5280/"}}, true},
		{"no node", Config{}, false},
		{"bad node", Config{Node: "a.1"}, false},
		{"bad peer name", Config{Node: "a", Peers: map[string]string{"b c": "http://x"}}, false},
		{"peer with a path", Config{Node: "a", Peers: map[string]string{"b": "http://x/bridge"}}, false},
		{"peer not http", Config{Node: "a", Peers: map[string]string{"b": "ftp://x"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if (err == nil) != tc.ok {
				t.Errorf("New: %v, want ok %v", err, tc.ok)
			}
		})
	}
}
