package xmlsplit

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// A message as Prosody 0.12 relays it, and one as a browser sends it.
const (
	prosodyMessage     = `<message from='bob@localhost/test-bob-22781' to='alice@localhost' id='m-1795272055576' type='chat' xml:lang='en' xmlns='jabber:client'><body>ping &lt;&amp;&gt; &quot;q&quot; &apos;a&apos; ü€😀</body><stanza-id by='alice@localhost' id='_ZQn7uJZ2OJ20t_TvGRAo3Fp' xmlns='urn:xmpp:sid:0'/></message>`
	prosodyStreamError = `<stream:error xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client'><undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>Client acknowledged less stanzas than already acknowledged</text></stream:error>`
)

var parseAccepts = []struct {
	name, in string
	opt      ParseOptions
}{
	{"empty element", `<a/>`, ParseOptions{}},
	{"start and end tag", `<a></a>`, ParseOptions{}},
	{"surrounding whitespace", " \t\r\n<a/>\n\t ", ParseOptions{}},
	{"whitespace in tags", "<a \t\r\nb = \"1\"\n></a\t>", ParseOptions{}},
	{"whitespace before empty end", `<a b='1' />`, ParseOptions{}},
	{"prosody message", prosodyMessage, ParseOptions{}},
	{"prosody stream error", prosodyStreamError, ParseOptions{}},
	{"quotes inside values", `<a b="it's" c='say "hi"'/>`, ParseOptions{}},
	{"gt inside value", `<a b='x>y'/>`, ParseOptions{}},
	{"whitespace characters in value", "<a b='\t\n\r '/>", ParseOptions{}},
	{"predefined entities", `<a b='&lt;&gt;&amp;&apos;&quot;'>&lt;&gt;&amp;&apos;&quot;</a>`, ParseOptions{}},
	{"character references", `<a b='&#65;&#x41;&#x10FFFF;'>&#9;&#10;&#13;&#x20;&#xD7FF;&#xE000;&#xFFFD;&#x10000;</a>`, ParseOptions{}},
	{"character reference with leading zeros", `<a>&#0000000000065;&#x000000000041;</a>`, ParseOptions{}},
	{"CDATA section", `<a><![CDATA[<b>&nbsp;]]]]]></a>`, ParseOptions{}},
	{"empty CDATA section", `<a><![CDATA[]]></a>`, ParseOptions{}},
	{"brackets in text", `<a>]] ]>]</a>`, ParseOptions{}},
	{"escaped CDATA end in text", `<a>]]&gt;</a>`, ParseOptions{}},
	{"DEL and C1 controls", "<a b='\x7f\u0085'>\x7f\u0080\u009f</a>", ParseOptions{}},
	{"non-ASCII text", `<a>ü€😀 中文 ﷽</a>`, ParseOptions{}},
	{"non-ASCII names", `<中文 属性='v'><ü·b/><é:x xmlns:é='u'/></中文>`, ParseOptions{}},
	{"fifth edition name characters", "<\u0100\u0300\u203f \U00010000='1'/>", ParseOptions{}},
	{"name punctuation", `<a_b-c.d1 _e='1'/>`, ParseOptions{}},
	{"xml prefix", `<a xml:lang='en' xml:space='preserve'/>`, ParseOptions{}},
	{"xml prefix declared correctly", `<a xmlns:xml='http://www.w3.org/XML/1998/namespace'/>`, ParseOptions{}},
	{"xml prefix on element", `<xml:a/>`, ParseOptions{}},
	{"prefix declared on itself", `<p:a xmlns:p='urn:p' p:b='1'/>`, ParseOptions{}},
	{"prefix declared by ancestor", `<a xmlns:p='urn:p'><b><p:c p:d='1'/></b></a>`, ParseOptions{}},
	{"prefix redeclared", `<a xmlns:p='urn:1'><b xmlns:p='urn:2'><p:c/></b><p:c/></a>`, ParseOptions{}},
	{"default namespace undeclared", `<a xmlns='urn:a'><b xmlns=''/></a>`, ParseOptions{}},
	{"same local name in different namespaces", `<a xmlns:p='urn:1' xmlns:q='urn:2' p:x='1' q:x='2' x='3'/>`, ParseOptions{}},
	{"prefix from context", `<stream:features><p:x/></stream:features>`, ParseOptions{Context: [][]byte{[]byte("stream"), []byte("p")}}},
	{"prefixes starting with xml", `<xmlfoo:a xmlns:xmlfoo='urn:x'/>`, ParseOptions{}},
	{"reference in namespace name", `<p:a xmlns:p='urn:&#x61;'/>`, ParseOptions{}},
	{"stream namespace element", `<stream:stream xmlns:stream='http://etherx.jabber.org/streams'/>`, ParseOptions{}},
	{"depth at limit", `<a><b><c/></b></a>`, ParseOptions{Limits: Limits{MaxDepth: 3}}},
	{"size at limit", `  <a>12</a>  `, ParseOptions{Limits: Limits{MaxBytes: 9}}},
	{"deep default nesting", strings.Repeat("<a>", 64) + strings.Repeat("</a>", 64), ParseOptions{}},
	{"many attributes", "<a" + manyAttrs(100, "a") + "/>", ParseOptions{}},
	{"many declarations", "<a" + manyAttrs(100, "xmlns:p") + "><p7:b/><p99:c/></a>", ParseOptions{}},
	{"many prefixed attributes", "<a xmlns:p='urn:1' xmlns:q='urn:2'" + manyAttrs(20, "p:a") + manyAttrs(20, "q:a") + "/>", ParseOptions{}},
	{"many prefixed attributes from context", "<a" + manyAttrs(20, "p:a") + manyAttrs(20, "q:a") + "/>", ParseOptions{Context: [][]byte{[]byte("p"), []byte("q")}}},
	{"large context", "<a><p39:b/><p0:c/></a>", ParseOptions{Context: manyPrefixes(40)}},
}

func manyPrefixes(n int) [][]byte {
	var pp [][]byte
	for i := range n {
		pp = append(pp, []byte("p"+itoa(i)))
	}
	return pp
}

func TestParseAccepts(t *testing.T) {
	for _, tt := range parseAccepts {
		t.Run(tt.name, func(t *testing.T) {
			el, err := Parse([]byte(tt.in), tt.opt)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			trimmed := strings.Trim(tt.in, " \t\r\n")
			if string(el.Raw) != trimmed {
				t.Errorf("Raw = %q, want %q", el.Raw, trimmed)
			}
			if !bytes.Equal(el.Raw[1:el.NSAt], el.Name) {
				t.Errorf("Raw[1:NSAt] = %q, Name %q", el.Raw[1:el.NSAt], el.Name)
			}
		})
	}
}

// manyAttrs returns n attributes " prefixI='urn:I'".
func manyAttrs(n int, prefix string) string {
	var sb strings.Builder
	for i := range n {
		sb.WriteString(" " + prefix + itoa(i) + "='urn:" + itoa(i) + "'")
	}
	return sb.String()
}

var parseRejects = []struct {
	name, in string
	opt      ParseOptions
	cond     Condition
	off      int // -1: not checked
}{
	// Not one element.
	{"empty input", ``, ParseOptions{}, NotWellFormed, 0},
	{"only whitespace", "  \n", ParseOptions{}, NotWellFormed, 3},
	{"only text", `hello`, ParseOptions{}, NotWellFormed, 0},
	{"text before", `x<a/>`, ParseOptions{}, NotWellFormed, 0},
	{"text after", `<a/>x`, ParseOptions{}, NotWellFormed, 4},
	{"two elements", `<a/><b/>`, ParseOptions{}, NotWellFormed, 4},
	{"byte order mark", "\uFEFF<a/>", ParseOptions{}, NotWellFormed, 0},
	{"unclosed element", `<a>`, ParseOptions{}, NotWellFormed, 3},
	{"unclosed child", `<a><b></a>`, ParseOptions{}, NotWellFormed, 6},
	{"truncated start tag", `<a b='1'`, ParseOptions{}, NotWellFormed, 8},
	{"lone end tag", `</a>`, ParseOptions{}, NotWellFormed, 0},
	{"stream end tag", `</stream:stream>`, ParseOptions{}, NotWellFormed, 0},
	{"stream header alone", `<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>`, ParseOptions{}, NotWellFormed, -1},
	{"extra end tag", `<a></a></a>`, ParseOptions{}, NotWellFormed, 7},
	{"mismatched end tag", `<a></b>`, ParseOptions{}, NotWellFormed, 3},
	{"mismatched prefix in end tag", `<p:a xmlns:p='u'></q:a>`, ParseOptions{}, NotWellFormed, 17},
	{"crossed tags", `<a><b></a></b>`, ParseOptions{}, NotWellFormed, 6},
	{"stray lt in text", `<a>1 < 2</a>`, ParseOptions{}, NotWellFormed, 5},
	{"lt before lt", `<a>x<</a>`, ParseOptions{}, NotWellFormed, 4},
	{"empty tag name", `<>`, ParseOptions{}, NotWellFormed, 0},
	{"space after lt", `< a/>`, ParseOptions{}, NotWellFormed, 0},
	{"digit starts name", `<1a/>`, ParseOptions{}, NotWellFormed, 1},
	{"hyphen starts name", `<-a/>`, ParseOptions{}, NotWellFormed, 1},
	{"non-name character in name", "<a\u00a0b/>", ParseOptions{}, NotWellFormed, 2},
	{"space before empty end", `<a/ >`, ParseOptions{}, NotWellFormed, 3},
	{"space in end tag name", `<a></ a>`, ParseOptions{}, NotWellFormed, 3},
	// Attributes.
	{"attribute without value", `<a b/>`, ParseOptions{}, NotWellFormed, 4},
	{"unquoted value", `<a b=1/>`, ParseOptions{}, NotWellFormed, 5},
	{"mismatched quotes", `<a b="1'/>`, ParseOptions{}, NotWellFormed, 10},
	{"duplicate attribute", `<a b='1' b='2'/>`, ParseOptions{}, NotWellFormed, 9},
	{"duplicate attribute among many", "<a" + manyAttrs(40, "a") + " a7='x'/>", ParseOptions{}, NotWellFormed, -1},
	{"duplicate declaration", `<a xmlns:p='u' xmlns:p='u'/>`, ParseOptions{}, NotWellFormed, 15},
	{"duplicate expanded name", `<a xmlns:p='urn:x' xmlns:q='urn:x' p:b='1' q:b='2'/>`, ParseOptions{}, NotWellFormed, 43},
	{"duplicate expanded name among many", "<a xmlns:p='urn:x' xmlns:q='urn:x'" + manyAttrs(20, "p:a") + " q:a7='x'/>", ParseOptions{}, NotWellFormed, -1},
	{"not in large context", "<a><p40:b/></a>", ParseOptions{Context: manyPrefixes(40)}, NotWellFormed, 4},
	{"duplicate expanded name through references", `<a xmlns:p='urn:x' xmlns:q='urn:&#x78;' p:b='1' q:b='2'/>`, ParseOptions{}, NotWellFormed, 48},
	{"missing whitespace between attributes", `<a b='1'c='2'/>`, ParseOptions{}, NotWellFormed, 8},
	{"lt in attribute value", `<a b='<'/>`, ParseOptions{}, NotWellFormed, 6},
	{"bare ampersand in value", `<a b='&'/>`, ParseOptions{}, NotWellFormed, 6},
	{"control character in value", "<a b='\x0b'/>", ParseOptions{}, NotWellFormed, 6},
	{"invalid character in start tag", `<a #/>`, ParseOptions{}, NotWellFormed, 3},
	// Characters.
	{"NUL in text", "<a>\x00</a>", ParseOptions{}, NotWellFormed, 3},
	{"control character in text", "<a>\x1f</a>", ParseOptions{}, NotWellFormed, 3},
	{"invalid UTF-8", "<a>\xff</a>", ParseOptions{}, NotWellFormed, 3},
	{"truncated UTF-8", "<a>\xc3</a>", ParseOptions{}, NotWellFormed, 3},
	{"UTF-8 cut by the end", "<a>\xe2\x82", ParseOptions{}, NotWellFormed, 5},
	{"overlong UTF-8", "<a>\xc0\xaf</a>", ParseOptions{}, NotWellFormed, 3},
	{"encoded surrogate", "<a>\xed\xa0\x80</a>", ParseOptions{}, NotWellFormed, 3},
	{"U+FFFE", "<a>\uFFFE</a>", ParseOptions{}, NotWellFormed, 3},
	{"U+FFFF in value", "<a b='\uFFFF'/>", ParseOptions{}, NotWellFormed, 6},
	{"beyond Unicode", "<a>\xf4\x90\x80\x80</a>", ParseOptions{}, NotWellFormed, 3},
	{"invalid UTF-8 in name", "<a\xff/>", ParseOptions{}, NotWellFormed, 2},
	{"control character in CDATA", "<a><![CDATA[\x01]]></a>", ParseOptions{}, NotWellFormed, 12},
	{"CDATA end in text", `<a>]]></a>`, ParseOptions{}, NotWellFormed, 3},
	{"CDATA end after brackets", `<a>x]]]></a>`, ParseOptions{}, NotWellFormed, 5},
	// References.
	{"bare ampersand", `<a>&</a>`, ParseOptions{}, NotWellFormed, 3},
	{"ampersand and space", `<a>& amp;</a>`, ParseOptions{}, NotWellFormed, 3},
	{"entity without semicolon", `<a>&amp</a>`, ParseOptions{}, NotWellFormed, 3},
	{"empty character reference", `<a>&#;</a>`, ParseOptions{}, NotWellFormed, 3},
	{"empty hex reference", `<a>&#x;</a>`, ParseOptions{}, NotWellFormed, 3},
	{"uppercase X", `<a>&#X41;</a>`, ParseOptions{}, NotWellFormed, 3},
	{"hex digit in decimal reference", `<a>&#4a;</a>`, ParseOptions{}, NotWellFormed, 3},
	{"reference to NUL", `<a>&#0;</a>`, ParseOptions{}, NotWellFormed, 3},
	{"reference to control character", `<a b='&#x1;'/>`, ParseOptions{}, NotWellFormed, 6},
	{"reference to surrogate", `<a>&#xD800;</a>`, ParseOptions{}, NotWellFormed, 3},
	{"reference to U+FFFE", `<a>&#65534;</a>`, ParseOptions{}, NotWellFormed, 3},
	{"reference beyond Unicode", `<a>&#x110000;</a>`, ParseOptions{}, NotWellFormed, 3},
	{"huge reference", `<a>&#99999999999999999999;</a>`, ParseOptions{}, NotWellFormed, 3},
	// Namespaces.
	{"two colons", `<a:b:c/>`, ParseOptions{}, NotWellFormed, 1},
	{"leading colon", `<:a/>`, ParseOptions{}, NotWellFormed, 1},
	{"trailing colon", `<a: xmlns:a='u'/>`, ParseOptions{}, NotWellFormed, 1},
	{"local part starts with digit", `<p:1 xmlns:p='u'/>`, ParseOptions{}, NotWellFormed, 1},
	{"colon-only attribute name", `<a :='1'/>`, ParseOptions{}, NotWellFormed, 3},
	{"undeclared element prefix", `<p:a/>`, ParseOptions{}, NotWellFormed, 1},
	{"undeclared attribute prefix", `<a p:b='1'/>`, ParseOptions{}, NotWellFormed, 3},
	{"prefix out of scope", `<a><b xmlns:p='u'/><p:c/></a>`, ParseOptions{}, NotWellFormed, 20},
	{"stream prefix without context", `<stream:features/>`, ParseOptions{}, NotWellFormed, 1},
	{"prefix not in context", `<stream:features/>`, ParseOptions{Context: [][]byte{[]byte("p")}}, NotWellFormed, 1},
	{"prefix bound to empty name", `<a xmlns:p=''/>`, ParseOptions{}, NotWellFormed, 3},
	{"xmlns prefix declared", `<a xmlns:xmlns='urn:x'/>`, ParseOptions{}, NotWellFormed, 3},
	{"xml prefix rebound", `<a xmlns:xml='urn:x'/>`, ParseOptions{}, NotWellFormed, 3},
	{"other prefix bound to xml namespace", `<a xmlns:p='http://www.w3.org/XML/1998/namespace'/>`, ParseOptions{}, NotWellFormed, 3},
	{"prefix bound to xmlns namespace", `<a xmlns:p='http://www.w3.org/2000/xmlns/'/>`, ParseOptions{}, NotWellFormed, 3},
	{"default bound to xml namespace", `<a xmlns='http://www.w3.org/XML/1998/namespace'/>`, ParseOptions{}, NotWellFormed, 10},
	{"default bound to xmlns namespace", `<a xmlns='http://www.w3.org/2000/xmlns/'/>`, ParseOptions{}, NotWellFormed, 10},
	{"xmlns prefix on element", `<xmlns:a/>`, ParseOptions{}, NotWellFormed, 1},
	{"CDATA outside element", `<![CDATA[x]]>`, ParseOptions{}, NotWellFormed, 0},
	{"unterminated CDATA", `<a><![CDATA[x]]</a>`, ParseOptions{}, NotWellFormed, 19},
	{"bad markup declaration", `<a><!x></a>`, ParseOptions{}, NotWellFormed, 3},
	// RFC 6120 §11.1.
	{"comment before", `<!-- c --><a/>`, ParseOptions{}, RestrictedXML, 0},
	{"comment inside", `<a><!-- c --></a>`, ParseOptions{}, RestrictedXML, 3},
	{"comment after", `<a/><!-- c -->`, ParseOptions{}, RestrictedXML, 4},
	{"XML declaration", `<?xml version='1.0'?><a/>`, ParseOptions{}, RestrictedXML, 0},
	{"processing instruction inside", `<a><?pi x?></a>`, ParseOptions{}, RestrictedXML, 3},
	{"DOCTYPE", `<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>`, ParseOptions{}, RestrictedXML, 0},
	{"DOCTYPE inside", `<a><!DOCTYPE a></a>`, ParseOptions{}, RestrictedXML, 3},
	{"undefined entity", `<a>&nbsp;</a>`, ParseOptions{}, RestrictedXML, 3},
	{"undefined entity in value", `<a b='x&foo;'/>`, ParseOptions{}, RestrictedXML, 7},
	{"undefined non-ASCII entity", `<a>&ü;</a>`, ParseOptions{}, RestrictedXML, 3},
	// Limits.
	{"too deep", `<a><b><c><d/></c></b></a>`, ParseOptions{Limits: Limits{MaxDepth: 3}}, PolicyViolation, 9},
	{"too deep by default", strings.Repeat("<a>", 65) + strings.Repeat("</a>", 65), ParseOptions{}, PolicyViolation, 192},
	{"too large", ` <a>123</a>`, ParseOptions{Limits: Limits{MaxBytes: 9}}, PolicyViolation, 10},
	{"too large but broken early", " <a>\x00</a>", ParseOptions{Limits: Limits{MaxBytes: 5}}, NotWellFormed, 4},
	{"too large by default", "<a>" + strings.Repeat("x", 256<<10) + "</a>", ParseOptions{}, PolicyViolation, 256 << 10},
}

func TestParseRejects(t *testing.T) {
	for _, tt := range parseRejects {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in), tt.opt)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) = %v, want a *SyntaxError", tt.in, err)
			}
			if se.Cond != tt.cond || tt.off >= 0 && se.Offset != tt.off {
				t.Errorf("Parse(%q): %v at %d (%v), want %v at %d", tt.in, se.Cond, se.Offset, se, tt.cond, tt.off)
			}
			if se.Msg == "" || strings.HasPrefix(se.Msg, "xmlsplit") {
				t.Errorf("Msg = %q", se.Msg)
			}
		})
	}
}

func TestParseDescribes(t *testing.T) {
	in := `
<body rid='1' xmlns='http://jabber.org/protocol/httpbind' xmlns:xmpp='urn:xmpp:xbosh' xmpp:version='1.0'>` +
		`<message to='a@b' xmlns='jabber:client'><body>hi</body></message>` +
		`<xmpp:restart/>` +
		`<iq xmlns:q='urn:q' q:a='1'><q:query xmlns='urn:x'><xmpp:x/><stream:y/></q:query></iq>` +
		`</body>`
	el, err := Parse([]byte(in), ParseOptions{Children: true, Context: [][]byte{[]byte("stream")}})
	if err != nil {
		t.Fatal(err)
	}
	if string(el.Name) != "body" || el.NSAt != 5 || !el.DeclaresDefault || el.SelfClosing {
		t.Errorf("top: Name %q NSAt %d DeclaresDefault %v SelfClosing %v", el.Name, el.NSAt, el.DeclaresDefault, el.SelfClosing)
	}
	if got := names(el.Borrowed); got != "stream" {
		t.Errorf("top Borrowed = %q", got)
	}
	if got := attrNames(el.Attrs); got != "rid xmlns xmlns:xmpp xmpp:version" {
		t.Errorf("top Attrs = %q", got)
	}
	if v, ok := el.Attr("xmpp:version"); !ok || string(v) != "1.0" {
		t.Errorf("Attr(xmpp:version) = %q, %v", v, ok)
	}
	if _, ok := el.Attr("version"); ok {
		t.Error("Attr(version) found")
	}
	want := []struct {
		raw, borrowed, attrs string
		declDefault, empty   bool
	}{
		{`<message to='a@b' xmlns='jabber:client'><body>hi</body></message>`, "", "to xmlns", true, false},
		{`<xmpp:restart/>`, "xmpp", "", false, true},
		{`<iq xmlns:q='urn:q' q:a='1'><q:query xmlns='urn:x'><xmpp:x/><stream:y/></q:query></iq>`, "xmpp stream", "xmlns:q q:a", false, false},
	}
	if len(el.Children) != len(want) {
		t.Fatalf("%d children, want %d", len(el.Children), len(want))
	}
	for i, w := range want {
		c := el.Children[i]
		if string(c.Raw) != w.raw || names(c.Borrowed) != w.borrowed || attrNames(c.Attrs) != w.attrs ||
			c.DeclaresDefault != w.declDefault || c.SelfClosing != w.empty || !bytes.Equal(c.Raw[1:c.NSAt], c.Name) {
			t.Errorf("child %d: Raw %q Borrowed %q Attrs %q DeclaresDefault %v SelfClosing %v NSAt %d",
				i, c.Raw, names(c.Borrowed), attrNames(c.Attrs), c.DeclaresDefault, c.SelfClosing, c.NSAt)
		}
		if len(c.Children) != 0 {
			t.Errorf("child %d has children", i)
		}
		// A child stands alone given the prefixes it borrows.
		if _, err := Parse(c.Raw, ParseOptions{Context: c.Borrowed}); err != nil {
			t.Errorf("child %d alone: %v", i, err)
		}
	}

	el, err = Parse([]byte(in), ParseOptions{Context: [][]byte{[]byte("stream")}})
	if err != nil || el.Children != nil {
		t.Errorf("without Children: %v, %d children", err, len(el.Children))
	}
}

func TestParseResultOwnsItsSlices(t *testing.T) {
	in := []byte(`<a b='1' c='2'><x/></a>`)
	el, err := Parse(in, ParseOptions{Children: true})
	if err != nil {
		t.Fatal(err)
	}
	// Appending to a result slice must not overwrite the input.
	_ = append(el.Attrs[0].Value, 'X')
	_ = append(el.Name, 'X')
	_ = append(el.Children[0].Raw, 'X')
	if string(in) != `<a b='1' c='2'><x/></a>` {
		t.Errorf("input changed to %q", in)
	}
}

func names(bb [][]byte) string { return string(bytes.Join(bb, []byte(" "))) }

func attrNames(attrs []Attr) string {
	var s []string
	for _, a := range attrs {
		s = append(s, string(a.Name))
	}
	return strings.Join(s, " ")
}

func TestUnescape(t *testing.T) {
	tests := []struct {
		name, in, want string
		cond           Condition
		off            int
	}{
		{"plain", `abc`, `abc`, 0, 0},
		{"empty", ``, ``, 0, 0},
		{"predefined", `&lt;&gt;&amp;&apos;&quot;`, `<>&'"`, 0, 0},
		{"character references", `x&#65;&#x42;&#x1F600;y`, "xAB😀y", 0, 0},
		{"literal bytes kept", "a\r\n\tb", "a\r\n\tb", 0, 0},
		{"undefined entity", `ab&nbsp;`, ``, RestrictedXML, 2},
		{"no semicolon", `a&amp`, ``, NotWellFormed, 1},
		{"bad character reference", `&#xZ;`, ``, NotWellFormed, 0},
		{"reference to NUL", `&#0;`, ``, NotWellFormed, 0},
		{"empty name", `&;`, ``, NotWellFormed, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Unescape([]byte("pre:"), []byte(tt.in))
			if tt.cond == 0 {
				if err != nil || string(got) != "pre:"+tt.want {
					t.Errorf("Unescape(%q) = %q, %v", tt.in, got, err)
				}
				return
			}
			var se *SyntaxError
			if !errors.As(err, &se) || se.Cond != tt.cond || se.Offset != tt.off {
				t.Errorf("Unescape(%q) error %v, want %v at %d", tt.in, err, tt.cond, tt.off)
			}
		})
	}
}

func TestSyntaxErrorText(t *testing.T) {
	_, err := Parse([]byte(`<a>&nbsp;</a>`), ParseOptions{})
	if got, want := err.Error(), `xmlsplit: undefined entity "&nbsp;" (at byte 3)`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got := RestrictedXML.String(); got != "restricted-xml" {
		t.Errorf("String() = %q", got)
	}
}

func TestParseConcurrent(t *testing.T) {
	done := make(chan error)
	for range 8 {
		go func() {
			var err error
			for range 200 {
				var el Element
				if el, err = Parse([]byte(prosodyMessage), ParseOptions{Children: true}); err != nil || len(el.Children) != 2 {
					break
				}
				if _, err = Parse([]byte(`<a><p:b/></a>`), ParseOptions{}); err == nil {
					break
				}
				err = nil
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

var sink Element

func BenchmarkParseMessage(b *testing.B) {
	msg := []byte(prosodyMessage)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		el, err := Parse(msg, ParseOptions{})
		if err != nil {
			b.Fatal(err)
		}
		sink = el
	}
}

func BenchmarkParseMessageChildren(b *testing.B) {
	msg := []byte(prosodyMessage)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		el, err := Parse(msg, ParseOptions{Children: true})
		if err != nil {
			b.Fatal(err)
		}
		sink = el
	}
}

// BenchmarkParseHostile parses elements shaped to make lookups slow: the
// time per byte must stay near that of ordinary input.
func BenchmarkParseHostile(b *testing.B) {
	repeat := func(n int, f func(i int) string) string {
		var sb strings.Builder
		for i := range n {
			sb.WriteString(f(i))
		}
		return sb.String()
	}
	cases := []struct{ name, in string }{
		{"attributes", "<a" + manyAttrs(10000, "b") + "/>"},
		{"declarations", "<a" + manyAttrs(5000, "xmlns:p") + ">" + repeat(10000, func(i int) string { return "<p" + itoa(i%5000) + ":b/>" }) + "</a>"},
		{"borrowed by children", "<a" + manyAttrs(5000, "xmlns:p") + "><c>" + repeat(5000, func(i int) string { return "<p" + itoa(i) + ":b/>" }) + "</c></a>"},
		{"prefixed attributes", "<a xmlns:p='u' xmlns:q='u'" + repeat(8000, func(i int) string { return " p:b" + itoa(i) + "='1'" }) + "/>"},
		{"children", "<a>" + strings.Repeat("<b x='1'/>", 20000) + "</a>"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			in := []byte(c.in)
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				if _, err := Parse(in, ParseOptions{Children: true, Limits: Limits{MaxBytes: 1 << 20}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBaselineScan is the floor the benchmarks above compare with: one
// table lookup per byte of the same message, and nothing else.
func BenchmarkBaselineScan(b *testing.B) {
	msg := []byte(prosodyMessage)
	b.SetBytes(int64(len(msg)))
	n := 0
	for b.Loop() {
		for _, c := range msg {
			if textByte[c] {
				n++
			}
		}
	}
	sinkInt = n
}

var sinkInt int

// parseSeeds are inputs for FuzzParse: every case of the tests above that
// is not huge.
func parseSeeds() []string {
	seeds := []string{
		prosodyMessage, prosodyStreamError, bareMessage, prosodyFeatures,
		`<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='localhost' version='1.0'/>`,
		`<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>`,
		`<body rid='1' xmlns='http://jabber.org/protocol/httpbind' xmlns:xmpp='urn:xmpp:xbosh'><xmpp:restart/><message xmlns='jabber:client'/></body>`,
	}
	for _, tt := range parseAccepts {
		seeds = append(seeds, tt.in)
	}
	for _, tt := range parseRejects {
		seeds = append(seeds, tt.in)
	}
	short := seeds[:0]
	for _, s := range seeds {
		if len(s) < 4096 {
			short = append(short, s)
		}
	}
	return short
}

func FuzzParse(f *testing.F) {
	for _, s := range parseSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		el, err := Parse(in, ParseOptions{Children: true})
		plain, errPlain := Parse(in, ParseOptions{})
		ctxOpt := ParseOptions{Children: true, Context: [][]byte{[]byte("stream"), []byte("p")}}
		withCtx, errCtx := Parse(in, ctxOpt)
		if (err == nil) != (errPlain == nil) {
			t.Fatalf("with Children: %v; without: %v", err, errPlain)
		}
		if err == nil && errCtx != nil {
			t.Fatalf("accepted without context, not with: %v", errCtx)
		}
		for _, e := range []error{err, errCtx} {
			if e == nil {
				continue
			}
			se, ok := e.(*SyntaxError)
			if !ok || se.Cond < NotWellFormed || se.Cond > PolicyViolation || se.Offset < 0 || se.Offset > len(in) || se.Msg == "" {
				t.Fatalf("bad error %#v", e)
			}
		}
		if errCtx == nil {
			checkElement(t, in, &withCtx, ctxOpt)
		}
		if err != nil {
			return
		}
		if el.Borrowed != nil {
			t.Fatalf("Borrowed %q without context", el.Borrowed)
		}
		checkElement(t, in, &el, ParseOptions{Children: true})
		if string(plain.Raw) != string(el.Raw) || plain.Children != nil {
			t.Fatalf("without Children: %q, %d children", plain.Raw, len(plain.Children))
		}
		root, kids, err := decodeStrict(in)
		if err != nil {
			if _, name, ok := strings.Cut(err.Error(), "invalid XML name: "); ok && hasNonASCII([]byte(name)) {
				// encoding/xml checks names against the tables of XML 1.0
				// before its fifth edition, which allow fewer characters.
				return
			}
			t.Fatalf("accepted, but encoding/xml says: %v", err)
		}
		if local := el.Name[bytes.IndexByte(el.Name, ':')+1:]; string(local) != root.Name.Local {
			t.Fatalf("Name %q, encoding/xml %q", el.Name, root.Name.Local)
		}
		if kids != len(el.Children) {
			t.Fatalf("%d children, encoding/xml %d", len(el.Children), kids)
		}
		if len(el.Attrs) != len(root.Attr) {
			t.Fatalf("%d attributes, encoding/xml %d", len(el.Attrs), len(root.Attr))
		}
		for i, a := range el.Attrs {
			if local := a.Name[bytes.IndexByte(a.Name, ':')+1:]; string(local) != root.Attr[i].Name.Local {
				t.Fatalf("attribute %q, encoding/xml %q", a.Name, root.Attr[i].Name.Local)
			}
			v, err := Unescape(nil, a.Value)
			if err != nil {
				t.Fatalf("Unescape(%q): %v", a.Value, err)
			}
			if bytes.IndexByte(a.Value, '\r') < 0 && string(v) != root.Attr[i].Value {
				t.Fatalf("attribute %q = %q, encoding/xml %q", a.Name, v, root.Attr[i].Value)
			}
		}
	})
}

// checkElement checks that what Parse said about in holds together.
func checkElement(t *testing.T, in []byte, el *Element, opt ParseOptions) {
	t.Helper()
	if string(el.Raw) != strings.Trim(string(in), " \t\r\n") {
		t.Fatalf("Raw %q of %q", el.Raw, in)
	}
	checkDescribed(t, el)
	again, err := Parse(el.Raw, opt)
	if err != nil || !sameElement(el, &again) {
		t.Fatalf("Parse(Raw): %v, %+v", err, again)
	}
	last := 0
	for i := range el.Children {
		c := &el.Children[i]
		checkDescribed(t, c)
		k := bytes.Index(el.Raw[last:], c.Raw)
		if k < 0 || len(c.Children) != 0 {
			t.Fatalf("child %q not in order in %q", c.Raw, el.Raw)
		}
		last += k + len(c.Raw)
		alone, err := Parse(c.Raw, ParseOptions{Children: true, Context: c.Borrowed})
		if err != nil {
			t.Fatalf("child %q with context %q: %v", c.Raw, c.Borrowed, err)
		}
		if alone.DeclaresDefault != c.DeclaresDefault || len(alone.Borrowed) != len(c.Borrowed) || len(alone.Attrs) != len(c.Attrs) {
			t.Fatalf("child %q alone: %+v, in place: %+v", c.Raw, alone, c)
		}
	}
}

// checkDescribed checks an Element against its own Raw.
func checkDescribed(t *testing.T, el *Element) {
	t.Helper()
	raw := el.Raw
	if len(raw) < 3 || raw[0] != '<' || raw[len(raw)-1] != '>' || el.NSAt < 2 || el.NSAt > len(raw) || string(raw[1:el.NSAt]) != string(el.Name) {
		t.Fatalf("Raw %q, Name %q, NSAt %d", raw, el.Name, el.NSAt)
	}
	// A non-empty element ends with its end tag, whose name precedes '>'
	// (or whitespace does).
	if el.SelfClosing != (raw[len(raw)-2] == '/') {
		t.Fatalf("SelfClosing %v for %q", el.SelfClosing, raw)
	}
	declares := false
	for _, a := range el.Attrs {
		if string(a.Name) == "xmlns" {
			declares = true
		}
		if len(el.Attrs) < 32 && (!bytes.Contains(raw[:len(raw)-1], a.Name) || !bytes.Contains(raw, a.Value)) {
			t.Fatalf("attribute %q=%q not in %q", a.Name, a.Value, raw)
		}
	}
	if declares != el.DeclaresDefault {
		t.Fatalf("DeclaresDefault %v for %q", el.DeclaresDefault, raw)
	}
	for _, p := range el.Borrowed {
		if string(p) == "xml" || !bytes.Contains(raw, append(append([]byte(nil), p...), ':')) {
			t.Fatalf("Borrowed %q for %q", p, raw)
		}
	}
}

func sameElement(x, y *Element) bool {
	return string(x.Raw) == string(y.Raw) && string(x.Name) == string(y.Name) && x.NSAt == y.NSAt &&
		x.DeclaresDefault == y.DeclaresDefault && x.SelfClosing == y.SelfClosing &&
		names(x.Borrowed) == names(y.Borrowed) && attrNames(x.Attrs) == attrNames(y.Attrs) && len(x.Children) == len(y.Children)
}

func hasNonASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return true
		}
	}
	return false
}

// decodeStrict reads in with encoding/xml in strict mode, which must find
// one element and nothing else but whitespace.
func decodeStrict(in []byte) (root xml.StartElement, kids int, err error) {
	d := xml.NewDecoder(bytes.NewReader(in))
	d.Strict = true
	depth, roots := 0, 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return root, 0, err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			switch depth {
			case 0:
				roots++
				root = tok.Copy()
			case 1:
				kids++
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.Trim(tok, " \t\r\n")) > 0 {
				return root, 0, errors.New("text outside the element")
			}
		default:
			return root, 0, fmt.Errorf("unexpected %T", tok)
		}
	}
	if roots != 1 {
		return root, 0, fmt.Errorf("%d elements", roots)
	}
	return root, kids, nil
}
