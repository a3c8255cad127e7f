package layers

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// Every import inside the module points down (or sideways within a layer),
// and no package imports a binary. Fails naming each upward import.
func TestImportsPointDown(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, Module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		from := strings.TrimPrefix(strings.TrimPrefix(fields[0], Module), "/")
		for _, imp := range fields[1:] {
			if !strings.HasPrefix(imp, Module+"/") {
				continue
			}
			to := strings.TrimPrefix(imp, Module+"/")
			checked++
			if Of(to) == Binary {
				t.Errorf("%s imports %s, a binary: move what it needs below", from, to)
			} else if Of(to) > Of(from) {
				t.Errorf("%s (layer %d) imports %s (layer %d): imports point down only", from, Of(from), to, Of(to))
			}
		}
	}
	if checked < 50 {
		t.Fatalf("only %d imports inside the module checked: go list's output was not read", checked)
	}
}

// The rule itself: a package is placed by its longest prefix.
func TestOfPlacesByLongestPrefix(t *testing.T) {
	for rel, want := range map[string]Layer{
		"activities/notify": Notify, "activities/policychange": Activities, "workflows/humantask": Workflows,
		"workflows": Workflows, "registry": Registry, "schedules": Program, "portal": Binary, "directory": Foundation,
		"internal/platform": Program, "internal/links": Foundation, "activitiesx": Foundation,
	} {
		if got := Of(rel); got != want {
			t.Errorf("Of(%q) = %d, want %d", rel, got, want)
		}
	}
}
