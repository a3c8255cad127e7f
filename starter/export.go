package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/complyflow/complyflow/completion"
	"github.com/complyflow/complyflow/completion/pack"
)

func init() {
	commands["export"] = command{"export records|pack|verify: completion records as CSV/XLSX, signed evidence packs, and checking a pack offline", runExport}
}

func runExport(ctx context.Context, env *Env, args []string) error {
	return dispatch(ctx, env, "export", []subcommand{
		{"records", runExportRecords},
		{"pack", runExportPack},
		{"verify", runExportVerify},
	}, args)
}

// filterFlags are the flags that choose completion records.
type filterFlags struct {
	from, to, framework, requirement, control, process, person *string
}

func addFilterFlags(fs *flag.FlagSet) filterFlags {
	return filterFlags{
		from:        fs.String("from", "", "the period's first day, YYYY-MM-DD (UTC), included (required)"),
		to:          fs.String("to", "", "the day after the period, YYYY-MM-DD (UTC), excluded (required)"),
		framework:   fs.String("framework", "", "only controls mapped to this framework: soc2, hipaa or gdpr"),
		requirement: fs.String("requirement", "", "with --framework: only controls mapped to this requirement, e.g. CC5.3"),
		control:     fs.String("control", "", "only this control (its id in the program file); with --framework, a requirement of it also works (--framework soc2 --control CC5.3)"),
		process:     fs.String("process", "", "only the records of controls whose processes list this one in the program file, e.g. offboarding"),
		person:      fs.String("person", "", "only the records this person made (their id in the directory; the record's actor)"),
	}
}

// filter reads the flags; a bad date is a usage error naming the flag.
func (f filterFlags) filter() (completion.Filter, error) {
	out := completion.Filter{Framework: *f.framework, Requirement: *f.requirement, Control: *f.control, Process: *f.process, Person: *f.person}
	for _, d := range []struct {
		name string
		v    string
		t    *time.Time
	}{{"--from", *f.from, &out.From}, {"--to", *f.to, &out.To}} {
		if d.v == "" {
			return out, usagef("%s: required (YYYY-MM-DD)", d.name)
		}
		t, err := time.Parse(time.DateOnly, d.v)
		if err != nil {
			return out, usagef("%s %q: not a date YYYY-MM-DD", d.name, d.v)
		}
		*d.t = t
	}
	return out, nil
}

// scope resolves the filter against the stored program; what is wrong with
// it is a usage error.
func (f filterFlags) scope(ctx context.Context, env *Env) (completion.Scope, error) {
	filter, err := f.filter()
	if err != nil {
		return completion.Scope{}, err
	}
	db, err := env.DB(ctx)
	if err != nil {
		return completion.Scope{}, err
	}
	s, err := completion.Resolve(ctx, db, filter)
	var unknown *completion.FieldError
	if errors.As(err, &unknown) {
		return completion.Scope{}, usagef("--%v", err) // --process "x": ...
	}
	if err != nil {
		return completion.Scope{}, usagef("%v", err)
	}
	return s, nil
}

// snapshot runs read in one read-only, repeatable-read transaction, so every
// file of an export sees the same records even while processes write more.
func snapshot(ctx context.Context, env *Env, read func(q *sqlx.Tx) error) error {
	db, err := env.DB(ctx)
	if err != nil {
		return err
	}
	tx, err := db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := read(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// writeFile writes to path through a temporary file beside it, renamed into
// place only when write succeeded, so a failed export leaves no partial file.
func writeFile(path string, write func(w *bufio.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	bw := bufio.NewWriterSize(tmp, 1<<16)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func runExportRecords(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "export records", "export records --from D --to D [--framework soc2 [--requirement REF]] [--control ID] [--process P] [--person ID] --format csv|xlsx --out FILE")
	ff := addFilterFlags(fs)
	format := fs.String("format", "csv", "csv or xlsx")
	out := fs.String("out", "", "the file to write (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *format != "csv" && *format != "xlsx" {
		return usagef("--format %q: csv or xlsx", *format)
	}
	if *out == "" {
		return usagef("--out: required")
	}
	s, err := ff.scope(ctx, env)
	if err != nil {
		return err
	}
	var n int
	if err := snapshot(ctx, env, func(q *sqlx.Tx) error {
		return writeFile(*out, func(w *bufio.Writer) (err error) {
			if *format == "xlsx" {
				n, err = s.WriteXLSX(ctx, q, w)
			} else {
				n, err = s.WriteCSV(ctx, q, w)
			}
			return err
		})
	}); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%d completion records for %d controls written to %s\n", n, len(s.Controls), *out)
	return nil
}

func runExportPack(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "export pack", "export pack --from D --to D [--framework soc2 [--requirement REF]] [--control ID] [--process P] [--person ID] --out pack.zip")
	ff := addFilterFlags(fs)
	out := fs.String("out", "", "the zip file to write (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return usagef("--out: required")
	}
	s, err := ff.scope(ctx, env)
	if err != nil {
		return err
	}
	// A fresh checkpoint (the log verified first) ends the pack's audit slice.
	cp, key, err := signCheckpoint(ctx, env)
	if err != nil {
		return err
	}
	var m pack.Manifest
	if err := snapshot(ctx, env, func(q *sqlx.Tx) error {
		return writeFile(*out, func(w *bufio.Writer) (err error) {
			m, err = pack.Build(ctx, q, w, pack.Options{Scope: s, Checkpoint: cp, Key: key, CreatedAt: cp.SignedAt})
			return err
		})
	}); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "evidence pack %s: %d completion records, %d files, audit log to row %d (checkpoint signed %s)\n",
		*out, m.Records, len(m.Files), cp.LastID, cp.SignedAt.Format(time.RFC3339))
	return nil
}

func runExportVerify(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "export verify", "export verify [--pubkey KEY] pack.zip")
	pubFlag := fs.String("pubkey", "", "the Ed25519 public key (base64 or hex, as `audit pubkey` prints it); default: derived from AUDIT_SIGNING_KEY")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("expected one pack file")
	}
	var pub ed25519.PublicKey
	if *pubFlag != "" {
		var err error
		if pub, err = parsePublicKey(*pubFlag); err != nil {
			return usagef("--pubkey: %v", err)
		}
	} else {
		cfg, err := env.Config()
		if err != nil {
			return err
		}
		key, err := cfg.AuditKey()
		if err != nil {
			return usagef("give --pubkey, or set AUDIT_SIGNING_KEY: %v", err)
		}
		pub = key.Public().(ed25519.PublicKey)
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	rep, err := pack.Verify(f, st.Size(), pub)
	if err != nil {
		return fmt.Errorf("%s does not verify:\n%w", fs.Arg(0), err)
	}
	fmt.Fprintf(env.Stdout, "%s verifies: manifest signed, %d files match their SHA-256 and size, none added; audit slice of %d rows chains to the signed checkpoint\n",
		fs.Arg(0), len(rep.Manifest.Files), rep.AuditRows)
	return nil
}
