package offboarding

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	act "github.com/complyflow/complyflow/activities/offboarding"
	"github.com/complyflow/complyflow/directory"
	"github.com/complyflow/complyflow/internal/links"
	"github.com/complyflow/complyflow/internal/refusal"
)

// MaxLastDayAgo is how many days back a last day may be: an older one is
// more likely a mistyped year than a leaver nobody offboarded for a month,
// and if it is the latter, today's date with the reason saying so starts
// the removals at once all the same.
const MaxLastDayAgo = 30

// ErrNotAllowed is in the refusal Validate gives a starter who may not
// offboard the person (errors.Is): the portal audits those.
var ErrNotAllowed = errors.New("may not offboard this person")

// Validate answers, as a refusal, why in could not start, for the starter
// and the portal alike: a starter who is not up the person's management
// chain, a security officer or the HR feed (also ErrNotAllowed), a person
// not in the directory (ErrNotAllowed too), a last day that is not a date
// or is more than MaxLastDayAgo days before today, or a person who has
// left and whose offboarding already completed. Any other error is an
// outage. The workflow's first activity checks the starter and the date
// again; a second offboarding of a person whose first still runs is
// refused by Start.
func Validate(ctx context.Context, db sqlx.QueryerContext, in Input) error {
	if err := act.Authorize(ctx, db, in.PersonID, in.StartedBy); err != nil {
		if _, ok := refusal.Reason(err); ok {
			return notAllowed{err}
		}
		return err
	}
	day, err := time.Parse(time.DateOnly, in.LastDay)
	if err != nil {
		return refusal.New("last day %q is not a date such as 2026-12-18", in.LastDay)
	}
	y, m, d := time.Now().UTC().Date()
	if earliest := time.Date(y, m, d-MaxLastDayAgo, 0, 0, 0, 0, time.UTC); day.Before(earliest) {
		return refusal.New("last day %s is more than %d days ago (the earliest is %s): check the year; if %s's access really "+
			"stayed that long, give today's date and say so in the reason", in.LastDay, MaxLastDayAgo, earliest.Format(time.DateOnly), in.PersonID)
	}
	var done struct {
		EndDate  time.Time `db:"end_date"`
		ClosedAt time.Time `db:"closed_at"`
	}
	err = sqlx.GetContext(ctx, db, &done, `SELECT p.end_date, o.closed_at FROM offboardings o JOIN people p ON p.id = o.person_id
		WHERE o.person_id = $1 AND o.status = 'completed' AND NOT `+directory.NotLeft+` ORDER BY o.closed_at DESC LIMIT 1`, in.PersonID)
	if err == nil {
		return refusal.New("%s left on %s and was already offboarded (completed %s): there is no access left to remove",
			in.PersonID, done.EndDate.Format(time.DateOnly), done.ClosedAt.UTC().Format(time.DateOnly))
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("look up %s's offboardings: %w", in.PersonID, err)
	}
	return nil
}

// notAllowed is Authorize's refusal, marked as ErrNotAllowed.
type notAllowed struct{ error }

func (e notAllowed) Unwrap() error      { return e.error }
func (notAllowed) Is(target error) bool { return target == ErrNotAllowed }

// Leaver is someone a starter may offboard.
type Leaver struct {
	ID   string `db:"id"`
	Name string `db:"name"`
}

// Leavers is whom by may offboard among those who have not left, by
// Authorize's rule: everyone for a security officer, else everyone who
// reports to by, directly or through other managers. The portal's form
// offers them; Validate still decides.
func Leavers(ctx context.Context, q sqlx.QueryerContext, by string) ([]Leaver, error) {
	officers, err := directory.RoleHolders(ctx, q, "security_officer")
	if err != nil {
		return nil, err
	}
	var leavers []Leaver
	// UNION (not UNION ALL) ends the walk even on a cycle in the directory.
	err = sqlx.SelectContext(ctx, q, &leavers, `
		WITH RECURSIVE reports(id) AS (
			SELECT id FROM people WHERE manager_id = $1
			UNION
			SELECT p.id FROM people p JOIN reports r ON p.manager_id = r.id)
		SELECT p.id, p.name FROM people p
		WHERE `+directory.NotLeft+` AND ($2 OR p.id IN (SELECT id FROM reports WHERE id <> $1))
		ORDER BY p.name, p.id`, by, slices.Contains(officers, by))
	if err != nil {
		return nil, fmt.Errorf("people %s may offboard: %w", by, err)
	}
	return leavers, nil
}

// Start starts the person's offboarding on the task queue and answers its
// ID. One runs at a time per person: while one runs, a second start is
// refused naming it; after one closed (a rehire who leaves again), a new
// run may start under the same ID.
func Start(ctx context.Context, c client.Client, queue string, in Input) (string, error) {
	id := ID(in.PersonID)
	_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: queue, WorkflowExecutionErrorWhenAlreadyStarted: true,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}, WorkflowName, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return id, refusal.New("offboarding %s is already running (run %s): one offboarding per person at a time "+
			"(`starter records offboarding --person %s`, or cancel it with `starter offboard cancel`)", id, started.RunId, in.PersonID)
	}
	return id, err
}

// Cancel asks the person's running offboarding to stop, and answers its
// status once the cancellation is recorded; a refusal says why not.
func Cancel(ctx context.Context, c client.Client, personID string, req CancelRequest) (Status, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: ID(personID), UpdateName: UpdateCancel, Args: []any{req}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var st Status
	if err == nil {
		err = h.Get(ctx, &st)
	}
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return Status{}, refusal.New("no offboarding of %s is running", personID)
	}
	return st, err
}

// ErrCallbackLink is a callback URL whose token does not verify: tampered,
// expired, or not a callback link. The portal answers 403 and records nothing.
var ErrCallbackLink = errors.New("callback link does not verify")

// Callback is the JSON a system POSTs to its callback URL.
type Callback struct {
	Status string `json:"status"`
	Reason string `json:"reason"`
}

// DeliverCallback verifies the callback URL's token and hands the system's
// answer (body) to its offboarding. A token that does not verify is
// ErrCallbackLink; a body that is not a Callback, or an answer the
// offboarding does not wait for, is a refusal.
func DeliverCallback(ctx context.Context, c client.Client, signer *links.Signer, token string, body []byte) error {
	claims, err := signer.Verify(token)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCallbackLink, err)
	}
	workflowID, systemID, ok := act.ParseCallbackSubject(claims)
	if !ok {
		return ErrCallbackLink
	}
	var cb Callback
	if err := json.Unmarshal(body, &cb); err != nil || strings.TrimSpace(cb.Status) == "" {
		return refusal.New(`the callback body must be JSON such as {"status":"removed"}`)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflowID, UpdateName: UpdateConnectorCallback, WaitForStage: client.WorkflowUpdateStageCompleted,
		Args: []any{CallbackRequest{SystemID: systemID, Status: strings.TrimSpace(cb.Status), Reason: cb.Reason, BodySHA256: act.Digest(body)}},
	})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return refusal.New("offboarding %s is not running", workflowID)
	}
	return err
}
