package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/complyflow/complyflow/activities/campaign"

	"github.com/jmoiron/sqlx"
)

func init() {
	recordKinds["acknowledgements"] = command{"acknowledgements --person P | --policy P [--version V] | --campaign C [--csv]: each signature's proof, and whether its seal verifies", runRecordsAcknowledgements}
	recordKinds["trainings"] = command{"trainings --person P | --training T | --campaign C [--csv]: each passed training's score and proof, and whether its seal verifies", runRecordsTrainings}
}

// signatureTime is how the signature records print a time: UTC, to the
// microsecond Postgres keeps.
const signatureTime = "2006-01-02T15:04:05.000000Z"

// runRecordsAcknowledgements prints one row per acknowledgement (issue 11
// item 10) with every sealed field, the seal, and whether the seal still
// verifies; a seal that does not is an error, after the rows.
func runRecordsAcknowledgements(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "records acknowledgements", "records acknowledgements --person P | --policy P [--version V] | --campaign C [--csv]")
	var f campaign.AcknowledgementFilter
	fs.StringVar(&f.PersonID, "person", "", "one person's acknowledgements")
	fs.StringVar(&f.PolicyID, "policy", "", "one policy's acknowledgements")
	fs.StringVar(&f.Version, "version", "", "with --policy: of one version only")
	fs.StringVar(&f.CampaignID, "campaign", "", "one campaign's acknowledgements")
	asCSV := fs.Bool("csv", false, "CSV with a header row, for a spreadsheet")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := oneFilter(fs.NArg(), f.PersonID, f.PolicyID, f.CampaignID); err != nil {
		return err
	}
	if f.Version != "" && f.PolicyID == "" {
		return usagef("--version needs --policy")
	}
	db, err := env.DB(ctx)
	if err != nil {
		return err
	}
	if err := known(ctx, db, "person", "people", f.PersonID); err != nil {
		return err
	}
	if err := known(ctx, db, "policy", "policies", f.PolicyID); err != nil {
		return err
	}
	if err := known(ctx, db, "campaign", "campaigns", f.CampaignID); err != nil {
		return err
	}
	rows, err := campaign.ListAcknowledgements(ctx, db, f)
	if err != nil {
		return err
	}
	table := [][]string{{"campaign", "person", "email", "policy", "version", "text_sha256", "channel", "at", "client_addr", "user_agent", "seal", "seal_verifies"}}
	broken := 0
	for _, a := range rows {
		table = append(table, []string{a.CampaignID, a.PersonID, a.Email, a.PolicyID, a.Version, a.TextSHA256, a.Channel,
			a.At.UTC().Format(signatureTime), a.ClientAddr, a.UserAgent, a.Seal, verdict(a.SealVerifies(), &broken)})
	}
	if err := printRecords(env.Stdout, table, *asCSV); err != nil {
		return err
	}
	return brokenSeals(broken, len(rows))
}

// runRecordsTrainings prints one row per passed training, as
// runRecordsAcknowledgements does acknowledgements.
func runRecordsTrainings(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "records trainings", "records trainings --person P | --training T | --campaign C [--csv]")
	var f campaign.TrainingFilter
	fs.StringVar(&f.PersonID, "person", "", "one person's completions")
	fs.StringVar(&f.TrainingID, "training", "", "one training's completions")
	fs.StringVar(&f.CampaignID, "campaign", "", "one campaign's completions")
	asCSV := fs.Bool("csv", false, "CSV with a header row, for a spreadsheet")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := oneFilter(fs.NArg(), f.PersonID, f.TrainingID, f.CampaignID); err != nil {
		return err
	}
	db, err := env.DB(ctx)
	if err != nil {
		return err
	}
	if err := known(ctx, db, "person", "people", f.PersonID); err != nil {
		return err
	}
	if err := known(ctx, db, "training", "trainings", f.TrainingID); err != nil {
		return err
	}
	if err := known(ctx, db, "campaign", "campaigns", f.CampaignID); err != nil {
		return err
	}
	rows, err := campaign.ListTrainingCompletions(ctx, db, f)
	if err != nil {
		return err
	}
	table := [][]string{{"campaign", "person", "email", "training", "content_sha256", "score", "out_of", "channel", "at", "client_addr", "user_agent", "seal", "seal_verifies"}}
	broken := 0
	for _, c := range rows {
		table = append(table, []string{c.CampaignID, c.PersonID, c.Email, c.TrainingID, c.ContentSHA256, strconv.Itoa(c.Score), strconv.Itoa(c.OutOf),
			c.Channel, c.At.UTC().Format(signatureTime), c.ClientAddr, c.UserAgent, c.Seal, verdict(c.SealVerifies(), &broken)})
	}
	if err := printRecords(env.Stdout, table, *asCSV); err != nil {
		return err
	}
	return brokenSeals(broken, len(rows))
}

// oneFilter insists on exactly one of the filters and no arguments.
func oneFilter(nargs int, filters ...string) error {
	if nargs > 0 {
		return usagef("unexpected arguments; the filters are flags (-h lists them)")
	}
	n := 0
	for _, f := range filters {
		if f != "" {
			n++
		}
	}
	if n != 1 {
		return usagef("give exactly one filter (-h lists them)")
	}
	return nil
}

// known refuses an ID that is not in table, so a typo says so instead of
// printing no records.
func known(ctx context.Context, db *sqlx.DB, what, table, id string) error {
	if id == "" {
		return nil
	}
	var exists bool
	if err := db.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM `+table+` WHERE id = $1)`, id); err != nil {
		return err
	}
	if !exists {
		return usagef("%s %q is not in the program", what, id)
	}
	return nil
}

func verdict(ok bool, broken *int) string {
	if ok {
		return "yes"
	}
	*broken++
	return "NO"
}

func brokenSeals(broken, of int) error {
	if broken > 0 {
		return fmt.Errorf("%d of %d seals do not verify: those records were changed after they were signed", broken, of)
	}
	return nil
}

// printRecords writes a header and rows as CSV or as aligned columns.
func printRecords(w io.Writer, table [][]string, asCSV bool) error {
	if asCSV {
		cw := csv.NewWriter(w)
		cw.WriteAll(table)
		return cw.Error()
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i, row := range table {
		for j, cell := range row {
			if i == 0 {
				cell = headerName(cell)
			}
			if j > 0 {
				io.WriteString(tw, "\t")
			}
			io.WriteString(tw, cell)
		}
		io.WriteString(tw, "\n")
	}
	return tw.Flush()
}

// headerName is a CSV column's name as the aligned table heads it.
func headerName(col string) string {
	names := map[string]string{"text_sha256": "TEXT SHA-256", "content_sha256": "CONTENT SHA-256", "out_of": "OUT OF",
		"client_addr": "CLIENT", "user_agent": "USER AGENT", "seal_verifies": "VERIFIES"}
	if n, ok := names[col]; ok {
		return n
	}
	return strings.ToUpper(col)
}
