package vendorreview

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	taskact "github.com/complyflow/complyflow/activities/humantask"
	"github.com/complyflow/complyflow/activities/notify"
	act "github.com/complyflow/complyflow/activities/vendorreview"
	"github.com/complyflow/complyflow/evidence"
	"github.com/complyflow/complyflow/internal/devmail"
	"github.com/complyflow/complyflow/internal/links"
	"github.com/complyflow/complyflow/internal/testenv"
	"github.com/complyflow/complyflow/workflows/humantask"
	"github.com/complyflow/complyflow/workflows/internal/history"
	"github.com/complyflow/complyflow/workflows/internal/policytest"
)

var replayID = ID("v-acme", "replay")

// TestVendorReviewReplay replays a cycle recorded from a real run on the dev
// server: a report uploaded, rejected, asked for again, the second one
// accepted with a follow-up, which is done. UPDATE_HISTORIES=1 records it
// again.
func TestVendorReviewReplay(t *testing.T) {
	if os.Getenv("UPDATE_HISTORIES") == "1" {
		recordReplay(t)
	}
	history.Replay(t, "vendor_review.json", WorkflowName, Workflow, replayID)
}

// TestVendorReviewFanOutReplay replays a fan-out recorded on the dev
// server: two vendors due, one cycle started for each. UPDATE_HISTORIES=1
// records it again.
func TestVendorReviewFanOutReplay(t *testing.T) {
	id := "vendor-review/vendor-review-replay"
	if os.Getenv("UPDATE_HISTORIES") == "1" {
		db, c, queue := recordingWorker(t, nil)
		db.Owner.MustExec(`INSERT INTO vendors (id, name, contact_email, owner_id, criticality) VALUES ('v-tiny', 'Tiny', 'hi@tiny.example.net', 'olga', 'low')`)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		wf, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, FanOutWorkflowName, run)
		if err != nil {
			t.Fatal(err)
		}
		var res FanOutResult
		if err := wf.Get(ctx, &res); err != nil || len(res.Started) != 2 {
			t.Fatalf("fan-out: %+v, %v; want two cycles started", res, err)
		}
		for _, child := range res.Started {
			c.TerminateWorkflow(ctx, child, "", "recorded")
		}
		history.Write(ctx, t, c, id, wf.GetRunID(), "vendor_review_fanout.json")
	}
	history.Replay(t, "vendor_review_fanout.json", FanOutWorkflowName, FanOut, id)
}

// recordingWorker is a database with the vendor world and a worker on the
// dev server running vendor reviews, their human tasks answered by script.
func recordingWorker(t *testing.T, script map[string]policytest.Answer) (*testenv.DB, client.Client, string) {
	db := testenv.Postgres(t)
	policytest.SeedWorld(t, db)
	db.Owner.MustExec(`INSERT INTO people (id, email, name) VALUES ('olga', 'olga@example.com', 'Olga Owner');
		INSERT INTO vendors (id, name, contact_email, owner_id, criticality) VALUES ('v-acme', 'Acme Cloud', 'soc@acme.example.net', 'olga', 'high');
		INSERT INTO controls (id, title, processes) VALUES ('vendor-due-diligence', 'Vendor Due Diligence Review', '{vendor-review}'),
			('access-reviews', 'User Access Reviews', '{}')`)
	sink := &devmail.Sink{}
	if err := sink.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	signer, err := links.NewSigner([]links.Key{{Secret: []byte("vendor-review-test-key-0123456")}})
	if err != nil {
		t.Fatal(err)
	}
	c := testenv.Temporal(t)
	queue := policytest.StartRecordingWorker(t, c, db, func(w worker.Registry) {
		w.RegisterWorkflowWithOptions(Workflow, workflow.RegisterOptions{Name: WorkflowName})
		w.RegisterWorkflowWithOptions(FanOut, workflow.RegisterOptions{Name: FanOutWorkflowName})
		w.RegisterActivity(&act.Activities{DB: db.App, Mailer: &notify.Mailer{Addr: sink.Addr(), From: "complyflow@example.com"},
			Links: signer, BaseURL: "https://comply.example.com", LinkTTL: time.Hour})
		w.RegisterActivity(&taskact.Tasks{DB: db.App})
	}, func(_ humantask.Input, purpose string) (policytest.Answer, bool) {
		a, ok := script[purpose]
		return a, ok
	})
	return db, c, queue
}

func recordReplay(t *testing.T) {
	rejected := accepted("2025-12-31")
	rejected.Fields["decision"], rejected.Fields["note"] = act.DecisionReject, "the report is a SOC 3"
	withFollowUp := accepted("2025-12-31")
	withFollowUp.Fields["decision"] = act.DecisionAcceptFollowUps
	withFollowUp.Lists["follow_ups"] = []map[string]string{{"title": "Confirm the deprovisioning fix", "owner": "eve", "due": "2026-03-31"}}
	script := map[string]policytest.Answer{
		"review/1":      {By: "olga", Action: humantask.ActionDone, Values: rejected},
		"review/2":      {By: "olga", Action: humantask.ActionDone, Values: withFollowUp},
		"follow-up/2/1": {By: "eve", Action: humantask.ActionDone},
	}
	db, c, queue := recordingWorker(t, script)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	in := input()
	in.Cycle = "replay"
	wf, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: replayID, TaskQueue: queue}, WorkflowName, in)
	if err != nil {
		t.Fatal(err)
	}
	contact := act.ContactID("v-acme")
	for round, content := range []string{"%PDF-1.4 a SOC 3", "%PDF-1.7 the SOC 2 type ii"} {
		f, err := evidence.Spool(strings.NewReader(content), 1<<20, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		s, err := (&evidence.Postgres{DB: db.App}).Put(ctx, f, evidence.Upload{Subject: replayID, Uploader: contact})
		if err != nil {
			t.Fatal(err)
		}
		for {
			st, err := Query(ctx, c, replayID)
			if err == nil && st.Round == round+1 && st.Stage == act.StatusRequested && slices.Contains(st.Entitled, contact) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if _, err := Upload(ctx, c, replayID, UploadRequest{SHA256: s.SHA256, Uploader: contact}); err != nil {
			t.Fatal(err)
		}
	}
	if err := wf.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	history.Write(ctx, t, c, replayID, wf.GetRunID(), "vendor_review.json")
}
