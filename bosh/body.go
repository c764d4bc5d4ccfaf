package bosh

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
)

// Namespaces of XEP-0124, XEP-0206 and RFC 6120.
const (
	nsHTTPBind = "http://jabber.org/protocol/httpbind"
	nsXBOSH    = "urn:xmpp:xbosh"
	nsStream   = "http://etherx.jabber.org/streams"
	nsClient   = "jabber:client"
)

// maxRID is the largest rid XEP-0124 §14.1 allows: 2^53 - 1, the largest
// integer a JavaScript number holds exactly.
const maxRID = 1<<53 - 1

// maxAttrInt bounds the integers read from wait, hold and pause: larger
// values are clamped anyway, and this keeps the arithmetic far from
// overflow.
const maxAttrInt = 1 << 30

// body is one parsed request <body/>.
type body struct {
	rid    uint64
	sid    string
	ack    uint64
	hasAck bool
	// typ is the 'type' attribute: "" or "terminate" (anything else is
	// refused while parsing).
	typ string

	// Session creation attributes (XEP-0124 §7.1, XEP-0206 §3).
	to, route, from, lang, ver, content, xmppVersion string
	wait, hold                                       int
	hasWait, hasHold                                 bool

	pause    int
	hasPause bool
	key      string
	newkey   string
	restart  bool   // xmpp:restart='true' (XEP-0206 §5)
	stream   string // XEP-0124 §16 multiple streams; never offered here

	// payloads are the children, each ready to go upstream on its own
	// (declarations borrowed from the <body/> inserted). They alias one
	// buffer allocated for the request.
	payloads [][]byte
}

// empty reports whether the request carries nothing but its rid: no
// payloads and no pause, terminate or restart (XEP-0124 §11, §12).
func (b *body) empty() bool {
	return len(b.payloads) == 0 && !b.hasPause && b.typ == "" && !b.restart
}

// bindError is a terminal binding condition (XEP-0124 §17.2) found in a
// request: the reason the bridge session ends for, which names the
// condition, and a text for the log.
type bindError struct {
	reason bridge.Reason
	text   string
}

// cond is the terminal binding condition.
func (e *bindError) cond() string { return e.reason.BOSHCondition() }

func (e *bindError) Error() string {
	s := "bosh: " + e.cond()
	if e.text != "" {
		s += ": " + e.text
	}
	return s
}

func badRequest(reason bridge.Reason, text string) *bindError {
	return &bindError{reason: reason, text: text}
}

// parseLimits bounds parsing one request.
type parseLimits struct {
	maxBody   int // the whole <body/>
	maxStanza int // one child
}

// parseBody checks one request body and describes it. Errors are
// *bindError.
func parseBody(b []byte, lim parseLimits) (*body, *bindError) {
	b, berr := skipDeclaration(b)
	if berr != nil {
		return nil, berr
	}
	el, err := xmlsplit.Parse(b, xmlsplit.ParseOptions{
		Limits:   xmlsplit.Limits{MaxBytes: lim.maxBody},
		Children: true,
	})
	if err != nil {
		return nil, syntaxError(err)
	}
	prefix, local := splitName(el.Name)
	if string(local) != "body" {
		return nil, badRequest(bridge.ReasonBadFormat, "the root element must be <body/>")
	}
	decls := declarations(&el)
	if !bound(decls, prefix, nsHTTPBind) {
		return nil, badRequest(bridge.ReasonInvalidNamespace, "<body/> must be in the "+nsHTTPBind+" namespace")
	}
	if err := onlyChildren(&el); err != nil {
		return nil, err
	}
	r := &body{}
	if err := r.attrs(&el, decls); err != nil {
		return nil, err
	}
	if err := r.children(&el, decls, prefix, lim.maxStanza); err != nil {
		return nil, err
	}
	return r, nil
}

// skipDeclaration returns b without the XML declaration it may begin with.
// The <body/> and its content are an XML document (XEP-0124 §6), which may
// open with one, though no client in use sends it. Only XML 1.x in UTF-8 is
// accepted: no 'charsets' are offered (§7.2).
func skipDeclaration(b []byte) ([]byte, *bindError) {
	const target = "<?xml"
	if len(b) <= len(target) || string(b[:len(target)]) != target || !isSpace(b[len(target)]) {
		return b, nil
	}
	end := bytes.Index(b, []byte("?>"))
	if end < 0 {
		return nil, badRequest(bridge.ReasonNotWellFormed, "unterminated XML declaration")
	}
	p := b[len(target):end]
	names := [...]string{"version", "encoding", "standalone"}
	next := 0
	for {
		q := skipSpace(p, 0)
		if q == len(p) {
			break
		}
		if q == 0 {
			return nil, badRequest(bridge.ReasonNotWellFormed, "whitespace expected in the XML declaration")
		}
		name, rest, ok := bytes.Cut(p[q:], []byte("="))
		if !ok {
			return nil, badRequest(bridge.ReasonNotWellFormed, "'=' expected in the XML declaration")
		}
		name = bytes.TrimRight(name, " \t\r\n")
		rest = rest[skipSpace(rest, 0):]
		if len(rest) == 0 || rest[0] != '\'' && rest[0] != '"' {
			return nil, badRequest(bridge.ReasonNotWellFormed, "a quoted value expected in the XML declaration")
		}
		vlen := bytes.IndexByte(rest[1:], rest[0])
		if vlen < 0 {
			return nil, badRequest(bridge.ReasonNotWellFormed, "unterminated value in the XML declaration")
		}
		value := string(rest[1 : 1+vlen])
		p = rest[2+vlen:]
		for next > 0 && next < len(names) && names[next] != string(name) {
			next++ // encoding and standalone are optional; version is not
		}
		if next == len(names) || names[next] != string(name) {
			return nil, badRequest(bridge.ReasonNotWellFormed, "unexpected "+strconv.Quote(string(name))+" in the XML declaration")
		}
		switch next {
		case 0:
			if !strings.HasPrefix(value, "1.") || len(value) == 2 || strings.Trim(value[2:], "0123456789") != "" {
				return nil, badRequest(bridge.ReasonNotWellFormed, "XML version "+strconv.Quote(value)+" is not 1.x")
			}
		case 1:
			if !strings.EqualFold(value, "UTF-8") {
				return nil, badRequest(bridge.ReasonBadFormat, "encoding "+strconv.Quote(value)+" is not offered: UTF-8 only")
			}
		case 2:
			if value != "yes" && value != "no" {
				return nil, badRequest(bridge.ReasonNotWellFormed, "standalone must be yes or no")
			}
		}
		next++
	}
	if next == 0 {
		return nil, badRequest(bridge.ReasonNotWellFormed, "XML declaration without a version")
	}
	return b[end+2:], nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// syntaxError turns an xmlsplit error into bad-request, or policy-violation
// for a body over the size limit.
func syntaxError(err error) *bindError {
	se, ok := err.(*xmlsplit.SyntaxError)
	if !ok {
		return badRequest(bridge.ReasonNotWellFormed, err.Error())
	}
	switch se.Cond {
	case xmlsplit.PolicyViolation:
		return &bindError{reason: bridge.ReasonTooBig, text: se.Msg}
	case xmlsplit.RestrictedXML:
		return badRequest(bridge.ReasonRestrictedXML, se.Msg)
	}
	return badRequest(bridge.ReasonNotWellFormed, se.Msg)
}

// decl is one namespace declaration of the <body/> start tag: prefix ""
// for the default namespace; value as written (escaped).
type decl struct {
	prefix string
	value  []byte
}

func declarations(el *xmlsplit.Element) []decl {
	var ds []decl
	for _, a := range el.Attrs {
		switch name := a.Name; {
		case string(name) == "xmlns":
			ds = append(ds, decl{"", a.Value})
		case bytes.HasPrefix(name, []byte("xmlns:")):
			ds = append(ds, decl{string(name[len("xmlns:"):]), a.Value})
		}
	}
	return ds
}

// lookup returns the namespace a prefix is bound to on the <body/>, decoded.
func lookup(ds []decl, prefix []byte) (string, bool) {
	for _, d := range ds {
		if d.prefix == string(prefix) {
			v, err := xmlsplit.Unescape(nil, d.value)
			if err != nil {
				return "", false
			}
			return string(v), true
		}
	}
	return "", false
}

// bound reports whether prefix is bound to ns on the <body/>, without
// allocating for the usual value with no references in it.
func bound(ds []decl, prefix []byte, ns string) bool {
	for _, d := range ds {
		if d.prefix == string(prefix) {
			if bytes.IndexByte(d.value, '&') < 0 {
				return string(d.value) == ns
			}
			v, err := xmlsplit.Unescape(nil, d.value)
			return err == nil && string(v) == ns
		}
	}
	return false
}

// onlyChildren checks that the <body/> holds nothing but whitespace between
// its children (XEP-0124 §6: no character data, no CDATA section).
func onlyChildren(el *xmlsplit.Element) *bindError {
	if el.SelfClosing {
		return nil
	}
	raw := el.Raw
	p := xmlsplit.StartTagEnd(raw, el.NSAt)
	end := bytes.LastIndexByte(raw, '<') // the end tag
	for _, c := range el.Children {
		p = skipSpace(raw, p)
		if !bytes.HasPrefix(raw[p:], c.Raw) {
			return badRequest(bridge.ReasonBadFormat, "character data in <body/>")
		}
		p += len(c.Raw)
	}
	if skipSpace(raw, p) != end {
		return badRequest(bridge.ReasonBadFormat, "character data in <body/>")
	}
	return nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// attrs reads the <body/>'s attributes.
func (r *body) attrs(el *xmlsplit.Element, ds []decl) *bindError {
	hasRID := false
	for _, a := range el.Attrs {
		name := string(a.Name)
		if name == "xmlns" || strings.HasPrefix(name, "xmlns:") {
			continue
		}
		var v string
		if bytes.IndexByte(a.Value, '&') < 0 {
			v = string(a.Value)
		} else {
			raw, err := xmlsplit.Unescape(nil, a.Value)
			if err != nil {
				return badRequest(bridge.ReasonNotWellFormed, "attribute "+name+": "+err.Error())
			}
			v = string(raw)
		}
		if p, local, ok := strings.Cut(name, ":"); ok {
			if p == "xml" {
				if local == "lang" {
					r.lang = v
				}
				continue
			}
			if !bound(ds, []byte(p), nsXBOSH) {
				continue // another protocol's attribute: not ours to judge
			}
			switch local {
			case "version":
				r.xmppVersion = v
			case "restart":
				b, ok := xsBool(v)
				if !ok {
					return badRequest(bridge.ReasonBadFormat, "xmpp:restart must be a boolean")
				}
				r.restart = b
			}
			continue
		}
		var ok bool
		switch name {
		case "rid":
			r.rid, ok = parseRID(v)
			if !ok {
				return badRequest(bridge.ReasonBadFormat, "rid must be an integer from 1 to 9007199254740991")
			}
			hasRID = true
		case "sid":
			r.sid = v
		case "ack":
			if r.ack, ok = parseRID(v); !ok {
				return badRequest(bridge.ReasonBadFormat, "ack must be a request id")
			}
			r.hasAck = true
		case "type":
			switch v {
			case "terminate":
				r.typ = v
			case "":
			default:
				return badRequest(bridge.ReasonBadFormat, "type must be 'terminate' in a request")
			}
		case "to":
			r.to = v
		case "route":
			r.route = v
		case "from":
			r.from = v
		case "ver":
			r.ver = v
		case "content":
			r.content = v
		case "wait":
			if r.wait, ok = parseCount(v); !ok {
				return badRequest(bridge.ReasonBadFormat, "wait must be a number of seconds")
			}
			r.hasWait = true
		case "hold":
			if r.hold, ok = parseCount(v); !ok {
				return badRequest(bridge.ReasonBadFormat, "hold must be a number of requests")
			}
			r.hasHold = true
		case "pause":
			if r.pause, ok = parseCount(v); !ok || r.pause == 0 {
				return badRequest(bridge.ReasonBadFormat, "pause must be a positive number of seconds")
			}
			r.hasPause = true
		case "key":
			r.key = v
		case "newkey":
			r.newkey = v
		case "stream":
			r.stream = v
		}
	}
	if !hasRID {
		return badRequest(bridge.ReasonBadFormat, "every request needs a rid")
	}
	return nil
}

// parseRID reads a request id: a positive integer no larger than maxRID.
func parseRID(s string) (uint64, bool) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 || n > maxRID {
		return 0, false
	}
	return n, true
}

// parseCount reads a non-negative integer, clamping large values.
func parseCount(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > maxAttrInt {
		return maxAttrInt, true
	}
	return int(n), true
}

// xsBool reads an XML Schema boolean.
func xsBool(s string) (v, ok bool) {
	switch s {
	case "true", "1":
		return true, true
	case "false", "0":
		return false, true
	}
	return false, false
}

// children prepares each child to stand alone upstream.
func (r *body) children(el *xmlsplit.Element, ds []decl, bodyPrefix []byte, maxStanza int) *bindError {
	if len(el.Children) == 0 {
		return nil
	}
	// Children without an xmlns of their own are in jabber:client
	// (XEP-0206 §2 note), unless the <body/> is prefixed and binds the
	// default namespace to something else itself.
	def := nsClient
	if len(bodyPrefix) != 0 {
		if ns, ok := lookup(ds, nil); ok && ns != nsHTTPBind {
			def = ns
		}
	}
	defDecl := " xmlns='" + string(xmlsplit.AppendEscape(nil, def)) + "'"

	size := 0
	for i := range el.Children {
		c := &el.Children[i]
		if len(c.Raw) > maxStanza {
			return &bindError{reason: bridge.ReasonTooBig, text: "a stanza over " + strconv.Itoa(maxStanza) + " bytes"}
		}
		if isStreamHeader(c, ds) {
			return badRequest(bridge.ReasonInvalidNamespace, "a stream header is not a payload")
		}
		size += len(c.Raw) + len(defDecl)
		for _, p := range c.Borrowed {
			size += len(" xmlns:='\"") + len(p)
			for _, d := range ds {
				if d.prefix == string(p) {
					size += len(d.value)
				}
			}
		}
	}
	buf := make([]byte, 0, size)
	r.payloads = make([][]byte, 0, len(el.Children))
	for i := range el.Children {
		c := &el.Children[i]
		start := len(buf)
		buf = append(buf, c.Raw[:c.NSAt]...)
		if !c.DeclaresDefault {
			buf = append(buf, defDecl...)
		}
		for _, p := range c.Borrowed {
			v, ok := declValue(ds, string(p))
			if !ok {
				// Parse allows no undeclared prefix; this cannot happen.
				return badRequest(bridge.ReasonNotWellFormed, "undeclared prefix "+string(p))
			}
			buf = appendDecl(buf, p, v)
		}
		buf = append(buf, c.Raw[c.NSAt:]...)
		r.payloads = append(r.payloads, buf[start:len(buf):len(buf)])
	}
	return nil
}

func declValue(ds []decl, prefix string) ([]byte, bool) {
	for _, d := range ds {
		if d.prefix == prefix {
			return d.value, true
		}
	}
	return nil, false
}

// appendDecl appends xmlns:prefix='value' with the value as written, in
// whichever quotes it does not contain.
func appendDecl(b, prefix, value []byte) []byte {
	q := byte('\'')
	if bytes.IndexByte(value, '\'') >= 0 {
		q = '"'
	}
	b = append(b, " xmlns:"...)
	b = append(b, prefix...)
	b = append(b, '=', q)
	b = append(b, value...)
	return append(b, q)
}

// isStreamHeader reports whether a child is <stream:stream/>, which would
// read upstream as a stream header.
func isStreamHeader(c *xmlsplit.Element, ds []decl) bool {
	prefix, local := splitName(c.Name)
	if string(local) != "stream" {
		return false
	}
	attr := "xmlns"
	if len(prefix) != 0 {
		attr += ":" + string(prefix)
	}
	if v, ok := c.Attr(attr); ok {
		ns, err := xmlsplit.Unescape(nil, v)
		return err == nil && string(ns) == nsStream
	}
	return bound(ds, prefix, nsStream)
}

func splitName(name []byte) (prefix, local []byte) {
	if i := bytes.IndexByte(name, ':'); i >= 0 {
		return name[:i], name[i+1:]
	}
	return nil, name
}

// peek reads the start tag of a body that could not be parsed as a whole
// (malformed, or over the size limit): the sid it names, so that its
// session ends with the condition, and whether it is a session creation
// request of a legacy client (no sid, no ver), which is answered with the
// deprecated HTTP error codes. An unreadable start tag gives "", false.
func peek(b []byte) (sid string, legacy bool) {
	if rest, err := skipDeclaration(b); err == nil {
		b = rest
	}
	i := skipSpace(b, 0)
	if i == len(b) || b[i] != '<' {
		return "", false
	}
	end := xmlsplit.StartTagEnd(b, i+1)
	if end > len(b) || end-i < 2 || b[end-1] != '>' {
		return "", false
	}
	tag := make([]byte, 0, end-i+1)
	tag = append(tag, b[i:end-1]...)
	tag = bytes.TrimSuffix(tag, []byte("/"))
	tag = append(tag, "/>"...)
	el, err := xmlsplit.Parse(tag, xmlsplit.ParseOptions{})
	if err != nil {
		return "", false
	}
	if v, ok := el.Attr("sid"); ok {
		sid, err := xmlsplit.Unescape(nil, v)
		if err != nil {
			return "", false
		}
		return string(sid), false
	}
	_, hasVer := el.Attr("ver")
	return "", !hasVer
}
