package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/complyflow/complyflow/program"
)

// obligationOf is the program in force's obligation for process; what
// says what the obligation sets, for the refusal when there is none.
func obligationOf(ctx context.Context, db *sqlx.DB, process, what string) (program.Obligation, error) {
	var v struct {
		File    string `db:"file"`
		Content string `db:"content"`
	}
	err := db.GetContext(ctx, &v, `SELECT file, content FROM program_versions ORDER BY id DESC LIMIT 1`)
	if errors.Is(err, sql.ErrNoRows) {
		return program.Obligation{}, usagef("no program is applied (starter program apply FILE)")
	}
	if err != nil {
		return program.Obligation{}, fmt.Errorf("read the program in force: %w", err)
	}
	p, err := program.Parse(v.File, []byte(v.Content), program.Options{})
	if err != nil {
		return program.Obligation{}, fmt.Errorf("the program in force no longer parses: %w", err)
	}
	for _, o := range p.Obligations {
		if o.Process == process {
			return o, nil
		}
	}
	return program.Obligation{}, usagef("the program in force (%s) has no %s obligation, which sets %s", v.File, process, what)
}
