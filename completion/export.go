package completion

import (
	"context"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/xuri/excelize/v2"
)

// Columns are the export's header row, in the order of Record.fields.
var Columns = []string{"audit_id", "at", "control", "requirements", "actor", "action", "subject", "channel",
	"policy_versions", "program_version", "program_hash", "audit_hash", "detail"}

// exportBatch is the page size exports read with: large enough that a page's
// round trip is cheap per row, small enough to keep memory flat.
const exportBatch = 5000

func (r Record) fields() (at time.Time, rest []string) {
	program := ""
	if r.ProgramVersion != nil {
		program = strconv.FormatInt(*r.ProgramVersion, 10)
	}
	return r.At.UTC(), []string{r.Control, r.Requirements, r.Actor, r.Action, r.Subject, r.Channel,
		r.PolicyVersions, program, r.ProgramHash, hex.EncodeToString(r.Hash), string(r.Detail)}
}

// WriteCSV streams every record in scope to w as CSV (RFC 4180, times in
// RFC 3339 UTC), one page at a time, and returns how many it wrote.
func (s Scope) WriteCSV(ctx context.Context, q sqlx.QueryerContext, w io.Writer) (int, error) {
	cw := csv.NewWriter(w)
	if err := cw.Write(Columns); err != nil {
		return 0, err
	}
	n := 0
	row := make([]string, len(Columns))
	err := s.Each(ctx, q, exportBatch, func(r Record) error {
		at, rest := r.fields()
		row[0], row[1] = strconv.FormatInt(r.AuditID, 10), at.Format(time.RFC3339Nano)
		copy(row[2:], rest)
		n++
		return cw.Write(row)
	})
	if err != nil {
		return n, err
	}
	cw.Flush()
	return n, cw.Error()
}

// SheetRecords is the XLSX sheet the records are on.
const SheetRecords = "records"

// WriteXLSX streams every record in scope to w as an Excel workbook: sheet
// "records" with a header row, the audit id as a number and the time as an
// Excel date (UTC). excelize's stream writer keeps rows past its buffer in a
// temporary file, so memory stays flat. Give q a snapshot (a repeatable-read
// transaction) when records may still arrive in the period: the sheet's
// dimension is counted before the rows are read.
func (s Scope) WriteXLSX(ctx context.Context, q sqlx.QueryerContext, w io.Writer) (int, error) {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", SheetRecords); err != nil {
		return 0, err
	}
	dates, err := f.NewStyle(&excelize.Style{CustomNumFmt: ptr("yyyy-mm-dd hh:mm:ss.000")})
	if err != nil {
		return 0, err
	}
	// The sheet's dimension is written before its rows, and readers such as
	// openpyxl's read-only mode (pandas) read only the rows it spans.
	count, err := s.Count(ctx, q)
	if err != nil {
		return 0, err
	}
	if err := f.SetSheetDimension(SheetRecords, fmt.Sprintf("A1:%s", lastCell(count+1))); err != nil {
		return 0, err
	}
	sw, err := f.NewStreamWriter(SheetRecords)
	if err != nil {
		return 0, err
	}
	header := make([]any, len(Columns))
	for i, c := range Columns {
		header[i] = c
	}
	if err := sw.SetRow("A1", header); err != nil {
		return 0, err
	}
	n := 0
	row := make([]any, len(Columns))
	err = s.Each(ctx, q, exportBatch, func(r Record) error {
		at, rest := r.fields()
		row[0], row[1] = r.AuditID, excelize.Cell{StyleID: dates, Value: at}
		for i, v := range rest {
			row[2+i] = v
		}
		n++
		cell, err := excelize.CoordinatesToCellName(1, n+1)
		if err != nil {
			return err
		}
		return sw.SetRow(cell, row)
	})
	if err != nil {
		return n, err
	}
	if err := sw.Flush(); err != nil {
		return n, err
	}
	if _, err := f.WriteTo(w); err != nil {
		return n, fmt.Errorf("write the workbook: %w", err)
	}
	return n, nil
}

// lastCell is the bottom-right cell of a sheet of rows rows.
func lastCell(rows int) string {
	col, _ := excelize.ColumnNumberToName(len(Columns))
	return col + strconv.Itoa(rows)
}

func ptr[T any](v T) *T { return &v }
