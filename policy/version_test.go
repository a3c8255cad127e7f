package policy

import (
	"testing"
	"time"
)

func TestNext(t *testing.T) {
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 12, 0, 0, 0, time.UTC) }
	tests := []struct {
		name string
		cur  string
		kind Kind
		at   time.Time
		want string
	}{
		{"material within the year", "2023.1", Material, day(2023, 6, 1), "2023.2"},
		{"material after a revision drops the revision", "2023.2 rev.3", Material, day(2023, 6, 1), "2023.3"},
		{"first material change of a new year", "2023.2", Material, day(2024, 1, 1), "2024.1"},
		{"second material change of the new year", "2024.1", Material, day(2024, 12, 31), "2024.2"},
		{"skipped years", "2021.4", Material, day(2025, 3, 1), "2025.1"},
		{"clock behind the newest year keeps counting", "2024.1", Material, day(2023, 12, 31), "2024.2"},
		{"first minor change", "2023.2", Minor, day(2023, 6, 1), "2023.2 rev.1"},
		{"minor change in a later year stays in its version", "2023.2 rev.1", Minor, day(2024, 6, 1), "2023.2 rev.2"},
		{"first version of an unversioned policy", "", Material, day(2023, 2, 1), "2023.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cur Version
			if tt.cur != "" {
				var err error
				if cur, err = Parse(tt.cur); err != nil {
					t.Fatal(err)
				}
			}
			got, err := Next(cur, tt.kind, tt.at)
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tt.want {
				t.Errorf("Next(%q, %s, %s) = %q, want %q", tt.cur, tt.kind, tt.at.Format("2006-01-02"), got, tt.want)
			}
			if !cur.Less(got) {
				t.Errorf("Next(%q) = %q does not come after it", tt.cur, got)
			}
		})
	}
}

func TestNextRefusesMinorWithoutVersion(t *testing.T) {
	if v, err := Next(Version{}, Minor, time.Now()); err == nil {
		t.Fatalf("minor change of an unversioned policy gave %q, want an error", v)
	}
}

func TestParse(t *testing.T) {
	for in, want := range map[string]Version{
		"2023.1":        {2023, 1, 0},
		"2023.12 rev.2": {2023, 12, 2},
	} {
		got, err := Parse(in)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", in, got, err, want)
		}
		if got.String() != in {
			t.Errorf("Parse(%q).String() = %q", in, got.String())
		}
	}
	for _, bad := range []string{"", "2023", "23.1", "2023.0", "2023.1 rev.0", "2023.1rev.1", "v2023.1"} {
		if v, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) = %+v, want an error", bad, v)
		}
	}
}

func TestParseKind(t *testing.T) {
	if _, err := ParseKind("major"); err == nil {
		t.Error(`ParseKind("major") gave no error`)
	}
	if k, err := ParseKind("minor"); err != nil || k != Minor {
		t.Errorf(`ParseKind("minor") = %q, %v`, k, err)
	}
}
