package main_test

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/complyflow/complyflow/activities/campaign"
	"github.com/complyflow/complyflow/internal/testenv"
	"github.com/lib/pq"
)

// BenchmarkAcknowledgePOST is issue 11's portal goal: 32 concurrent clients
// POSTing "I have read and accept" through the real handler over HTTP to
// real Postgres, each signature a different person's. policies=1 is a
// re-acknowledgement after a material change (item 5): one policy, one
// control, so a signature is one sealed acknowledgement, one audit row and
// an assignment completed. policies=2 is testenv's campaign of two policies
// under two controls: two of each. Goal: at least 4,000 signatures/s.
func BenchmarkAcknowledgePOST(b *testing.B) {
	b.Run("policies=1", func(b *testing.B) {
		benchmarkAcknowledgePOST(b, func(s *signingSystem, ids []string) {
			s.db.Owner.MustExec(`INSERT INTO campaigns (id, kind, title, reason, started_by, control_ids, due_at)
				VALUES ('ack-bench', 'acknowledgement', 'Code of Conduct 2025.1', 'material change', 'sam', '{pa}', now() + interval '14 days');
				INSERT INTO campaign_policies (campaign_id, policy_id, version, text_sha256)
				SELECT 'ack-bench', policy_id, version, content_sha256 FROM policy_versions WHERE policy_id = 'conduct'`)
			s.db.Owner.MustExec(`INSERT INTO assignments (campaign_id, person_id, due_at)
				SELECT 'ack-bench', p, now() + interval '14 days' FROM unnest($1::text[]) AS p`, pq.Array(ids))
		})
	})
	b.Run("policies=2", func(b *testing.B) {
		benchmarkAcknowledgePOST(b, func(s *signingSystem, ids []string) {
			testenv.SeedAcknowledgementCampaign(b, s.db, "ack-bench", ids...)
		})
	})
}

// benchmarkAcknowledgePOST seeds b.N people, opens campaign ack-bench for
// them with open, and times their signatures.
func benchmarkAcknowledgePOST(b *testing.B, open func(*signingSystem, []string)) {
	s := newSigningSystem(b)
	s.db.Owner.MustExec(`INSERT INTO people (id, email, name) SELECT 'p' || i, 'p' || i || '@example.com', 'Person ' || i FROM generate_series(1, $1) i`, b.N)
	ids := make([]string, b.N)
	links := make([]string, b.N)
	for i := range ids {
		ids[i] = fmt.Sprintf("p%d", i+1)
		links[i] = s.link("ack-bench", campaign.ChannelPortal, ids[i])
	}
	open(s, ids)
	const clients = 32
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < int64(b.N); i = next.Add(1) - 1 {
				if code, err := postAccept(client, links[i]); err != nil || code != http.StatusOK {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "signatures/s")
	var recorded int
	s.db.App.Get(&recorded, `SELECT count(*) FROM assignments WHERE status = 'completed'`)
	if failed.Load() != 0 || recorded != b.N {
		b.Fatalf("%d POSTs failed; %d of %d signatures recorded", failed.Load(), recorded, b.N)
	}
}
