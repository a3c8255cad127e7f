package directory_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/complyflow/complyflow/directory"
	"github.com/complyflow/complyflow/internal/testenv"
)

// BenchmarkImportPeople10k imports a 10,000-person directory (ten managers per
// level) into a table that already holds it, the yearly re-sync of a company
// at the size complyflow is built for.
func BenchmarkImportPeople10k(b *testing.B) {
	db := testenv.Postgres(b)
	var csv strings.Builder
	csv.WriteString("id,email,name,manager_id,slack_user_id,department,title,start_date,end_date\n")
	for i := 0; i < 10000; i++ {
		manager := ""
		if i > 0 {
			manager = fmt.Sprintf("p%05d", (i-1)/10)
		}
		fmt.Fprintf(&csv, "p%05d,person%d@example.com,Person %d,%s,U%07d,Engineering,Engineer,2024-01-%02d,\n", i, i, i, manager, i, i%28+1)
	}
	data := csv.String()
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		res, err := directory.Import(ctx, db.App, directory.People, "people.csv", strings.NewReader(data), "bench")
		if err != nil {
			b.Fatal(err)
		}
		if res.Inserted+res.Updated != 10000 {
			b.Fatalf("wrote %d rows", res.Inserted+res.Updated)
		}
	}
}
