package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	changeact "github.com/complyflow/complyflow/activities/policychange"

	"github.com/lib/pq"
)

// recordKinds are the record sets `starter records KIND` prints; each process
// adds its own from an init() in its file.
var recordKinds = map[string]command{}

func init() {
	commands["records"] = command{"records KIND [flags]: print what a process recorded (records -h lists the kinds)", runRecords}
	recordKinds["policies"] = command{"policies [--policy ID]: every version (archived ones too) and who was told of each change", runRecordsPolicies}
	recordKinds["policy-exceptions"] = command{"policy-exceptions [--policy ID]: exceptions, their terms and every decision", runRecordsExceptions}
	recordKinds["policy-reviews"] = command{"policy-reviews: annual reviews, who reviewed which policy when, what changed, and sign-offs rejected back", runRecordsReviews}
}

func runRecords(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(env.Stderr, "usage: starter records KIND [flags]")
		for _, n := range slices.Sorted(maps.Keys(recordKinds)) {
			fmt.Fprintf(env.Stderr, "  %s\n", recordKinds[n].summary)
		}
		if len(args) == 0 {
			return usagef("expected a kind of record")
		}
		return nil
	}
	kind, ok := recordKinds[args[0]]
	if !ok {
		return usagef("unknown kind of record %q (starter records -h lists them)", args[0])
	}
	return kind.run(ctx, env, args[1:])
}

type policyRecord struct {
	ID          string     `db:"id"`
	Title       string     `db:"title"`
	Status      string     `db:"status"`
	Version     string     `db:"version"`
	PublishedAt *time.Time `db:"published_at"`
}

type versionRecord struct {
	PolicyID      string     `db:"policy_id"`
	Version       string     `db:"version"`
	Kind          string     `db:"kind"`
	PublishedAt   time.Time  `db:"published_at"`
	PublishedBy   string     `db:"published_by"`
	ArchivedAt    *time.Time `db:"archived_at"`
	SupersededAt  *time.Time `db:"superseded_at"`
	ChangeRequest string     `db:"change_request_id"`
	Hash          string     `db:"content_sha256"`
}

type announcementRecord struct {
	ChangeRequest string         `db:"task_id"`
	Channel       string         `db:"channel"`
	Sent          int            `db:"sent"`
	Failed        int            `db:"failed"`
	Recipients    pq.StringArray `db:"recipients"`
}

func runRecordsPolicies(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "records policies", "records policies [--policy ID]")
	only := fs.String("policy", "", "one policy only")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := env.DB(ctx)
	if err != nil {
		return err
	}
	var policies []policyRecord
	if err := db.SelectContext(ctx, &policies, `
		SELECT id, title, status, coalesce(version || CASE WHEN revision > 0 THEN ' rev.' || revision ELSE '' END, '') AS version, published_at
		FROM policies WHERE $1 = '' OR id = $1 ORDER BY id`, *only); err != nil {
		return err
	}
	if *only != "" && len(policies) == 0 {
		return usagef("policy %q is not in the program", *only)
	}
	var versions []versionRecord
	if err := db.SelectContext(ctx, &versions, `
		SELECT policy_id, version, kind, published_at, published_by, archived_at, superseded_at, change_request_id, content_sha256
		FROM policy_versions WHERE $1 = '' OR policy_id = $1 ORDER BY policy_id, year, seq, revision`, *only); err != nil {
		return err
	}
	var announcements []announcementRecord
	if err := db.SelectContext(ctx, &announcements, `
		SELECT n.task_id, n.channel, count(*) FILTER (WHERE n.status = 'sent') AS sent, count(*) FILTER (WHERE n.status = 'failed') AS failed,
		       array_agg(CASE WHEN n.recipient_id <> '' THEN n.recipient_id ELSE n.address END ORDER BY n.recipient_id, n.address) AS recipients
		FROM notifications n JOIN change_requests c ON c.id = n.task_id
		WHERE n.purpose = $2 AND ($1 = '' OR c.policy_id = $1)
		GROUP BY n.task_id, n.channel ORDER BY n.task_id, n.channel`, *only, changeact.PurposeAnnouncement); err != nil {
		return err
	}
	byPolicy := map[string][]versionRecord{}
	for _, v := range versions {
		byPolicy[v.PolicyID] = append(byPolicy[v.PolicyID], v)
	}
	byRequest := map[string][]announcementRecord{}
	for _, a := range announcements {
		byRequest[a.ChangeRequest] = append(byRequest[a.ChangeRequest], a)
	}
	w := env.Stdout
	for _, p := range policies {
		current := "unversioned"
		if p.Version != "" {
			current = "current " + p.Version + ", published " + stamp(p.PublishedAt)
		}
		fmt.Fprintf(w, "%s — %s (%s; %s)\n", p.ID, p.Title, p.Status, current)
		vs := byPolicy[p.ID]
		if len(vs) == 0 {
			continue
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  VERSION\tKIND\tPUBLISHED\tBY\tARCHIVED\tSUPERSEDED\tSHA-256\tCHANGE REQUEST")
		for _, v := range vs {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.Version, v.Kind, stamp(&v.PublishedAt), v.PublishedBy,
				stamp(v.ArchivedAt), stamp(v.SupersededAt), short(v.Hash), orDash(v.ChangeRequest))
		}
		tw.Flush()
		for _, v := range vs {
			for _, a := range byRequest[v.ChangeRequest] {
				fmt.Fprintf(w, "  announced %s by %s: %d sent, %d failed: %s\n", v.Version, a.Channel, a.Sent, a.Failed, strings.Join(a.Recipients, ", "))
			}
		}
	}
	return nil
}

func stamp(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05.000000Z")
}

func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return orDash(hash)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func runRecordsExceptions(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "records policy-exceptions", "records policy-exceptions [--policy ID]")
	only := fs.String("policy", "", "one policy only")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := env.DB(ctx)
	if err != nil {
		return err
	}
	var rows []struct {
		ID        string         `db:"id"`
		Policy    string         `db:"policy_id"`
		Requester string         `db:"requester_id"`
		Purpose   string         `db:"business_purpose"`
		Reason    string         `db:"reason"`
		Status    string         `db:"status"`
		Round     int            `db:"round"`
		Approved  *time.Time     `db:"approved_at"`
		Expires   *time.Time     `db:"expires_at"`
		Decisions pq.StringArray `db:"decisions"`
	}
	if err := db.SelectContext(ctx, &rows, `
		SELECT e.id, e.policy_id, e.requester_id, e.business_purpose, e.reason, e.status, e.round, e.approved_at, e.expires_at,
		       coalesce(array_agg(format('round %s %s: %s by %s at %s%s', d.round, d.step, d.action, d.decided_by,
		           to_char(d.decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS"Z"'), CASE WHEN d.note <> '' THEN ' (' || d.note || ')' ELSE '' END)
		           ORDER BY d.decided_at) FILTER (WHERE d.exception_id IS NOT NULL), '{}') AS decisions
		FROM policy_exceptions e LEFT JOIN policy_exception_decisions d ON d.exception_id = e.id
		WHERE $1 = '' OR e.policy_id = $1
		GROUP BY e.id ORDER BY e.created_at`, *only); err != nil {
		return err
	}
	for _, r := range rows {
		fmt.Fprintf(env.Stdout, "%s — policy %s, requested by %s: %s (round %d)\n", r.ID, r.Policy, r.Requester, r.Status, r.Round)
		fmt.Fprintf(env.Stdout, "  purpose: %s\n  reason:  %s\n  term:    approved %s, expires %s\n", r.Purpose, r.Reason, stamp(r.Approved), stamp(r.Expires))
		for _, d := range r.Decisions {
			fmt.Fprintf(env.Stdout, "  %s\n", d)
		}
	}
	return nil
}

func runRecordsReviews(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "records policy-reviews", "records policy-reviews")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := env.DB(ctx)
	if err != nil {
		return err
	}
	var reviews []struct {
		ID        string     `db:"id"`
		Officer   string     `db:"officer_id"`
		Status    string     `db:"status"`
		Round     int        `db:"round"`
		Opened    *time.Time `db:"opened_at"`
		SignedOff *time.Time `db:"signed_off_at"`
		Note      string     `db:"sign_off_note"`
	}
	if err := db.SelectContext(ctx, &reviews, `SELECT id, officer_id, status, round, opened_at, signed_off_at, sign_off_note
		FROM policy_reviews ORDER BY created_at`); err != nil {
		return err
	}
	var items []struct {
		Review    string    `db:"review_id"`
		Round     int       `db:"round"`
		Reviewer  string    `db:"reviewer_id"`
		Policy    string    `db:"policy_id"`
		Outcome   string    `db:"outcome"`
		Note      string    `db:"note"`
		CR        string    `db:"change_request_id"`
		Published string    `db:"published_version"`
		At        time.Time `db:"reviewed_at"`
	}
	if err := db.SelectContext(ctx, &items, `
		SELECT i.review_id, i.round, i.reviewer_id, i.policy_id, i.outcome, i.note, i.change_request_id,
		       coalesce(c.published_version, '') AS published_version, i.reviewed_at
		FROM policy_review_items i LEFT JOIN change_requests c ON c.id = i.change_request_id
		ORDER BY i.review_id, i.round, i.reviewed_at, i.reviewer_id, i.clarify, i.policy_id`); err != nil {
		return err
	}
	var rejections []struct {
		Review string    `db:"review_id"`
		Round  int       `db:"round"`
		By     string    `db:"rejected_by"`
		Note   string    `db:"note"`
		At     time.Time `db:"rejected_at"`
	}
	if err := db.SelectContext(ctx, &rejections, `SELECT review_id, round, rejected_by, note, rejected_at
		FROM policy_review_rejections ORDER BY review_id, round`); err != nil {
		return err
	}
	// Only the audit log says a review's change request failed: the item
	// still names it. One entry per control, so one line per request.
	var failed []struct {
		Review  string `db:"subject"`
		Round   int    `db:"round"`
		Request string `db:"request"`
		Member  string `db:"member"`
		Policy  string `db:"policy"`
		Reason  string `db:"reason"`
	}
	if err := db.SelectContext(ctx, &failed, `
		SELECT DISTINCT subject, (detail->>'round')::int AS round, detail->>'request' AS request, detail->>'member' AS member,
		       detail->>'policy' AS policy, detail->>'reason' AS reason
		FROM audit_log WHERE action = 'policy.review.change-failed' ORDER BY subject, round, request`); err != nil {
		return err
	}
	for _, r := range reviews {
		fmt.Fprintf(env.Stdout, "%s — officer %s: %s (round %d), opened %s, signed off %s", r.ID, r.Officer, r.Status, r.Round, stamp(r.Opened), stamp(r.SignedOff))
		if r.Note != "" {
			fmt.Fprintf(env.Stdout, " (%s)", r.Note)
		}
		fmt.Fprintln(env.Stdout)
		for _, j := range rejections {
			if j.Review == r.ID {
				fmt.Fprintf(env.Stdout, "  round %d sign-off rejected by %s at %s: %s\n", j.Round, j.By, stamp(&j.At), j.Note)
			}
		}
		for _, f := range failed {
			if f.Review == r.ID {
				fmt.Fprintf(env.Stdout, "  round %d change request %s (%s, %s) failed: %s\n", f.Round, f.Request, f.Member, f.Policy, f.Reason)
			}
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
		// The note is last: it can be long, and the last column is not padded.
		fmt.Fprintln(tw, "  ROUND\tREVIEWER\tPOLICY\tREVIEWED\tOUTCOME\tCHANGE REQUEST\tPUBLISHED\tNOTE")
		for _, i := range items {
			if i.Review != r.ID {
				continue
			}
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", i.Round, i.Reviewer, i.Policy, stamp(&i.At), i.Outcome,
				orDash(i.CR), orDash(i.Published), i.Note)
		}
		tw.Flush()
	}
	return nil
}

// printJSON writes v to w as indented JSON: the --json output of the
// records commands.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
