package completion_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/complyflow/complyflow/completion"
	"github.com/complyflow/complyflow/completion/internal/fixture"
	"github.com/complyflow/complyflow/internal/testenv"
)

// By process (the controls whose processes list it) and by person (the
// records they made), alone and with the other filters: exactly the
// matching records, counted and paged the same (issue 16 item 3).
func TestRecordsByProcessAndPerson(t *testing.T) {
	db := testenv.Postgres(t)
	p := fixture.Seed(t, db)
	ctx := context.Background()
	for _, tc := range []struct {
		filter completion.Filter
		want   []string
	}{
		{completion.Filter{Process: "offboarding"}, []string{"access-removal offboarding.access-removed sam", "access-removal evidence.uploaded vendor-contact:acme"}},
		{completion.Filter{Process: "policy-acknowledgement"}, []string{"policy-mgmt task.completed sam", "policy-mgmt campaign.acknowledged eve"}},
		{completion.Filter{Process: "security-training"}, []string{"training campaign.acknowledged eve"}},
		{completion.Filter{Person: "eve"}, []string{"policy-mgmt campaign.acknowledged eve", "training campaign.acknowledged eve"}},
		{completion.Filter{Person: "sam"}, []string{"policy-mgmt task.completed sam", "access-removal offboarding.access-removed sam"}},
		{completion.Filter{Person: "sam", Process: "vendor-review"}, []string{"access-removal offboarding.access-removed sam"}},
		{completion.Filter{Person: "eve", Framework: "soc2"}, []string{"policy-mgmt campaign.acknowledged eve"}},
		{completion.Filter{Person: "eve", Framework: "soc2", Requirement: "CC5.3", Process: "annual-policy-review"}, []string{"policy-mgmt campaign.acknowledged eve"}},
		// A known control outside the process, a person with no records of it: no records, not an error.
		{completion.Filter{Process: "security-training", Control: "policy-mgmt"}, nil},
		{completion.Filter{Person: "eve", Control: "access-removal"}, nil},
	} {
		f := tc.filter
		f.From, f.To = p.From, p.To
		var got []string
		for _, r := range all(t, db, f, 1) { // pages of one: every cursor carries the filter
			got = append(got, r.Control+" "+r.Action+" "+r.Actor)
		}
		if strings.Join(got, ", ") != strings.Join(tc.want, ", ") {
			t.Errorf("%+v:\n got %v\nwant %v", tc.filter, got, tc.want)
		}
		s, err := completion.Resolve(ctx, db.App, f)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := s.Count(ctx, db.App); err != nil || n != len(tc.want) {
			t.Errorf("%+v: count %d (%v), want %d", tc.filter, n, err, len(tc.want))
		}
	}
	// The period still bounds them: the row after it is sam's too.
	later := all(t, db, completion.Filter{From: p.To, To: p.To.AddDate(0, 0, 1), Person: "sam", Process: "policy-acknowledgement"}, 10)
	if len(later) != 1 || later[0].Subject != "task-2" {
		t.Errorf("after the period: %+v", later)
	}
}

// A process no control lists, or a person not in the directory, is refused
// naming it and, for a process, the program's processes.
func TestResolveRefusesUnknownProcessAndPerson(t *testing.T) {
	db := testenv.Postgres(t)
	p := fixture.Seed(t, db)
	for _, tc := range []struct {
		filter     completion.Filter
		field, msg string
	}{
		{completion.Filter{Process: "offboard"}, "process", `process "offboard": no control in the program lists it (the program's processes: ` +
			`annual-policy-review, offboarding, policy-acknowledgement, security-training, vendor-review)`},
		{completion.Filter{Process: "dr-test"}, "process", `process "dr-test": no control in the program lists it`},
		{completion.Filter{Person: "nobody"}, "person", `person "nobody": not a person in the directory`},
		{completion.Filter{Person: "vendor-contact:acme"}, "person", `person "vendor-contact:acme": not a person in the directory`},
	} {
		f := tc.filter
		f.From, f.To = p.From, p.To
		_, err := completion.Resolve(context.Background(), db.App, f)
		var fe *completion.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%+v: error %v, want a %s error %q", tc.filter, err, tc.field, tc.msg)
		}
	}
}
