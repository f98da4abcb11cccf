package sqlite

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spokehq/spoke"
)

// setup opens a fresh store in a temporary directory and returns it with
// its default account. The store's clock starts at a fixed instant and
// advances one second on every call, so timestamps are distinct and
// predictable.
func setup(t *testing.T) (*DB, int64) {
	t.Helper()
	ctx := context.Background()
	db, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	var tick atomic.Int64
	base := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	db.Now = func() time.Time { return base.Add(time.Duration(tick.Add(1)) * time.Second) }
	acct, created, err := db.DefaultAccount(ctx)
	if err != nil || !created {
		t.Fatalf("DefaultAccount = %d, %v, %v", acct, created, err)
	}
	return db, acct
}

var apiSrc = spoke.WriteSource{Type: spoke.SourceAPI, ID: "7"}

// mustWrite writes inputs and fails the test on a call error or any
// per-input error.
func mustWrite(t *testing.T, db *DB, acct int64, objectType string, mode spoke.WriteMode, inputs ...spoke.RecordInput) []spoke.WriteResult {
	t.Helper()
	res, err := db.WriteRecords(context.Background(), acct, objectType, mode, inputs, apiSrc)
	if err != nil {
		t.Fatalf("WriteRecords(%s): %v", objectType, err)
	}
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("WriteRecords(%s) input %d: %v", objectType, i, r.Err)
		}
	}
	return res
}

// create creates one record and returns it.
func create(t *testing.T, db *DB, acct int64, objectType string, props map[string]string) *spoke.Record {
	t.Helper()
	return mustWrite(t, db, acct, objectType, spoke.WriteCreate, spoke.RecordInput{Properties: props})[0].Record
}

func props(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// code returns the spoke error code of err ("" for nil).
func code(err error) string {
	if err == nil {
		return ""
	}
	return spoke.ErrorCode(err)
}

func countRecords(t *testing.T, db *DB, objectType string) int {
	t.Helper()
	var n int
	if err := db.read.QueryRow(`SELECT count(*) FROM records WHERE object_type = ?`, objectType).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func countRows(t *testing.T, db *DB, table string) int {
	t.Helper()
	var n int
	if err := db.read.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestOpenTwiceKeepsData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	acct, _, err := db.DefaultAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	create(t, db, acct, "contacts", props("email", "a@b.co"))
	db.Close()
	db, err = Open(ctx, dir)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	again, created, err := db.DefaultAccount(ctx)
	if err != nil || created || again != acct {
		t.Fatalf("DefaultAccount after reopen = %d, %v, %v; want %d, false", again, created, err, acct)
	}
	if n := countRecords(t, db, "contacts"); n != 1 {
		t.Fatalf("records after reopen = %d, want 1", n)
	}
	if !strings.HasSuffix(db.Path(), FileName) {
		t.Fatalf("Path = %s", db.Path())
	}
}

func f(name, op, value string) spoke.Filter {
	return spoke.Filter{PropertyName: name, Operator: op, Value: value}
}
