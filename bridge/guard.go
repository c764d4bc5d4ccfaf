package bridge

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/limits"
	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// DefaultAuthTimeout is what a zero Config.AuthTimeout means: long enough
// for a client that registers an account in band before it logs in, far
// shorter than the five minutes servers commonly give.
const DefaultAuthTimeout = time.Minute

// The namespaces of SASL negotiation: RFC 6120 §6, and XEP-0388's
// Extensible SASL Profile, which a browser may use instead when the server
// offers it.
const (
	nsSASL  = "urn:ietf:params:xml:ns:xmpp-sasl"
	nsSASL2 = "urn:xmpp:sasl:2"
)

type clientKey struct{}

// WithClient returns ctx carrying the client's address (host:port, as
// http.Request.RemoteAddr has it once the real client is known), for
// Hub.Open to take when OpenRequest.Client is empty. An empty addr says
// the session has no client of its own to limit (a backend's prebinding,
// which speaks for many users): only its account's logins are.
func WithClient(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientKey{}, addr)
}

// ClientFrom is the address WithClient put in ctx, or "".
func ClientFrom(ctx context.Context) string {
	s, _ := ctx.Value(clientKey{}).(string)
	return s
}

// LoginOutcome says how a login the bridge saw went.
type LoginOutcome uint8

const (
	// LoginOK: the server accepted the credentials.
	LoginOK LoginOutcome = iota
	// LoginFailed: the server refused them (a SASL failure).
	LoginFailed
	// LoginThrottled: the bridge did not try: too many failed from the
	// address or for the account lately (Config.Limits). The client was
	// told to wait, or (LoginEvent.Blocked) refused.
	LoginThrottled
)

var loginOutcomes = [...]string{"ok", "failed", "throttled"}

func (o LoginOutcome) String() string {
	if int(o) < len(loginOutcomes) {
		return loginOutcomes[o]
	}
	return "unknown"
}

// LoginEvent is one login the bridge made (OpenRequest.Login) or saw go by
// on a relayed stream (the browser's SASL <auth/> and the server's
// <success/> or <failure/>), for logs and metrics (Config.OnLogin).
type LoginEvent struct {
	// Session is the session the login was for.
	Session *Session
	// Client is the client's address (OpenRequest.Client); Account the
	// bare JID tried, lowercased, or "" when the mechanism did not name
	// one.
	Client, Account string
	// Relayed: the browser did SASL itself, through the bridge.
	Relayed bool
	Outcome LoginOutcome
	// Condition is the SASL failure condition, for LoginFailed.
	Condition string
	// RetryAfter, for LoginThrottled, is how long the client was told to
	// wait; Blocked says it was refused for longer (limits.BlockedLogin).
	RetryAfter time.Duration
	Blocked    bool
	// ByAccount, for LoginThrottled: the account's failures, not the
	// address's, were too many.
	ByAccount bool
}

// LimitStats are the Hub's counts of what its limits refused, over its
// life, for metrics. Config.Limits.Stats has the per-address ones in more
// detail.
type LimitStats struct {
	// LoginsOK, LoginsFailed and LoginsThrottled count LoginEvents by
	// outcome.
	LoginsOK, LoginsFailed, LoginsThrottled uint64
	// AddrRefused counts sessions refused for their address's share
	// (ReasonAddrLimit); Reserved those refused because the rest of
	// MaxSessions is kept for authenticated sessions; AuthTimeouts the
	// relayed sessions ended for not authenticating in time.
	AddrRefused, Reserved, AuthTimeouts uint64
}

type limitCounts struct {
	ok, failed, throttled            atomic.Uint64
	addrRefused, reserved, authTimer atomic.Uint64
}

// LimitStats returns the counts so far.
func (h *Hub) LimitStats() LimitStats {
	c := &h.lim
	return LimitStats{
		LoginsOK: c.ok.Load(), LoginsFailed: c.failed.Load(), LoginsThrottled: c.throttled.Load(),
		AddrRefused: c.addrRefused.Load(), Reserved: c.reserved.Load(), AuthTimeouts: c.authTimer.Load(),
	}
}

// authState is a session's client and where it stands with logging in.
type authState struct {
	client string
	domain string // OpenRequest.To
	// watching is set while a relayed session has not authenticated:
	// what goes by is looked at for SASL.
	watching atomic.Bool

	mu      sync.Mutex
	account string
	anon    bool // counted in Hub.anon; changed under Hub.mu
	release func()
	attempt *limits.Attempt // the relayed <auth/> the server has not answered
	timer   *time.Timer
}

// Client is the address of the session's client (OpenRequest.Client), or
// "" when not known.
func (s *Session) Client() string { return s.auth.client }

// Account is the bare JID the session logged in as, or last tried to (a
// relayed session's latest SASL <auth/>), lowercased; "" when not known.
func (s *Session) Account() string {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	return s.auth.account
}

// account is the bare JID a login names.
func account(user, domain string) string {
	if user == "" {
		return ""
	}
	if strings.Contains(user, "@") {
		return strings.ToLower(user)
	}
	return strings.ToLower(user) + "@" + strings.ToLower(domain)
}

// DefaultReserved is what a zero Config.Reserved means: a quarter of
// maxSessions.
func DefaultReserved(maxSessions int) int { return maxSessions / 4 }

func (h *Hub) reserved() int {
	switch {
	case h.cfg.Reserved < 0:
		return 0
	case h.cfg.Reserved == 0:
		return DefaultReserved(h.cfg.MaxSessions)
	}
	return min(h.cfg.Reserved, h.cfg.MaxSessions)
}

// admit counts a new session in, or says why not: the Hub's bounds (all
// sessions; unauthenticated ones within the share not reserved), then
// the client address's.
func (h *Hub) admit(s *Session, req OpenRequest) *CloseError {
	h.mu.Lock()
	switch {
	case h.closing:
		h.mu.Unlock()
		return &CloseError{Reason: ReasonShutdown}
	case len(h.sessions) >= h.cfg.MaxSessions:
		h.mu.Unlock()
		return &CloseError{Reason: ReasonResourceConstraint, Text: "too many sessions"}
	case req.Login == nil && h.anon >= h.cfg.MaxSessions-h.reserved():
		h.mu.Unlock()
		h.lim.reserved.Add(1)
		return &CloseError{Reason: ReasonResourceConstraint, Text: "too many sessions not logged in"}
	}
	h.sessions[s] = struct{}{}
	if req.Login == nil {
		h.anon++
		s.auth.anon = true
	}
	h.mu.Unlock()

	if h.cfg.Limits == nil || s.auth.client == "" {
		return nil
	}
	release, err := h.cfg.Limits.Open(s.auth.client)
	if err != nil {
		h.remove(s)
		h.lim.addrRefused.Add(1)
		ce := &CloseError{Reason: ReasonAddrLimit, Err: err}
		var le *limits.Error
		if errors.As(err, &le) {
			ce.Text = le.Text()
		}
		return ce
	}
	s.auth.mu.Lock()
	s.auth.release = release
	s.auth.mu.Unlock()
	return nil
}

// forget gives back what a session that is over held: its place in the
// Hub's counts and its address's, its deadline, and an attempt at
// logging in that got no answer.
func (h *Hub) forget(s *Session) {
	h.mu.Lock()
	delete(h.sessions, s)
	if s.auth.anon {
		s.auth.anon = false
		h.anon--
	}
	h.mu.Unlock()
	s.auth.watching.Store(false)
	s.auth.mu.Lock()
	release, attempt, timer := s.auth.release, s.auth.attempt, s.auth.timer
	s.auth.release, s.auth.attempt, s.auth.timer = nil, nil, nil
	s.auth.mu.Unlock()
	if timer != nil {
		timer.Stop()
	}
	attempt.Abandoned()
	if release != nil {
		release()
	}
}

// startLogin asks the limits whether a bridge-side login may be tried:
// the attempt to report on, or the end to give the session.
func (h *Hub) startLogin(s *Session, req OpenRequest) (*limits.Attempt, *CloseError) {
	acct := account(req.Login.Username, req.To)
	s.auth.mu.Lock()
	s.auth.account = acct
	s.auth.mu.Unlock()
	if h.cfg.Limits == nil || req.Resume != nil {
		return nil, nil
	}
	a, err := h.cfg.Limits.Login(s.auth.client, acct)
	if err == nil {
		return a, nil
	}
	ev := throttledEvent(s, acct, false, err)
	h.loginEvent(ev)
	return nil, &CloseError{Reason: ReasonThrottled, Text: throttleText(err), Err: err}
}

// endLogin reports how a bridge-side login went.
func (h *Hub) endLogin(s *Session, a *limits.Attempt, req OpenRequest, err error) {
	ev := LoginEvent{Session: s, Client: s.auth.client, Account: s.Account()}
	var xe *xmppclient.Error
	switch {
	case err == nil:
		a.Succeeded()
		ev.Outcome = LoginOK
	case errors.As(err, &xe) && xe.SASL:
		a.Failed()
		ev.Outcome, ev.Condition = LoginFailed, xe.Cond
	default:
		// No verdict on the credentials: the server could not be
		// reached, or the login was cut short.
		a.Abandoned()
		return
	}
	if req.Resume == nil {
		h.loginEvent(ev)
	}
}

func throttledEvent(s *Session, acct string, relayed bool, err error) LoginEvent {
	ev := LoginEvent{Session: s, Client: s.auth.client, Account: acct, Relayed: relayed, Outcome: LoginThrottled}
	var le *limits.Error
	if errors.As(err, &le) {
		ev.RetryAfter, ev.Blocked, ev.ByAccount = le.RetryAfter, le.Refusal == limits.BlockedLogin, le.Account
	}
	return ev
}

func throttleText(err error) string {
	var le *limits.Error
	if errors.As(err, &le) {
		return le.Text()
	}
	return "too many failed logins"
}

func (h *Hub) loginEvent(ev LoginEvent) {
	switch ev.Outcome {
	case LoginOK:
		h.lim.ok.Add(1)
	case LoginFailed:
		h.lim.failed.Add(1)
		if ev.Relayed {
			// A bridge-side login refused is counted in Stats by its
			// session's end (ReasonNotAuthorized); a relayed one ends
			// nothing.
			h.CountLoginFailed()
		}
	case LoginThrottled:
		h.lim.throttled.Add(1)
		h.CountLoginThrottled()
	}
	if h.cfg.OnLogin != nil {
		h.cfg.OnLogin(ev)
	}
}

// watchAuth readies an open relayed session for its SASL: the deadline
// to authenticate within starts, and what goes by is looked at.
func (h *Hub) watchAuth(s *Session) {
	s.auth.watching.Store(true)
	d := h.cfg.AuthTimeout
	if d == 0 {
		d = DefaultAuthTimeout
	}
	if d < 0 {
		return
	}
	t := time.AfterFunc(d, func() {
		if !s.auth.watching.Load() {
			return
		}
		h.lim.authTimer.Add(1)
		s.End(&CloseError{Reason: ReasonAuthTimeout, Text: fmt.Sprintf("not authenticated within %v", d)})
	})
	s.auth.mu.Lock()
	if s.auth.watching.Load() {
		s.auth.timer = t
		t = nil
	}
	s.auth.mu.Unlock()
	if t != nil {
		t.Stop()
	}
}

// saslAuth is the part of a SASL <auth/> (or XEP-0388 <authenticate/>)
// the bridge reads.
type saslAuth struct {
	XMLName   xml.Name
	Mechanism string `xml:"mechanism,attr"`
	Data      string `xml:",chardata"`
	// Initial is XEP-0388's <initial-response/>.
	Initial string `xml:"initial-response"`
}

// sendingAuth looks at an element the browser sends on a relayed session
// that has not authenticated. For a SASL <auth/> it asks the limits; when
// they refuse, it answers the browser itself and returns true: the
// element is not sent. A login refused outright ends the session.
func (s *Session) sendingAuth(elem []byte) bool {
	if !s.auth.watching.Load() {
		return false
	}
	ns := nsSASL
	if !isSASL(elem, "auth", nsSASL) {
		if ns = nsSASL2; !isSASL(elem, "authenticate", nsSASL2) {
			return false
		}
	}
	h := s.hub
	var a saslAuth
	acct := ""
	if xml.Unmarshal(elem, &a) == nil {
		switch a.XMLName.Space {
		case nsSASL:
			acct = account(authcid(a.Mechanism, a.Data), s.auth.domain)
		case nsSASL2:
			acct = account(authcid(a.Mechanism, a.Initial), s.auth.domain)
		}
	}
	s.auth.mu.Lock()
	prev := s.auth.attempt
	s.auth.attempt = nil
	if acct != "" {
		s.auth.account = acct
	}
	s.auth.mu.Unlock()
	prev.Abandoned() // a new <auth/> replaces one never answered
	if h.cfg.Limits == nil {
		return false
	}
	at, err := h.cfg.Limits.Login(s.auth.client, acct)
	if err != nil {
		ev := throttledEvent(s, acct, true, err)
		h.loginEvent(ev)
		if ev.Blocked {
			s.End(&CloseError{Reason: ReasonThrottled, Text: throttleText(err), Err: err})
			return true
		}
		// RFC 6120 §6.5.9: the client may try again later.
		var b []byte
		b = append(b, "<failure xmlns='"+ns+"'>"...)
		if ns == nsSASL {
			b = append(b, "<temporary-auth-failure/>"...)
		} else {
			// XEP-0388 §6.2: the condition is RFC 6120's.
			b = append(b, "<temporary-auth-failure xmlns='"+nsSASL+"'/>"...)
		}
		b = append(b, "<text xml:lang='en'>"...)
		b = xmlsplit.AppendText(b, throttleText(err))
		b = append(b, "</text></failure>"...)
		s.pushFor(Item{Event: xmppclient.Event{Kind: xmppclient.EventElement, Data: b}})
		return true
	}
	s.auth.mu.Lock()
	s.auth.attempt = at
	s.auth.mu.Unlock()
	return false
}

// receivedAuth looks at an element the server sent on a relayed session
// that has not authenticated: its SASL <success/> or <failure/> ends the
// attempt the browser's <auth/> began.
func (s *Session) receivedAuth(ev *xmppclient.Event) {
	if ev.Kind != xmppclient.EventElement || !s.auth.watching.Load() {
		return
	}
	ok := isSASL(ev.Data, "success", nsSASL) || isSASL(ev.Data, "success", nsSASL2)
	if !ok && !isSASL(ev.Data, "failure", nsSASL) && !isSASL(ev.Data, "failure", nsSASL2) {
		return
	}
	h := s.hub
	s.auth.mu.Lock()
	at, acct := s.auth.attempt, s.auth.account
	s.auth.attempt = nil
	var timer *time.Timer
	if ok {
		timer = s.auth.timer
		s.auth.timer = nil
		s.auth.watching.Store(false)
	}
	s.auth.mu.Unlock()
	evt := LoginEvent{Session: s, Client: s.auth.client, Account: acct, Relayed: true}
	if ok {
		if timer != nil {
			timer.Stop()
		}
		h.mu.Lock()
		if s.auth.anon {
			s.auth.anon = false
			h.anon--
		}
		h.mu.Unlock()
		at.Succeeded()
		evt.Outcome = LoginOK
		h.loginEvent(evt)
		return
	}
	cond := failureCondition(ev.Data)
	switch cond {
	case "aborted", "temporary-auth-failure":
		// The browser gave up, or the server could not decide: no
		// verdict on the credentials.
		at.Abandoned()
		return
	}
	at.Failed()
	evt.Outcome, evt.Condition = LoginFailed, cond
	h.loginEvent(evt)
}

// isSASL reports whether elem is a SASL element of the given local name
// and namespace: its start tag's name (any prefix) and a declaration of
// the namespace in that tag.
func isSASL(elem []byte, local, ns string) bool {
	end := bytes.IndexByte(elem, '>')
	if len(elem) < 2 || elem[0] != '<' || end < 0 {
		return false
	}
	tag := elem[1:end]
	n := bytes.IndexAny(tag, " \t\r\n/")
	if n < 0 {
		n = len(tag)
	}
	name := tag[:n]
	if i := bytes.IndexByte(name, ':'); i >= 0 {
		name = name[i+1:]
	}
	if string(name) != local {
		return false
	}
	return bytes.Contains(tag, []byte("'"+ns+"'")) || bytes.Contains(tag, []byte(`"`+ns+`"`))
}

// failureCondition is the defined condition of a SASL <failure/>.
func failureCondition(elem []byte) string {
	var f struct {
		Children []struct{ XMLName xml.Name } `xml:",any"`
	}
	if xml.Unmarshal(elem, &f) != nil {
		return ""
	}
	for _, c := range f.Children {
		if c.XMLName.Local != "text" {
			return c.XMLName.Local
		}
	}
	return ""
}

// authcid is the user a SASL initial response names: PLAIN's
// authentication identity (RFC 4616), SCRAM's n= (RFC 5802). "" for
// other mechanisms and for what cannot be read.
func authcid(mech, data string) string {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(data))
	if err != nil {
		return ""
	}
	switch {
	case mech == "PLAIN":
		parts := bytes.Split(raw, []byte{0})
		if len(parts) == 3 {
			return string(parts[1])
		}
	case strings.HasPrefix(mech, "SCRAM-"):
		// gs2-header "n,," (or y,, / p=...,,), then n=user,r=nonce.
		fields := strings.Split(string(raw), ",")
		for _, f := range fields[min(2, len(fields)):] {
			if user, ok := strings.CutPrefix(f, "n="); ok {
				return strings.NewReplacer("=2C", ",", "=3D", "=").Replace(user)
			}
		}
	}
	return ""
}
