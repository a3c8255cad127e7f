// Package drtest holds the side effects of DR/BCP tests and random
// backup-restore tests (controls lists A and B: "The Business Continuity and
// Disaster Recovery Plans are periodically tested. Management uses test
// results to evaluate and update the plans"; data-security policy: "All
// backups undergo random testing"): each test's record, what was tested
// against which recovery target, its findings to closure. Every step is
// written to the audit log under the test's controls, in the transaction
// that records it.
package drtest

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/complyflow/complyflow/audit"
	"github.com/complyflow/complyflow/directory"
	"github.com/complyflow/complyflow/internal/refusal"
)

// The names the program file knows the two processes by.
const (
	Process              = "dr-test"
	ProcessBackupRestore = "backup-restore-test"
)

// Plan is the program file's DR/BCP plan: who takes part (a role), who
// coordinates the tests, who owns the plan (and updates it after a failed
// test), and the recovery targets the tests are measured against.
type Plan struct {
	ParticipantsRole string
	CoordinatorID    string
	PlanOwnerID      string
	Targets          []RecoveryTarget
}

// RecoveryTarget is the RTO and RPO of one system, or of every system of a
// criticality tier; a system's own target wins over its tier's.
type RecoveryTarget struct {
	SystemID string `json:",omitempty"`
	Tier     string `json:",omitempty"`
	RTO, RPO time.Duration
}

// Statuses of a DR test, as dr_tests.status spells them.
const (
	StatusPlanning  = "planning"
	StatusScheduled = "scheduled"
	StatusFollowUps = "follow-ups"
	StatusClosed    = "closed"
)

// Activities records DR and backup-restore tests.
type Activities struct {
	DB *sqlx.DB
}

// System is a system of the inventory, as a test may cover it.
type System struct {
	ID          string `db:"id"`
	Name        string `db:"name"`
	OwnerID     string `db:"owner_id"`
	Criticality string `db:"criticality"`
}

// Target is the RTO and RPO a system is measured against: its own, else
// its tier's; ok is false when the plan sets neither.
func Target(plan Plan, s System) (rto, rpo time.Duration, ok bool) {
	for _, t := range plan.Targets {
		if t.SystemID == s.ID {
			return t.RTO, t.RPO, true
		}
	}
	for _, t := range plan.Targets {
		if t.Tier != "" && t.Tier == s.Criticality {
			return t.RTO, t.RPO, true
		}
	}
	return 0, 0, false
}

// CheckPlan refuses a plan whose coordinator or owner is not in the
// workforce, or that sets no target.
func CheckPlan(ctx context.Context, db sqlx.QueryerContext, plan *Plan) error {
	if plan == nil || plan.CoordinatorID == "" || plan.PlanOwnerID == "" || len(plan.Targets) == 0 {
		return refusal.New("a DR test needs the program file's dr section: a coordinator, a plan owner and recovery targets")
	}
	if err := directory.CheckActive(ctx, db, plan.CoordinatorID); err != nil {
		return err
	}
	return directory.CheckActive(ctx, db, plan.PlanOwnerID)
}

// Info is what a test's workflow needs: the controls it evidences and the
// systems with a recovery target (those a test may cover).
type Info struct {
	Controls []string
	Systems  []System
}

// info answers the controls (the program's controls naming process when
// none are given) and the systems the plan sets a target for.
func (a *Activities) info(ctx context.Context, process string, plan Plan, controls []string) (Info, error) {
	in := Info{Controls: controls}
	var err error
	if len(in.Controls) == 0 {
		if in.Controls, err = directory.ControlsFor(ctx, a.DB, process); err != nil {
			return Info{}, err
		}
	}
	var all []System
	if err := a.DB.SelectContext(ctx, &all, `SELECT id, name, owner_id, criticality FROM systems ORDER BY id`); err != nil {
		return Info{}, fmt.Errorf("list systems: %w", err)
	}
	for _, s := range all {
		if _, _, ok := Target(plan, s); ok {
			in.Systems = append(in.Systems, s)
		}
	}
	if len(in.Systems) == 0 {
		return Info{}, refusal.New("no system in the inventory has a recovery target in the DR plan")
	}
	return in, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// write runs f and one audit entry in a transaction.
func (a *Activities) write(ctx context.Context, e audit.Entry, f func(tx *sqlx.Tx) error) error {
	tx, err := a.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return err
	}
	if err := audit.Write(ctx, tx, e); err != nil {
		return err
	}
	return tx.Commit()
}
