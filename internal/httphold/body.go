package httphold

import (
	"errors"
	"io"
	"net/http"
	"time"
)

// ErrTooLarge is ReadBody's error for a body over its limit.
var ErrTooLarge = errors.New("httphold: request body too large")

// ReadBody reads the request body, at most max bytes of it, appended to
// dst, within timeout, whatever the client does: a body sent slowly, or
// declared longer than what comes, is cut off at the deadline. On any
// failure the connection is not kept (the answer says Connection: close,
// and net/http gives up at once on what is left of the body). On a body
// over max it returns ErrTooLarge and what was read of it, at most
// peek bytes of its start beyond what was read already.
func ReadBody(w http.ResponseWriter, r *http.Request, dst []byte, max, peek int, timeout time.Duration) ([]byte, error) {
	rc := http.NewResponseController(w)
	// The write deadline too: reading the body may write "100 Continue",
	// and a kept connection may still carry the deadline of an earlier
	// answer.
	_ = rc.SetWriteDeadline(time.Now().Add(timeout))
	_ = rc.SetReadDeadline(time.Now().Add(timeout))
	var err error
	if r.ContentLength > int64(max) {
		dst, _ = appendRead(dst, io.LimitReader(r.Body, int64(peek)), peek)
		err = ErrTooLarge
	} else {
		dst, err = appendRead(dst, r.Body, max)
	}
	if err != nil {
		// Nothing more is read from this connection: net/http would
		// otherwise wait for the rest of the body to reuse it.
		w.Header().Set("Connection", "close")
		_ = rc.SetReadDeadline(aLongTimeAgo)
		return dst, err
	}
	// A request held later must not trip over this deadline in net/http's
	// background read, which watches for the client going away.
	_ = rc.SetReadDeadline(time.Time{})
	return dst, nil
}

// appendRead appends everything r holds to b, refusing more than max bytes.
func appendRead(b []byte, r io.Reader, max int) ([]byte, error) {
	start := len(b)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):min(cap(b), start+max+1)])
		b = b[:len(b)+n]
		if len(b)-start > max {
			return b[:start+max], ErrTooLarge
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}
