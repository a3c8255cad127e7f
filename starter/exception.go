package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	exceptionact "github.com/complyflow/complyflow/activities/policyexception"
	"github.com/complyflow/complyflow/internal/refusal"
	"github.com/complyflow/complyflow/workflows/policyexception"

	"github.com/jmoiron/sqlx"
)

func init() {
	commands["exception"] = command{"exception --policy ID --purpose TEXT --reason TEXT --expires YYYY-MM-DD --as PERSON: request a policy exception; `exception status ID`", runException}
}

func runException(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 && args[0] == "status" {
		return runExceptionStatus(ctx, env, args[1:])
	}
	fs := newFlags(env, "exception",
		"exception --policy ID --purpose TEXT --reason TEXT --expires YYYY-MM-DD --as PERSON\n       starter exception status ID")
	policyID := fs.String("policy", "", "the policy the exception is to")
	purpose := fs.String("purpose", "", "the business purpose of the exception")
	reason := fs.String("reason", "", "why the policy requirement cannot be met")
	expires := fs.String("expires", "", "when it expires (YYYY-MM-DD, at 00:00 UTC), at most one year after approval")
	as := fs.String("as", "", "the requester's person ID")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *policyID == "" || *as == "" || *expires == "" {
		return usagef("--policy, --expires and --as are required")
	}
	until, err := time.Parse(time.DateOnly, *expires)
	if err != nil {
		return usagef("--expires: %q is not a date such as 2026-03-31", *expires)
	}
	in := policyexception.Input{PolicyID: *policyID, RequesterID: *as, ActedBy: onBehalfOf(*as), Purpose: *purpose, Reason: *reason, Expires: until}
	db, err := env.DB(ctx)
	if err != nil {
		return err
	}
	if err := checkPolicyAndPerson(ctx, db, *policyID, *as); err != nil {
		return err
	}
	// Refused here rather than by a workflow that fails at once, e.g. a role
	// only the requester holds leaves nobody to approve the exception.
	if err := policyexception.Validate(ctx, db, in, time.Now()); err != nil {
		if reason, ok := refusal.Reason(err); ok {
			return usagef("%s", reason)
		}
		return err
	}
	c, err := env.Temporal()
	if err != nil {
		return err
	}
	// Named by what it asks: the same request submitted again is the one
	// already started, not a second.
	id := policyexception.RequestID(in)
	already, err := policyexception.Start(ctx, c, env.TaskQueue(), id, in)
	if err != nil {
		return fmt.Errorf("start exception: %w", err)
	}
	if already {
		fmt.Fprintf(env.Stderr, "exception %s already exists: the same request was submitted before; nothing new was started "+
			"(`starter exception status %s`)\n", id, id)
	}
	fmt.Fprintln(env.Stdout, id)
	return nil
}

func runExceptionStatus(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "exception status", "exception status ID")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("expected one exception ID")
	}
	id := fs.Arg(0)
	db, err := env.DB(ctx)
	if err != nil {
		return err
	}
	rec, found, err := exceptionRecord(ctx, db, id)
	if err != nil {
		return err
	}
	var st policyexception.Status
	if qerr := queryStatus(ctx, env, id, &st); qerr != nil {
		// Temporal keeps a closed run only for its retention; Postgres keeps the record.
		if !found {
			return usagef("no exception %s: %v", id, qerr)
		}
		st = policyexception.Status{ExceptionID: id, PolicyID: rec.PolicyID, Stage: rec.Status, Round: rec.Round}
		if rec.ApprovedAt != nil && rec.ExpiresAt != nil {
			st.ApprovedAt, st.ExpiresAt = *rec.ApprovedAt, *rec.ExpiresAt
		}
		fmt.Fprintf(env.Stderr, "(from the records: the workflow did not answer: %v)\n", qerr)
	}
	w := env.Stdout
	fmt.Fprintf(w, "%s: %s (round %d)\n", st.ExceptionID, st.Stage, st.Round)
	fmt.Fprintf(w, "policy:   %s\n", st.PolicyID)
	if found {
		fmt.Fprintf(w, "requested by %s\n  purpose: %s\n  reason:  %s\n", rec.RequesterID, rec.Purpose, rec.Reason)
	}
	if !st.ApprovedAt.IsZero() {
		fmt.Fprintf(w, "term:     approved %s, expires %s\n", st.ApprovedAt.UTC().Format(time.RFC3339), st.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if st.Reminders > 0 {
		fmt.Fprintf(w, "reminders sent this round: %d\n", st.Reminders)
	}
	if !found {
		// Not recorded yet (the request is being opened): what the run knows.
		printDecisions(w, st.Decisions)
		return nil
	}
	history, err := exceptionHistory(ctx, db, id)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "history (every round, from the audit log, each at the time it was recorded):")
	for _, line := range history {
		fmt.Fprintf(w, "  %s\n", line)
	}
	return nil
}

type exceptionRow struct {
	PolicyID    string     `db:"policy_id"`
	RequesterID string     `db:"requester_id"`
	Purpose     string     `db:"business_purpose"`
	Reason      string     `db:"reason"`
	Status      string     `db:"status"`
	Round       int        `db:"round"`
	ApprovedAt  *time.Time `db:"approved_at"`
	ExpiresAt   *time.Time `db:"expires_at"`
}

func exceptionRecord(ctx context.Context, db *sqlx.DB, id string) (exceptionRow, bool, error) {
	var r exceptionRow
	err := db.GetContext(ctx, &r, `SELECT policy_id, requester_id, business_purpose, reason, status, round, approved_at, expires_at
		FROM policy_exceptions WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return exceptionRow{}, false, nil
	}
	return r, err == nil, err
}

// exceptionHistory lists an exception's audited steps in the order they were
// recorded, each once (an entry is written once per control it evidences):
// every round's decisions, terms and ends, which a run's status forgets when
// a renewal continues as new.
func exceptionHistory(ctx context.Context, db *sqlx.DB, id string) ([]string, error) {
	var rows []struct {
		At     time.Time `db:"at"`
		Actor  string    `db:"actor"`
		Action string    `db:"action"`
		Detail []byte    `db:"detail"`
	}
	if err := db.SelectContext(ctx, &rows, `
		SELECT at, actor, action, detail FROM (
			SELECT DISTINCT ON (split_part(coalesce(idempotency_key, id::text), '#', 1)) id, at, actor, action, detail
			FROM audit_log WHERE subject = $1 AND action LIKE 'policy.exception.%'
			ORDER BY split_part(coalesce(idempotency_key, id::text), '#', 1), id) e
		ORDER BY id`, id); err != nil {
		return nil, fmt.Errorf("history of %s: %w", id, err)
	}
	lines := make([]string, 0, len(rows))
	for _, r := range rows {
		var d struct {
			Round      int        `json:"round"`
			Action     string     `json:"action"`
			Note       string     `json:"note"`
			Expires    *time.Time `json:"expires"`
			ApprovedAt *time.Time `json:"approved_at"`
			ExpiresAt  *time.Time `json:"expires_at"`
			Purpose    string     `json:"purpose"`
			To         []string   `json:"to"`
		}
		if err := json.Unmarshal(r.Detail, &d); err != nil {
			return nil, fmt.Errorf("history of %s: %s: %w", id, r.Action, err)
		}
		var what string
		switch step := strings.TrimPrefix(r.Action, "policy.exception."); step {
		case "requested":
			what = "requested by " + r.Actor
			if d.Expires != nil {
				what += ", to expire " + d.Expires.UTC().Format(time.RFC3339)
			}
		case "reminded":
			what = fmt.Sprintf("reminder (%s) to %s", d.Purpose, strings.Join(d.To, ", "))
		case "security_officer", "coo", "re-evaluation":
			what = fmt.Sprintf("round %d %s by %s: %s", d.Round, step, r.Actor, d.Action)
		case exceptionact.StatusApproved:
			what = fmt.Sprintf("round %d approved (last approval by %s)", d.Round, r.Actor)
			if d.ApprovedAt != nil && d.ExpiresAt != nil {
				what += fmt.Sprintf(": term %s to %s", d.ApprovedAt.UTC().Format(time.RFC3339), d.ExpiresAt.UTC().Format(time.RFC3339))
			}
		case exceptionact.StatusExpired:
			what = fmt.Sprintf("round %d expired", d.Round)
			if d.ExpiresAt != nil {
				what += ": the term ending " + d.ExpiresAt.UTC().Format(time.RFC3339) + " ran out"
			}
		default:
			what = fmt.Sprintf("round %d %s by %s", d.Round, step, r.Actor)
		}
		if d.Note != "" {
			what += " (" + d.Note + ")"
		}
		lines = append(lines, r.At.UTC().Format(time.RFC3339)+"  "+what)
	}
	return lines, nil
}
