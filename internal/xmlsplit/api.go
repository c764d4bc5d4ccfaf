package xmlsplit

// This file is the package's contract; the bodies live in the files named
// after each concern (split.go, parse.go, errors.go).

// Condition names the class of a syntax error, so callers can map it onto a
// stream error condition (RFC 6120 §4.9.3).
type Condition uint8

const (
	// NotWellFormed: the bytes are not well-formed XML or XML namespaces
	// (unbalanced tags, bad names, bad attributes, bad characters, undeclared
	// prefixes, duplicate attributes, text at stream level).
	NotWellFormed Condition = iota + 1
	// RestrictedXML: comments, processing instructions, DTDs or entity
	// references other than the predefined ones (RFC 6120 §11.1).
	RestrictedXML
	// PolicyViolation: a limit was exceeded (element size or nesting depth).
	PolicyViolation
)

// SyntaxError reports why input was rejected and where.
type SyntaxError struct {
	Cond   Condition
	Offset int    // byte offset into the input where the problem was found
	Msg    string // human-readable reason, without the package prefix
}

// Limits bounds what the parser accepts. The zero value means the defaults.
type Limits struct {
	// MaxBytes is the largest top-level element accepted, in bytes.
	// Zero means 256 KiB.
	MaxBytes int
	// MaxDepth is the deepest element nesting accepted inside one top-level
	// element (the top-level element itself is depth 1). Zero means 64.
	MaxDepth int
}

// Attr is one attribute of a start tag, as it appears on the wire: Name is the
// qualified name (for example "xml:lang" or "xmlns:stream") and Value is the
// raw attribute value without quotes and with entity references NOT decoded.
// Use Unescape to decode a value.
type Attr struct {
	Name  []byte
	Value []byte
}

// Element describes one element found in the input. All byte slices alias
// the input, and are capped so that appending to one never writes into it.
type Element struct {
	// Raw is the whole element, from '<' to the final '>'.
	Raw []byte
	// Name is the qualified name of the element, e.g. "message" or
	// "stream:features".
	Name []byte
	// NSAt is the offset in Raw just after the element's name, where
	// namespace declarations can be inserted (" xmlns='…'").
	NSAt int
	// DeclaresDefault reports whether the element's own start tag declares
	// the default namespace (an xmlns attribute).
	DeclaresDefault bool
	// Borrowed lists the prefixes (without the colon) used in Raw, on any
	// element or attribute name, that Raw does not declare itself, in the
	// order first used; "xml" is never listed. Nil when there are none.
	Borrowed [][]byte
	// Attrs are the attributes of the element's own start tag, namespace
	// declarations included, in document order.
	Attrs []Attr
	// Children are the element's direct child elements, in order; filled
	// only by Parse when asked (ParseOptions.Children).
	Children []Element
	// SelfClosing reports whether the element was written as <x/>.
	SelfClosing bool
}

// Kind says what a Splitter found at stream level.
type Kind uint8

const (
	// KindElement: a complete child of the stream root (a stanza, features,
	// a stream error, a SASL element, ...).
	KindElement Kind = iota + 1
	// KindOpen: a stream header, <stream:stream ...>, including one that
	// restarts the stream (after STARTTLS or SASL). Element holds its start
	// tag (Raw is the start tag only; Children is empty).
	KindOpen
	// KindClose: the end of the stream, </stream:stream>.
	KindClose
)

// Item is one thing a Splitter found.
type Item struct {
	Kind    Kind
	Element Element // for KindElement and KindOpen; only Raw, Name and NSAt for KindClose
	// Fault, for a KindElement item of a Tolerant Splitter, is the first
	// rule the element breaks that concerns it alone (Offset into the
	// buffer given to Split); nil when it breaks none. Such an element
	// must not be relayed as it is.
	Fault *SyntaxError
}

// ParseOptions tunes Parse. The zero value checks the element and fills in
// everything but Children.
type ParseOptions struct {
	Limits
	// Children asks Parse to describe the direct children of the element.
	Children bool
	// Context lists the prefixes the element may use without declaring them
	// (for example "stream" inside a stream header). Any other undeclared
	// prefix is a NotWellFormed error. Borrowed still reports them.
	Context [][]byte
}

// The functions and methods below are specified here and implemented in
// parse.go, split.go, repair.go and chars.go.
//
//	// Parse checks that b holds exactly one well-formed element, optionally
//	// surrounded by whitespace, and describes it. No XML declaration is
//	// accepted. Errors are *SyntaxError. Attrs, Borrowed and Children of
//	// the result are allocated for it and belong to the caller.
//	func Parse(b []byte, opt ParseOptions) (Element, error)
//
//	// Attr returns the raw value of the start-tag attribute with the given
//	// qualified name.
//	func (e *Element) Attr(name string) (value []byte, ok bool)
//
//	// Unescape appends the decoded form of a raw attribute value or text
//	// (predefined entity and character references) to dst.
//	func Unescape(dst, raw []byte) ([]byte, error)
//
//	// Splitter splits an XMPP stream (RFC 6120 §4) into stream headers,
//	// top-level elements and the stream end. Its zero value is ready to use,
//	// with Limits' defaults.
//	type Splitter struct { Limits; ... }
//
//	// Split looks for the next item at the start of buf, which holds all
//	// bytes not yet consumed. It returns the item and how many bytes it
//	// consumed (whitespace before the item included). n == 0 with a nil error
//	// means buf holds no complete item yet: call again with more bytes
//	// appended. Whitespace alone is consumed without an item (Kind 0, n > 0),
//	// and so are whitespace and an XML declaration before an item that is
//	// not complete yet.
//	// The Splitter remembers how far it scanned a partial item, so the total
//	// cost stays linear when a large element arrives in many pieces, as long
//	// as the caller passes the same unconsumed bytes again with more
//	// appended. An element over MaxBytes is a PolicyViolation error as soon as
//	// more than MaxBytes of it are buffered. An optional XML declaration may
//	// precede a stream header. A new stream header is accepted at stream
//	// level at any time (a restart) and replaces the namespace context. A
//	// top-level element may use prefixes bound by the current stream header;
//	// any other undeclared prefix is NotWellFormed.
//	// A KindClose item's Element has Raw and Name set (the end tag and its
//	// name). Attrs and Borrowed of an item are kept in the Splitter and are
//	// valid only until the next call of Split or Reset. After an error Split
//	// returns it again until Reset.
//	func (s *Splitter) Split(buf []byte) (it Item, n int, err error)
//
//	// Reset forgets all stream state, as at the start of a new connection.
//	func (s *Splitter) Reset()
//
//	// Namespace returns the namespace the current stream header binds to
//	// prefix (nil or empty prefix: the default namespace) and whether it is
//	// bound.
//	func (s *Splitter) Namespace(prefix []byte) (string, bool)
//
//	// Repair rewrites an element that is well-formed XML but declares the
//	// XML namespace as the default namespace or under another prefix into
//	// the namespace-well-formed equivalent (names written xml:…), and fails
//	// for every other fault (repair.go).
//	func Repair(b []byte, opt ParseOptions) ([]byte, error)
//
//	// String returns the stream error condition's name, e.g. "not-well-formed".
//	func (c Condition) String() string
