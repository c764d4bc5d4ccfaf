package jsonapi

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"time"
)

// A resume token lets a page continue its session after its connection is
// gone (docs/json-api.md, "Resuming a session"). It names the session (its
// key) and the generation of the token, which every resume increments, so
// that an old token no longer works; it carries the session's domain and
// an expiry; and it is signed with HMAC-SHA-256 under the Handler's resume
// key, which bridges of one cluster share so that each can tell a token of
// the others from a forgery. It holds nothing secret: its signature makes
// it the session's credential.
//
//	token = base64url(payload) "." base64url(mac[:16])
//	payload = version(1) key(16) gen(4) expires(8, unix seconds) domain
type resumeToken struct {
	key     [16]byte
	gen     uint32
	expires time.Time
	domain  string
}

const tokenVersion = 1

// tokenEncoding refuses the spellings of the same bytes that differ only in
// unused bits: one token, one string.
var tokenEncoding = base64.RawURLEncoding.Strict()

var errTokenBad = errors.New("jsonapi: resume token forged, malformed or expired")

// newResumeKey is a key for a Handler that was given none: tokens then work
// with this process only.
func newResumeKey() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return k
}

func (h *Handler) sealToken(t resumeToken) string {
	p := make([]byte, 0, 29+len(t.domain))
	p = append(p, tokenVersion)
	p = append(p, t.key[:]...)
	p = binary.BigEndian.AppendUint32(p, t.gen)
	p = binary.BigEndian.AppendUint64(p, uint64(t.expires.Unix()))
	p = append(p, t.domain...)
	return tokenEncoding.EncodeToString(p) + "." + tokenEncoding.EncodeToString(h.tokenMAC(p))
}

func (h *Handler) tokenMAC(p []byte) []byte {
	m := hmac.New(sha256.New, h.cfg.ResumeKey)
	m.Write(p)
	return m.Sum(nil)[:16]
}

// openToken checks a token's signature and expiry and reads it.
func (h *Handler) openToken(s string, now time.Time) (resumeToken, error) {
	var t resumeToken
	ps, ms, ok := strings.Cut(s, ".")
	if !ok || len(s) > 512 {
		return t, errTokenBad
	}
	p, err1 := tokenEncoding.DecodeString(ps)
	mac, err2 := tokenEncoding.DecodeString(ms)
	if err1 != nil || err2 != nil || len(p) < 29 || p[0] != tokenVersion || !hmac.Equal(mac, h.tokenMAC(p)) {
		return t, errTokenBad
	}
	copy(t.key[:], p[1:17])
	t.gen = binary.BigEndian.Uint32(p[17:21])
	t.expires = time.Unix(int64(binary.BigEndian.Uint64(p[21:29])), 0)
	t.domain = string(p[29:])
	if now.After(t.expires) {
		return t, errTokenBad
	}
	return t, nil
}
