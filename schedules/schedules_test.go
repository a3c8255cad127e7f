package schedules

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/complyflow/complyflow/internal/testenv"
	"github.com/complyflow/complyflow/program"
	"github.com/complyflow/complyflow/workflows"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// testQueue is the schedules' task queue; each test has a namespace of its own.
const testQueue = "complyflow-test"

// testProcesses stands in for the real processes, written elsewhere: the
// test registers echoRun under this name.
var testProcesses = map[string]string{"test-process": "TestScheduledRun"}

func echoRun(ctx workflow.Context, run workflows.ScheduledRun) (workflows.ScheduledRun, error) {
	return run, nil
}

const testProgram = `roles:
  security_officer: [p-so]
policies:
  - {id: infosec, title: Information Security Policy, owner: p-so, file: infosec.md}
controls:
  - {id: review, title: Program Review, policies: [infosec], processes: [test-process], frameworks: {soc2: [CC1.4]}}
obligations:
  - id: yearly
    process: test-process
    schedule: {month: march, day: 1, time: "09:00", time_zone: Europe/Berlin}
    due: 30d
    controls: [review]
    scope: [infosec]
  - id: quarterly
    process: test-process
    schedule: {cron: "0 8 1 */3 *", time_zone: America/New_York}
    due: 14d
    remind_every: 3d
    escalation: [{after: 2d, to: role:security_officer}]
`

func load(t *testing.T, src string) *program.Program {
	t.Helper()
	p, err := program.Parse("program.yaml", []byte(src), program.Options{Processes: testProcesses})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// namespace gives the test a Temporal namespace of its own on the dev
// server, since an apply deletes every program-owned schedule it does not
// want in the namespace.
func namespace(t *testing.T) client.Client {
	t.Helper()
	addr := testenv.TemporalAddress(t)
	logger := log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	suffix := make([]byte, 4)
	rand.Read(suffix)
	name := "schedules-test-" + hex.EncodeToString(suffix)
	nc, err := client.NewNamespaceClient(client.Options{HostPort: addr, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx := context.Background()
	if err := nc.Register(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: name, WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
	c, err := client.Dial(client.Options{HostPort: addr, Namespace: name, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	// A new namespace reaches the frontend's cache after a moment.
	eventually(t, 30*time.Second, func() error {
		_, err := c.ScheduleClient().List(ctx, client.ScheduleListOptions{})
		return err
	})
	return c
}

func eventually(t *testing.T, limit time.Duration, try func() error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		err := try()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %s: %v", limit, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func kinds(plan []Change) []string {
	var out []string
	for _, c := range plan {
		out = append(out, c.String())
	}
	return out
}

func TestReconcile(t *testing.T) {
	ctx := context.Background()
	c := namespace(t)
	p := load(t, testProgram)

	plan, err := Plan(ctx, c, FromProgram(p, testQueue), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"create complyflow/yearly (0 9 1 3 *, Europe/Berlin)",
		"create complyflow/quarterly (0 8 1 */3 *, America/New_York)",
	}
	if !reflect.DeepEqual(kinds(plan), want) {
		t.Fatalf("first plan = %q, want %q", kinds(plan), want)
	}
	if done, err := Apply(ctx, c, plan); err != nil || len(done) != 2 {
		t.Fatalf("Apply = %v, %v", done, err)
	}

	// Temporal and the preview agree on when the schedule runs.
	desc, err := c.ScheduleClient().GetHandle(ctx, "complyflow/quarterly").Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	preview := p.Obligations[1].Schedule.Next(time.Now(), 3)
	if len(desc.Info.NextActionTimes) < 3 || !desc.Info.NextActionTimes[0].Equal(preview[0]) || !desc.Info.NextActionTimes[2].Equal(preview[2]) {
		t.Errorf("Temporal's next runs %v, preview %v", desc.Info.NextActionTimes, preview)
	}
	wa := desc.Schedule.Action.(*client.ScheduleWorkflowAction)
	if wa.ID != "test-process/quarterly" || wa.Workflow != "TestScheduledRun" || wa.TaskQueue != testQueue {
		t.Errorf("action = %+v", wa)
	}

	// Idempotence: the same file plans nothing.
	if plan, err := Plan(ctx, c, FromProgram(p, testQueue), nil); err != nil || len(plan) != 0 {
		t.Fatalf("second plan = %q, %v; want no changes", kinds(plan), err)
	}

	// Update keeps an operator's pause.
	if err := Pause(ctx, c, "complyflow/quarterly", "audit freeze"); err != nil {
		t.Fatal(err)
	}
	changed := load(t, strings.NewReplacer(`"0 8 1 */3 *"`, `"0 7 1 */3 *"`, "due: 14d", "due: 10d").Replace(testProgram))
	plan, err = Plan(ctx, c, FromProgram(changed, testQueue), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"update complyflow/quarterly (schedule, due)"}; !reflect.DeepEqual(kinds(plan), want) {
		t.Fatalf("plan after edit = %q, want %q", kinds(plan), want)
	}
	if _, err := Apply(ctx, c, plan); err != nil {
		t.Fatal(err)
	}
	desc, err = c.ScheduleClient().GetHandle(ctx, "complyflow/quarterly").Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := appliedDefinition(desc.Schedule.Action); got.Run.DuePeriod != 10*24*time.Hour || got.Cron != "0 7 1 */3 *" {
		t.Errorf("applied definition = %+v", got)
	}
	if next := desc.Info.NextActionTimes; len(next) == 0 || next[0].In(changed.Obligations[1].Schedule.Location()).Hour() != 7 {
		t.Errorf("next run after update = %v, want 07:00 New York", next)
	}
	if !desc.Schedule.State.Paused || desc.Schedule.State.Note != "audit freeze" {
		t.Errorf("update lost the pause: %+v", desc.Schedule.State)
	}
	if plan, err := Plan(ctx, c, FromProgram(changed, testQueue), nil); err != nil || len(plan) != 0 {
		t.Fatalf("plan after update = %q, %v; want no changes", kinds(plan), err)
	}

	// A schedule someone made by hand under the prefix is never touched.
	if _, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:     "complyflow/by-hand",
		Spec:   client.ScheduleSpec{CronExpressions: []string{"0 0 1 1 *"}},
		Action: &client.ScheduleWorkflowAction{ID: "by-hand", Workflow: "TestScheduledRun", TaskQueue: testQueue},
	}); err != nil {
		t.Fatal(err)
	}

	// Removing an obligation deletes exactly its schedule. previous names it
	// even if the list has not caught up yet.
	removed := load(t, testProgram[:strings.Index(testProgram, "  - id: quarterly")])
	plan, err = Plan(ctx, c, FromProgram(removed, testQueue), []string{"complyflow/yearly", "complyflow/quarterly"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"delete complyflow/quarterly"}; !reflect.DeepEqual(kinds(plan), want) {
		t.Fatalf("plan after removal = %q, want %q", kinds(plan), want)
	}
	if _, err := Apply(ctx, c, plan); err != nil {
		t.Fatal(err)
	}
	var notFound *serviceerror.NotFound
	if _, err := c.ScheduleClient().GetHandle(ctx, "complyflow/quarterly").Describe(ctx); !errors.As(err, &notFound) {
		t.Errorf("deleted schedule still described: %v", err)
	}
	for _, id := range []string{"complyflow/yearly", "complyflow/by-hand"} {
		if _, err := c.ScheduleClient().GetHandle(ctx, id).Describe(ctx); err != nil {
			t.Errorf("%s: %v", id, err)
		}
	}
	// Once the list shows the hand-made schedule, planning still leaves it be.
	eventually(t, 30*time.Second, func() error {
		all, err := List(ctx, c)
		if err != nil {
			return err
		}
		var ids []string
		for _, s := range all {
			ids = append(ids, s.ID)
		}
		if !reflect.DeepEqual(ids, []string{"complyflow/by-hand", "complyflow/yearly"}) {
			return errors.New("list shows " + strings.Join(ids, ", "))
		}
		// Without a stored definition the spec is shown as Temporal compiled it.
		if all[0].Owned || all[0].Spec != "0 0 1 1 * (UTC)" || !all[1].Owned || all[1].Spec != "0 9 1 3 * (Europe/Berlin)" {
			t.Errorf("summaries = %+v", all)
		}
		return nil
	})
	if plan, err := Plan(ctx, c, FromProgram(removed, testQueue), nil); err != nil || len(plan) != 0 {
		t.Fatalf("plan with a hand-made schedule = %q, %v; want no changes", kinds(plan), err)
	}

	// A desired schedule whose ID is taken by one the program does not own
	// is a conflict, not a takeover.
	clash := load(t, strings.Replace(testProgram, "id: yearly", "id: by-hand", 1))
	if _, err := Plan(ctx, c, FromProgram(clash, testQueue), nil); err == nil || !strings.Contains(err.Error(), "not made by the program") {
		t.Errorf("plan over a hand-made schedule: %v", err)
	}
}

func TestTriggerStartsWorkflow(t *testing.T) {
	ctx := context.Background()
	c := namespace(t)
	w := worker.New(c, testQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(echoRun, workflow.RegisterOptions{Name: "TestScheduledRun"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	p := load(t, testProgram)
	plan, err := Plan(ctx, c, FromProgram(p, testQueue), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(ctx, c, plan); err != nil {
		t.Fatal(err)
	}
	if err := Trigger(ctx, c, "complyflow/quarterly"); err != nil {
		t.Fatal(err)
	}

	var last *Run
	eventually(t, 30*time.Second, func() error {
		all, err := List(ctx, c)
		if err != nil {
			return err
		}
		for _, s := range all {
			if s.ID == "complyflow/quarterly" && s.LastRun != nil && s.LastRun.Status == "Completed" {
				last = s.LastRun
				if !s.Owned || s.Spec != "0 8 1 */3 * (America/New_York)" || s.Workflow != "TestScheduledRun" || len(s.Next) == 0 {
					t.Errorf("summary = %+v", s)
				}
				return nil
			}
		}
		return errors.New("no completed run yet")
	})
	if !strings.HasPrefix(last.WorkflowID, "test-process/quarterly") {
		t.Errorf("workflow ID %q, want it to start with test-process/quarterly", last.WorkflowID)
	}
	var got workflows.ScheduledRun
	if err := c.GetWorkflow(ctx, last.WorkflowID, last.RunID).Get(ctx, &got); err != nil {
		t.Fatal(err)
	}
	if want := p.Obligations[1].Run(); !reflect.DeepEqual(got, want) {
		t.Errorf("workflow got %+v, want %+v", got, want)
	}
}

// The preview `program check` prints is what Temporal does, for every form
// of schedule the program file accepts, across daylight-saving changes.
func TestPreviewMatchesTemporal(t *testing.T) {
	ctx := context.Background()
	c := namespace(t)
	specs := []string{
		// 02:30 does not exist in Berlin on Sunday 28 March 2027, within the
		// first five runs; 01:30 happens twice in New York on 7 November 2027.
		// (A fixed date at 02:30 in Berlin is refused: some year's only run
		// would fall in the gap.)
		`{cron: "30 2 * 3 SUN", time_zone: Europe/Berlin}`,
		`{month: 11, day: 7, time: "01:30", time_zone: America/New_York}`,
		`{cron: "0 9 * * MON-FRI", time_zone: Australia/Sydney}`,
		`{cron: "30 8 */10 * *", time_zone: Asia/Kolkata}`,
		`{cron: "0 10 15 4,10 *"}`,
		`{cron: "0 9 * * SUN", time_zone: Europe/London}`,
		`{cron: "@weekly", time_zone: Europe/Berlin}`,
		`{cron: "@monthly", time_zone: America/Los_Angeles}`,
		`{cron: "@yearly", time_zone: Pacific/Auckland}`,
		`{cron: "@daily", time_zone: UTC}`,
	}
	var src strings.Builder
	src.WriteString("roles: {}\npolicies: []\ncontrols: []\nobligations:\n")
	for i, s := range specs {
		fmt.Fprintf(&src, "  - {id: o%d, process: test-process, due: 1h, schedule: %s}\n", i, s)
	}
	p := load(t, src.String())
	plan, err := Plan(ctx, c, FromProgram(p, testQueue), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(ctx, c, plan); err != nil {
		t.Fatal(err)
	}
	for i, o := range p.Obligations {
		before := time.Now()
		desc, err := c.ScheduleClient().GetHandle(ctx, ID(o.ID)).Describe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		preview := o.Schedule.Next(before, 5)
		temporal := desc.Info.NextActionTimes
		if len(temporal) > 5 {
			temporal = temporal[:5]
		}
		for j := range preview {
			if j >= len(temporal) || !temporal[j].Equal(preview[j]) {
				t.Errorf("%s: Temporal runs at %v, the preview says %v", specs[i], temporal, preview)
				break
			}
		}
	}
}

// An obligation's jitter is the Temporal Schedule's (each run starts at a
// random time up to it after the scheduled one: a random backup-restore
// test), and changing it plans an update naming it.
func TestJitterReachesTemporal(t *testing.T) {
	ctx := context.Background()
	c := namespace(t)
	p := load(t, strings.Replace(testProgram, "    due: 14d\n", "    due: 14d\n    jitter: 10d\n", 1))
	plan, err := Plan(ctx, c, FromProgram(p, testQueue), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(ctx, c, plan); err != nil {
		t.Fatal(err)
	}
	desc, err := c.ScheduleClient().GetHandle(ctx, "complyflow/quarterly").Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if desc.Schedule.Spec.Jitter != 10*24*time.Hour {
		t.Errorf("Temporal's jitter %s, want 240h", desc.Schedule.Spec.Jitter)
	}
	changed := load(t, strings.Replace(testProgram, "    due: 14d\n", "    due: 14d\n    jitter: 20d\n", 1))
	plan, err = Plan(ctx, c, FromProgram(changed, testQueue), nil)
	if want := []string{"update complyflow/quarterly (jitter)"}; err != nil || !reflect.DeepEqual(kinds(plan), want) {
		t.Fatalf("plan after a jitter change = %q, %v; want %q", kinds(plan), err, want)
	}
}
