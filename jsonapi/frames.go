package jsonapi

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
	"github.com/xmppbridge/xmppbridge/jsonxlate"
)

// Error codes of error frames (docs/json-api.md).
const (
	errBadJSON            = "bad-json"
	errUnknownKind        = "unknown-kind"
	errMissingField       = "missing-field"
	errBadValue           = "bad-value"
	errTooLarge           = "too-large"
	errNotLoggedIn        = "not-logged-in"
	errAlreadyLoggedIn    = "already-logged-in"
	errNotAuthorized      = "not-authorized"
	errEncryptionRequired = "encryption-required"
	errBadToken           = "bad-token"
	errConflict           = "conflict"
	errItemNotFound       = "item-not-found"
	errBadRequest         = "bad-request"
	errOutOfOrder         = "out-of-order"
	errInternal           = "internal-server-error"
	errRemoteFailed       = "remote-connection-failed"
	errHostUnknown        = "host-unknown"
	errShutdown           = "system-shutdown"
	errResource           = "resource-constraint"
	errPolicy             = "policy-violation"
	errDropped            = "dropped-stanza"
)

// errorType is the type of an error code: what the browser may do about it.
func errorType(code string) string {
	switch code {
	case errNotAuthorized, errEncryptionRequired, errBadToken:
		return "auth"
	case errItemNotFound, errInternal, errHostUnknown, errPolicy, errConflict, errDropped:
		return "cancel"
	case errRemoteFailed, errShutdown, errResource, errOutOfOrder, errThrottled:
		return "wait"
	}
	return "modify"
}

// httpStatus is the status of an HTTP answer that carries only the error.
func httpStatus(code string) int {
	switch code {
	case errNotAuthorized, errBadToken:
		return http.StatusUnauthorized
	case errEncryptionRequired, errPolicy:
		return http.StatusForbidden
	case errThrottled:
		return http.StatusTooManyRequests
	case errItemNotFound:
		return http.StatusNotFound
	case errConflict:
		return http.StatusConflict
	case errTooLarge:
		return http.StatusRequestEntityTooLarge
	case errRemoteFailed:
		return http.StatusBadGateway
	case errShutdown, errResource:
		return http.StatusServiceUnavailable
	case errInternal:
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

// apiError is an error frame to be.
type apiError struct {
	code, id, text string
}

func (e apiError) Error() string { return "jsonapi: " + e.code + ": " + e.text }

// errorFromXlate turns a jsonxlate error into an error frame.
func errorFromXlate(err error, id string) apiError {
	var xe *jsonxlate.Error
	if !errors.As(err, &xe) {
		return apiError{code: errBadJSON, id: id, text: err.Error()}
	}
	text := xe.Text
	if xe.Field != "" {
		text = xe.Field + ": " + text
	}
	switch xe.Code {
	case errBadJSON, errUnknownKind, errMissingField, errBadValue, errTooLarge:
		return apiError{code: xe.Code, id: id, text: text}
	}
	return apiError{code: errBadValue, id: id, text: text}
}

// checkXMLNames refuses a stanza with a name in the XML namespace that XML
// does not define, such as an element <xml:x/> or an attribute xml:foo:
// servers relay those in a form their other clients cannot read (Prosody
// writes <xml:x/> as <x xmlns='http://www.w3.org/XML/1998/namespace'/>), so
// the bridge sends none on a page's behalf. What a server sends the page
// may have them; the bridge repairs that on the way in.
func checkXMLNames(x []byte) error {
	if !bytes.Contains(x, []byte("xml:")) {
		return nil
	}
	if err := xmlsplit.CheckXMLNames(x, xmlsplit.ParseOptions{}); err != nil {
		var se *xmlsplit.SyntaxError
		text := err.Error()
		if errors.As(err, &se) {
			text = se.Msg
		}
		return &jsonxlate.Error{Code: errBadValue, Text: text + ": servers do not relay it faithfully"}
	}
	return nil
}

// errorFrame appends {"kind":"error",...}.
func errorFrame(b []byte, code, id, text string) []byte {
	b = append(b, `{"kind":"error","type":"`...)
	b = append(b, errorType(code)...)
	b = append(b, `","code":`...)
	b = strconv.AppendQuote(b, code)
	if text != "" {
		b = append(b, `,"text":`...)
		b = jsonxlate.AppendString(b, text)
	}
	if id != "" {
		b = append(b, `,"id":`...)
		b = jsonxlate.AppendString(b, id)
	}
	return append(b, '}')
}

// stanzaErrorFrame appends an error frame that stands for a stanza from
// the server the page cannot have: it has "stanza":true, and the page
// counts it among the server's stanzas (docs/json-api.md, "Resuming a
// session").
func stanzaErrorFrame(b []byte, code, text string) []byte {
	b = errorFrame(b, code, "", text)
	return append(b[:len(b)-1], `,"stanza":true}`...)
}

// closeFrame appends {"kind":"close",...}.
func closeFrame(b []byte, code, text string) []byte {
	b = append(b, `{"kind":"close","code":`...)
	b = jsonxlate.AppendString(b, code)
	if text != "" {
		b = append(b, `,"text":`...)
		b = jsonxlate.AppendString(b, text)
	}
	return append(b, '}')
}

// sessionFrame appends {"kind":"session",...}: the answer to a login.
func sessionFrame(b []byte, jid, sid, id, token string, window time.Duration) []byte {
	b = append(b, `{"kind":"session","jid":`...)
	b = jsonxlate.AppendString(b, jid)
	return appendSessionFields(b, sid, id, token, window)
}

// resumedFrame appends {"kind":"resumed",...}: the answer to a resume,
// before the frame numbered first, saying how many frames the bridge took
// from the page.
func resumedFrame(b []byte, jid, sid, id, token string, first, received, ackN, ackH uint64, window time.Duration) []byte {
	b = append(b, `{"kind":"resumed","jid":`...)
	b = jsonxlate.AppendString(b, jid)
	b = strconv.AppendUint(append(b, `,"first":`...), first, 10)
	b = strconv.AppendUint(append(b, `,"received":`...), received, 10)
	b = appendAcked(append(b, ','), ackN, ackH)
	return appendSessionFields(b, sid, id, token, window)
}

// ackFrame appends {"kind":"ack","n":n,"h":h}: over a WebSocket, that the
// page's frames up to n, which held h stanzas, need never be sent again.
func ackFrame(b []byte, n, h uint64) []byte {
	b = strconv.AppendUint(append(b, `{"kind":"ack","n":`...), n, 10)
	b = strconv.AppendUint(append(b, `,"h":`...), h, 10)
	return append(b, '}')
}

// appendAcked appends "acked":{"n":n,"h":h}, for HTTP answers.
func appendAcked(b []byte, n, h uint64) []byte {
	b = strconv.AppendUint(append(b, `"acked":{"n":`...), n, 10)
	b = strconv.AppendUint(append(b, `,"h":`...), h, 10)
	return append(b, '}')
}

func appendSessionFields(b []byte, sid, id, token string, window time.Duration) []byte {
	if sid != "" {
		b = append(b, `,"sid":`...)
		b = jsonxlate.AppendString(b, sid)
	}
	if token != "" {
		b = append(b, `,"token":`...)
		b = jsonxlate.AppendString(b, token)
		b = strconv.AppendInt(append(b, `,"resume_window":`...), int64(max(window, 0)/time.Second), 10)
	}
	if id != "" {
		b = append(b, `,"id":`...)
		b = jsonxlate.AppendString(b, id)
	}
	return append(b, '}')
}
