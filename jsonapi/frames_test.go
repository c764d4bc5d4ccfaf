package jsonapi

import (
	"errors"
	"testing"

	"github.com/xmppbridge/xmppbridge/jsonxlate"
)

// Names in the XML namespace that servers mangle are not sent for a page;
// the ones XML defines are.
func TestCheckXMLNames(t *testing.T) {
	for _, tt := range []struct {
		frame string
		ok    bool
	}{
		{`{"kind":"message","to":"a@b","lang":"de","body":"x"}`, true},
		{`{"kind":"message","to":"a@b","payload":[{"name":"x","xmlns":"urn:a","attrs":{"xml:space":"preserve"}}]}`, true},
		{`{"kind":"message","to":"a@b","payload":[{"name":"x","xmlns":"http://www.w3.org/XML/1998/namespace"}]}`, false},
		{`{"kind":"message","to":"a@b","payload":[{"name":"x","xmlns":"urn:a","attrs":{"xml:foo":"1"}}]}`, false},
		{`{"kind":"element","element":{"name":"y","xmlns":"urn:y","children":[{"name":"x","xmlns":"http://www.w3.org/XML/1998/namespace"}]}}`, false},
	} {
		x, err := jsonxlate.AppendXML(nil, []byte(tt.frame))
		if err != nil {
			t.Fatalf("AppendXML(%s): %v", tt.frame, err)
		}
		err = checkXMLNames(x)
		var xe *jsonxlate.Error
		if tt.ok != (err == nil) || err != nil && (!errors.As(err, &xe) || xe.Code != errBadValue) {
			t.Errorf("checkXMLNames(%s) = %v, want ok %v", x, err, tt.ok)
		}
	}
}
