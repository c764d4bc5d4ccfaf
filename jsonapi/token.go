package jsonapi

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"

	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// A resume token lets a page continue its session after its connection is
// gone (docs/json-api.md, "Resuming a session"). It names the session (its
// key) and the generation of the token, which every resume increments, so
// that an old token no longer works; it carries the session's domain and
// an expiry. When the bridge does the session's stream management upstream
// it also carries what another bridge process needs to resume that stream
// should this one die: the full JID, the server's resumption id and the
// SCRAM secret of the login (the salted password, which serves for that
// server and salt only; never the password).
//
// The token is sealed with AES-256-GCM under a key derived from the
// Handler's resume key, which bridges of one cluster share: each can read
// the others' tokens and tell them from forgeries, and nobody else can read
// or make one.
//
//	token = base64url(nonce(12) || seal(payload))
//	payload = version(1) key(16) gen(4) expires(8) then strings and bytes,
//	          each a uvarint length and its bytes: domain, jid, smID,
//	          mechanism, salt, salted; and iter as a uvarint
type resumeToken struct {
	key     [16]byte
	gen     uint32
	expires time.Time
	domain  string

	// Set when another process may resume the upstream stream.
	jid    string
	smID   string
	secret *xmppclient.Secret
}

const tokenVersion = 2

// tokenEncoding refuses the spellings of the same bytes that differ only in
// unused bits: one token, one string.
var tokenEncoding = base64.RawURLEncoding.Strict()

// maxToken bounds a token's length before it is decoded.
const maxToken = 1024

var errTokenBad = errors.New("jsonapi: resume token forged, malformed or expired")

// newResumeKey is a key for a Handler that was given none: tokens then work
// with this process only.
func newResumeKey() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return k
}

// tokenAEAD is the cipher that seals tokens under the resume key.
func tokenAEAD(resumeKey []byte) cipher.AEAD {
	k, err := hkdf.Key(sha256.New, resumeKey, nil, "xmppbridge resume token v2", 32)
	if err != nil {
		panic(err) // only for a length HKDF cannot give
	}
	b, err := aes.NewCipher(k)
	if err != nil {
		panic(err)
	}
	a, err := cipher.NewGCM(b)
	if err != nil {
		panic(err)
	}
	return a
}

func (h *Handler) sealToken(t resumeToken) string {
	p := make([]byte, 0, 128)
	p = append(p, tokenVersion)
	p = append(p, t.key[:]...)
	p = binary.BigEndian.AppendUint32(p, t.gen)
	p = binary.BigEndian.AppendUint64(p, uint64(t.expires.Unix()))
	var mech string
	var salt, salted []byte
	var iter int
	if t.secret != nil {
		mech, salt, salted, iter = t.secret.Mechanism, t.secret.Salt, t.secret.Salted, t.secret.Iter
	}
	for _, f := range [][]byte{[]byte(t.domain), []byte(t.jid), []byte(t.smID), []byte(mech), salt, salted} {
		p = binary.AppendUvarint(p, uint64(len(f)))
		p = append(p, f...)
	}
	p = binary.AppendUvarint(p, uint64(iter))

	out := make([]byte, 12, 12+len(p)+h.aead.Overhead())
	_, _ = rand.Read(out)
	out = h.aead.Seal(out, out[:12], p, nil)
	return tokenEncoding.EncodeToString(out)
}

// openToken checks and reads a token, and its expiry.
func (h *Handler) openToken(s string, now time.Time) (resumeToken, error) {
	var t resumeToken
	if len(s) > maxToken {
		return t, errTokenBad
	}
	b, err := tokenEncoding.DecodeString(s)
	if err != nil || len(b) < 12+h.aead.Overhead() {
		return t, errTokenBad
	}
	p, err := h.aead.Open(nil, b[:12], b[12:], nil)
	if err != nil || len(p) < 29 || p[0] != tokenVersion {
		return t, errTokenBad
	}
	copy(t.key[:], p[1:17])
	t.gen = binary.BigEndian.Uint32(p[17:21])
	t.expires = time.Unix(int64(binary.BigEndian.Uint64(p[21:29])), 0)
	p = p[29:]
	var fields [6][]byte
	for i := range fields {
		n, k := binary.Uvarint(p)
		if k <= 0 || n > uint64(len(p)-k) {
			return t, errTokenBad
		}
		fields[i], p = p[k:k+int(n)], p[k+int(n):]
	}
	iter, k := binary.Uvarint(p)
	if k <= 0 || k != len(p) || iter > 1<<30 {
		return t, errTokenBad
	}
	t.domain, t.jid, t.smID = string(fields[0]), string(fields[1]), string(fields[2])
	if len(fields[3]) > 0 {
		t.secret = &xmppclient.Secret{Mechanism: string(fields[3]), Salt: fields[4], Salted: fields[5], Iter: int(iter)}
	}
	if now.After(t.expires) {
		return t, errTokenBad
	}
	return t, nil
}
