package activities

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/complyflow/complyflow/internal/testenv"
	"github.com/complyflow/complyflow/policy"
)

// A deprecated policy is on record but no longer in force: no change request
// or exception is opened against it, and nothing is half-recorded.
func TestDeprecatedPolicyTakesNoNewRequests(t *testing.T) {
	ctx := context.Background()
	db := testenv.Postgres(t)
	seedPolicyProgram(t, db)
	db.Owner.MustExec(`UPDATE policies SET status = 'deprecated' WHERE id = 'access'`)

	_, err := (&Policies{DB: db.App}).OpenChangeRequest(ctx, OpenChangeRequestInput{ID: "cr-1", PolicyID: "access",
		Kind: policy.Material, Summary: "s", RequesterID: "eve", At: time.Now()})
	if err == nil || !isNonRetryable(err) || !strings.Contains(err.Error(), `policy "access" is deprecated`) {
		t.Fatalf("change request: %v", err)
	}
	if err := CheckChangeApprovers(ctx, db.App, "access", "eve", policy.Material); err == nil || !strings.Contains(err.Error(), "deprecated") {
		t.Fatalf("CheckChangeApprovers: %v", err)
	}
	_, err = (&Policies{DB: db.App}).OpenException(ctx, OpenExceptionInput{ID: "ex-1", PolicyID: "access", RequesterID: "eve",
		Purpose: "legacy system", Reason: "cannot meet it", Expires: time.Now().Add(30 * 24 * time.Hour), At: time.Now()})
	if err == nil || !isNonRetryable(err) || !strings.Contains(err.Error(), "deprecated") {
		t.Fatalf("exception: %v", err)
	}
	var rows int
	db.App.Get(&rows, `SELECT (SELECT count(*) FROM change_requests) + (SELECT count(*) FROM policy_exceptions)`)
	if rows != 0 {
		t.Fatalf("%d rows recorded for refused requests", rows)
	}
}
