package postgres

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/internal/pgtest"
	"github.com/spokehq/spoke/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// databaseForTest returns the URL of a fresh database.
func databaseForTest(t *testing.T) string { return pgtest.Database(t) }

// open opens a store on a fresh database of the throwaway server.
func open(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), pgtest.Database(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// dollars rewrites ? placeholders as $1, $2, ... (the suite's raw
// queries have no ? of their own).
func dollars(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// gaps are the conformance tests the PostgreSQL store does not pass yet,
// with the feature each needs (see docs/scale.md).
var gaps = storetest.Gaps{}

// TestConformance runs the store conformance suite against PostgreSQL.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) storetest.Backend {
		db := open(t)
		db.Now = now
		return storetest.Backend{
			Store: db,
			QueryRow: func(ctx context.Context, q string, args []any, dest ...any) error {
				return db.pool.QueryRow(ctx, dollars(q), args...).Scan(dest...)
			},
			Exec: func(ctx context.Context, q string, args ...any) error {
				_, err := db.pool.Exec(ctx, dollars(q), args...)
				return err
			},
			SetTrigger: func(fn func(spoke.RecordChange) []spoke.EnrollmentTrigger) { db.SetTrigger(fn, nil) },
		}
	}, gaps)
}
