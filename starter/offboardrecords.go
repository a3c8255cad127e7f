package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"
)

func init() {
	recordKinds["offboarding"] = command{"offboarding [--person P] [--late] [--json]: every system's removal: who, when, how, the deadline and whether it was met", runRecordsOffboarding}
}

// offboardingRecord is one system's line of an offboarding, as
// `records offboarding` prints it: removed or still open.
type offboardingRecord struct {
	Offboarding string     `db:"workflow_id" json:"offboarding"`
	Run         string     `db:"run_id" json:"run"`
	Person      string     `db:"person_id" json:"person"`
	LastDay     string     `db:"last_day" json:"last_day"`
	Status      string     `db:"status" json:"status"`
	StartedBy   string     `db:"started_by" json:"started_by"`
	System      string     `db:"system_id" json:"system"`
	Method      string     `db:"method" json:"method"`
	Outcome     string     `db:"outcome" json:"outcome"`
	RemovedBy   string     `db:"removed_by" json:"removed_by"`
	RemovedAt   *time.Time `db:"removed_at" json:"removed_at"`
	Deadline    *time.Time `db:"deadline" json:"deadline"`
	Met         *bool      `db:"met" json:"deadline_met"`
	// Overdue: not yet removed and past its deadline (for a pending system,
	// from the program's rules of today).
	Overdue  bool   `db:"overdue" json:"overdue"`
	Code     *int   `db:"connector_status" json:"connector_status"`
	BodySHA  string `db:"connector_body_sha256" json:"connector_body_sha256"`
	Fallback string `db:"fallback_reason" json:"fallback_reason,omitempty"`
	Note     string `db:"note" json:"note,omitempty"`
}

func runRecordsOffboarding(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "records offboarding", "records offboarding [--person P] [--late] [--json]")
	person := fs.String("person", "", "one person only")
	asJSON := fs.Bool("json", false, "JSON, one object per system of each offboarding")
	late := fs.Bool("late", false, "only removals made after their deadline, and those still pending past it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := env.DB(ctx)
	if err != nil {
		return err
	}
	// Every system of the inventory for an open run (removed or not yet);
	// a closed run lists what it removed.
	var rows []offboardingRecord
	if err := db.SelectContext(ctx, &rows, `
		SELECT o.workflow_id, o.run_id, o.person_id, to_char(o.last_day, 'YYYY-MM-DD') AS last_day, o.status, o.started_by,
		       s.id AS system_id, coalesce(r.method, s.removal_method) AS method, coalesce(r.outcome, 'pending') AS outcome,
		       coalesce(r.removed_by, '') AS removed_by, r.removed_at, coalesce(r.deadline, e.due) AS deadline, r.met,
		       r.connector_status, coalesce(r.connector_body_sha256, '') AS connector_body_sha256,
		       coalesce(r.fallback_reason, '') AS fallback_reason, coalesce(r.note, '') AS note,
		       (r.run_id IS NULL AND coalesce(e.due < now(), false)) AS overdue
		FROM offboardings o CROSS JOIN systems s
		LEFT JOIN offboarding_removals r ON r.run_id = o.run_id AND r.system_id = s.id
		LEFT JOIN offboarding_deadlines d ON d.criticality = s.criticality
		CROSS JOIN LATERAL (SELECT (o.last_day + 1)::timestamp AT TIME ZONE 'UTC' + d.deadline_after AS due) e
		WHERE ($1 = '' OR o.person_id = $1) AND (r.run_id IS NOT NULL OR o.status = 'open')
		  AND (NOT $2 OR r.met = false OR (r.run_id IS NULL AND coalesce(e.due < now(), false)))
		ORDER BY o.created_at, o.run_id, s.id`, *person, *late); err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if rows == nil {
			rows = []offboardingRecord{}
		}
		return enc.Encode(rows)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "OFFBOARDING\tSTATUS\tSYSTEM\tMETHOD\tOUTCOME\tBY\tAT\tDEADLINE\tMET\tCONNECTOR")
	for _, r := range rows {
		met := "-"
		switch {
		case r.Met != nil:
			met = map[bool]string{true: "yes", false: "LATE"}[*r.Met]
		case r.Overdue:
			met = "OVERDUE"
		}
		conn := "-"
		if r.Code != nil {
			conn = fmt.Sprintf("%d %s", *r.Code, short(r.BodySHA))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Offboarding, r.Status, r.System, r.Method, r.Outcome,
			orDash(r.RemovedBy), stamp(r.RemovedAt), stamp(r.Deadline), met, conn)
	}
	return tw.Flush()
}
