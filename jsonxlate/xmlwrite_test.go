package jsonxlate

import "testing"

func TestXMLEscaping(t *testing.T) {
	testToXML(t, []toXMLTest{
		{"escaping", `{"kind":"message","to":"<&'\"\t\n\r>","body":"<&'\"\t\n\r>]]>"}`,
			`<message xmlns='jabber:client' to='&lt;&amp;&apos;&quot;&#9;&#10;&#13;&gt;'><body>&lt;&amp;'"` + "\t\n" + `&#13;&gt;]]&gt;</body></message>`},
	})
}

// TestXMLCharacters: strings with characters XML does not allow are
// refused, at their field.
func TestXMLCharacters(t *testing.T) {
	testToXMLErrors(t, []toXMLErrorTest{
		{"control character", `{"kind":"message","body":"a\u0000"}`, CodeBadValue, "body"},
		{"U+FFFE", `{"kind":"message","body":"\ufffe"}`, CodeBadValue, "body"},
	})
}
