package campaign

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Obligation is a campaign obligation of the program file in force, as
// `starter program apply` recorded it: what a campaign started outside its
// schedule (by a person, a material change, new hires) takes its cadence,
// escalation and controls from.
type Obligation struct {
	ID            string         `db:"id"`
	Process       string         `db:"process"`
	Due           time.Duration  `db:"-"`
	RemindEvery   time.Duration  `db:"-"`
	NewHireWithin time.Duration  `db:"-"`
	Escalation    []Step         `db:"-"`
	Controls      pq.StringArray `db:"control_ids"`
	Scope         pq.StringArray `db:"scope"`
	Departments   pq.StringArray `db:"departments"`
	Training      string         `db:"training_id"`
}

// Step is an escalation step as the obligations table keeps it.
type Step struct {
	After time.Duration
	To    string
}

// ObligationFor returns the first obligation (by ID) that runs process,
// and false when the program file has none.
func ObligationFor(ctx context.Context, db sqlx.QueryerContext, process string) (Obligation, bool, error) {
	all, err := Obligations(ctx, db, process)
	if err != nil || len(all) == 0 {
		return Obligation{}, false, err
	}
	return all[0], true, nil
}

// Obligations lists the obligations in force that run process, by ID.
func Obligations(ctx context.Context, db sqlx.QueryerContext, process string) ([]Obligation, error) {
	rows, err := db.QueryxContext(ctx, `
		SELECT id, process, control_ids, scope, departments, training_id, escalation,
			extract(epoch FROM due)::float8, coalesce(extract(epoch FROM remind_every), 0)::float8,
			coalesce(extract(epoch FROM new_hire_within), 0)::float8
		FROM obligations WHERE process = $1 ORDER BY id`, process)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Obligation
	for rows.Next() {
		var o Obligation
		var esc []byte
		var due, remind, newHire float64
		if err := rows.Scan(&o.ID, &o.Process, &o.Controls, &o.Scope, &o.Departments, &o.Training, &esc, &due, &remind, &newHire); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(esc, &o.Escalation); err != nil {
			return nil, err
		}
		o.Due, o.RemindEvery, o.NewHireWithin = seconds(due), seconds(remind), seconds(newHire)
		out = append(out, o)
	}
	return out, rows.Err()
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// Settings is the obligation a process runs under, for a workflow: Found is
// false when the program file has none.
type Settings struct {
	Obligation
	Found bool
}

// ObligationSettings is ObligationFor as an activity.
func (a *Activities) ObligationSettings(ctx context.Context, process string) (Settings, error) {
	ob, found, err := ObligationFor(ctx, a.DB, process)
	return Settings{Obligation: ob, Found: found}, err
}

// NewHires lists, by start date, the people who started within the
// obligation's new_hire_within of now (or will start later), are in its
// audience, and have no assignment yet in a campaign whose ID starts with
// cohortPrefix: the new hires still to enrol (issue 11 item 6).
func NewHires(ctx context.Context, db sqlx.QueryerContext, ob Obligation, cohortPrefix string, now time.Time) (map[time.Time][]string, error) {
	var rows []struct {
		ID    string    `db:"id"`
		Start time.Time `db:"start_date"`
	}
	if err := sqlx.SelectContext(ctx, db, &rows, `
		SELECT p.id, p.start_date FROM people p
		WHERE p.start_date IS NOT NULL AND p.start_date > ($1::date - $2::interval)
		  AND (p.end_date IS NULL OR p.end_date > $1::date)
		  AND (cardinality($3::text[]) = 0 OR p.department = ANY($3))
		  AND NOT EXISTS (SELECT FROM assignments a WHERE a.person_id = p.id AND a.campaign_id LIKE $4)
		ORDER BY p.start_date, p.id`, day(now), intervalOf(ob.NewHireWithin), array(ob.Departments), likePrefix(cohortPrefix)); err != nil {
		return nil, err
	}
	out := map[time.Time][]string{}
	for _, r := range rows {
		out[r.Start] = append(out[r.Start], r.ID)
	}
	return out, nil
}

// likePrefix is a LIKE pattern matching strings that start with prefix.
func likePrefix(prefix string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(prefix) + "%"
}
