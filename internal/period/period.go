// Package period reads and writes periods as people write them in the
// program file and on the command line: Go durations ("36h") extended with
// days and weeks ("30d", "2w", "1w3d12h").
package period

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Parse reads a period such as 30d, 2w, 36h or 1w3d12h.
func Parse(s string) (time.Duration, error) {
	rest := strings.TrimSpace(s)
	if rest == "" {
		return 0, fmt.Errorf("empty duration")
	}
	var total time.Duration
	for _, unit := range []struct {
		suffix string
		size   time.Duration
	}{{"w", 7 * 24 * time.Hour}, {"d", 24 * time.Hour}} {
		i := strings.Index(rest, unit.suffix)
		if i < 0 {
			continue
		}
		n, err := strconv.Atoi(rest[:i])
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q is not a duration such as 30d, 2w or 36h", s)
		}
		total += time.Duration(n) * unit.size
		rest = rest[i+1:]
	}
	if rest != "" {
		d, err := time.ParseDuration(rest)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration such as 30d, 2w or 36h", s)
		}
		total += d
	}
	return total, nil
}

// Format writes a duration in the program file's units, whole days as
// days, so plans and errors read like the file.
func Format(d time.Duration) string {
	day := 24 * time.Hour
	if d >= day {
		days := d / day
		if rest := d % day; rest != 0 {
			return fmt.Sprintf("%dd%s", days, rest)
		}
		return fmt.Sprintf("%dd", days)
	}
	return d.String()
}
