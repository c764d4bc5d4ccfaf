package jsonxlate

import (
	"errors"
	"strings"
	"testing"
)

func TestAppendXML(t *testing.T) {
	tests := []struct {
		name string
		json string
		want string
	}{
		{"empty message", `{"kind":"message"}`, `<message xmlns='jabber:client'/>`},
		{"attributes", `{"kind":"presence","to":"a@b","from":"c@d/e","id":"p1","type":"unavailable","lang":"en","attrs":{"x":"1","{urn:u}y":"2","{urn:u}z":"3","{urn:v}w":"4","xml:space":"default"}}`,
			`<presence xmlns='jabber:client' id='p1' type='unavailable' from='c@d/e' to='a@b' xml:lang='en' x='1' xmlns:ns1='urn:u' ns1:y='2' ns1:z='3' xmlns:ns2='urn:v' ns2:w='4' xml:space='default'/>`},
		{"escaping", `{"kind":"message","to":"<&'\"\t\n\r>","body":"<&'\"\t\n\r>]]>"}`,
			`<message xmlns='jabber:client' to='&lt;&amp;&apos;&quot;&#9;&#10;&#13;&gt;'><body>&lt;&amp;'"` + "\t\n" + `&#13;&gt;]]&gt;</body></message>`},
		{"message fields in their order", `{"kind":"message","error":{"condition":"x"},"carbon":{"direction":"sent","message":{"body":"c"}},"delay":{"stamp":"s","from":"f","text":"t"},"received":"r","receipt_request":true,"chat_state":"paused","thread":"t","thread_parent":"p","bodies":[{"lang":"de","text":"d"},{"lang":"fr"}],"body":"b","subjects":[{"lang":"de","text":"s2"}],"subject":"s","payload":["text",{"name":"x","xmlns":"urn:x"}]}`,
			`<message xmlns='jabber:client'><subject>s</subject><subject xml:lang='de'>s2</subject><body>b</body><body xml:lang='de'>d</body><body xml:lang='fr'/><thread parent='p'>t</thread><paused xmlns='http://jabber.org/protocol/chatstates'/><request xmlns='urn:xmpp:receipts'/><received xmlns='urn:xmpp:receipts' id='r'/><delay xmlns='urn:xmpp:delay' stamp='s' from='f'>t</delay><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client'><body>c</body></message></forwarded></sent><error><x xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>text<x xmlns='urn:x'/></message>`},
		{"order", `{"kind":"message","payload":[{"name":"markable","xmlns":"urn:m"},"t"],"chat_state":"active","bodies":[{"lang":"de","text":"d"},{"lang":"fr","text":"f"}],"body":"b","receipt_request":true,"order":["bodies[1]","body","receipt_request","payload[1]","payload[0]","chat_state","bodies[0]"]}`,
			`<message xmlns='jabber:client'><body xml:lang='fr'>f</body><body>b</body><request xmlns='urn:xmpp:receipts'/>t<markable xmlns='urn:m'/><active xmlns='http://jabber.org/protocol/chatstates'/><body xml:lang='de'>d</body></message>`},
		{"order of a carbon's message", `{"kind":"message","carbon":{"direction":"sent","message":{"thread":"t","thread_parent":"p","payload":[{"name":"x"}],"order":["payload[0]","thread"]}},"payload":[{"name":"y"}],"order":["payload[0]","carbon"]}`,
			`<message xmlns='jabber:client'><y/><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client'><x/><thread parent='p'>t</thread></message></forwarded></sent></message>`},
		{"order of a presence", `{"kind":"presence","priority":1,"show":"away","payload":[{"name":"c","xmlns":"http://jabber.org/protocol/caps"}],"order":["payload[0]","show","priority"]}`,
			`<presence xmlns='jabber:client'><c xmlns='http://jabber.org/protocol/caps'/><show>away</show><priority>1</priority></presence>`},
		{"order of an iq", `{"kind":"iq","error":{"condition":"x"},"roster":{},"order":["error","roster"]}`,
			`<iq xmlns='jabber:client'><error><x xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error><query xmlns='jabber:iq:roster'/></iq>`},
		{"order the same as without it", `{"kind":"message","body":"b","payload":[{"name":"x"}],"order":["body","payload[0]"]}`,
			`<message xmlns='jabber:client'><body>b</body><x/></message>`},
		{"empty order", `{"kind":"message","receipt_request":false,"bodies":[],"payload":[],"order":[]}`, `<message xmlns='jabber:client'/>`},
		{"null order is absent", `{"kind":"message","chat_state":"gone","body":"b","order":null}`,
			`<message xmlns='jabber:client'><body>b</body><gone xmlns='http://jabber.org/protocol/chatstates'/></message>`},
		{"carbon with delay", `{"kind":"message","carbon":{"direction":"received","delay":{"stamp":"s"},"message":{"kind":"message","id":"i"}}}`,
			`<message xmlns='jabber:client'><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='s'/><message xmlns='jabber:client' id='i'/></forwarded></received></message>`},
		{"presence fields", `{"kind":"presence","error":{"type":"cancel","condition":"gone","text":"t","text_lang":"en","by":"b","code":"302","app":{"name":"a","xmlns":"urn:a"}},"delay":{"stamp":"s"},"priority":-5,"statuses":[{"lang":"de","text":"weg"}],"status":"away","show":"xa"}`,
			`<presence xmlns='jabber:client'><show>xa</show><status>away</status><status xml:lang='de'>weg</status><priority>-5</priority><delay xmlns='urn:xmpp:delay' stamp='s'/><error type='cancel' by='b' code='302'><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>t</text><a xmlns='urn:a'/></error></presence>`},
		{"priority written as a float", `{"kind":"presence","priority":5.0}`, `<presence xmlns='jabber:client'><priority>5</priority></presence>`},
		{"roster", `{"kind":"iq","type":"set","id":"r","roster":{"ver":"v","items":[{"jid":"a","name":"A","subscription":"both","ask":"subscribe","approved":true,"groups":["g","h"]},{"jid":"b","approved":false}]}}`,
			`<iq xmlns='jabber:client' id='r' type='set'><query xmlns='jabber:iq:roster' ver='v'><item jid='a' name='A' subscription='both' ask='subscribe' approved='true'><group>g</group><group>h</group></item><item jid='b' approved='false'/></query></iq>`},
		{"roster without items", `{"kind":"iq","type":"get","roster":{}}`, `<iq xmlns='jabber:client' type='get'><query xmlns='jabber:iq:roster'/></iq>`},
		{"null is absent", `{"kind":"message","to":null,"body":null,"attrs":{"x":null}}`, `<message xmlns='jabber:client'/>`},
		{"receipt_request false", `{"kind":"message","receipt_request":false}`, `<message xmlns='jabber:client'/>`},
		{"generic namespaces", `{"kind":"iq","payload":[{"name":"q","xmlns":"urn:q","children":[{"name":"a"},{"name":"b","xmlns":""},{"name":"c","xmlns":"jabber:client"},{"name":"l","xmlns":"http://www.w3.org/XML/1998/namespace","children":[{"name":"m"}]}]}]}`,
			`<iq xmlns='jabber:client'><q xmlns='urn:q'><a/><b xmlns=''/><c xmlns='jabber:client'/><xml:l><xml:m/></xml:l></q></iq>`},
		{"element", `{"kind":"element","element":{"name":"enable","xmlns":"urn:xmpp:sm:3","attrs":{"resume":"true"}}}`,
			`<enable xmlns='urn:xmpp:sm:3' resume='true'/>`},
		{"element in jabber:client", `{"kind":"element","element":{"name":"foo"}}`, `<foo xmlns='jabber:client'/>`},
		{"element in no namespace", `{"kind":"element","element":{"name":"foo","xmlns":"","children":[{"name":"bar","xmlns":"u"}]}}`, `<foo xmlns=''><bar xmlns='u'/></foo>`},
		{"element in the xml namespace", `{"kind":"element","element":{"name":"a","xmlns":"http://www.w3.org/XML/1998/namespace","children":[{"name":"b","xmlns":"jabber:client"}]}}`,
			`<xml:a><b xmlns='jabber:client'/></xml:a>`},
		{"many namespaced attributes", `{"kind":"element","element":{"name":"a","attrs":{"{1}a":"","{2}a":"","{3}a":"","{4}a":"","{5}a":"","{6}a":"","{7}a":"","{8}a":"","{9}a":"","{10}a":"","{1}b":"","{10}b":""}}}`,
			`<a xmlns='jabber:client' xmlns:ns1='1' ns1:a='' xmlns:ns2='2' ns2:a='' xmlns:ns3='3' ns3:a='' xmlns:ns4='4' ns4:a='' xmlns:ns5='5' ns5:a='' xmlns:ns6='6' ns6:a='' xmlns:ns7='7' ns7:a='' xmlns:ns8='8' ns8:a='' xmlns:ns9='9' ns9:a='' xmlns:ns10='10' ns10:a='' ns1:b='' ns10:b=''/>`},
		{"namespace with a brace", `{"kind":"element","element":{"name":"a","attrs":{"{urn:}x}b":"1"}}}`,
			`<a xmlns='jabber:client' xmlns:ns1='urn:}x' ns1:b='1'/>`},
		{"escaped JSON strings", `{"kind":"message","body":"\u00e9\ud83d\ude00\/\b"}`, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AppendXML(nil, []byte(tt.json))
			if tt.want == "" {
				if err == nil || !strings.Contains(err.Error(), "body") {
					t.Fatalf("got %s, %v; want a bad-value error for body (\\b is a control character)", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("\n got: %s\nwant: %s", got, tt.want)
			}
			// And back: the JSON may be normalised, but then stays put.
			j, err := AppendJSON(nil, got, "")
			if err != nil {
				t.Fatalf("AppendJSON(%s): %v", got, err)
			}
			checkRoundTrip(t, got, "", j)
		})
	}
}

// TestAppendXMLErrors has a case for every error code.
func TestAppendXMLErrors(t *testing.T) {
	deep := `{"kind":"element","element":` + strings.Repeat(`{"name":"a","children":[`, 64) + `{"name":"b"}` + strings.Repeat(`]}`, 64) + `}`
	deepJSON := `{"kind":"message","payload":` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `}`
	tests := []struct {
		name, json, code, field string
	}{
		{"not JSON", `{"kind":`, CodeBadJSON, ""},
		{"not an object", `["message"]`, CodeBadJSON, ""},
		{"trailing data", `{"kind":"message"} x`, CodeBadJSON, ""},
		{"duplicate member", `{"kind":"message","body":"a","body":"b"}`, CodeBadJSON, ""},
		{"raw control character", "{\"kind\":\"message\",\"body\":\"a\x01\"}", CodeBadJSON, ""},
		{"bad escape", `{"kind":"message","body":"\x"}`, CodeBadJSON, ""},
		{"no kind", `{"body":"x"}`, CodeUnknownKind, "kind"},
		{"kind not a string", `{"kind":1}`, CodeUnknownKind, "kind"},
		{"control kind", `{"kind":"login"}`, CodeUnknownKind, "kind"},
		{"missing name", `{"kind":"message","payload":[{"xmlns":"u"}]}`, CodeMissingField, "payload[0].name"},
		{"missing element", `{"kind":"element"}`, CodeMissingField, "element"},
		{"missing stamp", `{"kind":"message","delay":{"from":"x"}}`, CodeMissingField, "delay.stamp"},
		{"missing condition", `{"kind":"iq","error":{"type":"cancel"}}`, CodeMissingField, "error.condition"},
		{"text_lang without text", `{"kind":"iq","error":{"condition":"x","text_lang":"en"}}`, CodeMissingField, "error.text"},
		{"thread_parent without thread", `{"kind":"message","thread_parent":"p"}`, CodeMissingField, "thread"},
		{"missing lang", `{"kind":"message","bodies":[{"text":"x"}]}`, CodeMissingField, "bodies[0].lang"},
		{"missing direction", `{"kind":"message","carbon":{"message":{}}}`, CodeMissingField, "carbon.direction"},
		{"missing carbon message", `{"kind":"message","carbon":{"direction":"sent"}}`, CodeMissingField, "carbon.message"},
		{"unknown field", `{"kind":"message","bodyy":"x"}`, CodeBadValue, "bodyy"},
		{"field of another kind", `{"kind":"iq","body":"x"}`, CodeBadValue, "body"},
		{"wrong type", `{"kind":"message","body":1}`, CodeBadValue, "body"},
		{"not a name", `{"kind":"message","payload":[{"name":"a b"}]}`, CodeBadValue, "payload[0].name"},
		{"name with a colon", `{"kind":"message","payload":[{"name":"p:a"}]}`, CodeBadValue, "payload[0].name"},
		{"control character", `{"kind":"message","body":"a\u0000"}`, CodeBadValue, "body"},
		{"U+FFFE", `{"kind":"message","body":"\ufffe"}`, CodeBadValue, "body"},
		{"lone surrogate", `{"kind":"message","body":"\ud800"}`, CodeBadValue, "body"},
		{"invalid UTF-8", "{\"kind\":\"message\",\"to\":\"\xff\"}", CodeBadValue, "to"},
		{"invalid UTF-8 in a key", "{\"kind\":\"message\",\"attrs\":{\"\xff\":\"x\"}}", CodeBadValue, "attrs"},
		{"bad attribute name", `{"kind":"message","payload":[{"name":"a","attrs":{"1x":"y"}}]}`, CodeBadValue, `payload[0].attrs["1x"]`},
		{"xmlns as attribute", `{"kind":"message","payload":[{"name":"a","attrs":{"xmlns":"u"}}]}`, CodeBadValue, "payload[0].attrs.xmlns"},
		{"xmlns namespace attribute", `{"kind":"element","element":{"name":"a","attrs":{"{http://www.w3.org/2000/xmlns/}p":"u"}}}`, CodeBadValue, `element.attrs["{http://www.w3.org/2000/xmlns/}p"]`},
		{"xml namespace in braces", `{"kind":"element","element":{"name":"a","attrs":{"{http://www.w3.org/XML/1998/namespace}lang":"en"}}}`, CodeBadValue, `element.attrs["{http://www.w3.org/XML/1998/namespace}lang"]`},
		{"empty namespace in braces", `{"kind":"element","element":{"name":"a","attrs":{"{}a":"1"}}}`, CodeBadValue, `element.attrs["{}a"]`},
		{"stanza attribute in attrs", `{"kind":"message","attrs":{"to":"x"}}`, CodeBadValue, "attrs.to"},
		{"xml:lang in attrs", `{"kind":"message","attrs":{"xml:lang":"en"}}`, CodeBadValue, `attrs["xml:lang"]`},
		{"element in xmlns namespace", `{"kind":"message","payload":[{"name":"a","xmlns":"http://www.w3.org/2000/xmlns/"}]}`, CodeBadValue, "payload[0].xmlns"},
		{"unknown element field", `{"kind":"message","payload":[{"name":"a","text":"x"}]}`, CodeBadValue, "payload[0].text"},
		{"child not string or object", `{"kind":"message","payload":[1]}`, CodeBadValue, "payload[0]"},
		{"chat state", `{"kind":"message","chat_state":"typing"}`, CodeBadValue, "chat_state"},
		{"show", `{"kind":"presence","show":"online"}`, CodeBadValue, "show"},
		{"priority out of range", `{"kind":"presence","priority":128}`, CodeBadValue, "priority"},
		{"priority not an integer", `{"kind":"presence","priority":1.5}`, CodeBadValue, "priority"},
		{"receipt_request", `{"kind":"message","receipt_request":"yes"}`, CodeBadValue, "receipt_request"},
		{"approved", `{"kind":"iq","roster":{"items":[{"approved":"true"}]}}`, CodeBadValue, "roster.items[0].approved"},
		{"direction", `{"kind":"message","carbon":{"direction":"up","message":{}}}`, CodeBadValue, "carbon.direction"},
		{"carbon message kind", `{"kind":"message","carbon":{"direction":"sent","message":{"kind":"iq"}}}`, CodeBadValue, "carbon.message.kind"},
		{"condition text", `{"kind":"iq","error":{"condition":"text"}}`, CodeBadValue, "error.condition"},
		{"app in the stanzas namespace", `{"kind":"iq","error":{"condition":"x","app":{"name":"y","xmlns":"urn:ietf:params:xml:ns:xmpp-stanzas"}}}`, CodeBadValue, "error.app.xmlns"},
		{"element that is a stanza", `{"kind":"element","element":{"name":"message"}}`, CodeBadValue, "element.name"},
		{"order not an array", `{"kind":"message","body":"b","order":"body"}`, CodeBadValue, "order"},
		{"order entry not a string", `{"kind":"message","body":"b","order":[1]}`, CodeBadValue, "order[0]"},
		{"order names an unknown field", `{"kind":"message","body":"b","order":["body","foo"]}`, CodeBadValue, "order[1]"},
		{"order names a field of another kind", `{"kind":"iq","roster":{},"order":["roster","body"]}`, CodeBadValue, "order[1]"},
		{"order names thread_parent", `{"kind":"message","thread":"t","thread_parent":"p","order":["thread","thread_parent"]}`, CodeBadValue, "order[1]"},
		{"order names kind", `{"kind":"message","order":["kind"]}`, CodeBadValue, "order[0]"},
		{"order names an absent field", `{"kind":"message","body":"b","order":["body","subject"]}`, CodeBadValue, "order[1]"},
		{"order names a null field", `{"kind":"message","body":null,"order":["body"]}`, CodeBadValue, "order[0]"},
		{"order names receipt_request false", `{"kind":"message","receipt_request":false,"order":["receipt_request"]}`, CodeBadValue, "order[0]"},
		{"false field named in order", `{"kind":"message","body":false,"order":["body"]}`, CodeBadValue, "body"},
		{"false field not named in order", `{"kind":"message","body":false,"order":[]}`, CodeBadValue, "order"},
		{"receipt_request of another type with order", `{"kind":"message","receipt_request":"yes","order":["receipt_request"]}`, CodeBadValue, "receipt_request"},
		{"order lists a field twice", `{"kind":"message","body":"b","order":["body","body"]}`, CodeBadValue, "order[1]"},
		{"order lists an entry twice", `{"kind":"message","payload":["a","b"],"order":["payload[1]","payload[0]","payload[1]"]}`, CodeBadValue, "order[2]"},
		{"order misses a field", `{"kind":"message","body":"b","chat_state":"active","order":["body"]}`, CodeBadValue, "order"},
		{"order misses receipt_request", `{"kind":"message","receipt_request":true,"order":[]}`, CodeBadValue, "order"},
		{"order misses a payload entry", `{"kind":"message","payload":["a",{"name":"x"}],"order":["payload[1]"]}`, CodeBadValue, "order"},
		{"order misses a list entry", `{"kind":"presence","statuses":[{"lang":"a"},{"lang":"b"}],"order":["statuses[1]"]}`, CodeBadValue, "order"},
		{"list field without an index", `{"kind":"message","bodies":[{"lang":"de"}],"order":["bodies"]}`, CodeBadValue, "order[0]"},
		{"payload without an index", `{"kind":"message","payload":["a"],"order":["payload"]}`, CodeBadValue, "order[0]"},
		{"field with an index", `{"kind":"message","body":"b","order":["body[0]"]}`, CodeBadValue, "order[0]"},
		{"index out of range", `{"kind":"message","payload":["a"],"order":["payload[0]","payload[1]"]}`, CodeBadValue, "order[1]"},
		{"index of an empty list", `{"kind":"message","bodies":[],"order":["bodies[0]"]}`, CodeBadValue, "order[0]"},
		{"index with a leading zero", `{"kind":"message","payload":["a"],"order":["payload[00]"]}`, CodeBadValue, "order[0]"},
		{"negative index", `{"kind":"message","payload":["a"],"order":["payload[-1]"]}`, CodeBadValue, "order[0]"},
		{"index with a sign", `{"kind":"message","payload":["a"],"order":["payload[+0]"]}`, CodeBadValue, "order[0]"},
		{"index too large", `{"kind":"message","payload":["a"],"order":["payload[4294967296]"]}`, CodeBadValue, "order[0]"},
		{"unclosed index", `{"kind":"message","payload":["a"],"order":["payload[0"]}`, CodeBadValue, "order[0]"},
		{"index with space", `{"kind":"message","payload":["a"],"order":["payload[ 0]"]}`, CodeBadValue, "order[0]"},
		{"order entry with brackets only", `{"kind":"message","payload":["a"],"order":["[","]","[]","payload[]",""]}`, CodeBadValue, "order[0]"},
		{"list not an array with order", `{"kind":"message","bodies":{},"order":[]}`, CodeBadValue, "bodies"},
		{"payload not an array with order", `{"kind":"message","payload":"x","order":[]}`, CodeBadValue, "payload"},
		{"order in a carbon's message", `{"kind":"message","carbon":{"direction":"sent","message":{"body":"b","order":["body","chat_state"]}}}`, CodeBadValue, "carbon.message.order[1]"},
		{"order on an element frame", `{"kind":"element","element":{"name":"a"},"order":[]}`, CodeBadValue, "order"},
		{"order inside an element", `{"kind":"element","element":{"name":"a","order":[]}}`, CodeBadValue, "element.order"},
		{"too deep", deep, CodeTooLarge, ""},
		{"JSON too deep", deepJSON, CodeTooLarge, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []byte("keep")
			out, err := AppendXML(dst, []byte(tt.json))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %s, %v; want an *Error", out, err)
			}
			if e.Code != tt.code || tt.field != "" && e.Field != tt.field {
				t.Fatalf("got %s at %q (%v); want %s at %q", e.Code, e.Field, e, tt.code, tt.field)
			}
			if string(out) != "keep" {
				t.Fatalf("dst changed: %q", out)
			}
		})
	}
}

func TestPeek(t *testing.T) {
	tests := []struct {
		name, json, kind, id, code string
	}{
		{"stanza", `{"kind":"message","id":"m1","payload":[{"name":"x","children":["}\"{"]}]}`, "message", "m1", ""},
		{"id first", ` {"id":"l1", "jid":"a@b", "kind":"login"} `, "login", "l1", ""},
		{"escaped", `{"kind":"\u0063lose"}`, "close", "", ""},
		{"no kind", `{"id":"x"}`, "", "x", ""},
		{"empty", `{}`, "", "", ""},
		{"kind not a string", `{"kind":{"a":1},"id":"x"}`, "", "x", CodeUnknownKind},
		{"id not a string", `{"kind":"iq","id":5}`, "iq", "", CodeBadValue},
		{"not an object", `"message"`, "", "", CodeBadJSON},
		{"truncated", `{"kind":"message","body":"x`, "message", "", CodeBadJSON},
		{"missing value", `{"kind":"message","body":}`, "message", "", CodeBadJSON},
		{"trailing", `{"kind":"message"}{}`, "message", "", CodeBadJSON},
		{"duplicate kind", `{"kind":"message","kind":"iq"}`, "message", "", CodeBadJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind, id, err := Peek([]byte(tt.json))
			if kind != tt.kind || id != tt.id {
				t.Errorf("got %q, %q; want %q, %q", kind, id, tt.kind, tt.id)
			}
			var e *Error
			switch {
			case tt.code == "" && err != nil:
				t.Errorf("err = %v", err)
			case tt.code != "" && (!errors.As(err, &e) || e.Code != tt.code):
				t.Errorf("err = %v; want %s", err, tt.code)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	tests := []struct{ json, want string }{
		{`{"kind":"message","payload":[{"name":"a","attrs":{"b c":"x"}}]}`,
			`jsonxlate: bad-value at payload[0].attrs["b c"]: "b c" is not an attribute name`},
		{`{"kind":"message","body":"b","payload":["a","b"],"order":["payload[1]","body"]}`,
			`jsonxlate: bad-value at order: does not name payload[0]`},
		{`{"kind":"message","body":"b","order":["bodies"]}`,
			`jsonxlate: bad-value at order[0]: "bodies" needs an index, as in bodies[0]`},
		{`{"kind":"message","body":"b","order":["body[0]"]}`,
			`jsonxlate: bad-value at order[0]: "body[0]": body is not an array`},
		{`{"kind":"message","payload":["a"],"order":["payload[3]"]}`,
			`jsonxlate: bad-value at order[0]: "payload[3]" names no entry: payload has 1 entry`},
	}
	for _, tt := range tests {
		_, err := AppendXML(nil, []byte(tt.json))
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s:\n got %v\nwant %s", tt.json, err, tt.want)
		}
	}
}
