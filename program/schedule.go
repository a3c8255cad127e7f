package program

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule is when an obligation recurs. Temporal decides when a run happens;
// the parsed spec here only validates and previews what a person typed.
type Schedule struct {
	// Cron is the five-field expression, as written or built from the
	// calendar form (month, day, time).
	Cron     string
	TimeZone string

	loc  *time.Location
	spec cron.Schedule
}

// cronParser reads the standard five fields, plus descriptors such as @yearly.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Temporal reads the same descriptors as robfig/cron for these only; it
// aligns @every to the epoch where robfig/cron counts from now.
var descriptors = map[string]bool{"@yearly": true, "@monthly": true, "@weekly": true, "@daily": true, "@hourly": true}

// parseCron parses an expression, refusing what Temporal would run at other
// times than the preview shows, so `program check` never shows wrong dates.
func parseCron(expr string) (cron.Schedule, error) {
	fields := strings.Fields(expr)
	switch {
	case strings.HasPrefix(expr, "CRON_TZ=") || strings.HasPrefix(expr, "TZ="):
		return nil, fmt.Errorf("put the time zone in time_zone, not in the expression")
	case strings.HasPrefix(expr, "@") && !descriptors[expr]:
		return nil, fmt.Errorf("use five fields or one of @yearly, @monthly, @weekly, @daily, @hourly")
	case strings.Contains(expr, "?"):
		return nil, fmt.Errorf("'?' is not supported; use '*'")
	case len(fields) == 5 && fields[2] != "*" && fields[4] != "*":
		// Cron runs on days matching either field, Temporal only on days
		// matching both.
		return nil, fmt.Errorf("restrict day of month or day of week, not both (their meaning differs between cron and Temporal)")
	}
	return cronParser.Parse(expr)
}

// Location is the schedule's time zone.
func (s Schedule) Location() *time.Location { return s.loc }

// Next returns the next n run times after t, in the schedule's time zone.
func (s Schedule) Next(t time.Time, n int) []time.Time {
	out := make([]time.Time, 0, n)
	t = t.In(s.loc)
	for len(out) < n {
		t = s.spec.Next(t)
		if t.IsZero() {
			break
		}
		out = append(out, t)
	}
	return out
}

// MinInterval is the shortest gap between two runs over the next ten years
// from t (or 64 runs, whichever comes first); zero if it runs less than twice.
func (s Schedule) MinInterval(t time.Time) time.Duration {
	runs := s.Next(t, 64)
	var least time.Duration
	for i := 1; i < len(runs); i++ {
		if runs[i].Sub(t) > 10*365*24*time.Hour {
			break
		}
		if gap := runs[i].Sub(runs[i-1]); least == 0 || gap < least {
			least = gap
		}
	}
	return least
}

var monthNames = map[string]int{
	"january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
	"august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
}

func parseMonth(s string) (int, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	var m int
	if _, err := fmt.Sscanf(s, "%d", &m); err == nil && fmt.Sprint(m) == s {
		if m < 1 || m > 12 {
			return 0, fmt.Errorf("month %d is not 1 to 12", m)
		}
		return m, nil
	}
	for name, n := range monthNames {
		if s == name || (len(s) == 3 && strings.HasPrefix(name, s)) {
			return n, nil
		}
	}
	return 0, fmt.Errorf("%q is not a month (1-12 or a name such as march)", s)
}

// runsEveryYear is the one rule every schedule obeys, in the cron form and the
// calendar form alike: it runs at least once in every calendar year of its
// time zone. A run on 29 February (month: february, day: 29, or the cron
// "0 9 29 2 *") would happen only every fourth year, and 31 April never; nor
// may the only run of a year fall in the hour a daylight-saving change skips
// (Temporal skips it too). The eight years after from's are checked: two
// leap-year cycles, and enough for a fixed date to meet a clock change.
func runsEveryYear(spec cron.Schedule, loc *time.Location, from time.Time) error {
	first := from.In(loc).Year() + 1
	for y := first; y < first+8; y++ {
		if runsIn(spec, y, loc) {
			continue
		}
		if runsIn(spec, y, time.UTC) {
			return fmt.Errorf("no run in %d, since that time does not exist in %s then (a daylight-saving change): a schedule must run at least once every year", y, loc)
		}
		return fmt.Errorf("no run in %d: a schedule must run at least once every year", y)
	}
	return nil
}

func runsIn(spec cron.Schedule, year int, loc *time.Location) bool {
	start := time.Date(year, time.January, 1, 0, 0, 0, 0, loc)
	// Next is strictly after its argument, so start itself counts.
	next := spec.Next(start.Add(-time.Second))
	return !next.IsZero() && next.In(loc).Year() == year
}

func parseClock(s string) (hour, minute int, err error) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		return 0, 0, fmt.Errorf("%q is not a time of day such as 09:00", s)
	}
	return t.Hour(), t.Minute(), nil
}
