package portal_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"go.temporal.io/sdk/converter"

	"github.com/complyflow/complyflow/internal/testenv"
	"github.com/complyflow/complyflow/portal"
	"github.com/complyflow/complyflow/workflows"
)

func TestChangeRequestForm(t *testing.T) {
	db := testenv.Postgres(t)
	db.Owner.MustExec(`
		INSERT INTO people (id, email, name) VALUES ('sam', 'sam@example.com', 'Sam Officer'), ('eve', 'eve@example.com', 'Eve Employee');
		INSERT INTO people (id, email, name, end_date) VALUES ('lee', 'lee@example.com', 'Lee Left', '2020-01-01');
		INSERT INTO policies (id, title, owner_id, created_at) VALUES ('access', 'Access Control Policy', 'sam', '2023-01-10');`)
	tc := testenv.Temporal(t)
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv := httptest.NewServer((&portal.Server{DB: db.App, Temporal: tc, Logger: logger}).Handler())
	t.Cleanup(srv.Close)

	res, err := http.Get(srv.URL + "/change-requests/new?policy=access")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `<option value="access" selected>Access Control Policy (access, version 2023.1)</option>`) {
		t.Fatalf("form: %d\n%s", res.StatusCode, body)
	}

	post := func(form url.Values) (int, string) {
		res, err := http.PostForm(srv.URL+"/change-requests/new", form)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	code, page := post(url.Values{"requester": {"lee"}, "policy": {"nope"}, "kind": {"major"}, "summary": {" "}})
	for _, want := range []string{"Choose the policy", "Choose material or minor", "Summarise the change", "&#34;lee&#34; is not the ID"} {
		if code != http.StatusUnprocessableEntity || !strings.Contains(page, want) {
			t.Errorf("bad form: %d, page lacks %q", code, want)
		}
	}

	code, page = post(url.Values{"requester": {"eve"}, "policy": {"access"}, "kind": {"material"}, "summary": {"require MFA"},
		"reference": {"https://git.example.com/pull/9"}, "needs_production_change": {"1"}})
	if code != http.StatusCreated || !strings.Contains(page, "change-request/access/") {
		t.Fatalf("submit: %d\n%s", code, page)
	}
	id := page[strings.Index(page, "change-request/access/"):]
	id = id[:strings.Index(id, "<")]
	hist := tc.GetWorkflowHistory(context.Background(), id, "", false, 0)
	ev, err := hist.Next()
	if err != nil {
		t.Fatalf("workflow %s not started: %v", id, err)
	}
	attrs := ev.GetWorkflowExecutionStartedEventAttributes()
	var in workflows.PolicyChangeInput
	if err := converter.GetDefaultDataConverter().FromPayloads(attrs.GetInput(), &in); err != nil {
		t.Fatal(err)
	}
	if attrs.GetWorkflowType().GetName() != workflows.PolicyChangeRequestWorkflow || in.RequesterID != "eve" || in.Kind != "material" ||
		!in.NeedsProductionChange || in.Reference != "https://git.example.com/pull/9" {
		t.Errorf("started %s with %+v", attrs.GetWorkflowType().GetName(), in)
	}
}
