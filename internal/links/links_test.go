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

func signer(t *testing.T, secrets ...[]byte) *Signer {
	t.Helper()
	var keys []Key
	for _, k := range secrets {
		keys = append(keys, Key{Secret: k})
	}
	return signerWith(t, keys...)
}

func signerWith(t *testing.T, keys ...Key) *Signer {
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
	want := Claims{Subject: "task/offboarding/ann/github", PersonID: "bob", Expires: now.Add(time.Hour)}
	got, err := s.Verify(s.Sign(want))
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != want.Subject || got.PersonID != want.PersonID || !got.Expires.Equal(want.Expires) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestRejects(t *testing.T) {
	s := signer(t, newKey)
	good := s.Sign(Claims{Subject: "t1", PersonID: "bob", Expires: now.Add(time.Hour)})
	payload, sig, _ := strings.Cut(good, ".")
	forged := b64([]byte("t1" + sep + "mallory" + sep + "9999999999"))
	foreign := signer(t, []byte("someone-else-entirely-key")).Sign(Claims{Subject: "t1", PersonID: "bob", Expires: now.Add(time.Hour)})
	cases := map[string]struct {
		token string
		want  error
	}{
		"payload swapped":  {forged + "." + sig, ErrSignature},
		"signature cut":    {payload + "." + sig[:len(sig)-4], ErrSignature},
		"foreign key":      {foreign, ErrSignature},
		"expired":          {s.Sign(Claims{Subject: "t1", PersonID: "bob", Expires: now.Add(-time.Second)}), ErrExpired},
		"expires this sec": {s.Sign(Claims{Subject: "t1", PersonID: "bob", Expires: now}), ErrExpired},
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
	old := before.Sign(Claims{Subject: "t1", PersonID: "bob", Expires: now.Add(time.Hour)})
	if _, err := after.Verify(old); err != nil {
		t.Fatalf("a link signed with the previous key must verify during the grace period: %v", err)
	}
	fresh := after.Sign(Claims{Subject: "t1", PersonID: "bob", Expires: now.Add(time.Hour)})
	if _, err := before.Verify(fresh); !errors.Is(err, ErrSignature) {
		t.Fatalf("new links must be signed with the first key, got %v from a verifier holding only the old key", err)
	}
	if _, err := signer(t, newKey).Verify(old); !errors.Is(err, ErrSignature) {
		t.Fatalf("once the old key is removed its links must fail, got %v", err)
	}
}

func TestRetiredKeyVerifiesUntilItsGracePeriodEnds(t *testing.T) {
	old := signer(t, oldKey).Sign(Claims{Subject: "t1", PersonID: "bob", Expires: now.Add(48 * time.Hour)})
	during := signerWith(t, Key{Secret: newKey}, Key{Secret: oldKey, Until: now.Add(time.Hour)})
	if _, err := during.Verify(old); err != nil {
		t.Fatalf("within the grace period: %v", err)
	}
	after := signerWith(t, Key{Secret: newKey}, Key{Secret: oldKey, Until: now})
	if _, err := after.Verify(old); !errors.Is(err, ErrRetiredKey) {
		t.Fatalf("after the grace period: got %v, want ErrRetiredKey", err)
	}
	fresh := after.Sign(Claims{Subject: "t1", PersonID: "bob", Expires: now.Add(time.Hour)})
	if _, err := after.Verify(fresh); err != nil {
		t.Fatalf("the signing key is not retired: %v", err)
	}
	if _, err := NewSigner([]Key{{Secret: newKey, Until: now}}); err == nil {
		t.Fatal("a signing key with an until must be refused")
	}
}

func TestParseKeys(t *testing.T) {
	keys, err := ParseKeys(" new-key-0123456789abcdef , old-key-0123456789abcdef until 2026-12-31, older-key-0123456789 until 2026-12-01T18:00:00+01:00")
	if err != nil {
		t.Fatal(err)
	}
	want := []Key{
		{Secret: newKey},
		{Secret: oldKey, Until: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)},
		{Secret: []byte("older-key-0123456789"), Until: time.Date(2026, 12, 1, 17, 0, 0, 0, time.UTC)},
	}
	if len(keys) != len(want) {
		t.Fatalf("keys = %d, want %d", len(keys), len(want))
	}
	for i := range want {
		if string(keys[i].Secret) != string(want[i].Secret) || !keys[i].Until.Equal(want[i].Until) {
			t.Errorf("key %d = %s until %v, want %s until %v", i+1, keys[i].Secret, keys[i].Until, want[i].Secret, want[i].Until)
		}
	}
	for input, reason := range map[string]string{
		"new-key-0123456789abcdef until 2026-12-31":                       "key 1 signs new links, so it cannot have an until",
		"new-key-0123456789abcdef, old-key-0123456789abcdef until Friday": `key 2: "Friday" is not a time`,
		"new-key-0123456789abcdef, old key with spaces":                   "key 2: expected KEY or KEY until TIME",
		"new-key-0123456789abcdef,":                                       "key 2: expected KEY or KEY until TIME",
	} {
		if _, err := ParseKeys(input); err == nil || !strings.HasPrefix(err.Error(), reason) {
			t.Errorf("ParseKeys(%q) = %v, want %q", input, err, reason)
		}
	}
}

func TestShortKeyRefused(t *testing.T) {
	if _, err := NewSigner([]Key{{Secret: []byte("short")}}); err == nil {
		t.Fatal("a short key must be refused")
	}
	if _, err := NewSigner(nil); err == nil {
		t.Fatal("no key must be refused")
	}
}
