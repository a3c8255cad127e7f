// Package directory imports the people, systems and vendors the processes work
// on from CSV files: every row checked first, every problem reported as
// FILE:LINE: reason, and then all rows upserted in one transaction or none.
package directory

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// RowErrors is every problem found in a file, one FILE:LINE: reason each.
type RowErrors []string

func (e RowErrors) Error() string { return strings.Join(e, "\n") }

// record is one data row, by column name, with the line it started on.
type record struct {
	line   int
	fields map[string]string
}

func (r record) get(col string) string { return strings.TrimSpace(r.fields[col]) }

// readCSV reads a file whose header must name every column in want (in any
// order, no others). A bad header is an error at once; a row that cannot be
// read (wrong field count, bad quoting) is left out of the records and
// reported in rowProblems, so the caller checks every other row's values too
// and reports all problems together.
func readCSV(file string, in io.Reader, want []string) (recs []record, rowProblems []rowProblem, err error) {
	r := csv.NewReader(in)
	r.FieldsPerRecord = -1 // a short row is reported per line below, not as a parse failure
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, RowErrors{fmt.Sprintf("%s:1: empty file: expected a header row %s", file, strings.Join(want, ","))}
	}
	if err != nil {
		return nil, nil, RowErrors{fmt.Sprintf("%s: %v", file, err)}
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff") // spreadsheets write a BOM
	}
	index := map[string]int{}
	var problems RowErrors
	for i, h := range header {
		h = strings.TrimSpace(h)
		if !slices.Contains(want, h) {
			problems = append(problems, fmt.Sprintf("%s:1: unknown column %q (expected %s)", file, h, strings.Join(want, ",")))
			continue
		}
		if _, dup := index[h]; dup {
			problems = append(problems, fmt.Sprintf("%s:1: column %q appears twice", file, h))
		}
		index[h] = i
	}
	for _, w := range want {
		if _, ok := index[w]; !ok {
			problems = append(problems, fmt.Sprintf("%s:1: missing column %q", file, w))
		}
	}
	if problems != nil {
		return nil, nil, problems
	}

	for {
		row, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				rowProblems = append(rowProblems, rowProblem{pe.StartLine, pe.Err.Error()})
				continue
			}
			return nil, nil, err
		}
		line, _ := r.FieldPos(0)
		if len(row) != len(header) {
			rowProblems = append(rowProblems, rowProblem{line, fmt.Sprintf("%d fields, the header has %d", len(row), len(header))})
			continue
		}
		rec := record{line: line, fields: make(map[string]string, len(want))}
		for col, i := range index {
			rec.fields[col] = row[i]
		}
		// Postgres stores neither; reported here, not as a driver error.
		for _, col := range want {
			switch v := rec.fields[col]; {
			case strings.ContainsRune(v, 0):
				rowProblems = append(rowProblems, rowProblem{line, col + " contains a NUL byte"})
			case !utf8.ValidString(v):
				rowProblems = append(rowProblems, rowProblem{line, col + " is not valid UTF-8"})
			}
		}
		recs = append(recs, rec)
	}
	return recs, rowProblems, nil
}
