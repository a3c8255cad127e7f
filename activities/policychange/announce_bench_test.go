package policychange

import (
	"fmt"
	"testing"

	"go.temporal.io/sdk/testsuite"

	"github.com/complyflow/complyflow/activities/notify"
	"github.com/complyflow/complyflow/internal/devmail"
	"github.com/complyflow/complyflow/internal/testenv"
)

// BenchmarkAnnounceEmail10k emails a policy announcement to a 10,000-person
// workforce in the batches the change-request workflow uses, over real SMTP
// (the dev sink) with every message recorded in notifications: what a
// material change costs at the size complyflow is built for.
func BenchmarkAnnounceEmail10k(b *testing.B) {
	const people, batch = 10000, 200
	db := testenv.Postgres(b)
	if _, err := db.App.Exec(`
		INSERT INTO people (id, email, name)
		SELECT format('p%s', lpad(i::text, 5, '0')), format('person%s@example.com', i), format('directory.Person %s', i)
		FROM generate_series(1, $1) AS i`, people); err != nil {
		b.Fatal(err)
	}
	sink := &devmail.Sink{}
	if err := sink.Start("127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	a := &Announcer{DB: db.App, Pool: notify.NewPool(&notify.Mailer{Addr: sink.Addr(), From: "complyflow@example.com"}, 4)}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(a)

	b.ResetTimer()
	for i := range b.N {
		in := AnnounceEmailBatchInput{Limit: batch, Announcement: AnnouncementInput{
			RequestID: fmt.Sprintf("change-request/bench/%d", i), PolicyID: "bench", PolicyTitle: "Benchmark Policy",
			Version: "2026.2", Kind: "material", Summary: "a new statement"}}
		sent := 0
		for {
			val, err := env.ExecuteActivity(a.AnnounceEmailBatch, in)
			if err != nil {
				b.Fatal(err)
			}
			var res AnnounceEmailBatchResult
			if err := val.Get(&res); err != nil {
				b.Fatal(err)
			}
			sent += res.Sent
			if res.Done {
				break
			}
			in.After = res.Last
		}
		if sent != people {
			b.Fatalf("sent %d of %d", sent, people)
		}
	}
}
