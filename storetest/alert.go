package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/spokehq/spoke"
)

func init() {
	register(test{"AlertStore", testAlertStore}, test{"AlertCheckClaims", testAlertCheckClaims})
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

// An account's alert check is taken by one caller at a time: a second
// claim fails while the first's lease is live, the saved state is what the
// next claim gets, a save under a lease that was taken over stores nothing,
// and every spaces the checks out.
func testAlertCheckClaims(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	lease := func(token int64, at time.Time) spoke.Lease {
		return spoke.Lease{Token: token, Until: at.Add(time.Minute)}
	}
	first, ok, err := db.ClaimAlertCheck(ctx, acct, lease(1, now), now, 0)
	if err != nil || !ok || first.LastExecution != 0 || len(first.Failing) != 0 {
		t.Fatalf("first claim = %+v %v %v", first, ok, err)
	}
	if _, ok, err := db.ClaimAlertCheck(ctx, acct, lease(2, now), now.Add(time.Second), 0); err != nil || ok {
		t.Fatalf("a claim while the first's lease is live = %v %v", ok, err)
	}
	if _, ok, err := db.ClaimAlertCheck(ctx, acct+1, lease(3, now), now, 0); err != nil || !ok {
		t.Fatalf("another account's claim = %v %v", ok, err)
	}
	saved := &spoke.AlertCheck{LastExecution: 41, Failing: []string{"7", "9"}}
	if ok, err := db.SaveAlertCheck(ctx, acct, lease(1, now), saved, now.Add(2*time.Second)); err != nil || !ok {
		t.Fatalf("save = %v %v", ok, err)
	}
	if ok, err := db.SaveAlertCheck(ctx, acct, lease(1, now), saved, now.Add(2*time.Second)); err != nil || ok {
		t.Fatalf("a second save under an ended lease = %v %v", ok, err)
	}
	// Checked at +2 s: with every = 10 s, not again before +12 s.
	if _, ok, _ := db.ClaimAlertCheck(ctx, acct, lease(4, now), now.Add(5*time.Second), 10*time.Second); ok {
		t.Fatal("claimed again within every")
	}
	at := now.Add(12 * time.Second)
	got, ok, err := db.ClaimAlertCheck(ctx, acct, lease(5, at), at, 10*time.Second)
	if err != nil || !ok || got.LastExecution != 41 || !slices.Equal(got.Failing, []string{"7", "9"}) {
		t.Fatalf("claim after the save = %+v %v %v", got, ok, err)
	}
	// The holder dies: once its lease ends another takes over, and the
	// dead holder's late save is refused.
	later := at.Add(2 * time.Minute)
	if _, ok, err := db.ClaimAlertCheck(ctx, acct, lease(6, later), later, 0); err != nil || !ok {
		t.Fatalf("claim after the lease ended = %v %v", ok, err)
	}
	if ok, err := db.SaveAlertCheck(ctx, acct, lease(5, at), &spoke.AlertCheck{LastExecution: 99}, later); err != nil || ok {
		t.Fatalf("the dead holder's save = %v %v", ok, err)
	}
	if ok, err := db.SaveAlertCheck(ctx, acct, lease(6, later), &spoke.AlertCheck{LastExecution: 50}, later); err != nil || !ok {
		t.Fatalf("the new holder's save = %v %v", ok, err)
	}
	next := later.Add(time.Minute)
	if got, ok, err := db.ClaimAlertCheck(ctx, acct, lease(7, next), next, 0); err != nil || !ok || got.LastExecution != 50 || len(got.Failing) != 0 {
		t.Fatalf("claim after the takeover = %+v %v %v", got, ok, err)
	}
}
