package jsonapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// loginFrame is the first frame of every session.
// loginFrame is the first frame of every connection: a login, or a resume
// (Kind "resume": Token is a resume token and Last the page's highest
// frame).
type loginFrame struct {
	Kind     string  `json:"kind"`
	ID       string  `json:"id"`
	JID      string  `json:"jid"`
	Password string  `json:"password"`
	Resource string  `json:"resource"`
	Token    string  `json:"token"`
	Last     *uint64 `json:"last"`
	// A resume may say, for another bridge process to resume the server's
	// stream (sm.go): H, how many of the server's stanzas the page has,
	// and Acked, the latest confirmation of its own frames it got.
	H     *uint64 `json:"h"`
	Acked *struct {
		N, H uint64
	} `json:"acked"`
}

// parseLogin reads a login frame.
func parseLogin(b []byte) (*loginFrame, *apiError) {
	var f loginFrame
	if err := json.Unmarshal(b, &f); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, &apiError{code: errBadValue, text: te.Field + ": must be a string"}
		}
		return nil, &apiError{code: errBadJSON, text: "not a JSON object: " + err.Error()}
	}
	switch {
	case f.Kind == "":
		return nil, &apiError{code: errUnknownKind, id: f.ID, text: "the frame has no kind"}
	case f.Kind == "resume":
		switch {
		case f.Token == "":
			return nil, &apiError{code: errMissingField, id: f.ID, text: "token"}
		case f.Last == nil:
			return nil, &apiError{code: errMissingField, id: f.ID, text: "last"}
		}
	case f.Kind != "login":
		return nil, &apiError{code: errNotLoggedIn, id: f.ID, text: "the first frame must be a login or a resume"}
	case f.Token != "":
	case f.JID == "":
		return nil, &apiError{code: errMissingField, id: f.ID, text: "jid"}
	case f.Password == "":
		return nil, &apiError{code: errMissingField, id: f.ID, text: "password"}
	}
	return &f, nil
}

// splitJID splits a bare JID into localpart and domain.
func splitJID(jid string) (local, domain string, ok bool) {
	at := strings.IndexByte(jid, '@')
	if at <= 0 || at == len(jid)-1 || strings.ContainsAny(jid, "/ \t\r\n") {
		return "", "", false
	}
	return jid[:at], strings.ToLower(jid[at+1:]), true
}

// An Account is whom a bridge-side login logs in as: the jid of a login
// frame or a prebind request, checked and split once by the JSON API (a
// bare JID, user@domain, with no resource; the domain lower-cased),
// with the password and resource that came with it.
type Account struct {
	// Domain is the JID's domain, the server's.
	Domain string
	// Credentials: Username is the JID's localpart; Password and
	// Resource ("" lets the server choose) are the request's.
	Credentials xmppclient.Credentials
}

// parseAccount checks and splits jid into the Account it names.
func parseAccount(jid, password, resource string) (Account, *apiError) {
	local, domain, ok := splitJID(jid)
	if !ok {
		return Account{}, &apiError{code: errBadValue, text: "jid: not a bare JID (user@domain)"}
	}
	return Account{Domain: domain, Credentials: xmppclient.Credentials{
		Username: local, Password: password, Resource: resource,
	}}, nil
}

// passwordAllowed says whether r may carry a password: over TLS, from
// loopback, or anywhere when the config allows it.
func (h *Handler) passwordAllowed(r *http.Request) bool {
	if h.cfg.AllowInsecurePassword || r.TLS != nil {
		return true
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// login opens the bridge session for a login frame: with the password, or
// by redeeming a prebind token. s is the session to open it for (its log
// is empty); a token hands over the session prebinding made instead.
func (h *Handler) login(ctx context.Context, passwordOK bool, f *loginFrame, s *session) (*session, *apiError) {
	if f.Token != "" {
		p := h.tokens.take(f.Token)
		if p == nil {
			return nil, &apiError{code: errBadToken, id: f.ID, text: "unknown, used or expired token"}
		}
		p.lp.Lock()
		p.sid = s.sid
		p.fillLocked() // learn of an end while it waited
		if p.ended {
			p.lp.Unlock()
			return nil, &apiError{code: errBadToken, id: f.ID, text: "the prebound session has ended"}
		}
		// The session frame prebinding queued first now answers this login.
		p.log[0].data = sessionFrame(nil, p.jid, p.sid, f.ID, h.tokenLocked(p), h.cfg.ResumeWindow)
		p.bytes = 0
		for i := range p.log {
			p.bytes += len(p.log[i].data)
		}
		p.lp.Unlock()
		return p, nil
	}
	if !passwordOK {
		return nil, &apiError{code: errEncryptionRequired, id: f.ID, text: "passwords are accepted only over TLS"}
	}
	a, e := parseAccount(f.JID, f.Password, f.Resource)
	if e == nil {
		e = h.open(ctx, a, s)
	}
	if e != nil {
		e.id = f.ID
		return nil, e
	}
	s.lp.Lock()
	s.appendLocked(sessionFrame(nil, s.jid, s.sid, f.ID, h.tokenLocked(s), h.cfg.ResumeWindow))
	s.lp.Unlock()
	return s, nil
}

// tokenLifetime bounds a resume token's validity however long its session
// lives: a token names its session's generation too, which every resume
// moves on.
const tokenLifetime = 7 * 24 * time.Hour

// tokenLocked is the session's resume token, of its current generation;
// "" when the Handler offers no resumption. The session is kept findable
// by it.
func (h *Handler) tokenLocked(s *session) string {
	if h.cfg.ResumeWindow < 0 {
		return ""
	}
	h.keep(s)
	t := resumeToken{key: s.key, gen: s.gen, expires: time.Now().Add(tokenLifetime), domain: s.domain}
	if s.smOn && s.bs != nil {
		// Enough for another process to resume the server's stream.
		if st, secret := s.bs.SM(), s.bs.Secret(); st.ID != "" && secret != nil {
			t.jid, t.smID, t.secret = s.jid, st.ID, secret
		}
	}
	return h.sealToken(t)
}

// resume attaches the session a resume frame names to a new connection:
// the session's previous connection, if any, is let go (the caller closes
// what it returns), the page's frames up to last count as taken, and the
// token moves on a generation. The caller then sends the resumed frame and
// every frame after last. It returns the number of frames the session took
// from the page.
func (h *Handler) resume(f *loginFrame) (*session, uint64, *apiError) {
	now := time.Now()
	t, err := h.openToken(f.Token, now)
	if err != nil {
		return nil, 0, &apiError{code: errBadToken, id: f.ID, text: "the resume token is forged, malformed or expired"}
	}
	h.mu.Lock()
	s := h.byKey[t.key]
	h.mu.Unlock()
	if s == nil {
		// Perhaps another process's, which died: its server may keep
		// the stream for us.
		s, e := h.adopt(t, f)
		if e != nil {
			return nil, 0, e
		}
		s.sendMu.Lock()
		defer s.sendMu.Unlock()
		s.lp.Lock()
		defer s.lp.Unlock()
		s.gen = t.gen + 1
		s.resumedAt = now
		s.told, _ = s.confirmedLocked()
		return s, s.received, nil
	}
	last := *f.Last
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.lp.Lock()
	defer s.lp.Unlock()
	switch {
	case s.gone, s.ended && s.end.Reason == bridge.ReasonNormal:
		// (A session that ended otherwise is resumed for its page to
		// hear why.)
		return nil, 0, &apiError{code: errItemNotFound, id: f.ID, text: "the session has ended: log in again"}
	case t.domain != s.domain:
		return nil, 0, &apiError{code: errBadToken, id: f.ID, text: "the token is not this session's"}
	case t.gen+1 == s.gen && now.Sub(s.resumedAt) < raceWindow:
		return nil, 0, &apiError{code: errConflict, id: f.ID, text: "another connection resumed this session"}
	case t.gen != s.gen:
		return nil, 0, &apiError{code: errBadToken, id: f.ID, text: "the token was replaced by a later resume"}
	case last >= s.next:
		return nil, 0, &apiError{code: errBadRequest, id: f.ID, text: "last is ahead of what the bridge sent"}
	case last < s.acked:
		return nil, 0, &apiError{code: errBadRequest, id: f.ID, text: "last is behind what the page acknowledged"}
	}
	s.gen++
	s.resumedAt = now
	s.ackLocked(last)
	s.sent = last
	s.backLocked()
	s.told, _ = s.confirmedLocked()
	return s, s.received, nil
}

// raceWindow is how long after a resume another resume with the token it
// replaced is taken for the loser of a race (conflict) rather than for a
// stale token (bad-token).
const raceWindow = 10 * time.Second

// open logs s in upstream as a.
func (h *Handler) open(ctx context.Context, a Account, s *session) *apiError {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(h.ctx, cancel)
	bs, err := h.cfg.Hub.Open(ctx, bridge.OpenRequest{To: a.Domain, Login: &a.Credentials, StreamManagement: true}, s)
	stop()
	cancel()
	if err != nil {
		// The queue holds a header and the end; nothing to read there.
		return loginError(err)
	}
	s.lp.Lock()
	s.jid, s.domain = bs.JID(), a.Domain // Open attached bs
	s.smOn = bs.SM().On
	s.lp.Unlock()
	return nil
}

// loginError says why a login failed, as an error frame.
func loginError(err error) *apiError {
	var ce *bridge.CloseError
	if !errors.As(err, &ce) {
		return &apiError{code: errInternal, text: err.Error()}
	}
	if e := limitError(ce); e != nil {
		return e
	}
	switch ce.Reason {
	case bridge.ReasonNotAuthorized:
		text := "the server refused the credentials"
		var xe *xmppclient.Error
		if errors.As(err, &xe) && xe.Cond != "" && xe.Cond != "not-authorized" {
			text += " (" + xe.Cond + ")"
		}
		return &apiError{code: errNotAuthorized, text: text}
	case bridge.ReasonHostUnknown:
		return &apiError{code: errHostUnknown, text: "this bridge does not serve that domain"}
	case bridge.ReasonShutdown:
		return &apiError{code: errShutdown, text: "the bridge is shutting down"}
	case bridge.ReasonResourceConstraint:
		return &apiError{code: errResource, text: "the bridge holds as many sessions as it may"}
	}
	text := "the server could not be reached"
	if ce.Text != "" {
		text += ": " + ce.Text
	}
	return &apiError{code: errRemoteFailed, text: text}
}

// Prebind tokens.

// tokens holds prebound sessions until their token is redeemed or expires.
type tokens struct {
	mu sync.Mutex
	m  map[string]*session
}

func newToken() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// put keeps s under a new token for ttl; afterwards the session ends.
func (t *tokens) put(s *session, ttl time.Duration) string {
	tok := newToken()
	t.mu.Lock()
	if t.m == nil {
		t.m = make(map[string]*session)
	}
	t.m[tok] = s
	t.mu.Unlock()
	time.AfterFunc(ttl, func() {
		if s := t.take(tok); s != nil {
			endPrebound(s)
		}
	})
	return tok
}

// take removes and returns the session of a token: each is used once.
func (t *tokens) take(tok string) *session {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.m[tok]
	delete(t.m, tok)
	return s
}

// all removes and returns every waiting session, for shutdown.
func (t *tokens) all() []*session {
	t.mu.Lock()
	defer t.mu.Unlock()
	list := make([]*session, 0, len(t.m))
	for tok, s := range t.m {
		list = append(list, s)
		delete(t.m, tok)
	}
	return list
}
