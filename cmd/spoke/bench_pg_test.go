package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/spokehq/spoke/internal/pgtest"
)

// TestBenchPostgres runs the PostgreSQL benchmarks with small counts
// against a real server, as `spoke bench` runs them: worker processes,
// the store's searches (whose totals the benchmark checks, with token
// indexes built on demand over 12,000 contacts) and the typed-column
// comparison. It checks that each finishes and prints its rows.
func TestBenchPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL databases, spoke workers and sandboxes")
	}
	bin := buildSpoke(t)
	url := pgtest.Database(t) // the benchmarks create their own databases next to it
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"bench", "engine", "--contacts", "300", "--worker-processes", "1,2", "--database", url},
			[]string{"| SQLite, 1 process (same run) |", "| 1 | ", "| 2 | ", "Rows inserted + updated per enrollment by table"}},
		{[]string{"bench", "crm", "--contacts", "500", "--samples", "20", "--database", url},
			[]string{"| measurement | SQLite | PostgreSQL |", "batch upsert, PostgreSQL / SQLite:"}},
		{[]string{"bench", "search", "--contacts", "12000", "--samples", "5", "--max-time", "1s", "--database", url},
			[]string{"company CONTAINS_TOKEN", "| search (SQL: count, then the page) | jsonb `records` p50 | typed columns p50 |", "| update score of 12000 contacts"}},
	} {
		out, err := exec.Command(bin, tc.args...).CombinedOutput()
		if err != nil {
			t.Fatalf("spoke %s: %v\n%s", strings.Join(tc.args[:2], " "), err, out)
		}
		for _, w := range tc.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("spoke %s: no %q in:\n%s", strings.Join(tc.args[:2], " "), w, out)
			}
		}
	}
}
