package program

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	dract "github.com/complyflow/complyflow/activities/drtest"
)

// The demo's DR plan reaches both DR obligations, the backup-restore test's
// jitter reaches its Temporal Schedule, and the targets are by tier with
// AWS's own.
func TestDemoDRPlan(t *testing.T) {
	p, err := Load("../demo/program.yaml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.DR == nil || p.DR.CoordinatorID != "p-platform-manager" || p.DR.PlanOwnerID != "p-coo" || p.DR.ParticipantsRole != "dr_team" {
		t.Fatalf("dr plan %+v", p.DR)
	}
	if !slices.Contains(p.DR.Targets, dract.RecoveryTarget{SystemID: "sys-aws", RTO: 2 * time.Hour, RPO: 15 * time.Minute}) ||
		!slices.Contains(p.DR.Targets, dract.RecoveryTarget{Tier: "critical", RTO: 4 * time.Hour, RPO: time.Hour}) {
		t.Errorf("targets %+v: want critical 4h/1h and sys-aws 2h/15m", p.DR.Targets)
	}
	for _, id := range []string{"dr-test", "backup-restore-test"} {
		i := slices.IndexFunc(p.Obligations, func(o Obligation) bool { return o.ID == id })
		if i < 0 || p.Obligations[i].Run().DR != p.DR {
			t.Errorf("obligation %s does not carry the DR plan", id)
		}
	}
	i := slices.IndexFunc(p.Obligations, func(o Obligation) bool { return o.ID == "backup-restore-test" })
	if p.Obligations[i].Jitter != 20*24*time.Hour {
		t.Errorf("backup-restore-test jitter %s, want 20d", p.Obligations[i].Jitter)
	}
}

// A DR obligation without the dr section, a jitter as long as the interval
// and a target without its RPO are each refused, naming the line.
func TestDRRejects(t *testing.T) {
	data, err := os.ReadFile("../demo/program.yaml")
	if err != nil {
		t.Fatal(err)
	}
	demo := string(data)
	cases := []struct{ name, old, new, want string }{
		{"no dr section", "\ndr:\n", "\nnot_dr:\n", "process dr-test needs the dr section"},
		{"jitter too long", "jitter: 20d", "jitter: 3w", "backup-restore-test].jitter: 21d (and 7d due) is not shorter than the schedule's interval (28d)"},
		{"target without rpo", "low: {rto: 3d, rpo: 1d}", "low: {rto: 3d}", "dr.targets.tiers.low.rpo: required"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(demo, c.old) {
				t.Fatalf("%q is not in the demo", c.old)
			}
			_, err := Parse("program.yaml", []byte(strings.Replace(demo, c.old, c.new, 1)), Options{PolicyDir: "../demo"})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("errors: %v\nwant one containing %q", err, c.want)
			}
		})
	}
}
