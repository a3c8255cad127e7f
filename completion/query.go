// Package completion is the auditors' query model (issue 16, item 1): for a
// period [From, To), per control or per framework requirement, every record
// that evidences it, with actor, action, time, channel, the policy and
// program versions in force, and the audit-log entry it is chained in. A
// record is an audit-log row written for a control (schema/0015's
// completion_records view), so every process that audits with its controls
// (tasks, signatures, training, change requests, exceptions, reviews, vendor
// reviews and files, offboarding, DR tests, risk assessments) is in it.
//
// The starter's `export records|pack` and the portal call the same functions
// with a sqlx.QueryerContext and an io.Writer.
package completion

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Frameworks are the frameworks a control can map to (schema/0004).
var Frameworks = []string{"soc2", "hipaa", "gdpr"}

// Filter selects records: the period [From, To), and optionally one
// framework (and within it one requirement, e.g. soc2 CC5.3) or one control.
// With a framework, Control may name one of its requirements instead.
//
// Process and Person narrow it further (issue 16 item 3: "framework,
// control, process, person, period"):
//
//   - Process is a registry process name (offboarding, vendor-review,
//     dr-test, ...): the records of the controls whose processes list it in
//     the program file (controls.processes, as `program apply` stored it).
//     It is not read from the audit action: actions are not named by
//     process (both campaigns write campaign.*, policy-change-request writes
//     policy.change.*, every process's tasks write task.completed and its
//     uploads evidence.uploaded), while a control's processes are the
//     program's own statement of what evidences it. A control listing two
//     processes has its records under both.
//   - Person is a person's id in the directory: the records they made (the
//     row's actor). A row's subject is the object it is about (a task, a
//     campaign, a workflow run), never a person, and the person a step is
//     about sits under a different detail key per process, so neither is
//     matched.
type Filter struct {
	From, To    time.Time
	Framework   string
	Requirement string
	Control     string
	Process     string
	Person      string
}

// FieldError is a Process or Person the program or directory does not know.
// Field is the name the starter's flags and the portal's query parameters
// give it (process, person).
type FieldError struct {
	Field, Value, Reason string
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s %q: %s", e.Field, e.Value, e.Reason) }

// Record is one completion record: one audit-log row for one control.
type Record struct {
	AuditID        int64           `db:"audit_id"`
	At             time.Time       `db:"at"`
	Control        string          `db:"control_id"`
	Requirements   string          `db:"-"` // the control's framework requirements, e.g. "soc2 CC5.3; hipaa 164.316(a)"
	Actor          string          `db:"actor"`
	Action         string          `db:"action"`
	Subject        string          `db:"subject"`
	Channel        string          `db:"-"`
	PolicyVersions string          `db:"-"`
	ProgramVersion *int64          `db:"-"` // nil: before the first `program apply`
	ProgramHash    string          `db:"-"`
	Detail         json.RawMessage `db:"detail"`
	Hash           []byte          `db:"hash"` // the audit-log row's chain hash
}

// Cursor is a keyset position: the last record of a page. The zero Cursor is
// the start.
type Cursor struct {
	At time.Time
	ID int64
}

// String encodes the cursor for a URL or a flag.
func (c Cursor) String() string {
	if c.ID == 0 {
		return ""
	}
	return fmt.Sprintf("%s_%d", c.At.UTC().Format(time.RFC3339Nano), c.ID)
}

// ParseCursor reads what Cursor.String wrote; "" is the start.
func ParseCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	at, id, ok := strings.Cut(s, "_")
	var c Cursor
	var err error
	if ok {
		c.At, err = time.Parse(time.RFC3339Nano, at)
	}
	if !ok || err != nil {
		return Cursor{}, fmt.Errorf("cursor %q: not a position from a previous page", s)
	}
	if _, err := fmt.Sscan(id, &c.ID); err != nil || c.ID <= 0 {
		return Cursor{}, fmt.Errorf("cursor %q: not a position from a previous page", s)
	}
	return c, nil
}

// Scope is a filter resolved against the program's controls: which controls
// it covers and each one's requirements, read once per query or export.
type Scope struct {
	Filter       Filter
	Controls     []string
	requirements map[string]string
	inForce      inForce
}

// Resolve checks f against the controls and their framework mapping as
// `program apply` stored them, and names what was wrong.
func Resolve(ctx context.Context, q sqlx.QueryerContext, f Filter) (Scope, error) {
	if f.From.IsZero() || f.To.IsZero() || !f.From.Before(f.To) {
		return Scope{}, fmt.Errorf("period: from (%s) must be before to (%s)", f.From.Format(time.DateOnly), f.To.Format(time.DateOnly))
	}
	if f.Framework != "" && !slices.Contains(Frameworks, f.Framework) {
		return Scope{}, fmt.Errorf("framework %q: not one of %s", f.Framework, strings.Join(Frameworks, ", "))
	}
	if f.Requirement != "" && f.Framework == "" {
		return Scope{}, fmt.Errorf("requirement %q: name its framework too", f.Requirement)
	}
	// `--framework soc2 --control CC5.3`: with a framework, a control that is
	// not a control's id but one of the framework's requirements means it.
	if f.Control != "" && f.Framework != "" && f.Requirement == "" {
		var isRequirement bool
		if err := sqlx.GetContext(ctx, q, &isRequirement, `
			SELECT NOT EXISTS (SELECT 1 FROM controls WHERE id = $1)
			   AND EXISTS (SELECT 1 FROM framework_requirements WHERE framework = $2 AND ref = $1)`, f.Control, f.Framework); err != nil {
			return Scope{}, fmt.Errorf("read the controls: %w", err)
		}
		if isRequirement {
			f.Requirement, f.Control = f.Control, ""
		}
	}
	if err := checkProcessAndPerson(ctx, q, f); err != nil {
		return Scope{}, err
	}
	var rows []struct {
		Control      string         `db:"id"`
		Requirements pq.StringArray `db:"requirements"`
		Matches      bool           `db:"matches"`
		InProcess    bool           `db:"in_process"`
	}
	if err := sqlx.SelectContext(ctx, q, &rows, `
		SELECT c.id,
		       coalesce(array_agg(r.framework || ' ' || r.ref ORDER BY r.framework, r.ref)
		                FILTER (WHERE r.ref IS NOT NULL AND ($1 = '' OR r.framework = $1)), '{}') AS requirements,
		       $1 = '' OR bool_or(r.framework = $1 AND ($2 = '' OR r.ref = $2)) IS TRUE AS matches,
		       $3 = '' OR $3 = ANY(c.processes) AS in_process
		FROM controls c LEFT JOIN control_requirements r ON r.control_id = c.id
		GROUP BY c.id ORDER BY c.id`, f.Framework, f.Requirement, f.Process); err != nil {
		return Scope{}, fmt.Errorf("read the controls: %w", err)
	}
	s := Scope{Filter: f, requirements: map[string]string{}}
	var err error
	if s.inForce, err = readInForce(ctx, q); err != nil {
		return Scope{}, err
	}
	// mapped: a control matches the framework, requirement and control
	// asked for; the process then narrows those to none or more.
	known, mapped := false, false
	for _, r := range rows {
		s.requirements[r.Control] = strings.Join(r.Requirements, "; ")
		if f.Control != "" && r.Control == f.Control {
			known = true
		}
		if r.Matches && (f.Control == "" || r.Control == f.Control) {
			mapped = true
			if r.InProcess {
				s.Controls = append(s.Controls, r.Control)
			}
		}
	}
	switch {
	case f.Control != "" && !known:
		return Scope{}, fmt.Errorf("control %q: not in the program (`starter program apply` stores the controls)", f.Control)
	case f.Control != "" && !mapped:
		return Scope{}, fmt.Errorf("control %q: not mapped to %s %s", f.Control, f.Framework, f.Requirement)
	case f.Requirement != "" && !mapped:
		return Scope{}, fmt.Errorf("requirement %s %q: no control in the program maps to it", f.Framework, f.Requirement)
	}
	return s, nil
}

// checkProcessAndPerson refuses a Process no control lists and a Person
// not in the directory, naming the ones there are.
func checkProcessAndPerson(ctx context.Context, q sqlx.QueryerContext, f Filter) error {
	if f.Process != "" {
		var known []string
		if err := sqlx.SelectContext(ctx, q, &known, `SELECT DISTINCT unnest(processes) AS p FROM controls ORDER BY p`); err != nil {
			return fmt.Errorf("read the controls' processes: %w", err)
		}
		if !slices.Contains(known, f.Process) {
			list := strings.Join(known, ", ")
			if list == "" {
				list = "none: `starter program apply` stores them"
			}
			return &FieldError{"process", f.Process, "no control in the program lists it (the program's processes: " + list + ")"}
		}
	}
	if f.Person != "" {
		var known bool
		if err := sqlx.GetContext(ctx, q, &known, `SELECT EXISTS (SELECT 1 FROM people WHERE id = $1)`, f.Person); err != nil {
			return fmt.Errorf("read the directory: %w", err)
		}
		if !known {
			return &FieldError{"person", f.Person, "not a person in the directory (`starter import people` stores them)"}
		}
	}
	return nil
}

// pageSQL is one page: a branch per control, each an ordered range of
// audit_log_control_at_idx (the test that control_id is not empty matches
// the partial index), or with a person of audit_log_actor_control_at_idx
// (schema/0021), merged in (at, id) order (a Merge Append that stops after
// $5 rows, however many controls there are). $1-$5 are from, to, the
// cursor and the limit, then the person when byPerson, then the controls.
func pageSQL(controls int, byPerson bool) string {
	actor, first := "", 6
	if byPerson {
		actor, first = " AND actor = $6", 7
	}
	var b strings.Builder
	b.WriteString(`SELECT id AS audit_id, at, control_id, actor, action, subject, detail, hash FROM (`)
	for i := range controls {
		if i > 0 {
			b.WriteString(" UNION ALL ")
		}
		fmt.Fprintf(&b, `(SELECT * FROM audit_log WHERE control_id = $%d AND control_id <> ''%s AND at >= $1 AND at < $2
			AND (at, id) > ($3, $4) ORDER BY at, id LIMIT $5)`, i+first, actor)
	}
	b.WriteString(`) r ORDER BY at, id LIMIT $5`)
	return b.String()
}

// Page returns up to limit records after the cursor, in (time, audit id)
// order, and the cursor of the last one (the zero Cursor when there are no
// more).
func (s Scope) Page(ctx context.Context, q sqlx.QueryerContext, after Cursor, limit int) ([]Record, Cursor, error) {
	if limit <= 0 {
		return nil, Cursor{}, fmt.Errorf("page size %d: must be positive", limit)
	}
	if len(s.Controls) == 0 {
		return nil, Cursor{}, nil
	}
	var out []Record
	args := []any{s.Filter.From, s.Filter.To, after.At, after.ID, limit}
	if s.Filter.Person != "" {
		args = append(args, s.Filter.Person)
	}
	for _, c := range s.Controls {
		args = append(args, c)
	}
	if err := sqlx.SelectContext(ctx, q, &out, pageSQL(len(s.Controls), s.Filter.Person != ""), args...); err != nil {
		return nil, Cursor{}, fmt.Errorf("read completion records: %w", err)
	}
	for i := range out {
		out[i].Requirements = s.requirements[out[i].Control]
		s.inForce.fill(&out[i])
	}
	if len(out) < limit {
		return out, Cursor{}, nil
	}
	last := out[len(out)-1]
	return out, Cursor{At: last.At, ID: last.AuditID}, nil
}

// Count is how many records are in scope.
func (s Scope) Count(ctx context.Context, q sqlx.QueryerContext) (int, error) {
	var n int
	if err := sqlx.GetContext(ctx, q, &n, `
		SELECT count(*) FROM audit_log WHERE control_id = ANY($1) AND control_id <> '' AND at >= $2 AND at < $3
		AND ($4 = '' OR actor = $4)`,
		pq.Array(s.Controls), s.Filter.From, s.Filter.To, s.Filter.Person); err != nil {
		return 0, fmt.Errorf("count completion records: %w", err)
	}
	return n, nil
}

// Each calls fn for every record in scope, a page of batch at a time, so an
// export holds two pages in memory whatever the period's size; the rows are
// Page's, in its order. The next page is read while fn handles this one (q is
// used from that one goroutine only), so the database and the writer work at
// once.
func (s Scope) Each(ctx context.Context, q sqlx.QueryerContext, batch int, fn func(Record) error) error {
	type page struct {
		records []Record
		err     error
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pages := make(chan page, 1)
	go func() {
		defer close(pages)
		var after Cursor
		for {
			records, next, err := s.Page(ctx, q, after, batch)
			select {
			case pages <- page{records, err}:
			case <-ctx.Done():
				return
			}
			if err != nil || next.ID == 0 {
				return
			}
			after = next
		}
	}()
	err := func() error {
		for p := range pages {
			if p.err != nil {
				return p.err
			}
			for _, r := range p.records {
				if err := fn(r); err != nil {
					return err
				}
			}
		}
		return ctx.Err()
	}()
	// The reader stops and is waited for before q is handed back.
	cancel()
	for range pages {
	}
	return err
}
