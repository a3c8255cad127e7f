package humantask

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/complyflow/complyflow/audit"
	"github.com/complyflow/complyflow/directory"
	"github.com/complyflow/complyflow/internal/refusal"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"go.temporal.io/sdk/temporal"
)

// Tasks records human tasks and their events in Postgres and answers who a
// task escalates to. Every write is idempotent, so activity retries are safe.
type Tasks struct {
	DB *sqlx.DB
}

// CreateTaskInput is a new human task.
type CreateTaskInput struct {
	TaskID     string
	AssigneeID string
	Subject    string
	Body       string
	Due        time.Time
	Actions    []string
	ControlIDs []string // every control the task evidences
	ParentRef  string
	// Form is the task's form (humantask.Form as JSON), nil when it has none.
	Form json.RawMessage `json:",omitempty"`
}

// CreateTask records the task and its "created" event.
func (a *Tasks) CreateTask(ctx context.Context, in CreateTaskInput) error {
	if in.TaskID == "" || in.Subject == "" || len(in.Actions) == 0 || in.Due.IsZero() {
		return refusal.New("a task needs an ID, a subject, a due time and at least one action")
	}
	if _, err := directory.LookupPerson(ctx, a.DB, in.AssigneeID); err != nil {
		return err
	}
	tx, err := a.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO tasks (id, assignee_id, subject, body, actions, control_ids, parent_ref, due_at, form)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING`,
		in.TaskID, in.AssigneeID, in.Subject, in.Body, pq.Array(in.Actions), pq.Array(controlIDs(in.ControlIDs)), in.ParentRef, in.Due,
		nullJSON(in.Form)); err != nil {
		return fmt.Errorf("insert task %s: %w", in.TaskID, err)
	}
	if err := insertEvent(ctx, tx, TaskEventInput{TaskID: in.TaskID, Key: "created", Kind: "created",
		Detail: map[string]any{"assignee": in.AssigneeID, "due": in.Due}}); err != nil {
		return err
	}
	return tx.Commit()
}

// TaskEventInput is one entry of a task's history. Key makes it idempotent
// ("reminder/2", "escalated/1"); Kind is what happened.
type TaskEventInput struct {
	TaskID  string
	Key     string
	Kind    string
	ActorID string
	// ActedBy, when set, is who the audit entry names as acting for ActorID
	// (an operator through the CLI).
	ActedBy string `json:",omitempty"`
	Detail  map[string]any
}

// RecordTaskEvent appends an event to the task's history once, and to the
// audit log in the same transaction.
func (a *Tasks) RecordTaskEvent(ctx context.Context, in TaskEventInput) error {
	tx, err := a.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := insertEvent(ctx, tx, in); err != nil {
		return err
	}
	return tx.Commit()
}

// controlIDs is ids without blanks or repeats, in their order, never nil
// (the column is NOT NULL).
func controlIDs(ids []string) []string {
	out := []string{}
	for _, id := range ids {
		if id = strings.TrimSpace(id); id != "" && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// insertEvent records the event in task_events and audit_log, both under its
// key, so a retry adds neither twice. The audit entry evidences each of the
// task's controls: one row per control.
func insertEvent(ctx context.Context, tx *sqlx.Tx, in TaskEventInput) error {
	detail, err := json.Marshal(in.Detail)
	if err != nil || in.Detail == nil {
		detail = []byte("{}")
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO task_events (task_id, event_key, kind, actor_id, detail)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (task_id, event_key) DO NOTHING`,
		in.TaskID, in.Key, in.Kind, in.ActorID, detail)
	if err != nil {
		return fmt.Errorf("record task event %s/%s: %w", in.TaskID, in.Key, err)
	}
	var controls pq.StringArray
	if err := tx.GetContext(ctx, &controls, `SELECT control_ids FROM tasks WHERE id = $1`, in.TaskID); err != nil {
		return fmt.Errorf("record task event %s/%s: read the task's controls: %w", in.TaskID, in.Key, err)
	}
	actor := in.ActorID
	switch {
	case in.ActedBy != "":
		actor = in.ActedBy
	case actor == "":
		actor = "complyflow"
	}
	if err := audit.Write(ctx, tx, audit.Entry{Actor: actor, Action: "task." + in.Kind, Subject: in.TaskID, Controls: controls,
		Detail: json.RawMessage(detail), Key: "task/" + in.TaskID + "/" + in.Key}); err != nil {
		return fmt.Errorf("record task event %s/%s: %w", in.TaskID, in.Key, err)
	}
	return nil
}

// CompleteTaskInput is the outcome of a task.
type CompleteTaskInput struct {
	TaskID  string
	Action  string
	By      string
	ActedBy string `json:",omitempty"` // see humantask.CompleteRequest.ActedBy
	At      time.Time
	Note    string
	// Values fill the task's form (humantask.Values as JSON), nil when it has none.
	Values json.RawMessage `json:",omitempty"`
}

// nullJSON is b for a jsonb column, NULL when empty.
func nullJSON(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return []byte(b)
}

// TaskClosedType is the application error type of a completion refused
// because the task is already closed: completed by someone else or with
// another action, or cancelled. It is never retried.
const TaskClosedType = "TaskClosed"

// CompleteTask records the outcome and the "completed" event. Someone who
// has left may not complete a task: the workflow's validator cannot read the
// directory, so this is where every path (portal, Slack, CLI) is refused.
//
// Only an open task is completed. A task already completed by the same
// person with the same action is this completion retried, and succeeds; any
// other closed task is a non-retryable TaskClosed error saying who completed
// it and when, or that it was cancelled, so the workflow never admits an
// outcome Postgres does not hold.
func (a *Tasks) CompleteTask(ctx context.Context, in CompleteTaskInput) error {
	tx, err := a.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := directory.CheckNotLeft(ctx, tx, in.By); err != nil {
		return err
	}
	var id string
	err = tx.GetContext(ctx, &id, `
		UPDATE tasks SET status = 'completed', outcome_action = $2, outcome_by = $3, outcome_note = $4, completed_at = $5, outcome_values = $6
		WHERE id = $1 AND status = 'open' RETURNING id`, in.TaskID, in.Action, in.By, in.Note, in.At, nullJSON(in.Values))
	if errors.Is(err, sql.ErrNoRows) {
		return closedTask(ctx, tx, in)
	}
	if err != nil {
		return fmt.Errorf("complete task %s: %w", in.TaskID, err)
	}
	if err := insertEvent(ctx, tx, TaskEventInput{TaskID: in.TaskID, Key: "completed", Kind: "completed", ActorID: in.By, ActedBy: in.ActedBy,
		Detail: completedDetail(in)}); err != nil {
		return err
	}
	return tx.Commit()
}

// completedDetail is what the completed event and its audit entry record:
// the form's values with the outcome, when the task has a form.
func completedDetail(in CompleteTaskInput) map[string]any {
	d := map[string]any{"action": in.Action, "note": in.Note, "at": in.At}
	if len(in.Values) > 0 {
		d["values"] = in.Values
	}
	return d
}

// closedTask answers a completion of a task that is not open: nil for a
// retry of the completion that closed it, else why it cannot be completed.
func closedTask(ctx context.Context, tx *sqlx.Tx, in CompleteTaskInput) error {
	var t struct {
		Status      string         `db:"status"`
		Action      string         `db:"outcome_action"`
		By          sql.NullString `db:"outcome_by"`
		CompletedAt sql.NullTime   `db:"completed_at"`
	}
	err := tx.GetContext(ctx, &t, `SELECT status, outcome_action, outcome_by, completed_at FROM tasks WHERE id = $1`, in.TaskID)
	if errors.Is(err, sql.ErrNoRows) {
		return refusal.New("task %s is not recorded", in.TaskID)
	}
	if err != nil {
		return fmt.Errorf("complete task %s: %w", in.TaskID, err)
	}
	switch {
	case t.Status == "completed" && t.By.String == in.By && t.Action == in.Action:
		return nil // this completion, retried: its event and audit row were committed with it
	case t.Status == "completed":
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("task %s was already completed: %s by %s at %s",
			in.TaskID, t.Action, t.By.String, t.CompletedAt.Time.UTC().Format(time.RFC3339)), TaskClosedType, nil)
	default:
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("task %s was %s and can no longer be completed", in.TaskID, t.Status),
			TaskClosedType, nil)
	}
}

// CancelTask marks an open task cancelled (its parent gave it up) and records
// the event; a task already closed, or never recorded, is left alone.
func (a *Tasks) CancelTask(ctx context.Context, in TaskClosedInput) error {
	tx, err := a.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE tasks SET status = 'cancelled' WHERE id = $1 AND status = 'open'`, in.TaskID)
	if err != nil {
		return fmt.Errorf("cancel task %s: %w", in.TaskID, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		if err := insertEvent(ctx, tx, TaskEventInput{TaskID: in.TaskID, Key: "cancelled", Kind: "cancelled"}); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// ResolveEscalationInput names one escalation step's target: a person ID,
// "@manager" (the assignee's manager) or "role:NAME". Except are people the
// step never reaches (a request's requester), whoever To resolves to.
type ResolveEscalationInput struct {
	AssigneeID string
	To         string
	Except     []string `json:",omitempty"`
}

// ResolveEscalationResult is who the step reaches; when nobody, Reason says why.
type ResolveEscalationResult struct {
	PersonIDs []string
	Reason    string
}

// ResolveEscalation looks the step's target up in the directory when the
// step is reached, so a manager changed since the task began is the one asked.
func (a *Tasks) ResolveEscalation(ctx context.Context, in ResolveEscalationInput) (ResolveEscalationResult, error) {
	var ids []string
	var reason string
	var err error
	switch {
	case in.To == "@manager":
		var mgr sql.NullString
		err = a.DB.GetContext(ctx, &mgr, `SELECT manager_id FROM people WHERE id = $1`, in.AssigneeID)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !mgr.Valid) {
			return ResolveEscalationResult{Reason: fmt.Sprintf("%s has no manager in the directory", in.AssigneeID)}, nil
		}
		if err == nil {
			err = a.DB.SelectContext(ctx, &ids, `SELECT id FROM people p WHERE id = $1 AND `+directory.NotLeft, mgr.String)
			reason = fmt.Sprintf("%s's manager %s has left", in.AssigneeID, mgr.String)
		}
	case strings.HasPrefix(in.To, "role:"):
		role := strings.TrimPrefix(in.To, "role:")
		ids, err = directory.RoleHolders(ctx, a.DB, role)
		reason = fmt.Sprintf("nobody who has not left holds the role %s", role)
	default:
		err = a.DB.SelectContext(ctx, &ids, `SELECT id FROM people p WHERE id = $1 AND `+directory.NotLeft, in.To)
		reason = fmt.Sprintf("%s is not in the directory, or has left", in.To)
	}
	if err != nil {
		return ResolveEscalationResult{}, fmt.Errorf("resolve escalation to %s: %w", in.To, err)
	}
	if len(ids) == 0 {
		return ResolveEscalationResult{Reason: reason}, nil
	}
	if ids = slices.DeleteFunc(ids, func(id string) bool { return slices.Contains(in.Except, id) }); len(ids) == 0 {
		return ResolveEscalationResult{Reason: exceptReason(in, strings.Join(in.Except, ", "))}, nil
	}
	return ResolveEscalationResult{PersonIDs: ids}, nil
}

// exceptReason says why a step reached nobody when everyone it resolved to
// is someone it must not reach.
func exceptReason(in ResolveEscalationInput, except string) string {
	switch {
	case in.To == "@manager":
		return fmt.Sprintf("%s's manager is %s, whom this escalation may not reach", in.AssigneeID, except)
	case strings.HasPrefix(in.To, "role:"):
		return fmt.Sprintf("nobody but %s holds the role %s, and this escalation may not reach them", except, strings.TrimPrefix(in.To, "role:"))
	default:
		return fmt.Sprintf("this escalation may not reach %s", in.To)
	}
}

// TaskRecord is a task row as the portal, the CLI and notifications show it.
type TaskRecord struct {
	ID            string         `db:"id"`
	AssigneeID    string         `db:"assignee_id"`
	AssigneeName  string         `db:"assignee_name"`
	Subject       string         `db:"subject"`
	Body          string         `db:"body"`
	Actions       pq.StringArray `db:"actions"`
	ControlIDs    pq.StringArray `db:"control_ids"`
	Due           time.Time      `db:"due_at"`
	Status        string         `db:"status"`
	OutcomeAction string         `db:"outcome_action"`
	OutcomeBy     sql.NullString `db:"outcome_by"`
	OutcomeByName string         `db:"outcome_by_name"`
	OutcomeNote   string         `db:"outcome_note"`
	CompletedAt   sql.NullTime   `db:"completed_at"`
	CreatedAt     time.Time      `db:"created_at"`
	ParentRef     string         `db:"parent_ref"`
	// Form and OutcomeValues are humantask.Form and humantask.Values as
	// JSON, empty when the task has no form.
	Form          []byte `db:"form"`
	OutcomeValues []byte `db:"outcome_values"`
}

const taskColumns = `t.id, t.assignee_id, a.name AS assignee_name, t.subject, t.body, t.actions, t.control_ids,
	t.due_at, t.status, t.outcome_action, t.outcome_by, coalesce(b.name, '') AS outcome_by_name,
	t.outcome_note, t.completed_at, t.created_at, t.parent_ref, t.form, t.outcome_values
	FROM tasks t JOIN people a ON a.id = t.assignee_id LEFT JOIN people b ON b.id = t.outcome_by`

// LoadTask reads one task; ok is false when there is none.
func LoadTask(ctx context.Context, db sqlx.QueryerContext, id string) (TaskRecord, bool, error) {
	var t TaskRecord
	err := sqlx.GetContext(ctx, db, &t, `SELECT `+taskColumns+` WHERE t.id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return TaskRecord{}, false, nil
	}
	if err != nil {
		return TaskRecord{}, false, fmt.Errorf("load task %s: %w", id, err)
	}
	return t, true, nil
}

// OpenTasks lists every open task, the earliest due first.
func OpenTasks(ctx context.Context, db sqlx.QueryerContext) ([]TaskRecord, error) {
	var ts []TaskRecord
	err := sqlx.SelectContext(ctx, db, &ts, `SELECT `+taskColumns+` WHERE t.status = 'open' ORDER BY t.due_at, t.id`)
	return ts, err
}

// TaskEvent is one entry of a task's history.
type TaskEvent struct {
	Kind      string          `db:"kind"`
	ActorID   string          `db:"actor_id"`
	Detail    json.RawMessage `db:"detail"`
	CreatedAt time.Time       `db:"created_at"`
}

// TaskHistory lists a task's events, oldest first.
func TaskHistory(ctx context.Context, db sqlx.QueryerContext, id string) ([]TaskEvent, error) {
	var evs []TaskEvent
	err := sqlx.SelectContext(ctx, db, &evs, `SELECT kind, actor_id, detail, created_at FROM task_events WHERE task_id = $1 ORDER BY id`, id)
	return evs, err
}
