package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/complyflow/complyflow/directory"
	"github.com/complyflow/complyflow/internal/refusal"
	"github.com/complyflow/complyflow/workflows/humantask"
	"github.com/complyflow/complyflow/workflows/policychange"

	"github.com/jmoiron/sqlx"
	"go.temporal.io/sdk/client"

	"github.com/complyflow/complyflow/policy"
	"github.com/complyflow/complyflow/workflows"
)

func init() {
	commands["change-request"] = command{"change-request --policy ID --kind material|minor --summary TEXT --as PERSON: request a policy change; " +
		"`change-request status|resubmit|withdraw ID`", runChangeRequest}
}

func runChangeRequest(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "status":
			return runChangeRequestStatus(ctx, env, args[1:])
		case "resubmit", "withdraw":
			return runChangeRequestResponse(ctx, env, args[0], args[1:])
		}
	}
	fs := newFlags(env, "change-request",
		"change-request --policy ID --kind material|minor --summary TEXT [--text FILE] [--reference URL] [--needs-production-change] --as PERSON\n"+
			"       starter change-request status ID\n"+
			"       starter change-request resubmit ID --as PERSON [--text FILE] [--reference URL] [--note TEXT]\n"+
			"       starter change-request withdraw ID --as PERSON [--note TEXT]")
	policyID := fs.String("policy", "", "the policy to change (its id in the program file)")
	kind := fs.String("kind", "", "material (a new version YYYY.N) or minor (a revision rev.N)")
	summary := fs.String("summary", "", "what changes and why, as announced to everyone once published")
	textFile := fs.String("text", "", "a file with the proposed policy text")
	reference := fs.String("reference", "", "a pull request or document with the change")
	needsProd := fs.Bool("needs-production-change", false, "the change needs production systems changed first (change management)")
	as := fs.String("as", "", "the requester's person ID (required: the request is filed in their name, recorded as made on their behalf)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	k, err := policy.ParseKind(*kind)
	if err != nil {
		return usagef("--kind: %v", err)
	}
	if *policyID == "" || strings.TrimSpace(*summary) == "" {
		return usagef("--policy and --summary are required")
	}
	if *as == "" {
		// Never in someone's name unconfirmed: the portal's form confirms
		// a self-service request by email.
		return usagef("--as is required: name the requester the change is filed for (to request it yourself, use the portal)")
	}
	var text string
	if *textFile != "" {
		b, err := readFile(*textFile)
		if err != nil {
			return usagef("--text: %v", err)
		}
		text = b
	}
	db, err := env.DB(ctx)
	if err != nil {
		return err
	}
	if err := checkPolicyAndPerson(ctx, db, *policyID, *as); err != nil {
		return err
	}
	// Nobody reviews or approves their own request: refuse here, not in a failed run.
	in := policychange.Input{
		PolicyID: *policyID, Kind: string(k), Summary: *summary, Text: text, Reference: *reference,
		NeedsProductionChange: *needsProd, RequesterID: *as, ActedBy: onBehalfOf(*as),
	}
	if err := policychange.Validate(ctx, db, in); err != nil {
		reason, ok := refusal.Reason(err)
		if !ok {
			return err
		}
		return usagef("%s", reason)
	}
	c, err := env.Temporal()
	if err != nil {
		return err
	}
	// Named by what it asks: the same request submitted again is the one
	// already started, not a second.
	id := policychange.RequestID(in)
	already, err := policychange.Start(ctx, c, env.TaskQueue(), id, in)
	if err != nil {
		return fmt.Errorf("start change request: %w", err)
	}
	if already {
		fmt.Fprintf(env.Stderr, "change request %s already exists: the same request was submitted before; nothing new was started "+
			"(`starter change-request status %s`)\n", id, id)
	}
	fmt.Fprintln(env.Stdout, id)
	return nil
}

func readFile(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	return string(b), err
}

// checkPolicyAndPerson makes a bad policy or --as person a one-line usage
// error here rather than a failed workflow later.
func checkPolicyAndPerson(ctx context.Context, db *sqlx.DB, policyID, as string) error {
	var owner string
	err := db.GetContext(ctx, &owner, `SELECT owner_id FROM policies WHERE id = $1`, policyID)
	if errors.Is(err, sql.ErrNoRows) {
		return usagef("policy %q is not in the program (`starter program apply` adds it)", policyID)
	}
	if err != nil {
		return err
	}
	found, active, err := directory.PersonActive(ctx, db, as)
	switch {
	case err != nil:
		return err
	case !found:
		return usagef("--as: person %q is not in the directory", as)
	case !active:
		return usagef("--as: person %q has left", as)
	}
	return nil
}

// onBehalfOf is who the records name for what an operator starts with
// --as: the operating-system user acting for the person.
func onBehalfOf(person string) string {
	return cliActor() + " on behalf of " + person
}

func runChangeRequestStatus(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "change-request status", "change-request status ID")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("expected one change request ID")
	}
	var st policychange.Status
	if err := queryStatus(ctx, env, fs.Arg(0), &st); err != nil {
		// Temporal keeps a closed run only for its retention; Postgres keeps the record.
		db, dberr := env.DB(ctx)
		if dberr != nil {
			return err
		}
		var found bool
		if st, found, dberr = changeRequestRecord(ctx, db, fs.Arg(0)); dberr != nil {
			return dberr
		}
		if !found {
			return usagef("no change request %s: %v", fs.Arg(0), err)
		}
		fmt.Fprintf(env.Stderr, "(from the records: the workflow did not answer: %v)\n", err)
	}
	w := env.Stdout
	fmt.Fprintf(w, "%s: %s\n", st.RequestID, st.Stage)
	fmt.Fprintf(w, "policy:   %s (%s change)\n", st.PolicyID, st.Kind)
	for _, r := range st.Rounds {
		fmt.Fprintf(w, "round %d:  submitted %s: %s\n", r.Round, r.Submitted.UTC().Format(time.RFC3339), r.Note)
		printDecisions(w, r.Decisions)
	}
	if st.OpenTask != "" {
		fmt.Fprintf(w, "waiting:  %s\n", st.OpenTask)
	}
	if st.ProductionChangeRef != "" {
		fmt.Fprintf(w, "production change: %s\n", st.ProductionChangeRef)
	}
	if st.Version != "" {
		archived := ""
		if st.ArchivedVersion != "" {
			archived = fmt.Sprintf(", after archiving %s", st.ArchivedVersion)
		}
		fmt.Fprintf(w, "published: %s at %s%s; %d people emailed\n", st.Version, st.PublishedAt.UTC().Format(time.RFC3339), archived, st.Announced)
	}
	return nil
}

func printDecisions(w io.Writer, ds []humantask.Decision) {
	for _, d := range ds {
		note := ""
		if d.Note != "" {
			note = ": " + d.Note
		}
		fmt.Fprintf(w, "          %s by %s at %s: %s%s\n", d.Step, d.By, d.At.UTC().Format(time.RFC3339), d.Action, note)
	}
}

// queryStatus asks a policy workflow, running or closed, for its status. A
// query needs a worker to answer, so it is given a few seconds only.
func queryStatus(ctx context.Context, env *Env, id string, into any) error {
	c, err := env.Temporal()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := c.QueryWorkflow(ctx, id, "", workflows.QueryStatus)
	if err != nil {
		return fmt.Errorf("status of %s: %w", id, err)
	}
	return v.Get(into)
}

// runChangeRequestResponse answers a returned change request: resubmit it
// (new text, reference or a note saying what changed) or withdraw it.
func runChangeRequestResponse(ctx context.Context, env *Env, verb string, args []string) error {
	fs := newFlags(env, "change-request "+verb, "change-request "+verb+" ID --as PERSON [--text FILE] [--reference URL] [--note TEXT]")
	as := fs.String("as", "", "the requester's person ID")
	note := fs.String("note", "", "what changed, or why it is withdrawn")
	var textFile, reference *string
	if verb == "resubmit" {
		textFile = fs.String("text", "", "a file with the new proposed text")
		reference = fs.String("reference", "", "a new pull request or document")
	}
	// The ID comes first, as in `status ID`.
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fs.Usage()
		return usagef("expected a change request ID")
	}
	id := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *as == "" {
		return usagef("--as is required: only the requester may %s", verb)
	}
	var arg any = policychange.WithdrawRequest{PersonID: *as, Note: *note, ActedBy: onBehalfOf(*as)}
	name := policychange.UpdateWithdraw
	if verb == "resubmit" {
		r := policychange.ResubmitRequest{PersonID: *as, Reference: *reference, Note: *note, ActedBy: onBehalfOf(*as)}
		if *textFile != "" {
			text, err := readFile(*textFile)
			if err != nil {
				return usagef("--text: %v", err)
			}
			r.Text = text
		}
		arg, name = r, policychange.UpdateResubmit
	}
	c, err := env.Temporal()
	if err != nil {
		return err
	}
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateName: name, Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return usagef("%s %s: %v", verb, id, err)
	}
	var stage string
	if err := h.Get(ctx, &stage); err != nil {
		return usagef("%s %s: %v", verb, id, err)
	}
	fmt.Fprintf(env.Stdout, "%s: %s\n", id, stage)
	return nil
}

// changeRequestRecord rebuilds a change request's status from Postgres.
func changeRequestRecord(ctx context.Context, db *sqlx.DB, id string) (policychange.Status, bool, error) {
	var cr struct {
		Policy  string `db:"policy_id"`
		Kind    string `db:"kind"`
		Status  string `db:"status"`
		ProdRef string `db:"production_change_ref"`
		Version string `db:"published_version"`
	}
	err := db.GetContext(ctx, &cr, `SELECT policy_id, kind, status, production_change_ref, published_version FROM change_requests WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return policychange.Status{}, false, nil
	}
	if err != nil {
		return policychange.Status{}, false, err
	}
	st := policychange.Status{RequestID: id, PolicyID: cr.Policy, Kind: cr.Kind, Stage: cr.Status,
		ProductionChangeRef: cr.ProdRef, Version: cr.Version}
	if err := db.SelectContext(ctx, &st.Rounds, `SELECT round AS "round", submitted_at AS "submitted", note AS "note"
		FROM change_request_rounds WHERE request_id = $1 ORDER BY round`, id); err != nil {
		return st, false, err
	}
	for i := range st.Rounds {
		// A round approved but not published because the policy moved on
		// is in the audit trail only (the process, not a person, decided it).
		if err := db.SelectContext(ctx, &st.Rounds[i].Decisions, `
			SELECT step AS "step", task_id AS "taskid", decided_by AS "by", action AS "action", note AS "note", decided_at AS "at"
			FROM change_request_decisions WHERE request_id = $1 AND round = $2
			UNION
			SELECT 'superseded', '', actor, 'reject', detail->>'note', at FROM audit_log
			WHERE subject = $1 AND action = 'policy.change.superseded' AND (detail->>'round')::int = $2
			ORDER BY 6`, id, st.Rounds[i].Round); err != nil {
			return st, false, err
		}
	}
	if cr.Version != "" {
		var v struct {
			PublishedAt time.Time `db:"published_at"`
			Archived    string    `db:"archived"`
		}
		if err := db.GetContext(ctx, &v, `SELECT n.published_at, coalesce((SELECT o.version FROM policy_versions o
				WHERE o.policy_id = n.policy_id AND o.superseded_at = n.published_at AND o.archived_at IS NOT NULL), '') AS archived
			FROM policy_versions n WHERE n.change_request_id = $1`, id); err != nil {
			return st, false, err
		}
		st.PublishedAt, st.ArchivedVersion = v.PublishedAt, v.Archived
		if err := db.GetContext(ctx, &st.Announced, `SELECT count(*) FROM notifications
			WHERE task_id = $1 AND purpose = 'policy-announcement' AND channel = 'email' AND status = 'sent'`, id); err != nil {
			return st, false, err
		}
	}
	return st, true, nil
}
