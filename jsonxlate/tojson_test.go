package jsonxlate

import (
	"errors"
	"testing"
)

const (
	csNS  = ` xmlns='http://jabber.org/protocol/chatstates'`
	errNS = ` xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'`
)

// TestFriendly has one case for each friendly field, and for each rule that
// sends a child to the generic form instead. Every case must also round-trip.
func TestFriendly(t *testing.T) {
	tests := []struct {
		name string
		xml  string
		want string
	}{
		// Stanza attributes.
		{"attributes", `<message id='1' type='chat' from='a@b/c' to='d@e' xml:lang='en'/>`,
			`{"kind":"message","id":"1","type":"chat","from":"a@b/c","to":"d@e","lang":"en"}`},
		{"empty attribute is not absent", `<iq type='get' id=''/>`, `{"kind":"iq","id":"","type":"get"}`},
		{"other attributes", `<presence xmlns:x='urn:x' x:a='1' b='2' xml:space='default'/>`,
			`{"kind":"presence","attrs":{"{urn:x}a":"1","b":"2","xml:space":"default"}}`},
		{"attribute value normalised", "<message to='a\tb&#9;c'/>", `{"kind":"message","to":"a b\tc"}`},

		// message
		{"body", `<message><body>hi</body></message>`, `{"kind":"message","body":"hi"}`},
		{"empty body", `<message><body/></message>`, `{"kind":"message","body":""}`},
		{"bodies", `<message><body>hi</body><body xml:lang='de'>hallo</body><body xml:lang='fr'>salut</body></message>`,
			`{"kind":"message","body":"hi","bodies":[{"lang":"de","text":"hallo"},{"lang":"fr","text":"salut"}]}`},
		{"subject and subjects", `<message><subject>s</subject><subject xml:lang='cs'>t</subject><body>b</body></message>`,
			`{"kind":"message","subject":"s","subjects":[{"lang":"cs","text":"t"}],"body":"b"}`},
		{"thread", `<message><thread>t1</thread></message>`, `{"kind":"message","thread":"t1"}`},
		{"thread parent", `<message><thread parent='p'>t1</thread></message>`, `{"kind":"message","thread":"t1","thread_parent":"p"}`},
		{"chat state", `<message><gone` + csNS + `/></message>`, `{"kind":"message","chat_state":"gone"}`},
		{"receipt request", `<message><request xmlns='urn:xmpp:receipts'/></message>`, `{"kind":"message","receipt_request":true}`},
		{"receipt", `<message><received xmlns='urn:xmpp:receipts' id='r1'/></message>`, `{"kind":"message","received":"r1"}`},
		{"delay", `<message><delay xmlns='urn:xmpp:delay' stamp='2002-09-10T23:08:25Z' from='x'>why</delay></message>`,
			`{"kind":"message","delay":{"stamp":"2002-09-10T23:08:25Z","from":"x","text":"why"}}`},
		{"delay, stamp only", `<message><delay xmlns='urn:xmpp:delay' stamp='s'/></message>`, `{"kind":"message","delay":{"stamp":"s"}}`},
		{"carbon sent", `<message><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' to='x'><body>b</body></message></forwarded></sent></message>`,
			`{"kind":"message","carbon":{"direction":"sent","message":{"kind":"message","to":"x","body":"b"}}}`},
		{"carbon with delay", `<message><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='s'/><message xmlns='jabber:client'/></forwarded></received></message>`,
			`{"kind":"message","carbon":{"direction":"received","message":{"kind":"message"},"delay":{"stamp":"s"}}}`},
		{"error", `<message type='error'><error type='cancel' by='x' code='503'><service-unavailable` + errNS + `/><text` + errNS + ` xml:lang='en'>t</text><app xmlns='urn:app' a='1'/></error></message>`,
			`{"kind":"message","type":"error","error":{"type":"cancel","condition":"service-unavailable","text":"t","text_lang":"en","by":"x","code":"503","app":{"name":"app","xmlns":"urn:app","attrs":{"a":"1"}}}}`},
		{"error, condition only", `<iq type='error'><error><bad-request` + errNS + `/></error></iq>`,
			`{"kind":"iq","type":"error","error":{"condition":"bad-request"}}`},
		{"error text without lang", `<iq><error type='wait'><x` + errNS + `/><text` + errNS + `/></error></iq>`,
			`{"kind":"iq","error":{"type":"wait","condition":"x","text":""}}`},
		{"all message fields in order", `<message><subject>s</subject><body>b</body><thread>t</thread><active` + csNS + `/><request xmlns='urn:xmpp:receipts'/><received xmlns='urn:xmpp:receipts' id='i'/><delay xmlns='urn:xmpp:delay' stamp='s'/><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client'/></forwarded></sent><error><x` + errNS + `/></error><z xmlns='urn:z'/></message>`,
			`{"kind":"message","subject":"s","body":"b","thread":"t","chat_state":"active","receipt_request":true,"received":"i","delay":{"stamp":"s"},"carbon":{"direction":"sent","message":{"kind":"message"}},"error":{"condition":"x"},"payload":[{"name":"z","xmlns":"urn:z"}]}`},

		// Document order that differs from the fixed one.
		{"out of order", `<message><active` + csNS + `/><body>b</body></message>`,
			`{"kind":"message","body":"b","chat_state":"active","order":["chat_state","body"]}`},
		{"bodies before body", `<message><body xml:lang='de'>d</body><body>b</body></message>`,
			`{"kind":"message","body":"b","bodies":[{"lang":"de","text":"d"}],"order":["bodies[0]","body"]}`},
		{"list entries apart", `<message><body xml:lang='de'>d</body><body>b</body><body xml:lang='fr'>f</body><body xml:lang='de'>again</body></message>`,
			`{"kind":"message","body":"b","bodies":[{"lang":"de","text":"d"},{"lang":"fr","text":"f"},{"lang":"de","text":"again"}],"order":["bodies[0]","body","bodies[1]","bodies[2]"]}`},
		{"friendly after an unknown child", `<message><x xmlns='urn:x'/><body>b</body></message>`,
			`{"kind":"message","body":"b","payload":[{"name":"x","xmlns":"urn:x"}],"order":["payload[0]","body"]}`},
		{"text in the stanza", `<message>t<body>b</body></message>`,
			`{"kind":"message","body":"b","payload":["t"],"order":["payload[0]","body"]}`},
		{"text around a friendly child", "<message>a <active" + csNS + "/> b\n <x xmlns='u'/>\n</message>",
			`{"kind":"message","chat_state":"active","payload":["a "," b\n ",{"name":"x","xmlns":"u"}],"order":["payload[0]","chat_state","payload[1]","payload[2]"]}`},
		{"the first that fits", `<message><body id='x'>a</body><body>b</body><body>c</body></message>`,
			`{"kind":"message","body":"b","payload":[{"name":"body","attrs":{"id":"x"},"children":["a"]},{"name":"body","children":["c"]}],"order":["payload[0]","body","payload[1]"]}`},
		{"friendly then payload needs no order", `<message><body>b</body><x xmlns='u'/><y xmlns='u'/></message>`,
			`{"kind":"message","body":"b","payload":[{"name":"x","xmlns":"u"},{"name":"y","xmlns":"u"}]}`},
		{"all message fields reversed", `<message><z xmlns='urn:z'/><error><x` + errNS + `/></error><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client'/></forwarded></sent><delay xmlns='urn:xmpp:delay' stamp='s'/><received xmlns='urn:xmpp:receipts' id='i'/><request xmlns='urn:xmpp:receipts'/><active` + csNS + `/><thread parent='p'>t</thread><body xml:lang='de'>d</body><body>b</body><subject xml:lang='de'>s2</subject><subject>s</subject></message>`,
			`{"kind":"message","subject":"s","subjects":[{"lang":"de","text":"s2"}],"body":"b","bodies":[{"lang":"de","text":"d"}],"thread":"t","thread_parent":"p","chat_state":"active","receipt_request":true,"received":"i","delay":{"stamp":"s"},"carbon":{"direction":"sent","message":{"kind":"message"}},"error":{"condition":"x"},"payload":[{"name":"z","xmlns":"urn:z"}],` +
				`"order":["payload[0]","error","carbon","delay","received","receipt_request","chat_state","thread","bodies[0]","body","subjects[0]","subject"]}`},
		{"all presence fields reversed", `<presence><error><x` + errNS + `/></error><delay xmlns='urn:xmpp:delay' stamp='s'/><priority>0</priority><status xml:lang='de'>d</status><status>s</status><show>xa</show></presence>`,
			`{"kind":"presence","show":"xa","status":"s","statuses":[{"lang":"de","text":"d"}],"priority":0,"delay":{"stamp":"s"},"error":{"condition":"x"},"order":["error","delay","priority","statuses[0]","status","show"]}`},
		{"iq error before roster", `<iq type='error'><error><x` + errNS + `/></error><query xmlns='jabber:iq:roster'/></iq>`,
			`{"kind":"iq","type":"error","roster":{"items":[]},"error":{"condition":"x"},"order":["error","roster"]}`},
		{"carbon message out of order", `<message><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client'><request xmlns='urn:xmpp:receipts'/><body>b</body></message></forwarded></sent><x xmlns='u'/></message>`,
			`{"kind":"message","carbon":{"direction":"sent","message":{"kind":"message","body":"b","receipt_request":true,"order":["receipt_request","body"]}},"payload":[{"name":"x","xmlns":"u"}]}`},

		// presence
		{"show status priority", `<presence><show>chat</show><status>s</status><status xml:lang='de'>d</status><priority>-128</priority></presence>`,
			`{"kind":"presence","show":"chat","status":"s","statuses":[{"lang":"de","text":"d"}],"priority":-128}`},
		{"presence delay and error", `<presence type='error'><delay xmlns='urn:xmpp:delay' stamp='s'/><error type='cancel'><gone` + errNS + `/></error></presence>`,
			`{"kind":"presence","type":"error","delay":{"stamp":"s"},"error":{"type":"cancel","condition":"gone"}}`},

		// iq
		{"roster", `<iq type='result'><query xmlns='jabber:iq:roster' ver='v'><item jid='a' name='n' subscription='both' ask='subscribe' approved='false'><group>g1</group><group/></item></query></iq>`,
			`{"kind":"iq","type":"result","roster":{"ver":"v","items":[{"jid":"a","name":"n","subscription":"both","ask":"subscribe","approved":false,"groups":["g1",""]}]}}`},
		{"empty roster", `<iq><query xmlns='jabber:iq:roster'/></iq>`, `{"kind":"iq","roster":{"items":[]}}`},
		{"roster then error", `<iq type='error'><query xmlns='jabber:iq:roster'/><error type='modify'><bad-request` + errNS + `/></error></iq>`,
			`{"kind":"iq","type":"error","roster":{"items":[]},"error":{"type":"modify","condition":"bad-request"}}`},

		// White space.
		{"space between stanza children dropped", "<message>\n <body> b </body>\n <active" + csNS + "/>\n</message>",
			`{"kind":"message","body":" b ","chat_state":"active"}`},
		{"space in friendly containers dropped", "<iq><query xmlns='jabber:iq:roster'>\n<item jid='a'>\n<group>g</group>\n</item>\n</query></iq>",
			`{"kind":"iq","roster":{"items":[{"jid":"a","groups":["g"]}]}}`},
		{"space as character references dropped", "<message>&#10;<body>b</body></message>", `{"kind":"message","body":"b"}`},

		// Fallbacks to the generic form.
		{"body with another attribute", `<message><body id='x'>b</body></message>`,
			`{"kind":"message","payload":[{"name":"body","attrs":{"id":"x"},"children":["b"]}]}`},
		{"body with a child element", `<message><body>a<b/></body></message>`,
			`{"kind":"message","payload":[{"name":"body","children":["a",{"name":"b"}]}]}`},
		{"body in another namespace", `<message><body xmlns='urn:other'>b</body></message>`,
			`{"kind":"message","payload":[{"name":"body","xmlns":"urn:other","children":["b"]}]}`},
		{"second body without lang", `<message><body>1</body><body>2</body></message>`,
			`{"kind":"message","body":"1","payload":[{"name":"body","children":["2"]}]}`},
		{"second chat state", `<message><active` + csNS + `/><composing` + csNS + `/></message>`,
			`{"kind":"message","chat_state":"active","payload":[{"name":"composing","xmlns":"http://jabber.org/protocol/chatstates"}]}`},
		{"second delay", `<presence><delay xmlns='urn:xmpp:delay' stamp='1'/><delay xmlns='urn:xmpp:delay' stamp='2'/></presence>`,
			`{"kind":"presence","delay":{"stamp":"1"},"payload":[{"name":"delay","xmlns":"urn:xmpp:delay","attrs":{"stamp":"2"}}]}`},
		{"thread with xml:lang", `<message><thread xml:lang='en'>t</thread></message>`,
			`{"kind":"message","payload":[{"name":"thread","attrs":{"xml:lang":"en"},"children":["t"]}]}`},
		{"unknown chat state", `<message><typing` + csNS + `/></message>`,
			`{"kind":"message","payload":[{"name":"typing","xmlns":"http://jabber.org/protocol/chatstates"}]}`},
		{"chat state with content", `<message><active` + csNS + `> </active></message>`,
			`{"kind":"message","payload":[{"name":"active","xmlns":"http://jabber.org/protocol/chatstates","children":[" "]}]}`},
		{"receipt without id", `<message><received xmlns='urn:xmpp:receipts'/></message>`,
			`{"kind":"message","payload":[{"name":"received","xmlns":"urn:xmpp:receipts"}]}`},
		{"delay without stamp", `<message><delay xmlns='urn:xmpp:delay' from='x'/></message>`,
			`{"kind":"message","payload":[{"name":"delay","xmlns":"urn:xmpp:delay","attrs":{"from":"x"}}]}`},
		{"delay in an iq", `<iq><delay xmlns='urn:xmpp:delay' stamp='s'/></iq>`,
			`{"kind":"iq","payload":[{"name":"delay","xmlns":"urn:xmpp:delay","attrs":{"stamp":"s"}}]}`},
		{"carbon without forwarded", `<message><sent xmlns='urn:xmpp:carbons:2'/></message>`,
			`{"kind":"message","payload":[{"name":"sent","xmlns":"urn:xmpp:carbons:2"}]}`},
		{"carbon of a message in another namespace", `<message><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:server'/></forwarded></sent></message>`,
			`{"kind":"message","payload":[{"name":"sent","xmlns":"urn:xmpp:carbons:2","children":[{"name":"forwarded","xmlns":"urn:xmpp:forward:0","children":[{"name":"message","xmlns":"jabber:server"}]}]}]}`},
		{"error with a condition's text", `<iq><error type='cancel'><gone` + errNS + `>xmpp:x</gone></error></iq>`,
			`{"kind":"iq","payload":[{"name":"error","attrs":{"type":"cancel"},"children":[{"name":"gone","xmlns":"urn:ietf:params:xml:ns:xmpp-stanzas","children":["xmpp:x"]}]}]}`},
		{"error without condition", `<iq><error type='cancel'/></iq>`,
			`{"kind":"iq","payload":[{"name":"error","attrs":{"type":"cancel"}}]}`},
		{"error with two app conditions", `<iq><error><x` + errNS + `/><a xmlns='u'/><b xmlns='u'/></error></iq>`,
			`{"kind":"iq","payload":[{"name":"error","children":[{"name":"x","xmlns":"urn:ietf:params:xml:ns:xmpp-stanzas"},{"name":"a","xmlns":"u"},{"name":"b","xmlns":"u"}]}]}`},
		{"show that is not one of four", `<presence><show>online</show></presence>`,
			`{"kind":"presence","payload":[{"name":"show","children":["online"]}]}`},
		{"priority out of range", `<presence><priority>128</priority></presence>`,
			`{"kind":"presence","payload":[{"name":"priority","children":["128"]}]}`},
		{"priority not as JSON writes it", `<presence><priority>01</priority></presence>`,
			`{"kind":"presence","payload":[{"name":"priority","children":["01"]}]}`},
		{"roster item with another attribute", `<iq><query xmlns='jabber:iq:roster'><item jid='a' x='1'/></query></iq>`,
			`{"kind":"iq","payload":[{"name":"query","xmlns":"jabber:iq:roster","children":[{"name":"item","attrs":{"jid":"a","x":"1"}}]}]}`},
		{"roster approved not true or false", `<iq><query xmlns='jabber:iq:roster'><item approved='1'/></query></iq>`,
			`{"kind":"iq","payload":[{"name":"query","xmlns":"jabber:iq:roster","children":[{"name":"item","attrs":{"approved":"1"}}]}]}`},
		{"roster in a message", `<message><query xmlns='jabber:iq:roster'/></message>`,
			`{"kind":"message","payload":[{"name":"query","xmlns":"jabber:iq:roster"}]}`},

		// Other top-level elements.
		{"element", `<r xmlns='urn:xmpp:sm:3'/>`, `{"kind":"element","element":{"name":"r","xmlns":"urn:xmpp:sm:3"}}`},
		{"element in jabber:client", `<foo a='1'>x</foo>`, `{"kind":"element","element":{"name":"foo","attrs":{"a":"1"},"children":["x"]}}`},
		{"stanza of the server namespace", `<message xmlns='jabber:server'/>`,
			`{"kind":"element","element":{"name":"message","xmlns":"jabber:server"}}`},
		{"generic keeps white space", "<a xmlns='u'>\n <b> </b>\n</a>",
			`{"kind":"element","element":{"name":"a","xmlns":"u","children":["\n ",{"name":"b","children":[" "]},"\n"]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AppendJSON(nil, []byte(tt.xml), " xmlns='jabber:client'")
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("\n got: %s\nwant: %s", got, tt.want)
			}
			checkRoundTrip(t, []byte(tt.xml), " xmlns='jabber:client'", got)
		})
	}
}

func TestJSONEscapes(t *testing.T) {
	got, err := AppendJSON(nil, []byte("<message><body>\"\\\u2028\u2029\u00e9&#x7f;\t\r\n&#13;</body></message>"), " xmlns='jabber:client'")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"kind":"message","body":"\"\\\u2028\u2029é` + "\x7f" + `\t\n\r"}`
	if string(got) != want {
		t.Fatalf("\n got: %s\nwant: %s", got, want)
	}
}

// TestWhitespaceKeptInGeneric: white space is dropped only where a friendly
// field stands for the element; the comparator of the other tests is more
// lenient than that, so this test compares strictly.
func TestWhitespaceKeptInGeneric(t *testing.T) {
	for _, in := range []string{
		"<iq><query xmlns='jabber:iq:roster' x='1'>\n <item jid='a'>\n </item>\n</query></iq>",
		"<message><result xmlns='urn:xmpp:mam:2'><forwarded xmlns='urn:xmpp:forward:0'>\n<message xmlns='jabber:client'>\n<body>b</body>\n</message>\n</forwarded></result></message>",
		"<message><sent xmlns='urn:xmpp:carbons:2' x='1'>\n<forwarded xmlns='urn:xmpp:forward:0'>\n</forwarded>\n</sent></message>",
		"<iq><error type='cancel'>\n<gone" + errNS + ">x</gone>\n</error></iq>",
		"<message><x xmlns='urn:x'> <y/> </x></message>",
	} {
		got, err := AppendJSON(nil, []byte(in), " xmlns='jabber:client'")
		if err != nil {
			t.Fatal(err)
		}
		x, err := AppendXML(nil, got)
		if err != nil {
			t.Fatal(err)
		}
		want, err1 := canonicalStrict([]byte(in), " xmlns='jabber:client'")
		have, err2 := canonicalStrict(x, "")
		if err1 != nil || err2 != nil || want != have {
			t.Errorf("white space lost in a generic element (%v, %v):\n in: %s\nout: %s", err1, err2, in, x)
		}
	}
}

func TestAppendJSONErrors(t *testing.T) {
	deep := ""
	for i := 0; i < 70; i++ {
		deep += "<a>"
	}
	for i := 0; i < 70; i++ {
		deep += "</a>"
	}
	tests := []struct {
		name, xml, ns, code string
	}{
		{"not XML", `<message`, "", CodeNotWellFormed},
		{"two elements", `<a/><b/>`, "", CodeNotWellFormed},
		{"comment", `<a><!-- x --></a>`, "", CodeNotWellFormed},
		{"undeclared prefix", `<stream:features/>`, " xmlns='jabber:client'", CodeNotWellFormed},
		{"bad ns", `<a/>`, " xmlns='x", CodeNotWellFormed},
		{"ns not a declaration", `<a/>`, " foo='x'", CodeNotWellFormed},
		{"too deep", deep, "", CodeTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []byte("keep")
			out, err := AppendJSON(dst, []byte(tt.xml), tt.ns)
			var e *Error
			if !errors.As(err, &e) || e.Code != tt.code {
				t.Fatalf("err = %v, want code %s", err, tt.code)
			}
			if string(out) != "keep" {
				t.Fatalf("dst changed: %q", out)
			}
		})
	}
}

func TestBorrowedNamespaces(t *testing.T) {
	tests := []struct {
		name, xml, ns, want string
	}{
		{"stream prefix", `<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>`, streamNS,
			`{"kind":"element","element":{"name":"features","xmlns":"http://etherx.jabber.org/streams","children":[{"name":"bind","xmlns":"urn:ietf:params:xml:ns:xmpp-bind"}]}}`},
		{"own declaration wins", `<message xmlns='jabber:server'/>`, streamNS, `{"kind":"element","element":{"name":"message","xmlns":"jabber:server"}}`},
		{"escaped namespace name", `<message/>`, ` xmlns="jabber&#58;client"`, `{"kind":"message"}`},
		{"xml prefix declared", `<message xml:lang='en'/>`, ` xmlns='jabber:client' xmlns:xml='http://www.w3.org/XML/1998/namespace'`, `{"kind":"message","lang":"en"}`},
		{"no default namespace", `<message/>`, ``, `{"kind":"element","element":{"name":"message","xmlns":""}}`},
		{"server dialback prefix", `<db:result xmlns:db='jabber:server:dialback' from='a' to='b'/>`, ` xmlns='jabber:server'`,
			`{"kind":"element","element":{"name":"result","xmlns":"jabber:server:dialback","attrs":{"from":"a","to":"b"}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AppendJSON(nil, []byte(tt.xml), tt.ns)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("\n got: %s\nwant: %s", got, tt.want)
			}
			checkRoundTrip(t, []byte(tt.xml), tt.ns, got)
		})
	}
}
