package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/storetest"
)

// TestConformance runs the store conformance suite, which the PostgreSQL
// driver runs too, against SQLite.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) storetest.Backend {
		db, err := Open(context.Background(), t.TempDir())
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		db.Now = now
		return storetest.Backend{
			Store: db,
			QueryRow: func(ctx context.Context, q string, args []any, dest ...any) error {
				return db.read.QueryRowContext(ctx, q, args...).Scan(dest...)
			},
			Exec: func(ctx context.Context, q string, args ...any) error {
				_, err := db.write.ExecContext(ctx, q, args...)
				return err
			},
			SetTrigger: func(fn func(spoke.RecordChange) []spoke.EnrollmentTrigger) { db.SetTrigger(fn, nil) },
		}
	}, nil)
}
