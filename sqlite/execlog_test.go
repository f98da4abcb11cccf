package sqlite

import (
	"context"
	"database/sql"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spokehq/spoke"
)

// TestExecutionLogRoundTrip logs executions of every shape through the
// compact form (templates, differences, values that are not strings, maps
// missing a template key, errors, long logs that are compressed, a step
// of more than one row's executions) and reads them back as they were.
func TestExecutionLogRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, acct := setup(t)
	at := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	x := func(action, status string, in, out map[string]any) *spoke.Execution {
		at = at.Add(1500 * time.Millisecond)
		return &spoke.Execution{ActionID: action, ActionType: "CUSTOM_CODE", Attempt: 1, Status: status, StartedAt: at, DurationMs: 12.345,
			MemoryBytes: 1 << 20, Inputs: in, Outputs: out, Runtime: "NODE20X node v20"}
	}
	var xs []*spoke.Execution
	xs = append(xs,
		x("1", "SUCCESS", map[string]any{"a": "1", "b": "Bench"}, map[string]any{"score": "3"}), // the template
		x("1", "SUCCESS", map[string]any{"a": "1", "b": "Bench"}, map[string]any{"score": "3"}), // equal to it
		x("1", "SUCCESS", map[string]any{"a": "2", "b": "Bench"}, map[string]any{"score": "4"}), // differs in strings
		x("1", "SUCCESS", map[string]any{"a": 2.5, "b": "Bench", "c": nil}, nil),                // not strings, a new key, no outputs
		x("1", "SUCCESS", map[string]any{"b": "<&>\"quoted\""}, map[string]any{}),               // a template key missing
		x("1", "WAITING", nil, nil),
		x("1", "ODD", map[string]any{"a": "1", "b": "Bench"}, nil),
	)
	bad := x("2", "ERROR", map[string]any{"n": []any{"x", 1.0}}, nil)
	bad.Error, bad.Logs, bad.Attempt = &spoke.ActionError{Type: "UNCAUGHT_ERROR", Message: "boom", Stack: "at main"}, strings.Repeat("a long log line\n", 200), 3
	xs = append(xs, bad)
	for i := 0; len(xs) < 40; i++ {
		xs = append(xs, x("3", "SUCCESS", map[string]any{"k": "v"}, map[string]any{"i": string(rune('a' + i%26))}))
	}
	e := &spoke.Enrollment{ID: 9, AccountID: acct, FlowID: "5", ObjectID: 77}
	steps := []*spoke.Step{{Enrollment: e, Executions: xs}}
	if err := db.ensureRefs(ctx, steps); err != nil {
		t.Fatal(err)
	}
	rows, err := db.encodeSteps(nil, e, xs)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2*stepCols {
		t.Fatalf("40 executions took %d rows, want 2", len(rows)/stepCols)
	}
	if body := rows[stepCols-1].([]byte); body[0] != bodyDeflate {
		t.Errorf("a body with a long log is not compressed (format %d)", body[0])
	}
	if err := db.inTx(ctx, func(tx *sql.Tx) error { return insertRows(ctx, db.txSession(tx), stepInsert, stepCols, rows) }); err != nil {
		t.Fatal(err)
	}
	got, more, err := db.ListExecutions(ctx, acct, "5", spoke.ExecutionQuery{Limit: 100})
	if err != nil || more || len(got) != len(xs) {
		t.Fatalf("ListExecutions = %d, %v, %v", len(got), more, err)
	}
	for i, g := range got {
		want := *xs[i]
		want.ID, want.EnrollmentID, want.AccountID, want.FlowID, want.ObjectID = g.ID, 9, acct, "5", 77
		want.StartedAt = want.StartedAt.UTC()
		if !reflect.DeepEqual(*g, want) {
			t.Errorf("execution %d:\n got %+v\nwant %+v", i, *g, want)
		}
		if i > 0 && g.ID <= got[i-1].ID {
			t.Errorf("ids out of order: %d after %d", g.ID, got[i-1].ID)
		}
		one, err := db.GetExecution(ctx, acct, g.ID)
		if err != nil || !reflect.DeepEqual(one, g) {
			t.Errorf("GetExecution(%d) = %+v, %v", g.ID, one, err)
		}
	}
	// Filters and paging.
	page, more, _ := db.ListExecutions(ctx, acct, "5", spoke.ExecutionQuery{Limit: 3, After: got[30].ID})
	if !more || len(page) != 3 || page[0].ID != got[31].ID {
		t.Errorf("page after %d = %v, %v", got[30].ID, page, more)
	}
	if errs, _, _ := db.ListExecutions(ctx, acct, "5", spoke.ExecutionQuery{Limit: 10, Status: "ERROR"}); len(errs) != 1 || errs[0].ActionID != "2" {
		t.Errorf("status ERROR = %v", errs)
	}
	if a3, _, _ := db.ListExecutions(ctx, acct, "5", spoke.ExecutionQuery{Limit: 100, ActionID: "3"}); len(a3) != 32 {
		t.Errorf("action 3 = %d executions", len(a3))
	}
	recent, more, _ := db.RecentExecutions(ctx, acct, "5", spoke.RunQuery{Limit: 2, Before: got[35].ID})
	if !more || len(recent) != 2 || recent[0].ID != got[34].ID || recent[1].ID != got[33].ID {
		t.Errorf("recent before %d = %v", got[35].ID, recent)
	}
	if _, err := db.GetExecution(ctx, acct, got[len(got)-1].ID+1); code(err) != spoke.ENOTFOUND {
		t.Errorf("GetExecution past the row's executions: %v", err)
	}
}

// TestConvertLegacyLog converts rows of the log as it was before migration
// 0012 at open.
func TestConvertLegacyLog(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	acct, _, _ := db.DefaultAccount(ctx)
	if _, err := db.write.Exec(`CREATE TABLE executions_v1 (id INTEGER PRIMARY KEY AUTOINCREMENT, enrollment_id INTEGER NOT NULL, account_id INTEGER NOT NULL,
		flow_id TEXT NOT NULL, object_id INTEGER NOT NULL, action_id TEXT NOT NULL, action_type TEXT NOT NULL, attempt INTEGER NOT NULL,
		status TEXT NOT NULL, started_at INTEGER NOT NULL, duration_ms REAL NOT NULL, memory_bytes INTEGER NOT NULL DEFAULT 0,
		inputs TEXT, outputs TEXT, logs TEXT NOT NULL DEFAULT '', error TEXT, runtime TEXT NOT NULL DEFAULT '')`); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2500; i++ {
		if _, err := db.write.Exec(`INSERT INTO executions_v1 (enrollment_id, account_id, flow_id, object_id, action_id, action_type, attempt, status, started_at, duration_ms, inputs, outputs, logs, error)
			VALUES (?, ?, '4', ?, '1', 'CUSTOM_CODE', 1, ?, ?, 2.5, '{"a":"x"}', '{"n":1}', 'hi', ?)`, i, acct, i, map[bool]string{true: "ERROR", false: "SUCCESS"}[i == 7],
			int64(1700000000000+i), map[bool]any{true: `{"type":"TIMEOUT","message":"slow"}`, false: nil}[i == 7]); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	if db, err = Open(ctx, dir); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	db.read.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name = 'executions_v1'`).Scan(&n)
	if n != 0 {
		t.Error("the old log table is still there")
	}
	all, _, err := db.ListExecutions(ctx, acct, "4", spoke.ExecutionQuery{Limit: 5000})
	if err != nil || len(all) != 2500 {
		t.Fatalf("converted %d executions, %v", len(all), err)
	}
	x := all[7]
	if x.ObjectID != 7 || x.Status != "ERROR" || x.Error == nil || x.Error.Type != "TIMEOUT" || x.Inputs["a"] != "x" || x.Outputs["n"] != 1.0 ||
		x.Logs != "hi" || x.DurationMs != 2.5 || x.StartedAt.UnixMilli() != 1700000000007 {
		t.Errorf("converted execution = %+v", x)
	}
}
