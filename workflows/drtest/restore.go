package drtest

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	act "github.com/complyflow/complyflow/activities/drtest"
	"github.com/complyflow/complyflow/internal/refusal"
	"github.com/complyflow/complyflow/workflows"
	"github.com/complyflow/complyflow/workflows/humantask"
)

// BackupRestoreTest picks, at random, one system with a recovery target
// and asks its owner to restore it from backup (data-security policy: "All
// backups undergo random testing"). The schedule fires at a random time in
// its period (its jitter) and the pick is made here, so nobody can prepare
// the backup that will be tested; workflow.SideEffect records the pick in
// the history, so a replay makes the same one.
func BackupRestoreTest(ctx workflow.Context, in workflows.ScheduledRun) (RestoreStatus, error) {
	st := RestoreStatus{TestID: workflow.GetInfo(ctx).WorkflowExecution.ID}
	if in.DR == nil {
		return st, temporal.NewNonRetryableApplicationError("backup-restore test: the run carries no DR plan (the program file's dr section)", refusal.Type, nil)
	}
	if err := workflow.SetQueryHandler(ctx, workflows.QueryStatus, func() (RestoreStatus, error) { return st, nil }); err != nil {
		return st, err
	}
	rec := workflow.WithActivityOptions(ctx, workflows.RecordOptions)
	var info act.Info
	if err := workflow.ExecuteActivity(rec, drAct.BackupRestoreCandidates, act.RestoreCandidatesInput{Plan: *in.DR, Controls: in.ControlIDs}).Get(ctx, &info); err != nil {
		return st, err
	}
	for _, s := range info.Systems {
		st.Candidates = append(st.Candidates, s.ID)
	}
	var pick int
	if err := workflow.SideEffect(ctx, func(workflow.Context) any { return rand.IntN(len(info.Systems)) }).Get(&pick); err != nil {
		return st, err
	}
	sys := info.Systems[pick]
	st.SystemID = sys.ID
	if err := workflow.ExecuteActivity(rec, drAct.BackupRestorePicked, act.PickedInput{ID: st.TestID, Candidates: st.Candidates, SystemID: sys.ID,
		AssigneeID: sys.OwnerID, At: workflow.Now(ctx), Controls: info.Controls}).Get(ctx, nil); err != nil {
		return st, err
	}
	rto, rpo, _ := act.Target(*in.DR, sys)
	out, err := humantask.Child{
		Purpose: "restore", Assignee: sys.OwnerID, Subject: "Backup-restore test: restore " + sys.Name,
		Body: fmt.Sprintf("%s (%s) was picked at random for this backup-restore test, among: %s.\n\n"+
			"Restore its latest backup into a non-production environment, check the data's integrity, and record what you restored, "+
			"where, how long it took (its recovery target: RTO %s, RPO %s) and the outcome.", sys.Name, sys.ID,
			strings.Join(st.Candidates, ", "), rto, rpo),
		Actions: []humantask.Action{humantask.ActionDone}, Controls: info.Controls, Form: restoreForm(),
		Due: in.DuePeriod, Remind: in.RemindEvery, Escalation: taskEscalation,
	}.Run(ctx)
	if err != nil {
		return st, err
	}
	st.Decisions = append(st.Decisions, humantask.DecisionOf("restore", out))
	v := out.Values.Fields
	st.Passed = v[fieldOutcome] == outcomePass
	notes := strings.TrimSpace(v[fieldNotes])
	var followUp string
	if !st.Passed {
		followUp = humantask.ID(st.TestID, "follow-up")
	}
	if err := workflow.ExecuteActivity(rec, drAct.BackupRestoreRecorded, act.RestoredInput{ID: st.TestID, What: v[fieldWhat], Where: v[fieldWhere],
		Took: minutes(v[fieldMinutes]), Integrity: v[fieldIntegrity] == "yes", Passed: st.Passed, Notes: notes, FollowUpTask: followUp,
		By: out.By, At: out.At, Controls: info.Controls}).Get(ctx, nil); err != nil {
		return st, err
	}
	st.Recorded = true
	if !st.Passed {
		// A backup that cannot be restored is a finding: its owner fixes
		// it, and the test closes only then.
		fu, err := humantask.Child{
			Purpose: "follow-up", Assignee: sys.OwnerID, Subject: "Fix the backup of " + sys.Name + ": its restore test failed",
			Body: fmt.Sprintf("The backup-restore test %s of %s failed:\n\n%s\n\nFix the backups and mark this done once a restore works.",
				st.TestID, sys.Name, notes),
			Actions: []humantask.Action{humantask.ActionDone}, Controls: info.Controls, Due: restoreFixWithin,
			Remind: in.RemindEvery, Escalation: taskEscalation,
		}.Run(ctx)
		if err != nil {
			return st, err
		}
		st.FollowUp = fu.TaskID
		st.Decisions = append(st.Decisions, humantask.DecisionOf("follow-up", fu))
		if err := workflow.ExecuteActivity(rec, drAct.BackupRestoreFollowUpClosed, act.RestoreClosedInput{ID: st.TestID, By: fu.By, At: fu.At,
			Controls: info.Controls}).Get(ctx, nil); err != nil {
			return st, err
		}
	}
	return st, workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
}

// restoreFixWithin is how long a system's owner has to fix a backup whose
// restore failed.
const restoreFixWithin = 14 * day
