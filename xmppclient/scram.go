package xmppclient

import (
	"bytes"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

// SASL for Login: SCRAM (RFC 5802, RFC 7677) and PLAIN (RFC 4616), client
// side. SCRAM is done here rather than by a library because a login that
// must be done again — an upstream stream resumed (XEP-0198) after its
// link broke, perhaps by another bridge process — must not need the
// password: it uses the salted password the first login derived
// (a Secret), which serves for this server and this salt only.

// Secret stands for a password at a later SCRAM login: the salted password
// (RFC 5802 §3) with what it was derived for. Only a server that still
// offers the mechanism with the same salt and iteration count takes it.
type Secret struct {
	Mechanism string // "SCRAM-SHA-256" or "SCRAM-SHA-1"
	Salt      []byte
	Iter      int
	Salted    []byte // Hi(password, salt, iter)
}

// maxIter bounds the iteration count a server may ask for: a hostile or
// broken server must not make the bridge spin.
const maxIter = 1 << 20

var errScram = errors.New("xmppclient: SCRAM")

// scramHash is the hash of a SCRAM mechanism.
func scramHash(mech string) func() hash.Hash {
	switch mech {
	case "SCRAM-SHA-256":
		return sha256.New
	case "SCRAM-SHA-1":
		return sha1.New
	}
	return nil
}

// scram is one SCRAM exchange, client side, without channel binding.
type scram struct {
	mech      string
	hash      func() hash.Hash
	user      string
	password  []byte  // or
	secret    *Secret // from an earlier login
	nonce     string
	firstBare string
	serverSig []byte
	derived   *Secret // the salted password this exchange used
}

func newScram(mech string, cred *Credentials) *scram {
	var n [18]byte
	_, _ = rand.Read(n[:])
	s := &scram{mech: mech, hash: scramHash(mech), user: cred.Username, secret: cred.Secret, nonce: base64.RawStdEncoding.EncodeToString(n[:])}
	if cred.Secret == nil {
		s.password = []byte(cred.Password)
	}
	return s
}

// first is the client-first-message.
func (s *scram) first() []byte {
	s.firstBare = "n=" + saslName(s.user) + ",r=" + s.nonce
	return []byte("n,," + s.firstBare)
}

// final answers the server-first-message with the client-final-message.
func (s *scram) final(serverFirst []byte) ([]byte, error) {
	var nonce, salt64, iters string
	for part := range strings.SplitSeq(string(serverFirst), ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "r":
			nonce = v
		case "s":
			salt64 = v
		case "i":
			iters = v
		case "m":
			return nil, fmt.Errorf("%w: the server requires an extension", errScram)
		}
	}
	if !strings.HasPrefix(nonce, s.nonce) || len(nonce) == len(s.nonce) {
		return nil, fmt.Errorf("%w: the server's nonce does not extend ours", errScram)
	}
	salt, err := base64.StdEncoding.DecodeString(salt64)
	if err != nil || len(salt) == 0 {
		return nil, fmt.Errorf("%w: bad salt", errScram)
	}
	iter, err := strconv.Atoi(iters)
	if err != nil || iter < 1 || iter > maxIter {
		return nil, fmt.Errorf("%w: iteration count %q", errScram, iters)
	}
	var salted []byte
	switch {
	case s.secret == nil:
		salted, err = pbkdf2.Key(s.hash, string(s.password), salt, iter, s.hash().Size())
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errScram, err)
		}
	case s.secret.Mechanism == s.mech && s.secret.Iter == iter && bytes.Equal(s.secret.Salt, salt):
		salted = s.secret.Salted
	default:
		// The password was changed, or the server's store was.
		return nil, ErrSecretStale
	}
	s.derived = &Secret{Mechanism: s.mech, Salt: salt, Iter: iter, Salted: salted}

	withoutProof := "c=biws,r=" + nonce // biws: base64("n,,")
	authMessage := []byte(s.firstBare + "," + string(serverFirst) + "," + withoutProof)
	clientKey := s.mac(salted, []byte("Client Key"))
	h := s.hash()
	h.Write(clientKey)
	clientSig := s.mac(h.Sum(nil), authMessage)
	proof := make([]byte, len(clientKey))
	subtle.XORBytes(proof, clientKey, clientSig)
	s.serverSig = s.mac(s.mac(salted, []byte("Server Key")), authMessage)
	return []byte(withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof)), nil
}

// verify checks the server-final-message: the server proves that it knew
// the password too.
func (s *scram) verify(serverFinal []byte) error {
	k, _, _ := strings.Cut(string(serverFinal), ",")
	switch {
	case strings.HasPrefix(k, "e="):
		return fmt.Errorf("%w: the server says %s", errScram, k[2:])
	case !strings.HasPrefix(k, "v="):
		return fmt.Errorf("%w: no server signature", errScram)
	}
	sig, err := base64.StdEncoding.DecodeString(k[2:])
	if err != nil || !hmac.Equal(sig, s.serverSig) {
		return fmt.Errorf("%w: the server's signature does not match", errScram)
	}
	return nil
}

func (s *scram) mac(key, msg []byte) []byte {
	m := hmac.New(s.hash, key)
	m.Write(msg)
	return m.Sum(nil)
}

// saslName escapes a username for SCRAM (RFC 5802 §5.1).
func saslName(u string) string {
	if !strings.ContainsAny(u, "=,") {
		return u
	}
	return strings.NewReplacer("=", "=3D", ",", "=2C").Replace(u)
}

// plainResponse is the PLAIN message (RFC 4616), no authorization identity.
func plainResponse(cred *Credentials) []byte {
	return []byte("\x00" + cred.Username + "\x00" + cred.Password)
}
