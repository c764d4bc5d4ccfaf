package xmlsplit

import "strconv"

func (e *SyntaxError) Error() string {
	return "xmlsplit: " + e.Msg + " (at byte " + strconv.Itoa(e.Offset) + ")"
}

// String returns the name of the stream error condition (RFC 6120 §4.9.3)
// that c maps onto.
func (c Condition) String() string {
	switch c {
	case NotWellFormed:
		return "not-well-formed"
	case RestrictedXML:
		return "restricted-xml"
	case PolicyViolation:
		return "policy-violation"
	}
	return "Condition(" + strconv.Itoa(int(c)) + ")"
}
