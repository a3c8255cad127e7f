package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	campaignact "github.com/complyflow/complyflow/activities/campaign"
	"github.com/complyflow/complyflow/internal/period"
	"github.com/complyflow/complyflow/internal/refusal"
	"github.com/complyflow/complyflow/workflows/campaign"
)

func init() {
	commands["campaign"] = command{"campaign start --kind acknowledgement|training ...: start a campaign; `campaign status ID`, `campaign list`", runCampaign}
}

const campaignUsage = `campaign start --kind acknowledgement --policies all|ID,ID [--due 14d] [--department D] [--wait]
       starter campaign start --kind training --training ID [--due 14d] [--department D] [--wait]
       starter campaign status ID [--json]
       starter campaign list`

func runCampaign(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintf(env.Stderr, "usage: starter %s\n", campaignUsage)
		if len(args) == 0 {
			return usagef("expected start, status or list")
		}
		return flag.ErrHelp
	}
	switch args[0] {
	case "start":
		return runCampaignStart(ctx, env, args[1:])
	case "status":
		return runCampaignStatus(ctx, env, args[1:])
	case "list":
		return runCampaignList(ctx, env, args[1:])
	}
	return usagef("unknown campaign command %q (start, status or list)", args[0])
}

func runCampaignStart(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "campaign start", campaignUsage)
	kind := fs.String("kind", "", "acknowledgement or training")
	policies := fs.String("policies", "", "acknowledgement: all, or policy IDs separated by commas")
	training := fs.String("training", "", "training: the training's ID from the program file")
	due := fs.String("due", "", "the period to complete in, e.g. 14d (default: the program file's obligation)")
	var departments []string
	fs.Func("department", "only people of this department (repeat for more)", func(s string) error {
		departments = append(departments, s)
		return nil
	})
	wait := fs.Bool("wait", false, "wait until everyone is assigned and told, showing progress")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	r := campaign.Request{Kind: *kind, Training: *training, Departments: departments, StartedBy: cliActor(),
		Reason: "started with `starter campaign start` by " + cliActor()}
	switch *kind {
	case campaignact.KindAcknowledgement:
		if *policies == "" {
			return usagef("--policies is required: all, or policy IDs separated by commas")
		}
		if *policies != "all" {
			for _, id := range strings.Split(*policies, ",") {
				if id = strings.TrimSpace(id); id != "" {
					r.Policies = append(r.Policies, id)
				}
			}
		}
	case campaignact.KindTraining:
		if *training == "" {
			return usagef("--training is required for a training campaign")
		}
	default:
		return usagef("--kind: %q is not acknowledgement or training", *kind)
	}
	if *due != "" {
		d, err := period.Parse(*due)
		if err != nil || d <= 0 {
			return usagef("--due: %q is not a period such as 14d, 2w or 36h", *due)
		}
		r.Due = d
	}
	db, err := env.DB(ctx)
	if err != nil {
		return err
	}
	in, err := campaign.Prepare(ctx, db, r)
	if reason, ok := refusal.Reason(err); ok {
		return usagef("%s", reason)
	} else if err != nil {
		return err
	}
	c, err := env.Temporal()
	if err != nil {
		return err
	}
	id := campaign.ID(*kind, time.Now())
	already, err := campaign.Start(ctx, c, env.TaskQueue(), id, in)
	if err != nil {
		return fmt.Errorf("start campaign: %w", err)
	}
	if already {
		return fmt.Errorf("campaign %s was started this same second; wait a second and run it again", id)
	}
	if *wait {
		if err := waitForSending(ctx, env, id); err != nil {
			return err
		}
	}
	fmt.Fprintln(env.Stdout, id)
	return nil
}

// waitForSending polls the campaign's records until everyone assigned has
// been told on some channel (or could not be), drawing a bar on a terminal
// and a line per second elsewhere.
func waitForSending(ctx context.Context, env *Env, id string) error {
	db, err := env.DB(ctx)
	if err != nil {
		return err
	}
	c, err := env.Temporal()
	if err != nil {
		return err
	}
	tty := isTerminal(env.Stderr)
	last := time.Time{}
	for {
		st, qerr := campaign.Query(ctx, c, id)
		counts, err := campaignact.CountsOf(ctx, db, id, time.Now())
		if err != nil {
			return err
		}
		sending := qerr != nil || st.Stage == campaign.StageOpening || st.Stage == campaign.StageSending
		if tty {
			fmt.Fprintf(env.Stderr, "\r%s", progressBar(counts.Notified, counts.Assigned, 40))
		} else if time.Since(last) >= time.Second || !sending {
			fmt.Fprintf(env.Stderr, "notified %d of %d\n", counts.Notified, counts.Assigned)
			last = time.Now()
		}
		if !sending {
			if tty {
				fmt.Fprintln(env.Stderr)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func progressBar(done, total, width int) string {
	filled := 0
	if total > 0 {
		filled = done * width / total
	}
	return fmt.Sprintf("[%s%s] %d/%d notified", strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total)
}

func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// campaignStatusJSON is `campaign status --json`: the counts as integer
// fields (issue 11 item 10), with the stage and the channels.
type campaignStatusJSON struct {
	ID    string `json:"id"`
	Stage string `json:"stage"`
	campaignact.Counts
}

func runCampaignStatus(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "campaign status", "campaign status ID [--json]")
	asJSON := fs.Bool("json", false, "one JSON object")
	var id string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		id, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if id == "" && fs.NArg() == 1 {
		id = fs.Arg(0)
	} else if id == "" || fs.NArg() > 0 {
		return usagef("expected one campaign ID")
	}
	db, err := env.DB(ctx)
	if err != nil {
		return err
	}
	var title string
	var closed *time.Time
	var dueAt time.Time
	if err := db.QueryRowxContext(ctx, `SELECT title, due_at, closed_at FROM campaigns WHERE id = $1`, id).Scan(&title, &dueAt, &closed); err != nil {
		return usagef("no campaign %q (`starter campaign list`)", id)
	}
	counts, err := campaignact.CountsOf(ctx, db, id, time.Now())
	if err != nil {
		return err
	}
	stage := campaign.StageClosed
	if closed == nil {
		stage = campaign.StageRunning
		if c, err := env.Temporal(); err == nil {
			if st, err := campaign.Query(ctx, c, id); err == nil {
				stage = st.Stage
			}
		}
	}
	if *asJSON {
		return json.NewEncoder(env.Stdout).Encode(campaignStatusJSON{ID: id, Stage: stage, Counts: counts})
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "campaign\t%s\n", id)
	fmt.Fprintf(tw, "title\t%s\n", title)
	fmt.Fprintf(tw, "stage\t%s\n", stage)
	fmt.Fprintf(tw, "due\t%s\n", dueAt.UTC().Format(time.RFC3339))
	fmt.Fprintf(tw, "assigned\t%d\n", counts.Assigned)
	channels := make([]string, 0, len(counts.NotifiedBy))
	for _, ch := range slices.Sorted(maps.Keys(counts.NotifiedBy)) {
		channels = append(channels, fmt.Sprintf("%s %d", ch, counts.NotifiedBy[ch]))
	}
	fmt.Fprintf(tw, "notified\t%d (%s)\n", counts.Notified, strings.Join(channels, ", "))
	fmt.Fprintf(tw, "completed\t%d\n", counts.Completed)
	fmt.Fprintf(tw, "pending\t%d\n", counts.Pending)
	fmt.Fprintf(tw, "overdue\t%d\n", counts.Overdue)
	fmt.Fprintf(tw, "escalated\t%d\n", counts.Escalated)
	fmt.Fprintf(tw, "left\t%d\n", counts.Left)
	return tw.Flush()
}

func runCampaignList(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "campaign list", "campaign list")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := env.DB(ctx)
	if err != nil {
		return err
	}
	var rows []struct {
		ID        string     `db:"id"`
		Kind      string     `db:"kind"`
		Title     string     `db:"title"`
		DueAt     time.Time  `db:"due_at"`
		ClosedAt  *time.Time `db:"closed_at"`
		Assigned  int        `db:"assigned"`
		Completed int        `db:"completed"`
	}
	if err := db.SelectContext(ctx, &rows, `
		SELECT c.id, c.kind, c.title, c.due_at, c.closed_at,
			count(a.person_id) AS assigned, count(a.person_id) FILTER (WHERE a.status = 'completed') AS completed
		FROM campaigns c LEFT JOIN assignments a ON a.campaign_id = c.id
		GROUP BY c.id ORDER BY c.created_at DESC, c.id`); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tDUE\tDONE\tSTATE\tTITLE")
	for _, r := range rows {
		state := "open"
		if r.ClosedAt != nil {
			state = "closed"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%s\t%s\n", r.ID, r.Kind, r.DueAt.UTC().Format("2006-01-02"), r.Completed, r.Assigned, state, r.Title)
	}
	return tw.Flush()
}
