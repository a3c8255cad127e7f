package policyreview

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"go.temporal.io/sdk/temporal"

	"github.com/complyflow/complyflow/activities/policychange"
	"github.com/complyflow/complyflow/internal/testenv"
	"github.com/complyflow/complyflow/policy"
)

// The check answers a refusal as data, with the reason OpenChangeRequest
// would give, and lets through exactly what OpenChangeRequest opens.
func TestCheckReviewChangeAnswersRefusal(t *testing.T) {
	db := testenv.Postgres(t)
	testenv.SeedPolicyProgram(t, db)
	db.Owner.MustExec(`
		INSERT INTO people (id, email, name) VALUES ('hank', 'hank@example.com', 'Hank Head');
		INSERT INTO roles (role, person_id) VALUES ('head_of_engineering', 'hank'), ('review_committee', 'hank');
		INSERT INTO policies (id, title, owner_id, source, created_at) VALUES
			('change-management', 'Change Management Policy', 'hank', 'policies/change-management.md', '2022-06-01'),
			('old', 'Old Policy', 'sam', 'policies/old.md', '2022-06-01');
		UPDATE policies SET status = 'deprecated' WHERE id = 'old';
		UPDATE policies SET product_development = true WHERE id = 'change-management';`)
	a := &Activities{DB: db.App}
	ctx := context.Background()
	for _, tc := range []struct {
		requester, policyID string
		kind                policy.Kind
		want                string // "" when the request can be opened
	}{
		{"hank", "change-management", policy.Minor, "only the requester, hank, holds the role head_of_engineering"},
		{"pat", "change-management", policy.Minor, ""},
		{"eve", "access", policy.Material, ""},
		{"lee", "access", policy.Material, `person "lee" has left`},
		{"eve", "old", policy.Material, `policy "old" is deprecated`},
	} {
		got, err := a.CheckReviewChange(ctx, ReviewChangeCheckInput{PolicyID: tc.policyID, RequesterID: tc.requester, Kind: tc.kind})
		if err != nil {
			t.Fatalf("%s on %s: %v, want the refusal as an answer", tc.requester, tc.policyID, err)
		}
		if got.Refused != (tc.want != "") || !strings.Contains(got.Reason, tc.want) || (tc.want == "" && got.Reason != "") {
			t.Errorf("%s on %s: %+v, want refused=%v saying %q", tc.requester, tc.policyID, got, tc.want != "", tc.want)
		}
		_, err = (&policychange.Activities{DB: db.App}).OpenChangeRequest(ctx, policychange.OpenChangeRequestInput{ID: "cr/" + tc.requester + "/" + tc.policyID, PolicyID: tc.policyID,
			Kind: tc.kind, Summary: "s", RequesterID: tc.requester, At: time.Now()})
		if got.Refused != (err != nil) || (err != nil && !strings.Contains(err.Error(), got.Reason)) {
			t.Errorf("%s on %s: the check answered %+v but OpenChangeRequest %v", tc.requester, tc.policyID, got, err)
		}
	}
}

// A failure that is not a refusal (here a closed database) stays an error,
// so the activity is retried rather than the change recorded as refused.
func TestCheckReviewChangeDatabaseErrorIsError(t *testing.T) {
	conn, err := sqlx.Open("postgres", "postgres://nobody@127.0.0.1:1/none?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	got, err := (&Activities{DB: conn}).CheckReviewChange(context.Background(),
		ReviewChangeCheckInput{PolicyID: "access", RequesterID: "eve", Kind: policy.Material})
	if err == nil || isNonRetryable(err) || got.Refused {
		t.Errorf("closed database: %+v, %v; want a retryable error and no refusal", got, err)
	}
}

func isNonRetryable(err error) bool {
	var ae *temporal.ApplicationError
	return errors.As(err, &ae) && ae.NonRetryable()
}
