// Who a request is from. The sign-in (sessions) puts a Principal on the
// request's context; every page that needs one goes through requireRole, the
// one place the portal checks roles (security architecture: "fine-grain
// attribute-based or role-based authorization", "least privilege"), and reads
// through inScope, which gives the database the same person and role so its
// row-level security checks them again.

package main

import (
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"slices"

	"github.com/complyflow/complyflow/audit"
	"github.com/jmoiron/sqlx"
)

// Role is a portal role. Each says what its holder may see and do.
type Role string

const (
	// RoleEmployee: their own tasks and records, and the policies.
	RoleEmployee Role = "employee"
	// RoleManager: an employee's, plus their reports' status; starts offboardings.
	RoleManager Role = "manager"
	// RoleOfficer: everything; starts processes.
	RoleOfficer Role = "officer"
	// RoleAuditor: reads evidence, writes nothing.
	RoleAuditor Role = "auditor"
	// RoleAdmin: manages users.
	RoleAdmin Role = "admin"
)

// Principal is the signed-in person a request is from.
type Principal struct {
	PersonID string
	Role     Role
	// SessionID is the server-side session the request came with.
	SessionID string
}

type principalKey struct{}

// withPrincipal is the request's context carrying p.
func withPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// principalOf is the signed-in person of the request, if any.
func principalOf(r *http.Request) (Principal, bool) {
	p, ok := r.Context().Value(principalKey{}).(Principal)
	return p, ok
}

// requireRole serves h to a signed-in person holding one of roles (any role
// when none is given). Without a sign-in the request is sent to sign in
// (401 for a non-GET); with the wrong role it is refused with 403.
func (s *Server) requireRole(h func(http.ResponseWriter, *http.Request, Principal), roles ...Role) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := principalOf(r)
		if !ok {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, "/signin?next="+urlPathQuery(r), http.StatusSeeOther)
				return
			}
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		if len(roles) > 0 && !slices.Contains(roles, p.Role) {
			s.refuseRole(w, r, p)
			return
		}
		h(w, r, p)
	}
}

// inScope runs fn in a transaction that tells the database who is asking:
// complyflow.person_id and complyflow.role, set for this transaction only
// (SET LOCAL), which the row-level security policies read. It runs on
// Scoped, the portal's own read-only role that those policies bind
// (schema/0017_accounts.sql), so a handler that forgets a WHERE still sees
// only the person's rows.
func (s *Server) inScope(ctx context.Context, p Principal, fn func(tx *sqlx.Tx) error) error {
	return s.scopedTx(ctx, p, sql.LevelDefault, fn)
}

// inSnapshot is inScope in one repeatable-read snapshot, so every part of an
// export (an XLSX's row count and its rows, a pack's files) sees the same
// records while processes write more.
func (s *Server) inSnapshot(ctx context.Context, p Principal, fn func(tx *sqlx.Tx) error) error {
	return s.scopedTx(ctx, p, sql.LevelRepeatableRead, fn)
}

func (s *Server) scopedTx(ctx context.Context, p Principal, isolation sql.IsolationLevel, fn func(tx *sqlx.Tx) error) error {
	db := s.Scoped
	if db == nil {
		// Only a test's Server leaves Scoped unset (main.go always opens
		// it): it then reads as the application role, which sees every row.
		db = s.DB
	}
	tx, err := db.BeginTxx(ctx, &sql.TxOptions{Isolation: isolation, ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx,
		`SELECT set_config('complyflow.person_id', $1, true), set_config('complyflow.role', $2, true)`,
		p.PersonID, string(p.Role)); err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// refuseRole answers 403 to a signed-in person whose role may not do what
// they asked, and audits the refusal: a refused attempt is evidence too.
func (s *Server) refuseRole(w http.ResponseWriter, r *http.Request, p Principal) {
	err := audit.Write(r.Context(), s.DB, audit.Entry{Actor: p.PersonID, Action: "portal.refused", Subject: r.Method + " " + r.URL.Path,
		Detail: map[string]string{"role": string(p.Role), "address": clientAddress(r)}})
	if err != nil {
		s.Logger.Error("audit a refused request", "err", err)
	}
	http.Error(w, "your role does not allow this", http.StatusForbidden)
}

// urlPathQuery is where the request was going, escaped for a next= parameter.
func urlPathQuery(r *http.Request) string { return url.QueryEscape(r.URL.RequestURI()) }
