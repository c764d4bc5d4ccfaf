package bosh

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// PrebindRequest asks for a BOSH session that the bridge logs in itself,
// for a client to attach to (Strophe.js Connection.attach, Converse.js
// prebind_url). The zero value of each optional field is the default a
// client's creation request would get.
type PrebindRequest struct {
	// To is the XMPP domain. Required.
	To string
	// Credentials log in upstream: SASL, then the resource bound
	// (Resource "" lets the server choose).
	Credentials xmppclient.Credentials
	// Lang is the session's xml:lang.
	Lang string
	// Wait is the longest a request of the attached client is held, in
	// whole seconds (rounded up), at most Config.MaxWait. Zero means
	// MaxWait.
	Wait time.Duration
	// Hold is how many requests may be held at once, at most
	// Config.MaxHold. Zero means 1.
	Hold int
	// RID is the rid of the creation request the session stands for, as
	// a client would choose it; the attached client's first request is
	// RID+1. Zero means a random one, 52 bits at most, leaving far more
	// requests than any session makes below XEP-0124 §14.1's 2^53-1.
	RID uint64
}

// Prebound describes a session made by Prebind: what an attaching client
// needs, and the limits it would have read in a creation response.
type Prebound struct {
	// JID is the full JID the server bound.
	JID string
	// SID is the BOSH session id.
	SID string
	// RID is the rid the creation used. The client's next request is
	// NextRID: that is the rid for Strophe.js's attach(jid, sid, rid) and
	// for a Converse.js prebind_url answer. A client that sends RID itself
	// gets an empty body, as for a resent creation request.
	RID uint64
	// Wait, Hold, Requests, Inactivity, Polling and MaxPause are the
	// session's wait, hold, requests, inactivity, polling and maxpause
	// (zero: pausing not offered), as a creation response states them.
	Wait, Inactivity, Polling, MaxPause time.Duration
	Hold, Requests                      int
}

// NextRID is the rid of the attached client's first request.
func (p Prebound) NextRID() uint64 { return p.RID + 1 }

// Prebind creates a BOSH session as a client's session creation request
// would (the same limits, a random sid, the inactivity timer running) but
// logs in upstream itself, with req.Credentials, and returns once the
// resource is bound. The client that attaches sends ordinary requests with
// the session's sid, from rid NextRID on, and finds an authenticated,
// bound stream: no stream features, no SASL, no restart. It must make its
// first request within the inactivity period, as after any response.
//
// A failure leaves no session. The error wraps a *bridge.CloseError
// saying why: ReasonNotAuthorized for refused credentials (the
// *xmppclient.Error inside has the SASL condition), ReasonHostUnknown for
// a domain not served, ReasonRemoteConnectionFailed for a server not
// reached, ReasonResourceConstraint when the Hub is full, ReasonShutdown
// while shutting down, ReasonImproperAddressing without To, and
// ReasonBadFormat for a RID past 2^53-2.
func (h *Handler) Prebind(ctx context.Context, req PrebindRequest) (Prebound, error) {
	if !h.enter() {
		return Prebound{}, prebindError(req.To, &bridge.CloseError{Reason: bridge.ReasonShutdown})
	}
	defer h.wg.Done()
	rid := req.RID
	switch {
	case rid == 0:
		rid = randomRID()
	case rid >= maxRID:
		return Prebound{}, prebindError(req.To, &bridge.CloseError{Reason: bridge.ReasonBadFormat,
			Text: "rid must be below " + strconv.FormatUint(maxRID, 10)})
	}
	rb := &body{
		rid:  rid,
		to:   req.To,
		lang: req.Lang,
		// A client that attaches speaks today's BOSH: terminal conditions
		// with HTTP 200.
		ver: strconv.Itoa(version[0]) + "." + strconv.Itoa(version[1]),
	}
	if req.Wait > 0 {
		rb.wait, rb.hasWait = secondsUp(int64(req.Wait), 1), true
	}
	if req.Hold > 0 {
		rb.hold, rb.hasHold = req.Hold, true
	}
	s, e := h.newSession(rb)
	if e != nil {
		return Prebound{}, prebindError(req.To, &bridge.CloseError{Reason: e.reason, Text: e.text})
	}
	cred := req.Credentials
	bs, err := h.open(ctx, s, bridge.OpenRequest{To: req.To, Lang: req.Lang, Login: &cred})
	if err != nil {
		return Prebound{}, prebindError(req.To, err)
	}
	s.lp.Lock()
	c := s.create
	s.create = nil
	// As if the creation request had been answered: its rid, resent, gets
	// an empty body (XEP-0124 §14.3), so a client that counts from RID
	// rather than NextRID goes on.
	s.lp.KeepLocked(rid, s.response(http.StatusOK, emptyBody, false))
	s.lastResp = rid
	s.lp.Unlock()
	if !h.register(s, bs) {
		return Prebound{}, prebindError(req.To, &bridge.CloseError{Reason: bridge.ReasonShutdown})
	}
	s.lp.Touch()
	p := Prebound{
		JID:        bs.JID(),
		SID:        s.sid,
		RID:        rid,
		Wait:       time.Duration(c.wait) * time.Second,
		Hold:       c.hold,
		Requests:   c.requests,
		Inactivity: time.Duration(c.inactivity) * time.Second,
		Polling:    time.Duration(c.polling) * time.Second,
		MaxPause:   time.Duration(c.maxPause) * time.Second,
	}
	return p, nil
}

func prebindError(to string, err error) error {
	return fmt.Errorf("bosh: prebind at %s: %w", to, err)
}

// randomRID is an initial rid as a client picks one (XEP-0124 §14.1):
// random, and 52 bits at most, so that 2^52 requests still fit below
// 2^53-1.
func randomRID() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24)
	return binary.BigEndian.Uint64(b[:])>>12 + 1
}
