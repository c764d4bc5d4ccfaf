package jsonxlate

// iq is <iq/> (RFC 6120 §8.2.3) with its friendly fields in their fixed
// order.
var iq = stanzaKind{name: "iq", what: "an iq", fields: []friendlyField{
	rosterField,
	errorField,
}}
