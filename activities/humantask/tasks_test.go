package humantask_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/complyflow/complyflow/activities/humantask"
	"github.com/complyflow/complyflow/internal/testenv"
)

func TestTaskRecords(t *testing.T) {
	db := testenv.Postgres(t)
	db.Owner.MustExec(`INSERT INTO people (id, name) VALUES ('mia', 'Mia'), ('sam', 'Sam'), ('sue', 'Sue');
		INSERT INTO people (id, name, manager_id) VALUES ('ann', 'Ann', 'mia');
		INSERT INTO roles (role, person_id) VALUES ('security_officer', 'sue'), ('security_officer', 'sam')`)
	a := &humantask.Tasks{DB: db.App}
	ctx := context.Background()
	in := humantask.CreateTaskInput{TaskID: "task/r/1", AssigneeID: "ann", Subject: "Review", Due: time.Now().Add(time.Hour), Actions: []string{"done"}}
	for i := 0; i < 2; i++ { // a retried activity
		if err := a.CreateTask(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.CreateTask(ctx, humantask.CreateTaskInput{TaskID: "task/r/2", AssigneeID: "nobody", Subject: "x", Due: time.Now(), Actions: []string{"done"}}); err == nil || !strings.Contains(err.Error(), `"nobody" is not in the directory`) {
		t.Errorf("unknown assignee: %v", err)
	}

	resolve := func(to string) string {
		r, err := a.ResolveEscalation(ctx, humantask.ResolveEscalationInput{AssigneeID: "ann", To: to})
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(r.PersonIDs, r.Reason)
	}
	for to, want := range map[string]string{
		"@manager": "[mia]", "role:security_officer": "[sam sue]", "sam": "[sam]",
		"role:ceo": "[]nobody who has not left holds the role ceo", "zed": "[]zed is not in the directory, or has left",
	} {
		if got := resolve(to); got != want {
			t.Errorf("%s: %q, want %q", to, got, want)
		}
	}
	if r, _ := a.ResolveEscalation(ctx, humantask.ResolveEscalationInput{AssigneeID: "mia", To: "@manager"}); r.Reason != "mia has no manager in the directory" {
		t.Errorf("no manager: %+v", r)
	}

	if err := a.CompleteTask(ctx, humantask.CompleteTaskInput{TaskID: "task/r/1", Action: "done", By: "mia", At: time.Now(), Note: "ok"}); err != nil {
		t.Fatal(err)
	}
	// A cancellation after completion leaves the outcome alone.
	if err := a.CancelTask(ctx, humantask.TaskClosedInput{TaskID: "task/r/1"}); err != nil {
		t.Fatal(err)
	}
	task, _, _ := humantask.LoadTask(ctx, db.App, "task/r/1")
	if task.Status != "completed" || task.OutcomeByName != "Mia" || task.OutcomeNote != "ok" {
		t.Errorf("task %+v", task)
	}
	history, _ := humantask.TaskHistory(ctx, db.App, "task/r/1")
	var kinds []string
	for _, e := range history {
		kinds = append(kinds, e.Kind)
	}
	if !slices.Equal(kinds, []string{"created", "completed"}) {
		t.Errorf("history %v", kinds)
	}

	in.TaskID = "task/r/3"
	a.CreateTask(ctx, in)
	if err := a.CancelTask(ctx, humantask.TaskClosedInput{TaskID: "task/r/3"}); err != nil {
		t.Fatal(err)
	}
	if err := a.CancelTask(ctx, humantask.TaskClosedInput{TaskID: "task/never-recorded"}); err != nil {
		t.Errorf("cancelling an unrecorded task: %v", err)
	}
	open, _ := humantask.OpenTasks(ctx, db.App)
	cancelled, _, _ := humantask.LoadTask(ctx, db.App, "task/r/3")
	if len(open) != 0 || cancelled.Status != "cancelled" {
		t.Errorf("open %d, task/r/3 %s", len(open), cancelled.Status)
	}
}

func TestLeaversNeitherEscalatedToNorCompleting(t *testing.T) {
	db := testenv.Postgres(t)
	db.Owner.MustExec(`INSERT INTO people (id, name, end_date) VALUES ('mia', 'Mia', current_date - 30), ('sam', 'Sam', current_date),
			('sue', 'Sue', current_date + 30), ('ola', 'Ola', NULL);
		INSERT INTO people (id, name, manager_id) VALUES ('ann', 'Ann', 'mia');
		INSERT INTO roles (role, person_id) VALUES ('security_officer', 'sue'), ('security_officer', 'sam'), ('security_officer', 'ola'),
			('coo', 'mia')`)
	a := &humantask.Tasks{DB: db.App}
	ctx := context.Background()
	for to, want := range map[string]string{
		// sam's end date is today: gone, as for roleHolders.
		"role:security_officer": "[ola sue]",
		"role:coo":              "[]nobody who has not left holds the role coo",
		"@manager":              "[]ann's manager mia has left",
		"mia":                   "[]mia is not in the directory, or has left",
		"sue":                   "[sue]",
	} {
		r, err := a.ResolveEscalation(ctx, humantask.ResolveEscalationInput{AssigneeID: "ann", To: to})
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(r.PersonIDs, r.Reason); got != want {
			t.Errorf("%s: %q, want %q", to, got, want)
		}
	}

	if err := a.CreateTask(ctx, humantask.CreateTaskInput{TaskID: "task/l/1", AssigneeID: "ann", Subject: "Review", Due: time.Now().Add(time.Hour), Actions: []string{"done"}}); err != nil {
		t.Fatal(err)
	}
	err := a.CompleteTask(ctx, humantask.CompleteTaskInput{TaskID: "task/l/1", Action: "done", By: "mia", At: time.Now()})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != "PersonLeft" || !appErr.NonRetryable() || !strings.Contains(appErr.Message(), "mia has left") {
		t.Fatalf("completion by a leaver: %v, want a non-retryable PersonLeft error", err)
	}
	if task, _, _ := humantask.LoadTask(ctx, db.App, "task/l/1"); task.Status != "open" {
		t.Fatalf("a leaver completed the task: %+v", task)
	}
	if err := a.CompleteTask(ctx, humantask.CompleteTaskInput{TaskID: "task/l/1", Action: "done", By: "sue", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if task, _, _ := humantask.LoadTask(ctx, db.App, "task/l/1"); task.Status != "completed" || task.OutcomeByName != "Sue" {
		t.Errorf("task %+v", task)
	}
}

// An escalation step's Except (a request's requester) is dropped from
// whoever the step resolves to, which is read when the step fires: a holder
// appointed since is reached, one removed is not.
func TestEscalationExceptIsNeverReached(t *testing.T) {
	db := testenv.Postgres(t)
	db.Owner.MustExec(`INSERT INTO people (id, name) VALUES ('mia', 'Mia'), ('sam', 'Sam'), ('sue', 'Sue'), ('ola', 'Ola'), ('pat', 'Pat');
		INSERT INTO people (id, name, manager_id) VALUES ('ann', 'Ann', 'mia');
		INSERT INTO roles (role, person_id) VALUES ('security_officer', 'sue'), ('security_officer', 'sam'), ('privacy_officer', 'pat')`)
	a := &humantask.Tasks{DB: db.App}
	resolve := func(to string, except ...string) string {
		t.Helper()
		r, err := a.ResolveEscalation(context.Background(), humantask.ResolveEscalationInput{AssigneeID: "ann", To: to, Except: except})
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(r.PersonIDs, r.Reason)
	}
	for _, c := range []struct {
		to     string
		except []string
		want   string
	}{
		{"role:security_officer", []string{"sam"}, "[sue]"},
		{"role:security_officer", []string{"eve"}, "[sam sue]"},
		{"role:security_officer", nil, "[sam sue]"},
		{"role:privacy_officer", []string{"pat"}, "[]nobody but pat holds the role privacy_officer, and this escalation may not reach them"},
		{"@manager", []string{"mia"}, "[]ann's manager is mia, whom this escalation may not reach"},
		{"sam", []string{"sam"}, "[]this escalation may not reach sam"},
		{"sue", []string{"sam"}, "[sue]"},
	} {
		if got := resolve(c.to, c.except...); got != c.want {
			t.Errorf("%s except %v: %q, want %q", c.to, c.except, got, c.want)
		}
	}

	db.Owner.MustExec(`DELETE FROM roles WHERE role = 'security_officer' AND person_id = 'sue';
		INSERT INTO roles (role, person_id) VALUES ('security_officer', 'ola')`)
	if got, want := resolve("role:security_officer", "sam"), "[ola]"; got != want {
		t.Errorf("after sue left the role and ola joined it: %q, want %q", got, want)
	}
}
