package completion

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// inForce is what the records' "in force" columns are read from: the program
// and policy versions and the controls' policies, small tables read once per
// Scope, so a page's query reads only audit_log (planning the view's
// per-row subqueries for every page cost more than the page itself). It
// computes what schema/0015's completion_records view does in SQL; a test
// holds the two to the same answers.
type inForce struct {
	programs []programVersion           // by (applied_at, id)
	policies map[string][]policyVersion // by published_at
	controls map[string][]string        // control -> its policies, sorted
}

type programVersion struct {
	ID        int64     `db:"id"`
	AppliedAt time.Time `db:"applied_at"`
	Hash      string    `db:"content_hash"`
}

type policyVersion struct {
	Policy      string    `db:"policy_id"`
	Version     string    `db:"version"`
	PublishedAt time.Time `db:"published_at"`
}

func readInForce(ctx context.Context, q sqlx.QueryerContext) (inForce, error) {
	f := inForce{policies: map[string][]policyVersion{}, controls: map[string][]string{}}
	if err := sqlx.SelectContext(ctx, q, &f.programs, `SELECT id, applied_at, content_hash FROM program_versions ORDER BY applied_at, id`); err != nil {
		return f, fmt.Errorf("read the program versions: %w", err)
	}
	var versions []policyVersion
	if err := sqlx.SelectContext(ctx, q, &versions, `SELECT policy_id, version, published_at FROM policy_versions ORDER BY policy_id, published_at`); err != nil {
		return f, fmt.Errorf("read the policy versions: %w", err)
	}
	for _, v := range versions {
		f.policies[v.Policy] = append(f.policies[v.Policy], v)
	}
	var links []struct {
		Control string `db:"control_id"`
		Policy  string `db:"policy_id"`
	}
	if err := sqlx.SelectContext(ctx, q, &links, `SELECT control_id, policy_id FROM control_policies ORDER BY control_id, policy_id`); err != nil {
		return f, fmt.Errorf("read the controls' policies: %w", err)
	}
	for _, l := range links {
		f.controls[l.Control] = append(f.controls[l.Control], l.Policy)
	}
	return f, nil
}

// program is the newest program version applied at or before at.
func (f inForce) program(at time.Time) *programVersion {
	i := sort.Search(len(f.programs), func(i int) bool { return f.programs[i].AppliedAt.After(at) })
	if i == 0 {
		return nil
	}
	return &f.programs[i-1]
}

// policy is the version of policy published last at or before at, or "".
func (f inForce) policy(policy string, at time.Time) string {
	vs := f.policies[policy]
	i := sort.Search(len(vs), func(i int) bool { return vs[i].PublishedAt.After(at) })
	if i == 0 {
		return ""
	}
	return vs[i-1].Version
}

// text is jsonb's ->> of a field: a string unquoted, another value as JSON
// text, and no value (or null) as false.
func text(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	return string(raw), true
}

// fill sets the record's channel, policy versions and program version.
func (f inForce) fill(r *Record) {
	if p := f.program(r.At); p != nil {
		id := p.ID
		r.ProgramVersion, r.ProgramHash = &id, p.Hash
	}
	var detail map[string]json.RawMessage
	_ = json.Unmarshal(r.Detail, &detail) // a detail that is not an object names no channel or policy
	r.Channel, _ = text(detail["channel"])
	var named []map[string]json.RawMessage
	var parts []string
	switch {
	case json.Unmarshal(detail["policies"], &named) == nil && detail["policies"] != nil && string(detail["policies"]) != "null":
		// An acknowledgement names every policy it signed, with its version.
		for _, e := range named {
			if p, ok := text(e["policy"]); ok {
				v, _ := text(e["version"])
				parts = append(parts, p+" "+v)
			}
		}
		slices.Sort(parts)
	case detail["policy"] != nil && string(detail["policy"]) != "null":
		// A step about one policy: the version it names, else the one in force.
		p, _ := text(detail["policy"])
		v, ok := text(detail["version"])
		if !ok {
			v = f.policy(p, r.At)
		}
		parts = []string{p + " " + v}
	default:
		// Otherwise the versions in force of the control's policies.
		for _, p := range f.controls[r.Control] {
			if v := f.policy(p, r.At); v != "" {
				parts = append(parts, p+" "+v)
			}
		}
	}
	r.PolicyVersions = strings.Join(parts, "; ")
}
