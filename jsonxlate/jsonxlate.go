package jsonxlate

// Version is the version of the mapping that this package implements
// (docs/json.md). A change that gives any stanza a different JSON form is a
// new version.
const Version = 1

// The codes of an Error. They are also the codes of the JSON API's error
// frames (docs/json-api.md), so a transport can pass an Error on as it is.
const (
	CodeBadJSON       = "bad-json"        // not one JSON object, or not JSON at all
	CodeUnknownKind   = "unknown-kind"    // kind missing, not a string, or not one this package converts
	CodeMissingField  = "missing-field"   // a required field is absent
	CodeBadValue      = "bad-value"       // a field's value has the wrong type or cannot be written as XML
	CodeTooLarge      = "too-large"       // nested deeper than XMPP servers accept
	CodeNotWellFormed = "not-well-formed" // AppendJSON: the element is not well-formed XML
)

// Error is what AppendXML, AppendJSON and Peek return for input they cannot
// convert.
type Error struct {
	// Code is one of the Code constants.
	Code string
	// Field is the path of the offending field in the JSON object, such as
	// "payload[2].attrs.type" or "error.condition"; empty when the problem
	// is not in one field.
	Field string
	// Text says what is wrong, for people.
	Text string
}

func (e *Error) Error() string {
	s := "jsonxlate: " + e.Code
	if e.Field != "" {
		s += " at " + e.Field
	}
	if e.Text != "" {
		s += ": " + e.Text
	}
	return s
}

// Namespaces every part of the mapping uses; those of one friendly field
// are in its file.
const (
	nsClient = "jabber:client"
	nsXML    = "http://www.w3.org/XML/1998/namespace"
	nsXMLNS  = "http://www.w3.org/2000/xmlns/"
)
