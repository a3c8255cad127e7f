// Single sign-on with an OpenID Connect provider (issue 15 item 1: optional
// OIDC SSO; a first SSO login gets the least role). The provider is
// discovered from OIDC_ISSUER at start-up; the ID token's signature,
// audience, expiry and nonce are checked by go-oidc.

package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/complyflow/complyflow/accounts"
)

// SSO is a configured OpenID Connect provider.
type SSO struct {
	issuer   string
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
}

// NewSSO discovers the provider at issuer. The portal's callback is
// baseURL + /signin/sso/callback, registered with the provider.
func NewSSO(ctx context.Context, issuer, clientID, clientSecret, baseURL string) (*SSO, error) {
	p, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return nil, err
	}
	return &SSO{issuer: issuer, verifier: p.Verifier(&oidc.Config{ClientID: clientID}), oauth: oauth2.Config{
		ClientID: clientID, ClientSecret: clientSecret, Endpoint: p.Endpoint(),
		RedirectURL: baseURL + "/signin/sso/callback", Scopes: []string{oidc.ScopeOpenID, "email"},
	}}, nil
}

// The state and nonce of a sign-in under way, in a short-lived cookie of
// their own: the callback must come back to the browser that started it.
const ssoCookie = "complyflow_sso"

func (s *Server) ssoStart(w http.ResponseWriter, r *http.Request) {
	if s.SSO == nil {
		http.NotFound(w, r)
		return
	}
	state, nonce := randomToken(), randomToken()
	http.SetCookie(w, &http.Cookie{Name: ssoCookie, Value: state + "." + nonce, Path: "/signin/sso", MaxAge: 600,
		HttpOnly: true, Secure: s.secureCookies(), SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, s.SSO.oauth.AuthCodeURL(state, oidc.Nonce(nonce)), http.StatusSeeOther)
}

func (s *Server) ssoCallback(w http.ResponseWriter, r *http.Request) {
	if s.SSO == nil {
		http.NotFound(w, r)
		return
	}
	c, err := r.Cookie(ssoCookie)
	http.SetCookie(w, &http.Cookie{Name: ssoCookie, Path: "/signin/sso", MaxAge: -1, HttpOnly: true, Secure: s.secureCookies(), SameSite: http.SameSiteLaxMode})
	var state, nonce string
	if err == nil {
		state, nonce, _ = cutDot(c.Value)
	}
	if state == "" || r.URL.Query().Get("state") != state {
		s.ssoRefused(w, "The sign-in did not start here, or took too long. Please try again.")
		return
	}
	tok, err := s.SSO.oauth.Exchange(r.Context(), r.URL.Query().Get("code"))
	if err != nil {
		s.Logger.Info("sso: code exchange refused", "err", err)
		s.ssoRefused(w, "Your company sign-in was not accepted. Please try again.")
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := s.SSO.verifier.Verify(r.Context(), raw)
	if err != nil || idt.Nonce != nonce {
		s.Logger.Info("sso: ID token refused", "err", err)
		s.ssoRefused(w, "Your company sign-in was not accepted. Please try again.")
		return
	}
	var claims struct {
		Email    string   `json:"email"`
		Verified bool     `json:"email_verified"`
		AMR      []string `json:"amr"`
	}
	if err := idt.Claims(&claims); err != nil || claims.Email == "" || !claims.Verified {
		s.ssoRefused(w, "Your company sign-in did not give a verified email address.")
		return
	}
	a, err := accounts.SSOSignIn(r.Context(), s.DB, accounts.Identity{Issuer: s.SSO.issuer, Subject: idt.Subject, Email: claims.Email,
		Methods: claims.AMR, Address: clientAddress(r)})
	switch {
	case errors.Is(err, accounts.ErrSSOWeakFactor):
		s.ssoRefused(w, "Your role signs in with a second factor: sign in with your password and authentication code.")
	case errors.Is(err, accounts.ErrSSONoPerson), errors.Is(err, accounts.ErrOutsideWindow):
		s.ssoRefused(w, "There is no portal account for you. Ask your security officer.")
	case err != nil:
		s.unavailable(w, "sso sign-in", err)
	default:
		s.startSession(w, r, a.PersonID, "/")
	}
}

func (s *Server) ssoRefused(w http.ResponseWriter, msg string) {
	s.renderAccount(w, http.StatusUnauthorized, "signin.html", signinPage{Error: msg, SSO: true})
}

func randomToken() string {
	b := make([]byte, 18)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func cutDot(s string) (string, string, bool) {
	for i := range len(s) {
		if s[i] == '.' {
			return s[:i], s[i+1:], true
		}
	}
	return "", "", false
}
