package storetest

import (
	"context"
	"slices"
	"testing"

	"github.com/spokehq/spoke"
)

func init() {
	register(test{"AlertStore", testAlertStore})
}

// The alert store keeps an account's webhook settings, announces each
// quota level of a period once, finds the flows that ran since a cursor,
// and counts the failures among a flow's last outcomes (not its delays).
func testAlertStore(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	if _, err := db.AlertSettings(ctx, acct); code(err) != spoke.ENOTFOUND {
		t.Errorf("settings before any: %v", err)
	}
	in := &spoke.AlertSettings{AccountID: acct, URL: "https://alerts.example/hook", FailureRate: 0.5, FailureWindow: 4}
	if err := db.PutAlertSettings(ctx, in); err != nil || in.UpdatedAt.IsZero() {
		t.Fatalf("PutAlertSettings: %v %+v", err, in)
	}
	in.FailureRate = 0.25
	if err := db.PutAlertSettings(ctx, in); err != nil {
		t.Fatal(err)
	}
	got, err := db.AlertSettings(ctx, acct)
	if err != nil || got.URL != in.URL || got.FailureRate != 0.25 || got.FailureWindow != 4 {
		t.Errorf("settings = %+v, %v", got, err)
	}
	if all, err := db.AllAlertSettings(ctx); err != nil || len(all) != 1 || all[0].AccountID != acct {
		t.Errorf("all settings = %v, %v", all, err)
	}
	for i, c := range []struct {
		period string
		level  int
		want   bool
	}{{"2024-01", 80, true}, {"2024-01", 80, false}, {"2024-01", 100, true}, {"2024-01", 80, false}, {"2024-02", 80, true}} {
		if ok, err := db.MarkQuotaLevel(ctx, acct, c.period, c.level); err != nil || ok != c.want {
			t.Errorf("quota mark %d (%s %d) = %v, %v; want %v", i, c.period, c.level, ok, err, c.want)
		}
	}

	flows, last, err := db.FlowsExecutedSince(ctx, acct, 0)
	if err != nil || len(flows) != 0 || last != 0 {
		t.Errorf("flows executed before any = %v %d %v", flows, last, err)
	}
	rec := create(t, db, acct, "contacts", props("email", "alert@example.com"))
	en := claimOne(t, db, acct, rec)
	en.Status, en.CompletedAt = spoke.EnrollmentCompleted, db.Now()
	var xs []*spoke.Execution
	for _, status := range []string{"ERROR", "SUCCESS", "WAITING", "ERROR", "SUCCESS", "ERROR"} {
		xs = append(xs, &spoke.Execution{ActionID: "1", ActionType: "0-1", Status: status, StartedAt: db.Now()})
	}
	if _, err := db.Commit(ctx, testLease, []*spoke.Step{{Enrollment: en, Executions: xs}}); err != nil {
		t.Fatal(err)
	}
	flows, last, err = db.FlowsExecutedSince(ctx, acct, 0)
	if err != nil || !slices.Equal(flows, []string{"77"}) || last == 0 {
		t.Fatalf("flows executed = %v %d %v", flows, last, err)
	}
	if again, next, err := db.FlowsExecutedSince(ctx, acct, last); err != nil || len(again) != 0 || next != last {
		t.Errorf("flows executed after the cursor = %v %d %v", again, next, err)
	}
	if other, _, err := db.FlowsExecutedSince(ctx, acct+1, 0); err != nil || len(other) != 0 {
		t.Errorf("another account's flows = %v %v", other, err)
	}
	// The last four outcomes: ERROR, SUCCESS, ERROR (newest), skipping the
	// delay, then SUCCESS.
	if failed, total, err := db.RecentFailures(ctx, acct, "77", 4); err != nil || failed != 2 || total != 4 {
		t.Errorf("recent failures = %d of %d, %v; want 2 of 4", failed, total, err)
	}
	if failed, total, err := db.RecentFailures(ctx, acct, "77", 10); err != nil || failed != 3 || total != 5 {
		t.Errorf("all failures = %d of %d, %v; want 3 of 5", failed, total, err)
	}
}
