package bosh

import (
	"context"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/internal/longpoll"
)

// create serves a session creation request (XEP-0124 §7, XEP-0206 §3,
// §4): it opens the upstream stream and answers once the server's stream
// features are in (or wait runs out).
func (h *Handler) create(w http.ResponseWriter, r *http.Request, rb *body) outcome {
	legacy := rb.ver == ""
	s, e := h.newSession(rb)
	if e != nil {
		return h.failed("", legacy, e)
	}
	s.overTLS = r.TLS != nil
	if h.cfg.SeeOtherURI != nil {
		if uri := h.cfg.SeeOtherURI(rb.to); uri != "" {
			return outcome{resp: s.response(http.StatusOK, terminateBody(condSeeOtherURI, uri), false)}
		}
	}
	cr := &longpoll.Request{RID: rb.rid, Data: &request{rb: rb, create: true, gzip: acceptsGzip(r.Header.Values("Accept-Encoding"))}}
	held := h.hold(w, r, s.lp, cr)
	s.lp.Hold(cr, held)
	bs, err := h.open(r.Context(), s, bridge.OpenRequest{To: rb.to, From: rb.from, Lang: rb.lang, Client: r.RemoteAddr})
	if err == nil {
		h.register(s, bs)
	}
	// On failure the session's queue holds a header and the end, which
	// the answer reports.
	return outcome{held: held}
}

// open opens s's bridge session. The dial stops when ctx is done, or
// Config.BaseContext, or Shutdown gives up waiting.
func (h *Handler) open(ctx context.Context, s *session, req bridge.OpenRequest) (*bridge.Session, error) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(h.ctx, cancel)
	bs, err := h.cfg.Hub.Open(ctx, req, s) // Attach sets s.bs
	stop()
	cancel()
	return bs, err
}

// newSession checks a session creation request and sets up its session.
func (h *Handler) newSession(rb *body) (*session, *bindError) {
	if rb.to == "" {
		return nil, &bindError{reason: bridge.ReasonImproperAddressing, text: "the 'to' attribute is required"}
	}
	if rb.route != "" && h.cfg.Route != nil {
		proto, host, port, ok := parseRoute(rb.route)
		switch {
		case !ok:
			return nil, badRequest(bridge.ReasonBadFormat, "route must be proto:host:port")
		case proto != "xmpp" || !h.cfg.Route(rb.to, host, port):
			return nil, &bindError{reason: bridge.ReasonHostUnknown, text: "route not served: " + rb.route}
		}
	}
	ver := ""
	if rb.ver != "" {
		v, ok := parseVersion(rb.ver)
		if !ok {
			return nil, badRequest(bridge.ReasonBadFormat, "ver must be major.minor")
		}
		if v[0] > version[0] || v[0] == version[0] && v[1] > version[1] {
			v = version
		}
		ver = strconv.Itoa(v[0]) + "." + strconv.Itoa(v[1])
	}
	if rb.xmppVersion != "" {
		if v, ok := parseVersion(rb.xmppVersion); !ok || v[0] != 1 {
			return nil, badRequest(bridge.ReasonUnsupportedVersion, "xmpp:version must be 1.x")
		}
	}
	content := ""
	if rb.content != "" {
		if _, _, err := mime.ParseMediaType(rb.content); err != nil || strings.ContainsAny(rb.content, "\r\n") {
			return nil, badRequest(bridge.ReasonBadFormat, "content is not a media type")
		}
		content = rb.content
	}
	if rb.typ != "" || rb.restart || rb.hasPause {
		return nil, badRequest(bridge.ReasonBadFormat, "a session creation request neither terminates, restarts nor pauses")
	}

	hold := 1
	if rb.hasHold {
		hold = rb.hold
	}
	hold = min(hold, h.cfg.MaxHold)
	requests := h.cfg.Requests
	if requests <= hold {
		requests = hold + 1
	}
	waitSec := secondsUp(int64(h.cfg.MaxWait), 1)
	if rb.hasWait {
		waitSec = min(rb.wait, waitSec)
	}
	wait := min(time.Duration(waitSec)*time.Second, h.cfg.MaxWait)
	polling := waitSec == 0 || hold == 0
	inactivity := h.cfg.Inactivity
	if polling {
		// XEP-0124 §12: more than the polling interval on top.
		inactivity += 2 * h.cfg.Polling
	}
	maxPause := max(h.cfg.MaxPause, 0)

	now := h.now()
	s := &session{
		h:              h,
		sid:            h.freshSID(),
		polling:        h.cfg.Polling,
		pollingSession: polling,
		maxPause:       maxPause,
		legacy:         ver == "",
		acks:           rb.hasAck && rb.ack == 1,
		content:        content,
		key:            rb.newkey,
		lastNew:        now,
		maxRID:         rb.rid,
		prevRID:        rb.rid,
		prevEmpty:      true,
	}
	s.lp = longpoll.New(longpoll.Params{Wait: wait, Hold: hold, Requests: requests, Inactivity: inactivity}, s, rb.rid)
	s.create = &creation{
		sid:        s.sid,
		wait:       waitSec,
		requests:   requests,
		hold:       hold,
		inactivity: secondsDown(int64(inactivity), 1),
		polling:    secondsUp(int64(h.cfg.Polling), 1),
		ver:        ver,
		to:         rb.to,
		ack:        rb.rid,
	}
	if maxPause > 0 {
		s.create.maxPause = secondsDown(int64(maxPause), 1)
	}
	return s, nil
}

// parseRoute splits a route attribute, proto:host:port (XEP-0124 §7.1); an
// IPv6 host is in brackets.
func parseRoute(route string) (proto, host, port string, ok bool) {
	proto, rest, found := strings.Cut(route, ":")
	if !found || proto == "" {
		return "", "", "", false
	}
	host, port, err := net.SplitHostPort(rest)
	if err != nil || host == "" {
		return "", "", "", false
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", "", "", false
	}
	return proto, host, port, true
}

// parseVersion reads "major.minor", each a separate integer (XEP-0124
// §7.1: 1.10 is later than 1.9).
func parseVersion(s string) ([2]int, bool) {
	major, minor, ok := strings.Cut(s, ".")
	if !ok {
		return [2]int{}, false
	}
	a, err1 := parseCount(major)
	b, err2 := parseCount(minor)
	if !err1 || !err2 {
		return [2]int{}, false
	}
	return [2]int{a, b}, true
}
