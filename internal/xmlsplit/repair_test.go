package xmlsplit

import (
	"bytes"
	"testing"
)

// What servers were seen to relay, and what the bridge must make of it.
var repairs = []struct {
	name, in, want string
}{
	{
		"element in the XML namespace, as Prosody writes <xml:x/>",
		`<message xmlns='jabber:client' to='carol@localhost/web' type='chat'><x xmlns='http://www.w3.org/XML/1998/namespace'/></message>`,
		`<message xmlns='jabber:client' to='carol@localhost/web' type='chat'><xml:x/></message>`,
	},
	{
		"its children inherit the namespace; one that declares its own keeps it",
		`<message xmlns='jabber:client'><x xmlns='http://www.w3.org/XML/1998/namespace' xml:lang='de'><y>t&amp;t</y><z xmlns='urn:z'><w/></z></x><body>hi</body></message>`,
		`<message xmlns='jabber:client'><xml:x xml:lang='de'><xml:y>t&amp;t</xml:y><z xmlns='urn:z'><w/></z></xml:x><body>hi</body></message>`,
	},
	{
		"attribute in the XML namespace under a made-up prefix, as Prosody writes xml:foo",
		`<message xmlns='jabber:client'><x xmlns='urn:a' xmlns:ns1='http://www.w3.org/XML/1998/namespace' ns1:foo='1'/></message>`,
		`<message xmlns='jabber:client'><x xmlns='urn:a' xml:foo='1'/></message>`,
	},
	{
		"the prefix used on elements below, with CDATA and an undeclared default",
		`<presence xmlns='jabber:client'><p:a xmlns:p='http://www.w3.org/XML/1998/namespace'><p:b p:c="&apos;"><![CDATA[<x>]]></p:b><d xmlns=''/></p:a></presence>`,
		`<presence xmlns='jabber:client'><xml:a><xml:b xml:c="&apos;"><![CDATA[<x>]]></xml:b><d xmlns=''/></xml:a></presence>`,
	},
	{
		"a declaration of the XML namespace nothing uses",
		`<iq xmlns='jabber:client' type='get' id='1'><q xmlns='urn:q' xmlns:n='http://www.w3.org/XML/1998/namespace'/></iq>`,
		`<iq xmlns='jabber:client' type='get' id='1'><q xmlns='urn:q'/></iq>`,
	},
	{
		"the xmlns namespace declared but not used",
		`<message xmlns='jabber:client'><q:x xmlns:q='urn:q' xmlns='http://www.w3.org/2000/xmlns/'/></message>`,
		`<message xmlns='jabber:client'><q:x xmlns:q='urn:q'/></message>`,
	},
	{
		"nothing to repair",
		` <message xmlns='jabber:client' xml:lang='en'><body>a &lt; b</body></message>` + "\n",
		`<message xmlns='jabber:client' xml:lang='en'><body>a &lt; b</body></message>`,
	},
}

func TestRepair(t *testing.T) {
	for _, tt := range repairs {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Repair([]byte(tt.in), ParseOptions{})
			if err != nil {
				t.Fatalf("Repair: %v", err)
			}
			if string(got) != tt.want {
				t.Fatalf("Repair:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestRepairRefuses(t *testing.T) {
	for _, tt := range []struct{ name, in string }{
		{"element in the xmlns namespace", `<message xmlns='jabber:client'><x xmlns='http://www.w3.org/2000/xmlns/'/></message>`},
		{"attribute in the xmlns namespace", `<m xmlns:p='http://www.w3.org/2000/xmlns/' p:a='1'/>`},
		{"undeclared prefix", `<message xmlns='jabber:client'><p:x/></message>`},
		{"undeclared attribute prefix", `<message xmlns='jabber:client'><x p:a='1'/></message>`},
		{"prefix xmlns declared", `<m xmlns:xmlns='urn:x'/>`},
		{"prefix xml bound elsewhere", `<m xmlns:xml='urn:x'/>`},
		{"prefix bound to the empty name", `<m xmlns:p=''/>`},
		{"element with the prefix xmlns", `<xmlns:m/>`},
		{"same attribute once repaired", `<m xmlns:n='http://www.w3.org/XML/1998/namespace' xml:lang='en' n:lang='de'/>`},
		{"duplicate attribute", `<m a='1' a='2'/>`},
		{"two elements", `<a/><b/>`},
		{"unclosed", `<a><b></b>`},
		{"text around", `x<a/>`},
		{"comment", `<a><!-- c --></a>`},
		{"empty", ``},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := Repair([]byte(tt.in), ParseOptions{}); err == nil {
				t.Fatalf("Repair(%q) = %q, want an error", tt.in, got)
			}
		})
	}
}

func TestRepairDepth(t *testing.T) {
	deep := []byte("<a xmlns='http://www.w3.org/XML/1998/namespace'>" + string(bytes.Repeat([]byte("<b>"), 10)) + string(bytes.Repeat([]byte("</b>"), 10)) + "</a>")
	if _, err := Repair(deep, ParseOptions{Limits: Limits{MaxDepth: 8}}); err == nil {
		t.Fatal("repaired past MaxDepth")
	}
	if _, err := Repair(deep, ParseOptions{Limits: Limits{MaxDepth: 11}}); err != nil {
		t.Fatalf("within MaxDepth: %v", err)
	}
}

func TestRepairContext(t *testing.T) {
	in := `<stream:error><x xmlns='http://www.w3.org/XML/1998/namespace'/></stream:error>`
	got, err := Repair([]byte(in), ParseOptions{Context: [][]byte{[]byte("stream")}})
	if err != nil || string(got) != `<stream:error><xml:x/></stream:error>` {
		t.Fatalf("Repair = %q, %v", got, err)
	}
}

// A Tolerant Splitter hands over the element a strict one fails on, and
// the stream goes on.
func TestSplitTolerant(t *testing.T) {
	faulty := `<message from='alice@localhost/x' to='carol@localhost/web' type='chat'><x xmlns='http://www.w3.org/XML/1998/namespace'/></message>`
	next := `<message from='alice@localhost/x'><body>after</body></message>`
	in := []byte(prosodyHeader + faulty + next)

	strict := Splitter{}
	var err error
	for buf := in; err == nil; {
		var n int
		_, n, err = strict.Split(buf)
		buf = buf[n:]
	}
	if se, ok := err.(*SyntaxError); !ok || se.Cond != NotWellFormed {
		t.Fatalf("strict: %v", err)
	}

	sp := Splitter{Tolerant: true}
	var got []Item
	for buf := in; len(buf) > 0; {
		it, n, err := sp.Split(buf)
		if err != nil {
			t.Fatalf("tolerant: %v", err)
		}
		if n == 0 {
			break
		}
		if it.Kind != 0 {
			it.Element.Raw = append([]byte(nil), it.Element.Raw...)
			got = append(got, it)
		}
		buf = buf[n:]
	}
	if len(got) != 3 || got[1].Fault == nil || got[2].Fault != nil || string(got[1].Element.Raw) != faulty || string(got[2].Element.Raw) != next {
		t.Fatalf("tolerant items: %+v", got)
	}
	if f := got[1].Fault; f.Cond != NotWellFormed || f.Offset != bytes.Index([]byte(faulty), []byte("http://www.w3.org/XML")) {
		t.Fatalf("Fault %+v", f)
	}
}

func TestSplitTolerantNotHeaders(t *testing.T) {
	sp := Splitter{Tolerant: true}
	_, _, err := sp.Split([]byte(`<stream:stream xmlns='http://www.w3.org/XML/1998/namespace' xmlns:stream='http://etherx.jabber.org/streams'>`))
	if err == nil {
		t.Fatal("a stream header with a fault was accepted")
	}
}

func FuzzRepair(f *testing.F) {
	for _, tt := range repairs {
		f.Add([]byte(tt.in))
	}
	for _, s := range parseSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		opt := ParseOptions{Limits: Limits{MaxDepth: 16}}
		got, err := Repair(in, opt)
		el, perr := Parse(in, opt)
		if perr == nil {
			// What needs no repair comes back as it was (unless it is
			// past what Repair handles at all).
			if err == nil && !bytes.Equal(got, el.Raw) {
				t.Fatalf("Repair(%q) of a namespace-well-formed element = %q, %v", in, got, err)
			}
			return
		}
		if err == nil {
			if _, err := Parse(got, opt); err != nil {
				t.Fatalf("Repair(%q) = %q, which Parse refuses: %v", in, got, err)
			}
		}
	})
}

func TestCheckXMLNames(t *testing.T) {
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{`<message xmlns='jabber:client' xml:lang='en'><body xml:lang='de'>x</body></message>`, true},
		{`<message xmlns='jabber:client'><x xmlns='urn:a' xml:space='preserve' xml:id='i' xml:base='b'/></message>`, true},
		{`<message xmlns='jabber:client'><body>xml:foo='1' &lt;xml:x/></body></message>`, true},
		{`<message xmlns='jabber:client'><xml:x/></message>`, false},
		{`<message xmlns='jabber:client'><x xmlns='urn:a' xml:foo='1'/></message>`, false},
		{`<message xmlns='jabber:client'><x xmlns='urn:a' xmlns:p='http://www.w3.org/XML/1998/namespace' p:lang='de'/></message>`, true},
	} {
		err := CheckXMLNames([]byte(tt.in), ParseOptions{})
		if (err == nil) != tt.ok {
			t.Errorf("CheckXMLNames(%s) = %v, want ok %v", tt.in, err, tt.ok)
		}
	}
}
