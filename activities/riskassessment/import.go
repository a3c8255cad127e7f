package riskassessment

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/complyflow/complyflow/audit"
	"github.com/complyflow/complyflow/directory"
)

// Columns are the register file's columns (issue item 5), in this order
// or any other.
var Columns = []string{"id", "title", "description", "category", "owner_id", "likelihood", "impact", "treatment", "controls",
	"residual_likelihood", "residual_impact"}

// ImportResult counts what an import did.
type ImportResult struct {
	Inserted, Updated int
}

// Import reads a register file and upserts every risk by ID in one
// transaction, or none: every problem is reported first, one
// FILE:LINE: reason each, as directory.RowErrors, as the other imports do.
func Import(ctx context.Context, db *sqlx.DB, file string, in io.Reader, actor string) (ImportResult, error) {
	rows, problems, err := readRisks(file, in)
	if err != nil {
		return ImportResult{}, err
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return ImportResult{}, err
	}
	defer tx.Rollback()
	var people, controls []string
	if err := tx.SelectContext(ctx, &people, `SELECT id FROM people p WHERE `+directory.NotLeft); err != nil {
		return ImportResult{}, fmt.Errorf("list people: %w", err)
	}
	if err := tx.SelectContext(ctx, &controls, `SELECT id FROM controls WHERE retired_at IS NULL`); err != nil {
		return ImportResult{}, fmt.Errorf("list controls: %w", err)
	}
	for _, r := range rows {
		if r.risk.OwnerID != "" && !slices.Contains(people, r.risk.OwnerID) {
			problems = append(problems, fmt.Sprintf("%s:%d: owner_id %q is not an active person in the directory (starter import people)", file, r.line, r.risk.OwnerID))
		}
		for _, c := range r.risk.Controls {
			if !slices.Contains(controls, c) {
				problems = append(problems, fmt.Sprintf("%s:%d: control %q is not a control of the program file (starter program apply)", file, r.line, c))
			}
		}
	}
	if len(problems) > 0 {
		// In line order: the directory's checks come after each row's own.
		slices.SortStableFunc(problems, func(a, b string) int { return lineOf(file, a) - lineOf(file, b) })
		return ImportResult{}, problems
	}
	var res ImportResult
	for _, r := range rows {
		rk := r.risk
		var inserted bool
		err := tx.GetContext(ctx, &inserted, `INSERT INTO risks (id, title, description, category, owner_id, likelihood, impact, treatment,
				control_ids, residual_likelihood, residual_impact)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
			ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title, description = EXCLUDED.description, category = EXCLUDED.category,
				owner_id = EXCLUDED.owner_id, likelihood = EXCLUDED.likelihood, impact = EXCLUDED.impact, treatment = EXCLUDED.treatment,
				control_ids = EXCLUDED.control_ids, residual_likelihood = EXCLUDED.residual_likelihood,
				residual_impact = EXCLUDED.residual_impact, updated_at = now()
			RETURNING xmax = 0`, rk.ID, rk.Title, rk.Description, rk.Category, rk.OwnerID, rk.Likelihood, rk.Impact, rk.Treatment,
			pq.Array(nonNil(rk.Controls)), rk.ResidualLikelihood, rk.ResidualImpact)
		if err != nil {
			return ImportResult{}, fmt.Errorf("%s:%d: store risk %s: %w", file, r.line, rk.ID, err)
		}
		if inserted {
			res.Inserted++
		} else {
			res.Updated++
		}
	}
	registerControls, err := directory.ControlsFor(ctx, tx, Process)
	if err != nil {
		return ImportResult{}, err
	}
	if err := audit.Write(ctx, tx, audit.Entry{Actor: actor, Action: "risk-register.import", Subject: "risks", Controls: registerControls,
		Detail: map[string]any{"file": file, "inserted": res.Inserted, "updated": res.Updated}}); err != nil {
		return ImportResult{}, err
	}
	return res, tx.Commit()
}

// lineOf is the line a FILE:LINE: reason names.
func lineOf(file, problem string) int {
	n, _ := strconv.Atoi(strings.SplitN(strings.TrimPrefix(problem, file+":"), ":", 2)[0])
	return n
}

type riskRow struct {
	line int
	risk Risk
}

// readRisks reads and checks every row on its own; the problems found are
// every line's, so a file is fixed in one pass.
func readRisks(file string, in io.Reader) ([]riskRow, directory.RowErrors, error) {
	r := csv.NewReader(in)
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, directory.RowErrors{fmt.Sprintf("%s:1: empty file: expected a header row %s", file, strings.Join(Columns, ","))}
	}
	if err != nil {
		return nil, nil, directory.RowErrors{fmt.Sprintf("%s: %v", file, err)}
	}
	index := map[string]int{}
	var problems directory.RowErrors
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		switch _, dup := index[h]; {
		case !slices.Contains(Columns, h):
			problems = append(problems, fmt.Sprintf("%s:1: unknown column %q (expected %s)", file, h, strings.Join(Columns, ",")))
		case dup:
			problems = append(problems, fmt.Sprintf("%s:1: column %q appears twice", file, h))
		}
		index[h] = i
	}
	for _, c := range Columns {
		if _, ok := index[c]; !ok {
			problems = append(problems, fmt.Sprintf("%s:1: missing column %q", file, c))
		}
	}
	if problems != nil {
		return nil, problems, nil
	}
	var rows []riskRow
	seen := map[string]int{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := r.FieldPos(0)
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			problems = append(problems, fmt.Sprintf("%s:%d: %v", file, pe.StartLine, pe.Err))
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if len(rec) != len(header) {
			problems = append(problems, fmt.Sprintf("%s:%d: %d fields, the header has %d", file, line, len(rec), len(header)))
			continue
		}
		get := func(col string) string { return strings.TrimSpace(rec[index[col]]) }
		fail := func(format string, args ...any) {
			problems = append(problems, fmt.Sprintf("%s:%d: ", file, line)+fmt.Sprintf(format, args...))
		}
		rk := Risk{ID: get("id"), Title: get("title"), Description: get("description"), Category: get("category"),
			OwnerID: get("owner_id"), Treatment: get("treatment"), Controls: SplitControls(get("controls"))}
		switch first, dup := seen[rk.ID]; {
		case !directory.ValidID(rk.ID):
			fail("id %q: an ID is letters, digits, '-', '_' or '.'", rk.ID)
		case dup:
			fail("id %q appears twice (first on line %d)", rk.ID, first)
		}
		seen[rk.ID] = line
		if rk.Title == "" {
			fail("title is required")
		}
		if rk.OwnerID == "" {
			fail("owner_id is required")
		}
		for _, rt := range []struct {
			col string
			dst *int
		}{{"likelihood", &rk.Likelihood}, {"impact", &rk.Impact}, {"residual_likelihood", &rk.ResidualLikelihood}, {"residual_impact", &rk.ResidualImpact}} {
			n, err := Rating(rt.col, get(rt.col))
			if err != nil {
				fail("%v", err)
			}
			*rt.dst = n
		}
		if err := CheckTreatment(rk.Treatment); err != nil {
			fail("%v", err)
		}
		rows = append(rows, riskRow{line, rk})
	}
	return rows, problems, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
