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
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Errors Verify returns; the portal answers every one of them with 403.
var (
	ErrMalformed  = errors.New("link token is malformed")
	ErrSignature  = errors.New("link token signature does not match")
	ErrExpired    = errors.New("link token has expired")
	ErrRetiredKey = errors.New("link token was signed with a key past its grace period")
)

// Claims is what a token grants: PersonID may act on Subject until Expires.
// Subject names what the link is for, its kind in its name: a task ID
// ("task/..."), or a change-request draft ("change-request-draft/...").
type Claims struct {
	Subject  string
	PersonID string
	Expires  time.Time
}

// Key is one signing key. A key being rotated out keeps verifying the links
// it signed until Until; the zero Until means for as long as it is configured.
type Key struct {
	Secret []byte
	Until  time.Time
}

// ParseKeys reads LINK_SIGNING_KEY: comma-separated keys, the first signing.
// An older key may end with "until TIME" (RFC 3339, or a date meaning 00:00
// UTC of that day), its grace period:
//
//	new-key-…, old-key-… until 2026-12-31
func ParseKeys(s string) ([]Key, error) {
	var keys []Key
	for i, part := range strings.Split(s, ",") {
		f := strings.Fields(part)
		var k Key
		switch {
		case len(f) == 1:
			k.Secret = []byte(f[0])
		case len(f) == 3 && f[1] == "until" && i > 0:
			until, err := parseUntil(f[2])
			if err != nil {
				return nil, fmt.Errorf("key %d: %q is not a time (use 2026-12-31 or 2026-12-31T18:00:00Z)", i+1, f[2])
			}
			k = Key{Secret: []byte(f[0]), Until: until}
		case len(f) == 3 && f[1] == "until":
			return nil, errors.New("key 1 signs new links, so it cannot have an until")
		default:
			return nil, fmt.Errorf("key %d: expected KEY or KEY until TIME", i+1)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func parseUntil(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Parse(time.DateOnly, s)
}

// Signer makes and checks tokens. The first key signs; every key verifies
// (a retired one until its Until), so a key being rotated out keeps its links
// working for a grace period.
type Signer struct {
	keys []Key
	now  func() time.Time
}

// NewSigner needs at least one key (config.Config.LinkSigningKeys).
func NewSigner(keys []Key) (*Signer, error) {
	if len(keys) == 0 {
		return nil, errors.New("links: no signing key")
	}
	for _, k := range keys {
		if len(k.Secret) < 16 {
			return nil, errors.New("links: signing keys must be at least 16 bytes")
		}
	}
	if !keys[0].Until.IsZero() {
		return nil, errors.New("links: the first key signs new links, so it cannot expire")
	}
	return &Signer{keys: keys, now: time.Now}, nil
}

// Sign returns a URL-safe token for the claims.
func (s *Signer) Sign(c Claims) string {
	payload := encode(c)
	return b64(payload) + "." + b64(mac(s.keys[0].Secret, payload))
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
	var signedBy *Key
	for i, k := range s.keys {
		if hmac.Equal(sig, mac(k.Secret, payload)) {
			signedBy = &s.keys[i]
			break
		}
	}
	if signedBy == nil {
		return Claims{}, ErrSignature
	}
	if !signedBy.Until.IsZero() && !s.now().Before(signedBy.Until) {
		return Claims{}, ErrRetiredKey
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
	return []byte(c.Subject + sep + c.PersonID + sep + strconv.FormatInt(c.Expires.Unix(), 10))
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
	return Claims{Subject: parts[0], PersonID: parts[1], Expires: time.Unix(exp, 0)}, true
}

func mac(key, payload []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte("complyflow task link v1" + sep))
	h.Write(payload)
	return h.Sum(nil)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
