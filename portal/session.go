// Sessions (issue 15 item 2): the cookie holds a random token, the session
// lives in Postgres (accounts.LookupSession: revocable, idle and absolute
// timeouts, the account's validity window checked on every request).

package main

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/complyflow/complyflow/accounts"
	"github.com/complyflow/complyflow/audit"
	"github.com/complyflow/complyflow/internal/links"
)

const sessionCookie = "complyflow_session"

// withSession puts the signed-in person of the request's session cookie, if
// any, on its context (principalOf). A cookie naming no live session is
// cleared. Pages without sign-in (the signed links) ignore it.
func (s *Server) withSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(sessionCookie)
		if err != nil || c.Value == "" {
			next.ServeHTTP(w, r)
			return
		}
		sess, err := accounts.LookupSession(r.Context(), s.DB, c.Value)
		switch {
		case errors.Is(err, accounts.ErrNoSession):
			s.clearSessionCookie(w)
		case err != nil:
			s.Logger.Error("look up session", "err", err)
			http.Error(w, "The portal cannot check your sign-in just now; please try again in a minute.", http.StatusServiceUnavailable)
			return
		default:
			p := Principal{PersonID: sess.PersonID, Role: Role(sess.Role), SessionID: sess.ID}
			r = r.WithContext(withPrincipal(r.Context(), p))
			// An auditor reads and never writes (issue 15 item 3): every
			// state-changing request but their sign-out is refused here,
			// whatever route it is for.
			if p.Role == RoleAuditor && !isRead(r) && r.URL.Path != "/signout" {
				s.refuseRole(w, r, p)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// setSessionCookie: HttpOnly (no script reads it), SameSite=Lax (another
// site's POST does not carry it), and Secure unless the portal is served on
// loopback over plain HTTP (make run, tests).
func (s *Server) setSessionCookie(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true, Secure: s.secureCookies(),
		SameSite: http.SameSiteLaxMode, MaxAge: int(accounts.AbsoluteTimeout / time.Second)})
}

func (s *Server) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: "/", HttpOnly: true, Secure: s.secureCookies(),
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// secureCookies is false only for a portal whose base URL is plain HTTP on
// a loopback address: everywhere else the cookie goes over HTTPS only.
func (s *Server) secureCookies() bool {
	u, err := url.Parse(s.Config.PortalBaseURL)
	if err != nil || u.Scheme == "https" {
		return true
	}
	host := u.Hostname()
	if host == "localhost" {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

// refuseCrossOrigin answers 403 to a cross-site state-changing request, and
// audits it: it is someone else's page trying to act in the person's name.
func (s *Server) refuseCrossOrigin(w http.ResponseWriter, r *http.Request) {
	err := audit.Write(r.Context(), s.DB, audit.Entry{Actor: "portal", Action: "portal.refused_cross_origin", Subject: r.Method + " " + r.URL.Path,
		Detail: map[string]string{"origin": r.Header.Get("Origin"), "sec_fetch_site": r.Header.Get("Sec-Fetch-Site"), "address": clientAddress(r)}})
	if err != nil {
		s.Logger.Error("audit a cross-origin request", "err", err)
	}
	http.Error(w, "cross-origin request refused", http.StatusForbidden)
}

func isRead(r *http.Request) bool {
	return r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions
}

// linkIsForSignedIn refuses (403, audited) a task or assignment link made
// for someone else when the browser is signed in as another person: the
// sign-in says who is asking, and an employee may open only their own task
// pages (issue 15). Without a sign-in the link alone decides, as before.
func (s *Server) linkIsForSignedIn(w http.ResponseWriter, r *http.Request, c links.Claims) bool {
	p, ok := principalOf(r)
	if !ok || p.PersonID == c.PersonID {
		return true
	}
	err := audit.Write(r.Context(), s.DB, audit.Entry{Actor: p.PersonID, Action: "portal.refused", Subject: r.Method + " link for " + c.PersonID,
		Detail: map[string]string{"role": string(p.Role), "link_for": c.PersonID, "link_subject": c.Subject, "address": clientAddress(r)}})
	if err != nil {
		s.Logger.Error("audit a refused link", "err", err)
	}
	http.Error(w, "This link was made for someone else. Open the tasks on your home page.", http.StatusForbidden)
	return false
}
