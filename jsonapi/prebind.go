package jsonapi

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/jsonxlate"
)

// prebindRequest is the body of POST {base}/prebind.
type prebindRequest struct {
	JID      string `json:"jid"`
	Password string `json:"password"`
	Resource string `json:"resource"`
	BOSH     bool   `json:"bosh"`
}

// BOSHPrebound is a BOSH session that Config.PrebindBOSH opened, as a
// client attaches to it (Strophe.js Connection.attach, Converse.js
// prebind_url).
type BOSHPrebound struct {
	// JID is the full JID the server bound.
	JID string
	// SID is the BOSH session id.
	SID string
	// RID is the rid of the attaching client's first request.
	RID uint64
}

// prebind serves a web application's backend: it logs a user in and
// answers with a single-use token for any JSON transport, or with a BOSH
// session to attach to.
func (h *Handler) prebind(w http.ResponseWriter, r *http.Request) {
	if h.cfg.PrebindSecret == "" {
		h.reject(w, r, http.StatusNotFound, errItemNotFound, "prebinding is not enabled")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		h.reject(w, r, http.StatusMethodNotAllowed, errBadRequest, r.Method+" is not served here")
		return
	}
	scheme, auth, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(auth)), []byte(h.cfg.PrebindSecret)) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="xmppbridge prebind"`)
		h.reject(w, r, http.StatusUnauthorized, errNotAuthorized, "the prebind secret is missing or wrong")
		return
	}
	if !h.passwordAllowed(r) {
		h.reject(w, r, http.StatusForbidden, errEncryptionRequired, "passwords are accepted only over TLS")
		return
	}
	if !h.enter(false) {
		h.reject(w, r, http.StatusServiceUnavailable, errShutdown, "the bridge is shutting down")
		return
	}
	defer h.leave()
	// The backend that knows the secret speaks for many users: its
	// address is nobody's to limit, and a user's typos must not lock the
	// others out. Their logins are limited per account only.
	ctx := bridge.WithClient(r.Context(), "")
	b, e := h.readBody(w, r)
	if e != nil {
		h.refuse(w, r, e, 0)
		return
	}
	var req prebindRequest
	if err := json.Unmarshal(b, &req); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			h.reject(w, r, http.StatusBadRequest, errBadValue, te.Field+": wrong type")
		} else {
			h.reject(w, r, http.StatusBadRequest, errBadJSON, "not a JSON object: "+err.Error())
		}
		return
	}
	switch {
	case req.JID == "":
		h.reject(w, r, http.StatusBadRequest, errMissingField, "jid")
		return
	case req.Password == "":
		h.reject(w, r, http.StatusBadRequest, errMissingField, "password")
		return
	}

	if req.BOSH && h.cfg.PrebindBOSH == nil {
		h.reject(w, r, http.StatusNotFound, errItemNotFound, "BOSH prebinding is not served")
		return
	}
	a, e := parseAccount(req.JID, req.Password, req.Resource)
	if e != nil {
		h.refuse(w, r, e, 0)
		return
	}

	if req.BOSH {
		p, err := h.cfg.PrebindBOSH(ctx, a)
		if err != nil {
			h.refuse(w, r, loginError(err), 0)
			return
		}
		out := jsonxlate.AppendString([]byte(`{"jid":`), p.JID)
		out = jsonxlate.AppendString(append(out, `,"sid":`...), p.SID)
		out = strconv.AppendUint(append(out, `,"rid":`...), p.RID, 10)
		writeJSON(w, http.StatusOK, append(out, '}'))
		return
	}

	s := h.newSession("")
	if e := h.open(ctx, a, s); e != nil {
		h.refuse(w, r, e, 0)
		return
	}
	// Frame 1 answers the login that redeems the token; it is written
	// again then, with that login's id and sid.
	s.lp.Lock()
	s.appendLocked(sessionFrame(nil, s.jid, "", "", "", 0))
	s.lp.Unlock()
	tok := h.tokens.put(s, h.cfg.TokenTTL)
	out := jsonxlate.AppendString([]byte(`{"token":`), tok)
	out = jsonxlate.AppendString(append(out, `,"jid":`...), s.jid)
	out = strconv.AppendInt(append(out, `,"expires_in":`...), int64(h.cfg.TokenTTL/time.Second), 10)
	writeJSON(w, http.StatusOK, append(out, '}'))
}

// endPrebound ends a prebound session whose token was never redeemed.
func endPrebound(s *session) {
	s.bs.End(&bridge.CloseError{Reason: bridge.ReasonConnectionTimeout, Text: "prebind token not redeemed"})
}
