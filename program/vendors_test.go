package program

import (
	"reflect"
	"strings"
	"testing"

	"github.com/complyflow/complyflow/workflows"
)

const vendorObligation = `  - id: vendors
    process: vendor-review
    schedule: {cron: "0 9 1 * *"}
    due: 3w
    controls: [program-review]
    vendors:
      cadence: {critical: 12mo, high: 1y, medium: 24mo, low: 2y}
      request_before: 60d
`

// The vendor review's cadence by criticality is read from the program file
// and handed to its schedule's runs.
func TestParseVendorCadence(t *testing.T) {
	p, errs := parse(t, valid+vendorObligation)
	if errs != nil {
		t.Fatal(errs)
	}
	got := p.Obligations[1].Run().Vendors
	want := &workflows.VendorCadence{MonthsByCriticality: map[string]int{"critical": 12, "high": 12, "medium": 24, "low": 24}, RequestBeforeDays: 60}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("cadence = %+v, want %+v", got, want)
	}
}

func TestParseRejectsVendorCadence(t *testing.T) {
	cases := []struct {
		name, old, new string
		want           []string
	}{
		{"missing", "    vendors:\n      cadence: {critical: 12mo, high: 1y, medium: 24mo, low: 2y}\n      request_before: 60d\n", "",
			[]string{`program.yaml:28: obligations[vendors].vendors: required for process vendor-review: the review cadence by vendor criticality`}},
		{"a criticality without cadence", "medium: 24mo, low: 2y", "medium: 24mo",
			[]string{`program.yaml:34: obligations[vendors].vendors.cadence.low: required`}},
		{"not months", "high: 1y", "high: 365d",
			[]string{`program.yaml:34: obligations[vendors].vendors.cadence.high: "365d" is not a period in months or years, such as 12mo or 2y`}},
		{"part days", "request_before: 60d", "request_before: 60d12h",
			[]string{`program.yaml:35: obligations[vendors].vendors.request_before: must be whole days, e.g. 60d`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, errs := parse(t, valid+strings.Replace(vendorObligation, c.old, c.new, 1))
			if got := lines(errs); !reflect.DeepEqual(got, c.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
	src := strings.Replace(valid, "    controls: [program-review]\n", "    controls: [program-review]\n    vendors: {cadence: {critical: 1y, high: 1y, medium: 1y, low: 1y}, request_before: 1d}\n", 1)
	_, errs := parse(t, src)
	if got := lines(errs); len(got) != 1 || !strings.Contains(got[0], "only process vendor-review has a vendor cadence") {
		t.Errorf("a vendor cadence on another process: errors %v", got)
	}
}
