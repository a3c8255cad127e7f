package main_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	portal "github.com/complyflow/complyflow/portal"
)

// oidcProvider is an OpenID Connect provider in the test's process:
// discovery, an authorization endpoint that signs in whoever the test names
// next, a token endpoint and its keys, ID tokens signed RS256.
type oidcProvider struct {
	URL string
	key *rsa.PrivateKey

	mu    sync.Mutex
	next  map[string]any // the claims the next sign-in gets
	codes map[string]map[string]any
}

func newOIDCProvider(t *testing.T) *oidcProvider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &oidcProvider{key: key, codes: map[string]map[string]any{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"issuer": p.URL, "authorization_endpoint": p.URL + "/authorize",
			"token_endpoint": p.URL + "/token", "jwks_uri": p.URL + "/keys", "id_token_signing_alg_values_supported": []string{"RS256"},
			"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"}})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{"kty": "RSA", "alg": "RS256", "use": "sig", "kid": "k1",
			"n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes())}}})
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		p.mu.Lock()
		claims := map[string]any{"nonce": q.Get("nonce"), "aud": q.Get("client_id")}
		for k, v := range p.next {
			claims[k] = v
		}
		code := b64([]byte(time.Now().String()))
		p.codes[code] = claims
		p.mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?"+url.Values{"code": {code}, "state": {q.Get("state")}}.Encode(), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		p.mu.Lock()
		claims, ok := p.codes[r.PostForm.Get("code")]
		delete(p.codes, r.PostForm.Get("code"))
		p.mu.Unlock()
		if !ok {
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		claims["iss"], claims["iat"], claims["exp"] = p.URL, time.Now().Unix(), time.Now().Add(5*time.Minute).Unix()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 300, "id_token": p.sign(t, claims)})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

func (p *oidcProvider) signInNext(claims map[string]any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.next = claims
}

func (p *oidcProvider) sign(t *testing.T, claims map[string]any) string {
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": "k1"})
	body, _ := json.Marshal(claims)
	signing := b64(header) + "." + b64(body)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, p.key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + b64(sig)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func TestSingleSignOnGivesAFirstLoginTheLeastRoleAndRefusesOfficersWithoutMFA(t *testing.T) {
	op := newOIDCProvider(t)
	sp := newSigninPortalWith(t, func(s *portal.Server, baseURL string) {
		sso, err := portal.NewSSO(context.Background(), op.URL, "complyflow-portal", "secret", baseURL)
		if err != nil {
			t.Fatal(err)
		}
		s.SSO = sso
	})
	sp.db.Owner.MustExec(`INSERT INTO people (id, email, name) VALUES ('nia', 'nia@example.com', 'Nia New')`)
	// follow is a browser that follows the redirects through the provider.
	follow := func() *http.Client { c := browser(t); c.CheckRedirect = nil; return c }

	op.signInNext(map[string]any{"sub": "sub-nia", "email": "nia@example.com", "email_verified": true})
	c := follow()
	code, body := getPage(t, c, sp.URL+"/signin/sso")
	if code != http.StatusOK || !strings.Contains(body, "Hello, Nia New") || !strings.Contains(body, "Signed in as employee") {
		t.Fatalf("first single sign-on: %d\n%s\nwant Nia's home as an employee", code, body)
	}
	if n := sp.audited(t, "account.created", "nia"); n != 1 {
		t.Errorf("the SSO account's creation audited %d times, want 1", n)
	}

	for name, claims := range map[string]map[string]any{
		"an officer without MFA": {"sub": "sub-sam", "email": "sam@example.com", "email_verified": true, "amr": []string{"pwd"}},
		"an email nobody has":    {"sub": "sub-x", "email": "stranger@example.com", "email_verified": true},
		"an unverified email":    {"sub": "sub-eve", "email": "eve@example.com", "email_verified": false},
	} {
		op.signInNext(claims)
		if code, body := getPage(t, follow(), sp.URL+"/signin/sso"); code != http.StatusUnauthorized {
			t.Errorf("%s: %d %s, want 401", name, code, body)
		}
	}
	op.signInNext(map[string]any{"sub": "sub-sam", "email": "sam@example.com", "email_verified": true, "amr": []string{"pwd", "mfa"}})
	if code, body := getPage(t, follow(), sp.URL+"/signin/sso"); code != http.StatusOK || !strings.Contains(body, "Signed in as officer") {
		t.Errorf("an officer with MFA: %d %s", code, body)
	}
	// A callback that did not start in this browser (no state cookie) is refused.
	if code, _ := getPage(t, browser(t), sp.URL+"/signin/sso/callback?code=x&state=y"); code != http.StatusUnauthorized {
		t.Errorf("a callback without its state: %d, want 401", code)
	}
}
