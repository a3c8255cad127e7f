package links

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var (
	oldKey = []byte("old-key-0123456789abcdef")
	newKey = []byte("new-key-0123456789abcdef")
	now    = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

func signer(t *testing.T, keys ...[]byte) *Signer {
	t.Helper()
	s, err := NewSigner(keys)
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return now }
	return s
}

func TestRoundTrip(t *testing.T) {
	s := signer(t, newKey)
	want := Claims{TaskID: "task/offboarding/ann/github", PersonID: "bob", Expires: now.Add(time.Hour)}
	got, err := s.Verify(s.Sign(want))
	if err != nil {
		t.Fatal(err)
	}
	if got.TaskID != want.TaskID || got.PersonID != want.PersonID || !got.Expires.Equal(want.Expires) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestRejects(t *testing.T) {
	s := signer(t, newKey)
	good := s.Sign(Claims{TaskID: "t1", PersonID: "bob", Expires: now.Add(time.Hour)})
	payload, sig, _ := strings.Cut(good, ".")
	forged := b64([]byte("t1" + sep + "mallory" + sep + "9999999999"))
	foreign := signer(t, []byte("someone-else-entirely-key")).Sign(Claims{TaskID: "t1", PersonID: "bob", Expires: now.Add(time.Hour)})
	cases := map[string]struct {
		token string
		want  error
	}{
		"payload swapped":  {forged + "." + sig, ErrSignature},
		"signature cut":    {payload + "." + sig[:len(sig)-4], ErrSignature},
		"foreign key":      {foreign, ErrSignature},
		"expired":          {s.Sign(Claims{TaskID: "t1", PersonID: "bob", Expires: now.Add(-time.Second)}), ErrExpired},
		"expires this sec": {s.Sign(Claims{TaskID: "t1", PersonID: "bob", Expires: now}), ErrExpired},
		"no dot":           {payload, ErrMalformed},
		"not base64":       {"!!!." + sig, ErrMalformed},
		"empty":            {"", ErrMalformed},
	}
	for name, c := range cases {
		if _, err := s.Verify(c.token); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", name, err, c.want)
		}
	}
}

func TestRotation(t *testing.T) {
	before := signer(t, oldKey)
	after := signer(t, newKey, oldKey)
	old := before.Sign(Claims{TaskID: "t1", PersonID: "bob", Expires: now.Add(time.Hour)})
	if _, err := after.Verify(old); err != nil {
		t.Fatalf("a link signed with the previous key must verify during the grace period: %v", err)
	}
	fresh := after.Sign(Claims{TaskID: "t1", PersonID: "bob", Expires: now.Add(time.Hour)})
	if _, err := before.Verify(fresh); !errors.Is(err, ErrSignature) {
		t.Fatalf("new links must be signed with the first key, got %v from a verifier holding only the old key", err)
	}
	if _, err := signer(t, newKey).Verify(old); !errors.Is(err, ErrSignature) {
		t.Fatalf("once the old key is removed its links must fail, got %v", err)
	}
}

func TestShortKeyRefused(t *testing.T) {
	if _, err := NewSigner([][]byte{[]byte("short")}); err == nil {
		t.Fatal("a short key must be refused")
	}
	if _, err := NewSigner(nil); err == nil {
		t.Fatal("no key must be refused")
	}
}
