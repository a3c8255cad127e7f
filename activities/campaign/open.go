package campaign

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/complyflow/complyflow/activities/notify"
	"github.com/complyflow/complyflow/audit"
	"github.com/complyflow/complyflow/internal/links"
	"github.com/complyflow/complyflow/internal/refusal"
)

// Activities are the Campaign workflow's steps.
type Activities struct {
	DB    *sqlx.DB
	Pool  *notify.Pool  // the worker's pooled SMTP connections
	Slack *notify.Slack // nil without a bot token: email only
	Links *links.Signer
	// BaseURL and LinkTTL make the signed links in the messages.
	BaseURL string
	LinkTTL time.Duration
}

// Definition is what a campaign asks of whom, as it is started.
type Definition struct {
	ID           string // the workflow ID
	Kind         string
	ObligationID string
	// Policies an acknowledgement campaign asks for; empty: every policy in
	// force when it opens.
	Policies []string
	Training string
	// The audience: everyone active, or the people of Departments, or
	// exactly People (a cohort of new hires).
	Departments []string
	People      []string
	// Due is the period to complete in, from the campaign's opening, or for
	// new hires (DueFromStart) from each one's start date.
	Due          time.Duration
	DueFromStart bool
	Reason       string
	StartedBy    string
	Controls     []string
	// At is when the campaign opens: the workflow's time, so the records
	// agree with its timers (and with time skipped in tests).
	At time.Time
}

// Opened is the campaign as recorded, with its audience assigned.
type Opened struct {
	Title    string
	DueAt    time.Time
	Policies []PolicyVersion
	Assigned AssignResult
}

// PolicyVersion is a version in force, as a campaign asks for it.
type PolicyVersion struct {
	PolicyID   string `db:"policy_id"`
	Title      string `db:"title"`
	Version    string `db:"version"`
	TextSHA256 string `db:"text_sha256"`
}

// Validate checks a definition against the records: the policies exist
// and are in force, the training exists, the audience is not empty. Every
// problem is a refusal naming what was wrong; the starter calls it before
// starting anything, and Open again in case the records moved.
func Validate(ctx context.Context, db sqlx.QueryerContext, d Definition) error {
	switch d.Kind {
	case KindAcknowledgement:
		if d.Training != "" {
			return refusal.New("an acknowledgement campaign asks for policies, not a training (%q)", d.Training)
		}
		if _, err := policiesInForce(ctx, db, d.Policies); err != nil {
			return err
		}
	case KindTraining:
		if d.Training == "" {
			return refusal.New("a training campaign needs the training's ID")
		}
		if len(d.Policies) > 0 {
			return refusal.New("a training campaign asks for a training, not policies")
		}
		var n int
		if err := sqlx.GetContext(ctx, db, &n, `SELECT count(*) FROM trainings WHERE id = $1`, d.Training); err != nil {
			return err
		}
		if n == 0 {
			return refusal.New("unknown training %q (the program file's trainings; apply it first)", d.Training)
		}
	default:
		return refusal.New("unknown campaign kind %q (acknowledgement or training)", d.Kind)
	}
	if len(d.Departments) > 0 {
		var known []string
		if err := sqlx.SelectContext(ctx, db, &known, `SELECT DISTINCT department FROM people WHERE department = ANY($1)`, array(d.Departments)); err != nil {
			return err
		}
		for _, dep := range d.Departments {
			if !slices.Contains(known, dep) {
				return refusal.New("unknown department %q: nobody in the directory is in it", dep)
			}
		}
	}
	n, err := audienceSize(ctx, db, d)
	if err != nil {
		return err
	}
	if n == 0 {
		return refusal.New("the audience is empty: nobody active%s", audienceWords(d))
	}
	return nil
}

func audienceWords(d Definition) string {
	switch {
	case len(d.People) > 0:
		return " among " + strings.Join(d.People, ", ")
	case len(d.Departments) > 0:
		return " in " + strings.Join(d.Departments, ", ")
	}
	return " in the directory"
}

// audience selects the people a definition asks: active (not left) on $3,
// and started unless they are named (new hires are assigned ahead of their
// first day, due from it). $1 departments, $2 people, $3 the day.
const audience = `
	FROM people p
	WHERE (p.end_date IS NULL OR p.end_date > $3::date)
	  AND (cardinality($2::text[]) > 0 OR p.start_date IS NULL OR p.start_date <= $3::date)
	  AND (cardinality($1::text[]) = 0 OR p.department = ANY($1))
	  AND (cardinality($2::text[]) = 0 OR p.id = ANY($2))`

func audienceSize(ctx context.Context, db sqlx.QueryerContext, d Definition) (int, error) {
	var n int
	err := sqlx.GetContext(ctx, db, &n, `SELECT count(*) `+audience, array(d.Departments), array(d.People), day(d.At))
	return n, err
}

// policiesInForce resolves IDs (empty: every policy in force) to the
// versions in force with their text's SHA-256.
func policiesInForce(ctx context.Context, db sqlx.QueryerContext, ids []string) ([]PolicyVersion, error) {
	var pvs []PolicyVersion
	if err := sqlx.SelectContext(ctx, db, &pvs, `
		SELECT p.id AS policy_id, p.title, v.version, v.content_sha256 AS text_sha256
		FROM policies p JOIN policy_versions v ON v.policy_id = p.id AND v.superseded_at IS NULL
		WHERE p.status = 'published' AND (cardinality($1::text[]) = 0 OR p.id = ANY($1))
		ORDER BY p.id`, array(ids)); err != nil {
		return nil, err
	}
	for _, id := range ids {
		if !slices.ContainsFunc(pvs, func(v PolicyVersion) bool { return v.PolicyID == id }) {
			var status string
			err := sqlx.GetContext(ctx, db, &status, `SELECT status FROM policies WHERE id = $1`, id)
			if err != nil || status == "" {
				return nil, refusal.New("unknown policy %q", id)
			}
			return nil, refusal.New("policy %q is %s: it has no version in force to acknowledge", id, status)
		}
	}
	if len(pvs) == 0 {
		return nil, refusal.New("no policy is in force: apply the program file first")
	}
	return pvs, nil
}

// OpenCampaign records the campaign and, for an acknowledgement, the exact versions
// it asks for, and assigns its audience, in one transaction. Retried, it
// returns what the first attempt recorded: a version published in between
// does not change a campaign already open.
func (a *Activities) OpenCampaign(ctx context.Context, d Definition) (Opened, error) {
	tx, err := a.DB.BeginTxx(ctx, nil)
	if err != nil {
		return Opened{}, err
	}
	defer tx.Rollback()
	var existing int
	if err := tx.GetContext(ctx, &existing, `SELECT count(*) FROM campaigns WHERE id = $1`, d.ID); err != nil {
		return Opened{}, err
	}
	if existing == 0 {
		if err := a.record(ctx, tx, d); err != nil {
			return Opened{}, err
		}
	}
	var out Opened
	if err := tx.QueryRowxContext(ctx, `SELECT title, due_at FROM campaigns WHERE id = $1`, d.ID).Scan(&out.Title, &out.DueAt); err != nil {
		return Opened{}, err
	}
	if err := tx.SelectContext(ctx, &out.Policies, `
		SELECT cp.policy_id, p.title, cp.version, cp.text_sha256
		FROM campaign_policies cp JOIN policies p ON p.id = cp.policy_id
		WHERE cp.campaign_id = $1 ORDER BY cp.policy_id`, d.ID); err != nil {
		return Opened{}, err
	}
	if out.Assigned, err = assign(ctx, tx, d); err != nil {
		return Opened{}, err
	}
	return out, tx.Commit()
}

func (a *Activities) record(ctx context.Context, tx *sqlx.Tx, d Definition) error {
	if err := Validate(ctx, tx, d); err != nil {
		return err
	}
	if d.Due <= 0 {
		return refusal.New("the due period must be longer than zero")
	}
	var pvs []PolicyVersion
	title := ""
	if d.Kind == KindAcknowledgement {
		var err error
		if pvs, err = policiesInForce(ctx, tx, d.Policies); err != nil {
			return err
		}
		title = "Read and accept: " + policyTitles(pvs)
	} else {
		if err := tx.GetContext(ctx, &title, `SELECT title FROM trainings WHERE id = $1`, d.Training); err != nil {
			return err
		}
		title = "Complete the training: " + title
	}
	now := d.At.UTC()
	due := now.Add(d.Due)
	if d.DueFromStart {
		var start *time.Time
		if err := tx.GetContext(ctx, &start, `SELECT max(p.start_date)::timestamptz `+audience,
			array(d.Departments), array(d.People), day(d.At)); err != nil {
			return err
		}
		if start != nil && start.After(now) {
			due = start.Add(d.Due)
		}
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO campaigns (id, kind, title, obligation_id, training_id, departments, reason, started_by, control_ids, due_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		d.ID, d.Kind, title, d.ObligationID, d.Training, array(d.Departments), d.Reason, d.StartedBy,
		array(d.Controls), due, now); err != nil {
		return fmt.Errorf("record campaign %s: %w", d.ID, err)
	}
	for _, pv := range pvs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO campaign_policies (campaign_id, policy_id, version, text_sha256) VALUES ($1, $2, $3, $4)`,
			d.ID, pv.PolicyID, pv.Version, pv.TextSHA256); err != nil {
			return err
		}
	}
	return audit.Write(ctx, tx, audit.Entry{Actor: d.StartedBy, Action: "campaign.opened", Subject: d.ID, Controls: d.Controls,
		Key: "campaign/" + d.ID + "/opened",
		Detail: map[string]any{"kind": d.Kind, "title": title, "policies": pvs, "training": d.Training, "departments": d.Departments,
			"people": d.People, "due_at": due, "reason": d.Reason, "obligation": d.ObligationID}})
}

func policyTitles(pvs []PolicyVersion) string {
	if len(pvs) > 3 {
		return fmt.Sprintf("%d security policies", len(pvs))
	}
	titles := make([]string, len(pvs))
	for i, pv := range pvs {
		titles[i] = pv.Title
	}
	return strings.Join(titles, ", ")
}

// array is s as a Postgres text[]: never NULL, which would make
// cardinality() NULL and a filter on it silently false.
func array(s []string) pq.StringArray {
	if s == nil {
		return pq.StringArray{}
	}
	return pq.StringArray(s)
}

// AssignResult counts the audience: Assigned is every assignment the
// campaign holds, New those this call inserted.
type AssignResult struct {
	Assigned int
	New      int
}

// Assign inserts one assignment per person in the audience, in one
// statement, due at the campaign's due date (new hires: their start date
// plus the period). The audience is already in Postgres, so the insert is
// INSERT ... SELECT on the server: the bulk path COPY would take, without
// shipping 10,000 rows to the worker and back. The primary key makes a
// retry, or a second call for late joiners of a cohort, insert only who is
// missing: never a second assignment for anyone.
func (a *Activities) Assign(ctx context.Context, d Definition) (AssignResult, error) {
	tx, err := a.DB.BeginTxx(ctx, nil)
	if err != nil {
		return AssignResult{}, err
	}
	defer tx.Rollback()
	res, err := assign(ctx, tx, d)
	if err != nil {
		return AssignResult{}, err
	}
	return res, tx.Commit()
}

func assign(ctx context.Context, tx *sqlx.Tx, d Definition) (AssignResult, error) {
	// A new hire's period runs from their first day, or from today for one
	// imported after it: nobody is overdue on the day they are told.
	dueExpr := `c.due_at`
	args := []any{array(d.Departments), array(d.People), day(d.At), d.ID}
	if d.DueFromStart {
		dueExpr = `greatest(c.created_at, coalesce(p.start_date::timestamptz, c.created_at)) + $5::interval`
		args = append(args, intervalOf(d.Due))
	}
	var inserted []string
	if err := tx.SelectContext(ctx, &inserted, `
		INSERT INTO assignments (campaign_id, person_id, due_at)
		SELECT c.id, p.id, `+dueExpr+` `+strings.Replace(audience, "FROM people p", "FROM people p, campaigns c", 1)+`
		  AND c.id = $4
		ORDER BY p.id
		ON CONFLICT (campaign_id, person_id) DO NOTHING
		RETURNING person_id`, args...); err != nil {
		return AssignResult{}, fmt.Errorf("assign campaign %s: %w", d.ID, err)
	}
	var res AssignResult
	if err := tx.GetContext(ctx, &res.Assigned, `SELECT count(*) FROM assignments WHERE campaign_id = $1`, d.ID); err != nil {
		return AssignResult{}, err
	}
	res.New = len(inserted)
	if res.New > 0 {
		slices.Sort(inserted)
		sum := sha256.Sum256([]byte(strings.Join(inserted, "\n")))
		digest := hex.EncodeToString(sum[:])
		if err := audit.Write(ctx, tx, audit.Entry{Actor: "complyflow", Action: "campaign.assigned", Subject: d.ID, Controls: d.Controls,
			Key:    "campaign/" + d.ID + "/assigned/" + digest[:16],
			Detail: map[string]any{"assigned": res.New, "people_sha256": digest, "first": inserted[0], "last": inserted[len(inserted)-1]}}); err != nil {
			return AssignResult{}, err
		}
	}
	return res, nil
}

// day is the calendar day (UTC) of t, as Postgres reads a date.
func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

// intervalOf spells a duration as a Postgres interval.
func intervalOf(d time.Duration) string { return fmt.Sprintf("%d microseconds", d.Microseconds()) }
