// Package jsonxlate converts XMPP stanzas between XML and JSON, losslessly,
// by the mapping of docs/json.md (Version 1): message, presence and iq get
// friendly fields (body, chat_state, roster, error, ...) for the children
// that fit them exactly, wherever they stand (an "order" member keeps the
// document order when it is not the usual one), and everything else keeps
// a generic element form, so that XML → JSON → XML gives back the same
// element up to prefixes, attribute order, quoting, character-reference
// spelling and white space between the children of a stanza.
//
// AppendJSON is the hot path, run for every stanza to every browser on the
// JSON API: it checks the element with xmlsplit, then writes JSON straight
// from the element's bytes, with no reflection, no maps and, once warm, no
// allocation of its own. AppendXML turns a frame from the browser into an
// element to write upstream, rejecting anything that would not be
// well-formed, namespace-well-formed XML 1.0 with an *Error that names the
// field. Peek reads a frame's kind and id for transports that handle some
// kinds (login, close) themselves.
//
// Concurrency: every function is safe for concurrent use; none keeps a
// reference to its arguments after it returns.
package jsonxlate
