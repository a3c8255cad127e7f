// Package policy holds the rules of policy versioning, apart from any storage,
// so they can be tested as a table.
//
// A version is the four-digit year of the change and a sequence number within
// that year (2023.2), optionally followed by a revision (2023.2 rev.1). A
// material change starts a new version; a minor change adds a revision.
package policy

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// Kind is how much a change alters a policy.
type Kind string

// The kinds of change.
const (
	// Material changes the content: a new statement, an updated control.
	Material Kind = "material"
	// Minor is formatting, a typo, a minor detail: a revision of the same version.
	Minor Kind = "minor"
)

// ParseKind accepts "material" or "minor".
func ParseKind(s string) (Kind, error) {
	switch k := Kind(s); k {
	case Material, Minor:
		return k, nil
	}
	return "", fmt.Errorf("kind %q: expected material or minor", s)
}

// Version is YYYY.N with an optional revision (zero means none).
type Version struct {
	Year int
	N    int
	Rev  int
}

var versionRE = regexp.MustCompile(`^(\d{4})\.(\d+)(?:\s+rev\.(\d+))?$`)

// Parse reads "2023.2" or "2023.2 rev.1".
func Parse(s string) (Version, error) {
	m := versionRE.FindStringSubmatch(s)
	if m == nil {
		return Version{}, fmt.Errorf("version %q: expected YYYY.N or YYYY.N rev.N", s)
	}
	v := Version{}
	v.Year, _ = strconv.Atoi(m[1])
	v.N, _ = strconv.Atoi(m[2])
	if m[3] != "" {
		v.Rev, _ = strconv.Atoi(m[3])
	}
	if v.N < 1 || (m[3] != "" && v.Rev < 1) {
		return Version{}, fmt.Errorf("version %q: numbers start at 1", s)
	}
	return v, nil
}

// String is the form written at the top of a policy document.
func (v Version) String() string {
	if v.Rev > 0 {
		return fmt.Sprintf("%d.%d rev.%d", v.Year, v.N, v.Rev)
	}
	return fmt.Sprintf("%d.%d", v.Year, v.N)
}

// IsZero reports a policy that has no version yet.
func (v Version) IsZero() bool { return v == Version{} }

// Less orders versions as they were issued.
func (v Version) Less(w Version) bool {
	if v.Year != w.Year {
		return v.Year < w.Year
	}
	if v.N != w.N {
		return v.N < w.N
	}
	return v.Rev < w.Rev
}

// Next is the version a change of the given kind made at the given time gives
// a policy whose newest version is cur. A material change counts up within
// the year of the change and starts again at 1 in a new year; a minor change
// counts the revision up. Numbers only go forward: a clock behind the newest
// version's year continues that year rather than reissuing a number.
func Next(cur Version, kind Kind, at time.Time) (Version, error) {
	year := at.UTC().Year()
	switch kind {
	case Material:
		switch {
		case cur.IsZero(), year > cur.Year:
			return Version{Year: year, N: 1}, nil
		default:
			return Version{Year: cur.Year, N: cur.N + 1}, nil
		}
	case Minor:
		if cur.IsZero() {
			return Version{}, fmt.Errorf("a minor change needs a published version to revise; the first version is a material change")
		}
		return Version{Year: cur.Year, N: cur.N, Rev: cur.Rev + 1}, nil
	}
	return Version{}, fmt.Errorf("kind %q: expected material or minor", kind)
}
