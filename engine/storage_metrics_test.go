package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/spokehq/spoke"
)

type fakeStorage struct{ calls int }

func (f *fakeStorage) StorageStats(context.Context) (*spoke.StorageStats, error) {
	f.calls++
	return &spoke.StorageStats{FileBytes: 4096, WALBytes: 10, FreeBytes: 20,
		Tables:          []spoke.TableStats{{Name: "enrollments", Rows: 3, Bytes: 100, IndexBytes: 50}},
		Pruned:          map[string]int64{"execution_steps": 7},
		OldestExecution: time.Now().Add(-time.Hour)}, nil
}

func TestStorageMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	src := &fakeStorage{}
	RegisterStorageMetrics(reg, src, time.Minute)
	want := `
# HELP spoke_db_file_bytes Size of the database file.
# TYPE spoke_db_file_bytes gauge
spoke_db_file_bytes 4096
# HELP spoke_db_rows_pruned_total Rows deleted by retention, per table.
# TYPE spoke_db_rows_pruned_total counter
spoke_db_rows_pruned_total{table="execution_steps"} 7
# HELP spoke_db_table_bytes Bytes per table, its indexes included.
# TYPE spoke_db_table_bytes gauge
spoke_db_table_bytes{table="enrollments"} 150
# HELP spoke_db_table_rows Rows per table.
# TYPE spoke_db_table_rows gauge
spoke_db_table_rows{table="enrollments"} 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "spoke_db_file_bytes", "spoke_db_rows_pruned_total", "spoke_db_table_bytes", "spoke_db_table_rows"); err != nil {
		t.Error(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "spoke_oldest_execution_age_seconds" {
			if v := mf.GetMetric()[0].GetGauge().GetValue(); v < 3500 || v > 3700 {
				t.Errorf("oldest execution age %v s", v)
			}
		}
	}
	if src.calls != 1 {
		t.Errorf("two scrapes read the store %d times, want once (cached)", src.calls)
	}
}
