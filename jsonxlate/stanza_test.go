package jsonxlate

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestFieldTables checks the tables of friendly fields against the rules
// friendlyField states, and their order against the Order table of
// docs/json.md, which is the same promise in prose.
func TestFieldTables(t *testing.T) {
	doc, err := os.ReadFile("../docs/json.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []*stanzaKind{&message, &presence, &iq} {
		t.Run(k.name, func(t *testing.T) {
			if len(k.fields) > maxFields {
				t.Fatalf("%d fields, more than maxFields (%d)", len(k.fields), maxFields)
			}
			members := map[string]bool{"kind": true, "id": true, "type": true, "from": true, "to": true, "lang": true, "attrs": true, "payload": true, "order": true}
			var names []string
			for _, f := range k.fields {
				names = append(names, f.name)
				for _, m := range []string{f.name, f.with} {
					if m == "" {
						continue
					}
					if members[m] {
						t.Errorf("member %q is there twice", m)
					}
					members[m] = true
				}
				switch {
				case f.name == "" || f.ns == "" || f.fits == nil:
					t.Errorf("%q: a field has a name, a namespace and fits", f.name)
				case f.list && (f.toJSON != nil || f.toXML != nil || f.local == "" || f.with != "" || f.falseIsNone):
					t.Errorf("%q: a list field has only its element's name and fits", f.name)
				case !f.list && (f.toJSON == nil || f.toXML == nil):
					t.Errorf("%q: a field has toJSON and toXML", f.name)
				}
			}
			row := regexp.MustCompile(`(?m)^\| ` + k.name + ` \| (.*) \|$`).FindSubmatch(doc)
			if row == nil {
				t.Fatalf("docs/json.md has no row for %s in its Order table", k.name)
			}
			if got, want := strings.Join(names, ", "), string(row[1]); got != want {
				t.Errorf("fields in the order\n%s\nbut docs/json.md has\n%s", got, want)
			}
		})
	}
}

func TestStanzaToJSON(t *testing.T) {
	testToJSON(t, []toJSONTest{
		{"attributes", `<message id='1' type='chat' from='a@b/c' to='d@e' xml:lang='en'/>`,
			`{"kind":"message","id":"1","type":"chat","from":"a@b/c","to":"d@e","lang":"en"}`},
		{"empty attribute is not absent", `<iq type='get' id=''/>`, `{"kind":"iq","id":"","type":"get"}`},
		{"other attributes", `<presence xmlns:x='urn:x' x:a='1' b='2' xml:space='default'/>`,
			`{"kind":"presence","attrs":{"{urn:x}a":"1","b":"2","xml:space":"default"}}`},
		{"attribute value normalised", "<message to='a\tb&#9;c'/>", `{"kind":"message","to":"a b\tc"}`},
		{"space between stanza children dropped", "<message>\n <body> b </body>\n <active" + csNS + "/>\n</message>",
			`{"kind":"message","body":" b ","chat_state":"active"}`},
		{"space as character references dropped", "<message>&#10;<body>b</body></message>", `{"kind":"message","body":"b"}`},
	})
}

func TestStanzaToXML(t *testing.T) {
	testToXML(t, []toXMLTest{
		{"empty message", `{"kind":"message"}`, `<message xmlns='jabber:client'/>`},
		{"attributes", `{"kind":"presence","to":"a@b","from":"c@d/e","id":"p1","type":"unavailable","lang":"en","attrs":{"x":"1","{urn:u}y":"2","{urn:u}z":"3","{urn:v}w":"4","xml:space":"default"}}`,
			`<presence xmlns='jabber:client' id='p1' type='unavailable' from='c@d/e' to='a@b' xml:lang='en' x='1' xmlns:ns1='urn:u' ns1:y='2' ns1:z='3' xmlns:ns2='urn:v' ns2:w='4' xml:space='default'/>`},
		{"null is absent", `{"kind":"message","to":null,"body":null,"attrs":{"x":null}}`, `<message xmlns='jabber:client'/>`},
	})
}

func TestStanzaToXMLErrors(t *testing.T) {
	testToXMLErrors(t, []toXMLErrorTest{
		{"unknown field", `{"kind":"message","bodyy":"x"}`, CodeBadValue, "bodyy"},
		{"field of another kind", `{"kind":"iq","body":"x"}`, CodeBadValue, "body"},
		{"wrong type", `{"kind":"message","body":1}`, CodeBadValue, "body"},
		{"stanza attribute in attrs", `{"kind":"message","attrs":{"to":"x"}}`, CodeBadValue, "attrs.to"},
		{"xml:lang in attrs", `{"kind":"message","attrs":{"xml:lang":"en"}}`, CodeBadValue, `attrs["xml:lang"]`},
	})
}
