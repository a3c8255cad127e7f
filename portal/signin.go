// Sign-in, sign-out and the emailed account links (issue 15 item 1). The
// account rules live in accounts/; this file is their pages.

package main

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/complyflow/complyflow/accounts"
	"github.com/complyflow/complyflow/activities/notify"
)

//go:embed templates/layout.html templates/account.html templates/home.html templates/policies.html
var accountTemplateFiles embed.FS

var accountTemplates = template.Must(template.ParseFS(accountTemplateFiles,
	"templates/layout.html", "templates/account.html", "templates/home.html", "templates/policies.html"))

// Sign-in attempts per client address, on top of the account's own lockout
// (accounts.MaxFailures): a guesser spreading over many accounts is slowed
// too. The reset form sends mail, so it has the same budget.
var signinPerAddress = rate{Burst: 10, Every: time.Minute}

type signinPage struct {
	Email, Next, Error string
	// SSO shows the single sign-on link.
	SSO bool
}

func (s *Server) signinGet(w http.ResponseWriter, r *http.Request) {
	if _, ok := principalOf(r); ok {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	s.renderAccount(w, http.StatusOK, "signin.html", signinPage{Next: r.URL.Query().Get("next"), SSO: s.SSO != nil})
}

// signinPost checks the credentials (accounts.SignIn audits every outcome)
// and starts a session. Every refusal but a lock reads the same, so the page
// does not tell which emails have accounts.
func (s *Server) signinPost(w http.ResponseWriter, r *http.Request) {
	if !s.allowSignin(w, r) || !parseForm(w, r) {
		return
	}
	page := signinPage{Email: r.PostForm.Get("email"), Next: r.PostForm.Get("next"), SSO: s.SSO != nil}
	a, err := accounts.SignIn(r.Context(), s.DB, accounts.Attempt{Email: page.Email, Password: r.PostForm.Get("password"),
		Code: r.PostForm.Get("code"), Address: clientAddress(r)})
	switch {
	case errors.Is(err, accounts.ErrLocked):
		page.Error = fmt.Sprintf("This account is locked after %d failed sign-ins. Try again in %v, or reset your password.", accounts.MaxFailures, accounts.LockFor)
	case errors.Is(err, accounts.ErrMFANotEnrolled):
		page.Error = "Your role signs in with an authentication code, and none is set up yet. Ask for a new invitation."
	case err != nil && isSigninRefusal(err):
		page.Error = "Wrong email, password or authentication code."
	case err != nil:
		s.unavailable(w, "sign in", err)
		return
	}
	if page.Error != "" {
		s.renderAccount(w, http.StatusUnauthorized, "signin.html", page)
		return
	}
	s.startSession(w, r, a.PersonID, page.Next)
}

// startSession records a session for the person, sets its cookie and sends
// them where they were going.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, personID, next string) {
	token, err := accounts.StartSession(r.Context(), s.DB, personID, clientAddress(r))
	if err != nil {
		s.unavailable(w, "start session", err)
		return
	}
	s.setSessionCookie(w, token)
	http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
}

func isSigninRefusal(err error) bool {
	for _, e := range []error{accounts.ErrBadCredentials, accounts.ErrMFARequired, accounts.ErrBadCode, accounts.ErrReplayedCode, accounts.ErrOutsideWindow} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// safeNext is a local path to go to after signing in: anything else (another
// site, "//host") goes home, so the sign-in page is no open redirect.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

func (s *Server) allowSignin(w http.ResponseWriter, r *http.Request) bool {
	ok, wait := s.signinLimiter.allow(clientAddress(r))
	if !ok {
		secs := int(math.Ceil(wait.Seconds()))
		w.Header().Set("Retry-After", fmt.Sprint(secs))
		http.Error(w, fmt.Sprintf("Too many sign-in attempts from your address (the limit is %v). Please try again in %d seconds.", signinPerAddress, secs),
			http.StatusTooManyRequests)
	}
	return ok
}

func (s *Server) signout(w http.ResponseWriter, r *http.Request, p Principal) {
	if err := accounts.EndSession(r.Context(), s.DB, accounts.Session{ID: p.SessionID, PersonID: p.PersonID}, clientAddress(r)); err != nil {
		s.unavailable(w, "sign out", err)
		return
	}
	s.clearSessionCookie(w)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

type accountLinkPage struct {
	Purpose, Name string
	Secret        string
	OTPURL        template.URL
	MFARequired   bool
	Errors        []string
}

// accountLinkGet shows the page of an invitation or reset link: the
// password form, and on an invitation a new TOTP key to enrol.
func (s *Server) accountLinkGet(w http.ResponseWriter, r *http.Request) {
	l, ok := s.openAccountLink(w, r)
	if !ok {
		return
	}
	page := accountLinkPage{Purpose: string(l.Purpose), Name: l.Account.Name, MFARequired: accounts.RequiresMFA(l.Account.Role)}
	if l.Purpose == accounts.Invite {
		key, err := accounts.NewTOTPSecret(l.Account.Email)
		if err != nil {
			s.unavailable(w, "make a TOTP key", err)
			return
		}
		page.Secret, page.OTPURL = key.Secret(), template.URL(key.URL())
	}
	s.renderAccount(w, http.StatusOK, "account_link.html", page)
}

func (s *Server) accountLinkPost(w http.ResponseWriter, r *http.Request) {
	l, ok := s.openAccountLink(w, r)
	if !ok || !parseForm(w, r) {
		return
	}
	pw, secret := r.PostForm.Get("password"), r.PostForm.Get("totp_secret")
	page := accountLinkPage{Purpose: string(l.Purpose), Name: l.Account.Name, MFARequired: accounts.RequiresMFA(l.Account.Role), Secret: secret}
	if key, err := accounts.TOTPKey(l.Account.Email, secret); err == nil {
		page.OTPURL = template.URL(key.URL())
	}
	if pw != r.PostForm.Get("password2") {
		page.Errors = []string{"The two passwords differ."}
		s.renderAccount(w, http.StatusUnprocessableEntity, "account_link.html", page)
		return
	}
	codes, err := accounts.CompleteLink(r.Context(), s.DB, l, accounts.Completion{Password: pw, TOTPSecret: secret,
		Code: r.PostForm.Get("code"), Address: clientAddress(r)})
	var bad accounts.BadInput
	switch {
	case errors.As(err, &bad):
		page.Errors = []string{err.Error()}
		s.renderAccount(w, http.StatusUnprocessableEntity, "account_link.html", page)
	case errors.Is(err, accounts.ErrLinkUsed):
		s.renderAccount(w, http.StatusForbidden, "account_denied.html", nil)
	case err != nil:
		s.unavailable(w, "set password", err)
	default:
		s.renderAccount(w, http.StatusOK, "account_done.html", codes)
	}
}

func (s *Server) openAccountLink(w http.ResponseWriter, r *http.Request) (accounts.Link, bool) {
	err := s.signerErr
	var l accounts.Link
	if err == nil {
		if l, err = accounts.OpenLink(r.Context(), s.DB, s.signer, r.PathValue("token")); err == nil {
			return l, true
		}
	}
	s.Logger.Info("account link refused", "err", err, "remote", r.RemoteAddr)
	s.renderAccount(w, http.StatusForbidden, "account_denied.html", nil)
	return l, false
}

func (s *Server) accountResetGet(w http.ResponseWriter, r *http.Request) {
	s.renderAccount(w, http.StatusOK, "account_reset.html", false)
}

// accountResetPost emails a reset link to the account with that email, if
// there is one; the answer is the same either way.
func (s *Server) accountResetPost(w http.ResponseWriter, r *http.Request) {
	if !s.allowSignin(w, r) || !parseForm(w, r) {
		return
	}
	if err := s.sendReset(r, strings.TrimSpace(r.PostForm.Get("email"))); err != nil {
		s.unavailable(w, "send reset", err)
		return
	}
	s.renderAccount(w, http.StatusAccepted, "account_reset.html", true)
}

func (s *Server) sendReset(r *http.Request, email string) error {
	var personID string
	err := s.DB.GetContext(r.Context(), &personID, `SELECT a.person_id FROM accounts a JOIN people p ON p.id = a.person_id
		WHERE lower(p.email) = lower($1) AND p.email <> '' AND NOT a.disabled`, email)
	if err != nil {
		s.Logger.Info("password reset for an email with no account; nothing sent", "remote", r.RemoteAddr)
		return nil
	}
	if s.signerErr != nil {
		return s.signerErr
	}
	a, err := accounts.Lookup(r.Context(), s.DB, personID)
	if err != nil {
		return err
	}
	url, expires, err := accounts.IssueLink(r.Context(), s.DB, s.signer, s.Config.PortalBaseURL, personID, accounts.Reset, "portal")
	if err != nil {
		return err
	}
	subject, text := accounts.LinkEmail(a.Name, accounts.Reset, url, expires)
	_, err = s.Mailer.Send(r.Context(), notify.Email{To: a.Email, ToName: a.Name, Subject: subject, Text: text})
	return err
}

func (s *Server) renderAccount(w http.ResponseWriter, status int, name string, page any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := accountTemplates.ExecuteTemplate(w, name, page); err != nil {
		s.Logger.Error("render "+name, "err", err)
	}
}
