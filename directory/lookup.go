package directory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/complyflow/complyflow/internal/refusal"
	"github.com/jmoiron/sqlx"
	"go.temporal.io/sdk/temporal"
)

// ControlsFor lists the controls the program file says a process evidences.
func ControlsFor(ctx context.Context, q sqlx.QueryerContext, process string) ([]string, error) {
	var ids []string
	err := sqlx.SelectContext(ctx, q, &ids,
		`SELECT id FROM controls WHERE $1 = ANY (processes) AND retired_at IS NULL ORDER BY id`, process)
	return ids, err
}

// RoleHolders lists who holds each role, in the order given, the first role
// with anybody winning: ("ceo", "ceo_designee") falls back to the designee.
func RoleHolders(ctx context.Context, q sqlx.QueryerContext, roles ...string) ([]string, error) {
	for _, r := range roles {
		var ids []string
		if err := sqlx.SelectContext(ctx, q, &ids, `
			SELECT r.person_id FROM roles r JOIN people p ON p.id = r.person_id
			WHERE r.role = $1 AND `+NotLeft+` ORDER BY r.person_id`, r); err != nil {
			return nil, err
		}
		if len(ids) > 0 {
			return ids, nil
		}
	}
	return nil, nil
}

// OthersHolding is RoleHolders without the requester, who never reviews or
// approves their own request: the first role with anybody else wins. With
// nobody else it is a non-retryable error naming the roles; what says what
// they would have done.
func OthersHolding(ctx context.Context, q sqlx.QueryerContext, requester, what string, roles ...string) ([]string, error) {
	for _, r := range roles {
		ids, err := RoleHolders(ctx, q, r)
		if err != nil {
			return nil, err
		}
		if ids = slices.DeleteFunc(ids, func(id string) bool { return id == requester }); len(ids) > 0 {
			return ids, nil
		}
	}
	held, err := RoleHolders(ctx, q, roles...)
	if err != nil {
		return nil, err
	}
	either := strings.Join(roles, " or ")
	if len(held) > 0 {
		return nil, refusal.New("only the requester, %s, holds the role %s to %s, and nobody approves their own request: "+
			"add another holder (or designee) of %s in the program file", requester, either, what, either)
	}
	return nil, refusal.New("nobody holds the role %s to %s: add a holder in the program file", either, what)
}

// CheckActive refuses a person who is not in the directory or has left.
func CheckActive(ctx context.Context, q sqlx.QueryerContext, id string) error {
	found, active, err := PersonActive(ctx, q, id)
	switch {
	case err != nil:
		return err
	case !found:
		return refusal.New("person %q is not in the directory", id)
	case !active:
		return refusal.New("person %q has left", id)
	}
	return nil
}

// NotLeft keeps people (aliased p) whose end_date has not come: the one
// rule for who has left, however a person is looked up.
const NotLeft = `(p.end_date IS NULL OR p.end_date > current_date)`

// PersonActive reports whether id is in the directory, and if so whether they
// have not left.
func PersonActive(ctx context.Context, q sqlx.QueryerContext, id string) (found, active bool, err error) {
	err = sqlx.GetContext(ctx, q, &active, `SELECT `+NotLeft+` FROM people p WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return false, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("look up person %s: %w", id, err)
	}
	return true, active, nil
}

// CheckNotLeft returns a non-retryable "PersonLeft" error, worded for the
// person, when personID's end_date has come: people who have left may no
// longer act on tasks.
func CheckNotLeft(ctx context.Context, db sqlx.QueryerContext, personID string) error {
	var end time.Time
	err := sqlx.GetContext(ctx, db, &end, `SELECT end_date FROM people p WHERE id = $1 AND NOT `+NotLeft, personID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check whether %s has left: %w", personID, err)
	}
	return temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("%s has left (end date %s in the directory) and may no longer act on tasks", personID, end.Format("2 Jan 2006")),
		"PersonLeft", nil)
}

// Person is a directory entry, as much of it as notifications need.
type Person struct {
	ID          string `db:"id"`
	Name        string `db:"name"`
	Email       string `db:"email"`
	SlackUserID string `db:"slack_user_id"`
}

// LookupPerson reads one person; an unknown ID is a non-retryable error.
func LookupPerson(ctx context.Context, db sqlx.QueryerContext, id string) (Person, error) {
	var p Person
	err := sqlx.GetContext(ctx, db, &p, `SELECT id, name, email, slack_user_id FROM people WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Person{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("person %q is not in the directory", id), "UnknownPerson", nil)
	}
	if err != nil {
		return Person{}, fmt.Errorf("look up person %s: %w", id, err)
	}
	return p, nil
}
