package cluster

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// The sid finders read what any client sends: they never panic, and the
// owner of what they find is a name without a dot.
func FuzzSID(f *testing.F) {
	for _, s := range []string{
		`<body rid='2' sid='a1.ff00' xmlns='http://jabber.org/protocol/httpbind'/>`,
		`<?xml version="1.0"?><body sid="b.1"><message/></body>`,
		`{"sid":"b.2","rid":4}`,
		`{"sid":`, `<body sid='&amp;.x'/>`, "", "\x00",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/json/poll", nil)
		for _, sid := range []string{BOSHSID(r, body), JSONSID(r, body)} {
			if o := Owner(sid); strings.Contains(o, ".") || (o != "" && !strings.HasPrefix(sid, o+".")) {
				t.Errorf("sid %q: owner %q", sid, o)
			}
		}
	})
}
