package xmlsplit

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

const (
	nsClient = "jabber:client"

	prosodyHeader   = `<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client' version='1.0' xml:lang='en' id='1efe6709-dd3b-47bc-be13-d4280559ae3c' from='localhost'>`
	prosodyFeatures = `<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism></mechanisms></stream:features>`
	// What Prosody 0.12 sent a client: header and features.
	prosodyStream = `<?xml version='1.0'?>` + prosodyHeader + prosodyFeatures

	bareMessage = `<message to='a@b' type='chat'><body>hi</body></message>`
)

// prosodySession is a whole client session as a server sends it, with
// restarts after STARTTLS and SASL, whitespace keepalives and a stream error.
var prosodySession = prosodyStream +
	`<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>` +
	`<?xml version='1.0'?>` + strings.Replace(prosodyHeader, "1efe", "2efe", 1) +
	`<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>` +
	`<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>` +
	"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone='no' ?>\n" + strings.Replace(prosodyHeader, "1efe", "3efe", 1) +
	`<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><required/></bind></stream:features>` +
	"\n \r\t" +
	`<iq type='result' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>alice@localhost/web</jid></bind></iq>` +
	" \n" + prosodyMessage + "\n" + bareMessage +
	`<message to='a@b'><body><![CDATA[<x> & ]]]]></body></message>` +
	prosodyStreamError +
	`</stream:stream>` + "\n"

// item is an Item in comparable form.
type item struct {
	kind     Kind
	raw      string
	name     string
	nsAt     int
	declDef  bool
	borrowed string
	attrs    string
	empty    bool
}

func toItem(it Item) item {
	e := &it.Element
	var attrs []string
	for _, a := range e.Attrs {
		attrs = append(attrs, string(a.Name)+"="+string(a.Value))
	}
	return item{it.Kind, string(e.Raw), string(e.Name), e.NSAt, e.DeclaresDefault, names(e.Borrowed), strings.Join(attrs, " "), e.SelfClosing}
}

// splitAll feeds in to a new Splitter in pieces of the given sizes (the last
// one repeated), as a reader would, and returns the items and the error.
func splitAll(t testing.TB, sp *Splitter, in string, sizes ...int) ([]item, error) {
	t.Helper()
	var (
		items []item
		buf   []byte
		fed   int
	)
	for k := 0; ; k++ {
		it, n, err := sp.Split(buf)
		if err != nil {
			return items, err
		}
		if n > 0 {
			if it.Kind != 0 {
				items = append(items, toItem(it))
			}
			buf = buf[n:]
			continue
		}
		if fed == len(in) {
			if len(strings.Trim(string(buf), " \t\r\n")) != 0 {
				t.Fatalf("left over: %q", buf)
			}
			return items, nil
		}
		size := sizes[min(k, len(sizes)-1)]
		next := min(fed+size, len(in))
		// A new array each time, as a reader's buffer may move.
		buf = append(append(make([]byte, 0, len(buf)+size), buf...), in[fed:next]...)
		fed = next
	}
}

func TestSplitProsodyStream(t *testing.T) {
	want := []item{
		{KindOpen, prosodyHeader, "stream:stream", 14, true, "",
			"xmlns:stream=http://etherx.jabber.org/streams xmlns=jabber:client version=1.0 xml:lang=en id=1efe6709-dd3b-47bc-be13-d4280559ae3c from=localhost", false},
		{KindElement, prosodyFeatures, "stream:features", 16, false, "stream", "", false},
	}
	var sp Splitter
	got, err := splitAll(t, &sp, prosodyStream, len(prosodyStream))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got\n%v\nwant\n%v", got, want)
	}
	if ns, ok := sp.Namespace(nil); !ok || ns != nsClient {
		t.Errorf("Namespace(nil) = %q, %v", ns, ok)
	}
	if ns, ok := sp.Namespace([]byte("stream")); !ok || ns != nsStreams {
		t.Errorf("Namespace(stream) = %q, %v", ns, ok)
	}
	if ns, ok := sp.Namespace([]byte("xml")); !ok || ns != nsXML {
		t.Errorf("Namespace(xml) = %q, %v", ns, ok)
	}
	if _, ok := sp.Namespace([]byte("foo")); ok {
		t.Errorf("Namespace(foo) bound")
	}
}

func TestSplitAtEveryBoundary(t *testing.T) {
	var sp Splitter
	want, err := splitAll(t, &sp, prosodySession, len(prosodySession))
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != 14 {
		t.Fatalf("%d items: %v", len(want), want)
	}
	for cut := 0; cut <= len(prosodySession); cut++ {
		sp := Splitter{}
		got, err := splitAll(t, &sp, prosodySession, cut, len(prosodySession))
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("cut at %d:\n%v\nwant\n%v", cut, got, want)
		}
	}
	for _, size := range []int{1, 2, 3, 7, 64} {
		sp := Splitter{}
		got, err := splitAll(t, &sp, prosodySession, size)
		if err != nil {
			t.Fatalf("pieces of %d: %v", size, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("pieces of %d:\n%v\nwant\n%v", size, got, want)
		}
	}
}

func TestSplitDescribes(t *testing.T) {
	var sp Splitter
	items, err := splitAll(t, &sp, prosodySession, len(prosodySession))
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		kind     Kind
		prefix   string // of Raw
		name     string
		declDef  bool
		borrowed string
	}
	wants := []want{
		{KindOpen, "<stream:stream", "stream:stream", true, ""},
		{KindElement, "<stream:features>", "stream:features", false, "stream"},
		{KindElement, "<proceed", "proceed", true, ""},
		{KindOpen, "<stream:stream", "stream:stream", true, ""},
		{KindElement, "<stream:features>", "stream:features", false, "stream"},
		{KindElement, "<success", "success", true, ""},
		{KindOpen, "<stream:stream", "stream:stream", true, ""},
		{KindElement, "<stream:features>", "stream:features", false, "stream"},
		{KindElement, "<iq type='result'", "iq", false, ""},
		{KindElement, "<message from=", "message", true, ""},
		{KindElement, "<message to='a@b' type='chat'>", "message", false, ""},
		{KindElement, "<message to='a@b'><body><![CDATA[", "message", false, ""},
		{KindElement, "<stream:error", "stream:error", true, ""},
		{KindClose, "</stream:stream>", "stream:stream", false, ""},
	}
	// The items listed come in this order, among others.
	got := items
	j := 0
	for _, w := range wants {
		for ; j < len(got) && !(got[j].kind == w.kind && strings.HasPrefix(got[j].raw, w.prefix)); j++ {
		}
		if j == len(got) {
			t.Fatalf("no item like %+v", w)
		}
		g := got[j]
		if g.name != w.name || g.declDef != w.declDef || g.borrowed != w.borrowed || g.raw[1:g.nsAt] != g.name && w.kind != KindClose {
			t.Errorf("item %d %q: name %q DeclaresDefault %v Borrowed %q NSAt %d", j, g.raw, g.name, g.declDef, g.borrowed, g.nsAt)
		}
		j++
	}
}

func TestSplitStreamForms(t *testing.T) {
	tests := []struct {
		name, in string
		kinds    string // O for KindOpen, E for KindElement, C for KindClose
		borrowed string // of the last element
	}{
		{"other prefix", `<s:stream xmlns:s='http://etherx.jabber.org/streams' xmlns='jabber:client'><s:features/><message/></s:stream>`, "OEEC", ""},
		{"default namespace header", `<stream xmlns='http://etherx.jabber.org/streams'><x xmlns='urn:x'/></stream>`, "OEC", ""},
		{"header without declaration", `<stream:stream xmlns:stream='http://etherx.jabber.org/streams' version='1.0'><message/></stream:stream>`, "OEC", ""},
		{"whitespace everywhere", " \n<?xml version='1.0'?>\n\n" + prosodyHeader + "\n\t" + bareMessage + " \r\n</stream:stream >\n ", "OEC", ""},
		{"restart without declaration", prosodyHeader + `<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>` + prosodyHeader + `<stream:features/>`, "OEOE", "stream"},
		{"restart with another prefix", prosodyHeader + `<s:stream xmlns:s='http://etherx.jabber.org/streams'><s:features/></s:stream>`, "OOEC", "s"},
		{"restart inherits what it borrows", `<s:stream xmlns:s='http://etherx.jabber.org/streams' xmlns:x='urn:x'><s:stream><s:f/></s:stream>`, "OOEC", "s"},
		{"header prefixes used by elements", `<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback'><db:result from='a' to='b'>key</db:result><x db:y='1' xmlns='urn:x'><db:z/></x></stream:stream>`, "OEEC", "db"},
		{"element named stream in another namespace", prosodyHeader + `<stream xmlns='urn:other'/><x:stream xmlns:x='urn:y'/>`, "OEE", ""},
		{"new header after close", prosodyHeader + `</stream:stream>` + prosodyHeader, "OCO", ""},
		{"declaration with encoding", `<?xml version="1.0" encoding="utf-8"?>` + prosodyHeader, "O", ""},
		{"declaration with version 1.1", `<?xml version='1.1'?>` + prosodyHeader, "O", ""},
		{"header with many declarations", `<stream:stream xmlns:stream='http://etherx.jabber.org/streams'` + manyAttrs(40, "xmlns:p") + `><p39:a/><p0:a/></stream:stream>`, "OEEC", "p0"},
		{"header declaring with references", `<stream:stream xmlns:stream='http://etherx.jabber.org/stream&#x73;' xmlns='jabber:&amp;client'><a/></stream:stream>`, "OEC", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, size := range []int{len(tt.in), 1} {
				var sp Splitter
				items, err := splitAll(t, &sp, tt.in, size)
				if err != nil {
					t.Fatalf("pieces of %d: %v", size, err)
				}
				kinds := ""
				for _, it := range items {
					kinds += string("?EOC"[it.kind])
				}
				if kinds != tt.kinds {
					t.Fatalf("pieces of %d: kinds %s, want %s: %v", size, kinds, tt.kinds, items)
				}
				var last item
				for _, it := range items {
					if it.kind == KindElement {
						last = it
					}
				}
				if last.borrowed != tt.borrowed {
					t.Errorf("Borrowed of %q = %q, want %q", last.raw, last.borrowed, tt.borrowed)
				}
			}
		})
	}
}

// restartHeaders is a header and a restart that does not declare x again.
const restartHeaders = `<s:stream xmlns:s='http://etherx.jabber.org/streams' xmlns:x='urn:x'>` +
	`<s:stream xmlns:s='http://etherx.jabber.org/streams'>`

func TestSplitRejects(t *testing.T) {
	tests := []struct {
		name, in string
		lim      Limits
		cond     Condition
		off      int
	}{
		{"element before header", bareMessage, Limits{}, NotWellFormed, 0},
		{"close before header", `</stream:stream>`, Limits{}, NotWellFormed, 0},
		{"text before header", `hello`, Limits{}, NotWellFormed, 0},
		{"text at stream level", prosodyHeader + ` x`, Limits{}, NotWellFormed, len(prosodyHeader) + 1},
		{"reference at stream level", prosodyHeader + `&amp;`, Limits{}, NotWellFormed, len(prosodyHeader)},
		{"CDATA at stream level", prosodyHeader + `<![CDATA[x]]>`, Limits{}, NotWellFormed, len(prosodyHeader)},
		{"comment at stream level", prosodyHeader + `<!-- x -->`, Limits{}, RestrictedXML, len(prosodyHeader)},
		{"comment before header", `<!-- x -->` + prosodyHeader, Limits{}, RestrictedXML, 0},
		{"processing instruction", prosodyHeader + `<?pi x?>`, Limits{}, RestrictedXML, len(prosodyHeader)},
		{"target starting with xml", `<?xml-stylesheet href='x'?>`, Limits{}, RestrictedXML, 0},
		{"DOCTYPE", `<!DOCTYPE stream>` + prosodyHeader, Limits{}, RestrictedXML, 0},
		{"declaration then element", `<?xml version='1.0'?>` + bareMessage, Limits{}, NotWellFormed, 21},
		{"declaration then element in open stream", prosodyHeader + `<?xml version='1.0'?>` + bareMessage, Limits{}, NotWellFormed, len(prosodyHeader) + 21},
		{"declaration then close", prosodyHeader + `<?xml version='1.0'?></stream:stream>`, Limits{}, NotWellFormed, len(prosodyHeader) + 21},
		{"two declarations", `<?xml version='1.0'?> <?xml version='1.0'?>`, Limits{}, NotWellFormed, 22},
		{"declaration without version", `<?xml encoding='UTF-8'?>`, Limits{}, NotWellFormed, 6},
		{"declaration with version 2", `<?xml version='2.0'?>`, Limits{}, NotWellFormed, 14},
		{"declaration with other encoding", `<?xml version='1.0' encoding='ISO-8859-1'?>`, Limits{}, NotWellFormed, 29},
		{"declaration out of order", `<?xml version='1.0' standalone='yes' encoding='UTF-8'?>`, Limits{}, NotWellFormed, 37},
		{"declaration with unknown attribute", `<?xml version='1.0' foo='bar'?>`, Limits{}, NotWellFormed, 20},
		{"declaration with markup", `<?xml version='1.0'<a/>`, Limits{}, NotWellFormed, 19},
		{"declaration with bad standalone", `<?xml version='1.0' standalone='maybe'?>`, Limits{}, NotWellFormed, 31},
		{"declaration without whitespace", `<?xml version='1.0'encoding='UTF-8'?>`, Limits{}, NotWellFormed, 19},
		{"empty-element header", `<stream:stream xmlns:stream='http://etherx.jabber.org/streams'/>`, Limits{}, NotWellFormed, 0},
		{"header with undeclared prefix", `<stream:stream xmlns='jabber:client'>`, Limits{}, NotWellFormed, 1},
		{"wrong close tag", prosodyHeader + `</stream:foo>`, Limits{}, NotWellFormed, len(prosodyHeader)},
		{"close tag of another prefix", `<s:stream xmlns:s='http://etherx.jabber.org/streams'></stream:stream>`, Limits{}, NotWellFormed, 53},
		{"unbalanced end tag", prosodyHeader + `<a></b>`, Limits{}, NotWellFormed, len(prosodyHeader) + 3},
		{"undeclared prefix", prosodyHeader + `<foo:bar/>`, Limits{}, NotWellFormed, len(prosodyHeader) + 1},
		{"prefix of a replaced header", restartHeaders + `<x:a/>`, Limits{}, NotWellFormed, len(restartHeaders) + 1},
		{"bad character", prosodyHeader + "<a>\x00</a>", Limits{}, NotWellFormed, len(prosodyHeader) + 3},
		{"undefined entity", prosodyHeader + "<a>&nbsp;</a>", Limits{}, RestrictedXML, len(prosodyHeader) + 3},
		{"too large", prosodyHeader + `<message>` + strings.Repeat("x", 300), Limits{MaxBytes: 200}, PolicyViolation, len(prosodyHeader) + 200},
		{"header too large", prosodyHeader, Limits{MaxBytes: 100}, PolicyViolation, 100},
		{"declaration too large", `<?xml version='1.0'        ` + strings.Repeat(" ", 100), Limits{MaxBytes: 100}, PolicyViolation, 100},
		{"too deep", prosodyHeader + `<a><b><c/></b></a>`, Limits{MaxDepth: 2}, PolicyViolation, len(prosodyHeader) + 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, size := range []int{len(tt.in), 1} {
				sp := Splitter{Limits: tt.lim}
				var consumed int
				buf := []byte(nil)
				var err error
				for fed := 0; err == nil && fed <= len(tt.in); {
					var n int
					_, n, err = sp.Split(buf)
					if n > 0 {
						buf, consumed = buf[n:], consumed+n
						continue
					}
					if fed == len(tt.in) {
						break
					}
					next := min(fed+size, len(tt.in))
					buf = append(buf, tt.in[fed:next]...)
					fed = next
				}
				var se *SyntaxError
				if !errors.As(err, &se) {
					t.Fatalf("pieces of %d: %v, want a *SyntaxError", size, err)
				}
				if se.Cond != tt.cond || consumed+se.Offset != tt.off {
					t.Errorf("pieces of %d: %v at %d (%v), want %v at %d", size, se.Cond, consumed+se.Offset, se, tt.cond, tt.off)
				}
				// The error sticks.
				if _, n, err2 := sp.Split([]byte(prosodyHeader)); err2 != err || n != 0 {
					t.Errorf("after the error: %d, %v", n, err2)
				}
			}
		})
	}
}

func TestSplitReset(t *testing.T) {
	var sp Splitter
	if _, _, err := sp.Split([]byte(bareMessage)); err == nil {
		t.Fatal("element before a header accepted")
	}
	sp.Reset()
	if _, ok := sp.Namespace(nil); ok {
		t.Error("a namespace is bound before any header")
	}
	it, n, err := sp.Split([]byte(prosodyHeader))
	if err != nil || it.Kind != KindOpen || n != len(prosodyHeader) {
		t.Fatalf("after Reset: %v %d %v", it.Kind, n, err)
	}
	sp.Reset()
	if _, _, err := sp.Split([]byte(bareMessage)); err == nil {
		t.Error("Reset kept the stream open")
	}
}

// A partial item whose bytes are not passed again is scanned from the start.
func TestSplitPartialNotRepeated(t *testing.T) {
	var sp Splitter
	if _, n, err := sp.Split([]byte(prosodyHeader)); err != nil || n == 0 {
		t.Fatal(n, err)
	}
	if _, n, err := sp.Split([]byte(`<message><body>abc`)); err != nil || n != 0 {
		t.Fatal(n, err)
	}
	it, n, err := sp.Split([]byte(`<iq/>`))
	if err != nil || it.Kind != KindElement || string(it.Element.Raw) != `<iq/>` || n != 5 {
		t.Errorf("%q %d %v", it.Element.Raw, n, err)
	}
}

func TestSplitItemsOwnNoInput(t *testing.T) {
	// The stream context is copied out of the buffer: overwriting the bytes
	// of a header must not change what later elements resolve to.
	var sp Splitter
	buf := []byte(prosodyHeader)
	if _, _, err := sp.Split(buf); err != nil {
		t.Fatal(err)
	}
	for i := range buf {
		buf[i] = 'x'
	}
	if ns, ok := sp.Namespace([]byte("stream")); !ok || ns != nsStreams {
		t.Errorf("Namespace(stream) = %q after the buffer changed", ns)
	}
	it, _, err := sp.Split([]byte(prosodyFeatures))
	if err != nil || names(it.Element.Borrowed) != "stream" {
		t.Errorf("%v %q", err, it.Element.Borrowed)
	}
}

// TestSplitResumes checks that the Splitter never goes back over what it
// scanned in earlier calls: fed one byte at a time, each call looks at a
// bounded number of bytes it saw before, so the total work is linear.
func TestSplitResumes(t *testing.T) {
	const size = 200 << 10
	big := func(prefix, fill, suffix string) string {
		return prefix + strings.Repeat(fill, (size-len(prefix)-len(suffix))/len(fill)) + suffix
	}
	tests := []struct {
		name, elem string
		cond       Condition // of the error found at the end, if any
	}{
		{"text", big("<message><body>", "abc ü€😀 &amp; &#x41; ]]", "</body></message>"), 0},
		{"attribute value", big("<message a='", "xyz &lt; ü€😀 >", "'/>"), 0},
		{"element name", big("<a", "b", "/>"), 0},
		{"attribute name", big("<a ", "b", "='1'/>"), 0},
		{"many attributes", "<a" + manyAttrs(size/20, "b") + "/>", 0},
		{"CDATA section", big("<a><![CDATA[", "<x> & ]] ]>", "]]></a>"), 0},
		{"character reference", big("<a>&#x", "0", "41;</a>"), 0},
		{"entity name", big("<a>&", "a", ";</a>"), RestrictedXML},
		{"whitespace in tags", big("<a", " \t\r\n", "></a>"), 0},
		{"children", big("<a>", "<b x='1'>y</b><c/>", "</a>"), 0},
		{"nesting", strings.Repeat("<a>", 60) + big("", "x", "") + strings.Repeat("</a>", 60), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := Splitter{Limits: Limits{MaxBytes: 1 << 20}}
			in := prosodyHeader + tt.elem
			buf := make([]byte, 0, len(in))
			var got Item
			for i := 0; i < len(in); i++ {
				buf = append(buf, in[i])
				it, n, err := sp.Split(buf)
				if se, ok := err.(*SyntaxError); ok && se.Cond == tt.cond && i == len(in)-len("</a>")-1 {
					return // the entity is undefined, found at its end
				}
				if err != nil {
					t.Fatalf("at %d: %v", i, err)
				}
				if n > 0 {
					got = it
					buf = buf[n:]
					continue
				}
				if sp.partial && !sp.decl {
					// At most "<![CDATA" waits for its last byte.
					if back := len(buf) - sp.sc.pos; back > len(cdataOpen)-1 {
						t.Fatalf("at %d: %d bytes left to scan again", i, back)
					}
				}
			}
			if got.Kind != KindElement || len(got.Element.Raw) != len(tt.elem) {
				t.Errorf("got %v of %d bytes", got.Kind, len(got.Element.Raw))
			}
		})
	}
}

func TestSplitTooLargeEarly(t *testing.T) {
	sp := Splitter{Limits: Limits{MaxBytes: 1000}}
	if _, _, err := sp.Split([]byte(prosodyHeader)); err != nil {
		t.Fatal(err)
	}
	buf := []byte("<message>")
	for len(buf) <= 1000 {
		if _, n, err := sp.Split(buf); err != nil || n != 0 {
			t.Fatalf("with %d bytes: %d, %v", len(buf), n, err)
		}
		buf = append(buf, "0123456789"...)
	}
	_, _, err := sp.Split(buf)
	if se, ok := err.(*SyntaxError); !ok || se.Cond != PolicyViolation || se.Offset != 1000 {
		t.Errorf("with %d bytes: %v", len(buf), err)
	}
}

// The element as the bridge frames it: with the declarations it borrows.
func standalone(sp *Splitter, el *Element) []byte {
	b := append([]byte(nil), el.Raw[:el.NSAt]...)
	for _, p := range el.Borrowed {
		ns, _ := sp.Namespace(p)
		b = fmt.Appendf(b, " xmlns:%s='%s'", p, attrEscape(ns))
	}
	if ns, ok := sp.Namespace(nil); ok && !el.DeclaresDefault {
		b = fmt.Appendf(b, " xmlns='%s'", attrEscape(ns))
	}
	return append(b, el.Raw[el.NSAt:]...)
}

func attrEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", "'", "&apos;").Replace(s)
}

func TestSplitElementsStandAlone(t *testing.T) {
	var sp Splitter
	buf := []byte(prosodySession)
	for len(buf) > 0 {
		it, n, err := sp.Split(buf)
		if err != nil || n == 0 {
			t.Fatal(n, err)
		}
		buf = buf[n:]
		if it.Kind != KindElement {
			continue
		}
		b := standalone(&sp, &it.Element)
		el, err := Parse(b, ParseOptions{})
		if err != nil {
			t.Errorf("%q: %v", b, err)
			continue
		}
		if el.Borrowed != nil || !el.DeclaresDefault {
			t.Errorf("%q: Borrowed %q DeclaresDefault %v", b, el.Borrowed, el.DeclaresDefault)
		}
	}
}

func BenchmarkSplitMessage(b *testing.B) {
	var sp Splitter
	if _, _, err := sp.Split([]byte(prosodyHeader)); err != nil {
		b.Fatal(err)
	}
	msg := []byte(prosodyMessage)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		it, n, err := sp.Split(msg)
		if err != nil || n != len(msg) {
			b.Fatal(n, err)
		}
		sink = it.Element
	}
}

func BenchmarkSplitSession(b *testing.B) {
	in := []byte(prosodySession)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	var sp Splitter
	for b.Loop() {
		sp.Reset()
		for buf := in; len(buf) > 0; {
			_, n, err := sp.Split(buf)
			if err != nil || n == 0 {
				b.Fatal(n, err)
			}
			buf = buf[n:]
		}
	}
}

// BenchmarkSplitByteByByte feeds an element one byte at a time: the time per
// byte stays the same whatever the element's size.
func BenchmarkSplitByteByByte(b *testing.B) {
	for _, size := range []int{2 << 10, 20 << 10, 200 << 10} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			elem := "<message><body>" + strings.Repeat("abc &amp; ü ", (size-32)/13) + "</body></message>"
			b.SetBytes(int64(len(elem)))
			b.ReportAllocs()
			for b.Loop() {
				var sp Splitter
				if _, _, err := sp.Split([]byte(prosodyHeader)); err != nil {
					b.Fatal(err)
				}
				buf := make([]byte, 0, len(elem))
				for i := 0; i < len(elem); i++ {
					buf = append(buf, elem[i])
					it, n, err := sp.Split(buf)
					if err != nil || n > 0 && it.Kind != KindElement {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// splitRun is what a Splitter made of an input fed in pieces of one size.
type splitRun struct {
	items []item
	err   *SyntaxError // with Offset from the start of the input
	// fault is the Fault of the first faulty element of a Tolerant run,
	// with Offset from the start of the input; at is how many items came
	// before it.
	fault *SyntaxError
	at    int
}

// runSplit feeds in to a Splitter in pieces of size bytes and checks, for
// every element and header, that it stands alone as the bridge frames it.
func runSplit(t *testing.T, in []byte, size int, lim Limits) splitRun {
	t.Helper()
	return runSplitter(t, in, size, Splitter{Limits: lim})
}

// runSplitter is runSplit with a Splitter set up by the caller. Elements of
// a Tolerant one that come with a Fault are checked to be either
// repairable into an element that stands alone, or not.
func runSplitter(t *testing.T, in []byte, size int, sp Splitter) splitRun {
	t.Helper()
	lim := sp.Limits
	var (
		run      splitRun
		buf      []byte
		fed      int
		consumed int
	)
	for {
		it, n, err := sp.Split(buf)
		if err != nil {
			se, ok := err.(*SyntaxError)
			if !ok || se.Offset < 0 || se.Offset > len(buf) || se.Msg == "" {
				t.Fatalf("bad error %#v", err)
			}
			e := *se
			e.Offset += consumed
			run.err = &e
			return run
		}
		if n > 0 {
			if n > len(buf) {
				t.Fatalf("consumed %d of %d bytes", n, len(buf))
			}
			if it.Kind != 0 {
				run.items = append(run.items, toItem(it))
				if it.Fault == nil {
					checkStandalone(t, &sp, it, lim)
				} else {
					if !sp.Tolerant || it.Kind != KindElement {
						t.Fatalf("Fault %v on %q (Tolerant %v)", it.Fault, it.Element.Raw, sp.Tolerant)
					}
					if run.fault == nil {
						f := *it.Fault
						f.Offset += consumed
						run.fault, run.at = &f, len(run.items)-1
					}
					b := standalone(&sp, &it.Element)
					if fixed, err := Repair(b, ParseOptions{Limits: Limits{MaxBytes: 2*len(b) + 8, MaxDepth: lim.MaxDepth}}); err == nil {
						if _, err := Parse(fixed, ParseOptions{Limits: Limits{MaxBytes: 2*len(b) + 8, MaxDepth: lim.MaxDepth}}); err != nil {
							t.Fatalf("Repair(%q) = %q, which Parse refuses: %v", b, fixed, err)
						}
					}
				}
			}
			buf, consumed = buf[n:], consumed+n
			continue
		}
		if fed == len(in) {
			return run
		}
		next := min(fed+size, len(in))
		buf = append(append(make([]byte, 0, len(buf)+next-fed), buf...), in[fed:next]...)
		fed = next
	}
}

// checkStandalone checks that an element or header, with the declarations it
// borrows inserted at NSAt, is well-formed on its own.
func checkStandalone(t *testing.T, sp *Splitter, it Item, lim Limits) {
	t.Helper()
	el := &it.Element
	switch it.Kind {
	case KindClose:
		if string(el.Raw[2:el.NSAt]) != string(el.Name) {
			t.Fatalf("close %q, Name %q", el.Raw, el.Name)
		}
		return
	case KindElement, KindOpen:
		checkDescribed(t, el)
	default:
		t.Fatalf("Kind %d", it.Kind)
	}
	b := standalone(sp, el)
	if it.Kind == KindOpen {
		b = append(b, "</"+string(el.Name)+">"...)
	}
	got, err := Parse(b, ParseOptions{Limits: Limits{MaxBytes: 2*len(b) + 1, MaxDepth: lim.MaxDepth}})
	if err != nil {
		t.Fatalf("%q alone as %q: %v", el.Raw, b, err)
	}
	if got.Borrowed != nil || !got.DeclaresDefault && it.Kind == KindElement && func() bool { _, ok := sp.Namespace(nil); return ok }() {
		t.Fatalf("%q alone: Borrowed %q DeclaresDefault %v", b, got.Borrowed, got.DeclaresDefault)
	}
}

func FuzzSplit(f *testing.F) {
	for _, s := range []string{
		prosodySession, prosodyStream, prosodyHeader + bareMessage + prosodyMessage,
		restartHeaders + `<s:a/><x:b/>`,
		`<stream xmlns='http://etherx.jabber.org/streams'><x xmlns='urn:x'/></stream>`,
		prosodyHeader + `<a><![CDATA[x]]></a> x`,
		prosodyHeader + `<a>&#x1F600;&nbsp;</a>`,
		`<?xml version='1.0' encoding='UTF-8'?>` + prosodyHeader + `</stream:stream>`,
	} {
		f.Add([]byte(s), uint16(1), uint16(0))
		f.Add([]byte(s), uint16(13), uint16(200))
	}
	f.Fuzz(func(t *testing.T, in []byte, size, maxBytes uint16) {
		lim := Limits{MaxBytes: int(maxBytes), MaxDepth: 8}
		whole := runSplit(t, in, len(in)+1, lim)
		sizes := []int{1 + int(size)%97}
		if len(in) <= 4096 {
			sizes = append(sizes, 1)
		}
		for _, size := range sizes {
			pieces := runSplit(t, in, size, lim)
			if fmt.Sprint(pieces.items) != fmt.Sprint(whole.items) {
				t.Fatalf("in pieces of %d:\n%v\nat once:\n%v", size, pieces.items, whole.items)
			}
			if errString(pieces.err) != errString(whole.err) {
				t.Fatalf("in pieces of %d: %v; at once: %v", size, pieces.err, whole.err)
			}
		}
		// A Tolerant Splitter finds what a strict one does, and where the
		// strict one fails on a fault of one element, it reports the
		// fault and goes on.
		tol := runSplitter(t, in, 1+int(size)%97, Splitter{Limits: lim, Tolerant: true})
		if tol.fault == nil {
			// An element with a fault and, further on, an error of XML
			// itself: the strict run stops at the first, the tolerant at
			// the second.
			// Or the faulty element is not complete: the strict run
			// stopped at its fault, the tolerant one waits for its end.
			laterErr := tol.err != nil && whole.err != nil && whole.err.Offset <= tol.err.Offset
			incomplete := tol.err == nil && whole.err != nil
			if fmt.Sprint(tol.items) != fmt.Sprint(whole.items) || errString(tol.err) != errString(whole.err) && !laterErr && !incomplete {
				t.Fatalf("tolerant:\n%v %v\nstrict:\n%v %v", tol.items, tol.err, whole.items, whole.err)
			}
			return
		}
		if whole.err == nil || errString(tol.fault) != errString(whole.err) || fmt.Sprint(tol.items[:tol.at]) != fmt.Sprint(whole.items) {
			t.Fatalf("tolerant fault %v after\n%v\nstrict:\n%v %v", tol.fault, tol.items[:tol.at], whole.items, whole.err)
		}
	})
}

func errString(e *SyntaxError) string {
	if e == nil {
		return "no error"
	}
	return fmt.Sprintf("%v at %d: %s", e.Cond, e.Offset, e.Msg)
}
