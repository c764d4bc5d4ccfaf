// Package xmlsplit finds the top-level elements of XMPP XML and checks that
// they are well-formed, without building a tree: it works on byte slices and
// reports offsets into them, so the bridge can relay stanzas byte for byte.
//
// It accepts only the XML that RFC 6120 §11 allows on an XMPP stream: no
// comments, processing instructions (but for a leading XML declaration on a
// stream), DTDs or entity references other than the five predefined ones and
// character references. Namespace prefixes must be declared before use; the
// caller learns which prefixes an element borrows from its context so it can
// declare them when the element is sent on its own.
//
// What a server relays comes partly from third parties, and one odd stanza
// must not end a stream whose framing is intact: a Tolerant Splitter hands
// over an element that breaks only rules concerning that element (XML
// Namespaces, unique attributes, depth) with Item.Fault set, and Repair
// makes the one such fault servers produce — the XML namespace declared
// under another name — namespace-well-formed again.
//
// Parse and the Splitter take time linear in their input, even input built
// to make lookups slow (many attributes or namespace declarations), and a
// Splitter fed a large element in many small pieces never scans it twice.
//
// Concurrency: a Splitter is owned by one goroutine. Parse is safe for
// concurrent use. Neither keeps a reference to the bytes it is given beyond
// the call, except that results alias those bytes; the Attrs and Borrowed
// slices of a Splitter's items belong to the Splitter and are reused by its
// next call.
package xmlsplit
