// Package links signs and verifies the task links sent by email: a token names
// one task, one person and an expiry, and only a holder of a signing key can
// make one, so a link cannot be altered to act on another task or as another
// person.
package links

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Errors Verify returns; the portal answers every one of them with 403.
var (
	ErrMalformed = errors.New("link token is malformed")
	ErrSignature = errors.New("link token signature does not match")
	ErrExpired   = errors.New("link token has expired")
)

// Claims is what a token grants: PersonID may act on TaskID until Expires.
type Claims struct {
	TaskID   string
	PersonID string
	Expires  time.Time
}

// Signer makes and checks tokens. The first key signs; every key verifies, so
// a key being rotated out keeps its links working for a grace period.
type Signer struct {
	keys [][]byte
	now  func() time.Time
}

// NewSigner needs at least one key (config.Config.LinkSigningKeys).
func NewSigner(keys [][]byte) (*Signer, error) {
	if len(keys) == 0 {
		return nil, errors.New("links: no signing key")
	}
	for _, k := range keys {
		if len(k) < 16 {
			return nil, errors.New("links: signing keys must be at least 16 bytes")
		}
	}
	return &Signer{keys: keys, now: time.Now}, nil
}

// Sign returns a URL-safe token for the claims.
func (s *Signer) Sign(c Claims) string {
	payload := encode(c)
	return b64(payload) + "." + b64(mac(s.keys[0], payload))
}

// Verify checks a token's signature against every key and its expiry.
func (s *Signer) Verify(token string) (Claims, error) {
	p64, m64, ok := strings.Cut(token, ".")
	if !ok {
		return Claims{}, ErrMalformed
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(p64)
	sig, err2 := base64.RawURLEncoding.DecodeString(m64)
	if err1 != nil || err2 != nil {
		return Claims{}, ErrMalformed
	}
	valid := false
	for _, k := range s.keys {
		if hmac.Equal(sig, mac(k, payload)) {
			valid = true
			break
		}
	}
	if !valid {
		return Claims{}, ErrSignature
	}
	c, ok := decode(payload)
	if !ok {
		return Claims{}, ErrMalformed
	}
	if !s.now().Before(c.Expires) {
		return Claims{}, ErrExpired
	}
	return c, nil
}

// The fields are joined with a separator no ID may contain (a unit separator),
// so "a"+"b/c" and "a/b"+"c" sign differently.
const sep = "\x1f"

func encode(c Claims) []byte {
	return []byte(c.TaskID + sep + c.PersonID + sep + strconv.FormatInt(c.Expires.Unix(), 10))
}

func decode(payload []byte) (Claims, bool) {
	parts := strings.Split(string(payload), sep)
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return Claims{}, false
	}
	exp, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return Claims{}, false
	}
	return Claims{TaskID: parts[0], PersonID: parts[1], Expires: time.Unix(exp, 0)}, true
}

func mac(key, payload []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte("complyflow task link v1" + sep))
	h.Write(payload)
	return h.Sum(nil)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
