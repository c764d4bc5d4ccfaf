package jsonxlate

// A friendlyField is one friendly field of a stanza (docs/json.md): a
// member of its JSON object that stands for a child element of one kind,
// such as "body" for <body>text</body>. Each kind of stanza lists its
// fields in a table (message, presence, iq) in their fixed order: the order
// in which AppendXML writes their children when the object has no "order",
// and in which AppendJSON writes the members. The table is all that ties
// the two directions of a field together.
type friendlyField struct {
	name string // the member

	// ns and local are the expanded name of the children the field can
	// stand for; local is empty when fits takes several names (the chat
	// states, the two directions of a carbon).
	ns, local string

	// list: the member is an array with an entry {"lang", "text"} for
	// each child <local xml:lang='…'>text</local> (subjects, bodies,
	// statuses). Such a field has no toJSON or toXML: every list is
	// written by langTextEntry and langEntry.
	list bool

	// with names a second member that belongs to the field's child
	// without standing for one of its own: "thread_parent", the parent
	// attribute of <thread/>. toJSON writes it, toXML is given it, and it
	// may not be there without the field.
	with string

	// falseIsNone: the member may be false, which stands for no child
	// ("receipt_request": false).
	falseIsNone bool

	// fits reports whether the child element at idx, whose expanded name
	// matched, can be shown as the field: whether its JSON gives back the
	// same element. The first child that fits a field is shown as it (each
	// one that fits, for a list); the others stay in payload.
	fits func(c *toJSON, idx int32) bool

	// toJSON writes the member's value for the child at idx (the caller
	// has written the member's name), then the with member if the child
	// has it.
	toJSON func(c *toJSON, dst []byte, idx int32) []byte

	// toXML writes the child for the member's value v; with is the with
	// member, -1 when absent. p is the path of the stanza, not of the
	// member: each function makes its member's path itself where it uses
	// one, since a path handed through a function value would go to the
	// heap on every call.
	toXML func(w *xmlWriter, v, with int32, p *path) *Error
}

// maxFields bounds the friendly fields of one kind of stanza, so that a
// conversion keeps its bookkeeping in fixed arrays and bit masks.
const maxFields = 16

// A stanzaKind is message, presence or iq: the stanzas with friendly
// fields.
type stanzaKind struct {
	name   string // the element's local name and the object's "kind"
	what   string // "a message", for errors
	fields []friendlyField
}

// fieldIndex returns the index of the friendly field of k named name, or
// -1.
func (k *stanzaKind) fieldIndex(name string) int {
	for i := range k.fields {
		if k.fields[i].name == name {
			return i
		}
	}
	return -1
}

// message is filled in by init rather than where it is declared: its
// carbon field converts a message, so the table is used by one of its own
// entries, which a declaration may not do.
var message stanzaKind

func init() {
	message = stanzaKind{name: "message", what: "a message", fields: []friendlyField{
		subjectField,
		subjectsField,
		bodyField,
		bodiesField,
		threadField,
		chatStateField,
		receiptRequestField,
		receivedField,
		delayField,
		carbonField,
		errorField,
	}}
}

var presence = stanzaKind{name: "presence", what: "a presence", fields: []friendlyField{
	showField,
	statusField,
	statusesField,
	priorityField,
	delayField,
	errorField,
}}

var iq = stanzaKind{name: "iq", what: "an iq", fields: []friendlyField{
	rosterField,
	errorField,
}}

var subjectField = friendlyField{name: "subject", ns: nsClient, local: "subject",
	fits: (*toJSON).plainText, toJSON: (*toJSON).textValue, toXML: (*xmlWriter).subject}

var subjectsField = friendlyField{name: "subjects", ns: nsClient, local: "subject", list: true, fits: (*toJSON).langText}

var bodyField = friendlyField{name: "body", ns: nsClient, local: "body",
	fits: (*toJSON).plainText, toJSON: (*toJSON).textValue, toXML: (*xmlWriter).body}

var bodiesField = friendlyField{name: "bodies", ns: nsClient, local: "body", list: true, fits: (*toJSON).langText}

var statusField = friendlyField{name: "status", ns: nsClient, local: "status",
	fits: (*toJSON).plainText, toJSON: (*toJSON).textValue, toXML: (*xmlWriter).status}

var statusesField = friendlyField{name: "statuses", ns: nsClient, local: "status", list: true, fits: (*toJSON).langText}

var threadField = friendlyField{name: "thread", with: "thread_parent", ns: nsClient, local: "thread",
	fits: (*toJSON).isThread, toJSON: (*toJSON).thread, toXML: (*xmlWriter).thread}

var chatStateField = friendlyField{name: "chat_state", ns: nsChatStates,
	fits: (*toJSON).isChatState, toJSON: (*toJSON).chatState, toXML: (*xmlWriter).chatState}

var receiptRequestField = friendlyField{name: "receipt_request", ns: nsReceipts, local: "request", falseIsNone: true,
	fits: (*toJSON).isReceiptRequest, toJSON: (*toJSON).receiptRequest, toXML: (*xmlWriter).receiptRequest}

var receivedField = friendlyField{name: "received", ns: nsReceipts, local: "received",
	fits: (*toJSON).isReceived, toJSON: (*toJSON).received, toXML: (*xmlWriter).received}

var delayField = friendlyField{name: "delay", ns: nsDelay, local: "delay",
	fits: (*toJSON).isDelay, toJSON: (*toJSON).delay,
	toXML: func(w *xmlWriter, v, _ int32, p *path) *Error { return w.delay(v, field(p, "delay")) }}

var carbonField = friendlyField{name: "carbon", ns: nsCarbons,
	fits: (*toJSON).isCarbon, toJSON: (*toJSON).carbon,
	toXML: func(w *xmlWriter, v, _ int32, p *path) *Error { return w.carbon(v, field(p, "carbon")) }}

var errorField = friendlyField{name: "error", ns: nsClient, local: "error",
	fits: (*toJSON).isError, toJSON: (*toJSON).stanzaError,
	toXML: func(w *xmlWriter, v, _ int32, p *path) *Error { return w.stanzaError(v, field(p, "error")) }}

var showField = friendlyField{name: "show", ns: nsClient, local: "show",
	fits: (*toJSON).isShow, toJSON: (*toJSON).textValue, toXML: (*xmlWriter).show}

var priorityField = friendlyField{name: "priority", ns: nsClient, local: "priority",
	fits: (*toJSON).isPriority, toJSON: (*toJSON).priority, toXML: (*xmlWriter).priority}

var rosterField = friendlyField{name: "roster", ns: nsRoster, local: "query",
	fits: (*toJSON).isRoster, toJSON: (*toJSON).roster,
	toXML: func(w *xmlWriter, v, _ int32, p *path) *Error { return w.roster(v, field(p, "roster")) }}
