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
