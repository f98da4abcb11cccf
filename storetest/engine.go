package storetest

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/spokehq/spoke"
)

func init() {
	register(
		test{"CommitOverCopy", testCommitOverCopy},
		test{"CommitStepsOfOneRecord", testCommitStepsOfOneRecord},
		test{"LeaseOwnership", testLeaseOwnership},
		test{"ClaimLimit", testClaimLimit},
	)
}

// testLease is the lease claimOne claims with.
var testLease = spoke.Lease{Token: 1, Until: time.Now().Add(24 * time.Hour)}

// claimOne enrolls rec in a flow and claims its enrollment.
func claimOne(t *testing.T, db *DB, acct int64, rec *spoke.Record) *spoke.Enrollment {
	t.Helper()
	ctx := context.Background()
	f := &spoke.Flow{ID: "77", RevisionID: "1"}
	if _, err := db.Enroll(ctx, acct, f, "contacts", []int64{rec.ID}, false); err != nil {
		t.Fatalf("Enroll: %v", err)
	}
	got, err := db.Claim(ctx, db.Now().Add(time.Hour), 10, testLease)
	if err != nil || len(got) != 1 {
		t.Fatalf("Claim = %v, %v", got, err)
	}
	return got[0]
}

// TestCommitOverCopy checks the commit of a step that carries the record
// as its round read it: an unchanged record is written over that copy, and
// one changed or archived since is read again, so no write is lost.
func testCommitOverCopy(t *testing.T, open Opener) {
	ctx := context.Background()
	tests := []struct {
		name      string
		meanwhile func(db *DB, acct int64, id string) // a write between the round's read and the commit
		want      map[string]string
		failed    bool
	}{
		{name: "unchanged", want: props("firstname", "Ada", "lastname", "Lovelace", "jobtitle", "CTO")},
		{name: "changed meanwhile", meanwhile: func(db *DB, acct int64, id string) {
			mustWrite(t, db, acct, "contacts", spoke.WriteUpdate, spoke.RecordInput{ID: id, Properties: props("lastname", "Byron")})
		}, want: props("firstname", "Ada", "lastname", "Byron", "jobtitle", "CTO")},
		{name: "archived meanwhile", meanwhile: func(db *DB, acct int64, id string) {
			if err := db.ArchiveRecords(ctx, acct, "contacts", []string{id}); err != nil {
				t.Fatal(err)
			}
		}, failed: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db, acct := setup(t, open)
			rec := create(t, db, acct, "contacts", props("firstname", "Ada", "lastname", "Lovelace"))
			id := strconv.FormatInt(rec.ID, 10)
			en := claimOne(t, db, acct, rec)
			copyRead := get(t, db, acct, "contacts", id, spoke.ReadOptions{})
			if tc.meanwhile != nil {
				tc.meanwhile(db, acct, id)
			}
			en.Status, en.CompletedAt = spoke.EnrollmentCompleted, db.Now()
			st := &spoke.Step{Enrollment: en, Record: copyRead, Writes: props("jobtitle", "CTO"),
				Executions: []*spoke.Execution{{ActionID: "1", ActionType: "0-5", Status: "SUCCESS", StartedAt: db.Now()}}}
			if _, err := db.Commit(ctx, testLease, []*spoke.Step{st}); err != nil {
				t.Fatalf("Commit: %v", err)
			}
			stored, err := db.GetEnrollment(ctx, en.ID)
			if err != nil {
				t.Fatal(err)
			}
			if tc.failed {
				if stored.Status != spoke.EnrollmentFailed || stored.Error == nil || stored.Error.Type != "WRITE_FAILED" {
					t.Fatalf("enrollment = %s %+v, want FAILED with WRITE_FAILED", stored.Status, stored.Error)
				}
				return
			}
			if stored.Status != spoke.EnrollmentCompleted {
				t.Fatalf("enrollment status = %s", stored.Status)
			}
			got := get(t, db, acct, "contacts", id, spoke.ReadOptions{})
			for k, v := range tc.want {
				if got.Properties[k] != v {
					t.Errorf("%s = %q, want %q (all: %v)", k, got.Properties[k], v, got.Properties)
				}
			}
			if got.Version <= copyRead.Version {
				t.Errorf("version = %d, not past the copy's %d", got.Version, copyRead.Version)
			}
			hist, err := db.History(ctx, rec.ID)
			if err != nil {
				t.Fatal(err)
			}
			var jobs int
			for _, h := range hist {
				if h.Name == "jobtitle" {
					jobs++
					if h.SourceType != spoke.SourceAutomation || h.SourceID != "77" {
						t.Errorf("jobtitle history source = %s %s", h.SourceType, h.SourceID)
					}
				}
			}
			if jobs != 1 {
				t.Errorf("%d jobtitle history entries, want 1", jobs)
			}
		})
	}
}

// TestCommitStepsOfOneRecord checks a commit holding two steps that write
// one record (its enrollments in two flows), each over the same copy read
// by the round: both writes land, each with its history entry.
func testCommitStepsOfOneRecord(t *testing.T, open Opener) {
	ctx := context.Background()
	db, acct := setup(t, open)
	rec := create(t, db, acct, "contacts", props("firstname", "Ada"))
	id := strconv.FormatInt(rec.ID, 10)
	for _, f := range []*spoke.Flow{{ID: "77", RevisionID: "1"}, {ID: "78", RevisionID: "1"}} {
		if _, err := db.Enroll(ctx, acct, f, "contacts", []int64{rec.ID}, false); err != nil {
			t.Fatalf("Enroll: %v", err)
		}
	}
	ens, err := db.Claim(ctx, db.Now().Add(time.Hour), 10, testLease)
	if err != nil || len(ens) != 2 {
		t.Fatalf("Claim = %v, %v", ens, err)
	}
	copyRead := get(t, db, acct, "contacts", id, spoke.ReadOptions{})
	var steps []*spoke.Step
	for i, en := range ens {
		en.Status, en.CompletedAt = spoke.EnrollmentCompleted, db.Now()
		steps = append(steps, &spoke.Step{Enrollment: en, Record: copyRead, Writes: props([]string{"jobtitle", "lastname"}[i], "v"+en.FlowID),
			Executions: []*spoke.Execution{{ActionID: "1", ActionType: "0-5", Status: "SUCCESS", StartedAt: db.Now()}}})
	}
	if _, err := db.Commit(ctx, testLease, steps); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	got := get(t, db, acct, "contacts", id, spoke.ReadOptions{})
	if got.Properties["jobtitle"] != "v"+ens[0].FlowID || got.Properties["lastname"] != "v"+ens[1].FlowID || got.Properties["firstname"] != "Ada" {
		t.Errorf("properties = %v", got.Properties)
	}
	if got.Version != copyRead.Version+2 {
		t.Errorf("version = %d, want %d", got.Version, copyRead.Version+2)
	}
	hist, err := db.History(ctx, rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	written := map[string]string{}
	for _, h := range hist {
		if h.SourceType == spoke.SourceAutomation {
			written[h.Name] = h.SourceID
		}
	}
	if written["jobtitle"] != ens[0].FlowID || written["lastname"] != ens[1].FlowID || len(written) != 2 {
		t.Errorf("flow writes in history = %v", written)
	}
	for _, en := range ens {
		if stored, err := db.GetEnrollment(ctx, en.ID); err != nil || stored.Status != spoke.EnrollmentCompleted {
			t.Errorf("enrollment %d = %+v, %v", en.ID, stored, err)
		}
	}
}

// TestLeaseOwnership checks that a lease is owned by its token: renewing
// or releasing with another token does nothing, and a commit writes only
// the enrollments that still carry its token and reports the others.
func testLeaseOwnership(t *testing.T, open Opener) {
	ctx := context.Background()
	db, acct := setup(t, open)
	rec := create(t, db, acct, "contacts", props("firstname", "Ada"))
	f := &spoke.Flow{ID: "77", RevisionID: "1"}
	if _, err := db.Enroll(ctx, acct, f, "contacts", []int64{rec.ID}, false); err != nil {
		t.Fatal(err)
	}
	now := db.Now()
	first := spoke.Lease{Token: 11, Until: now.Add(time.Minute)}
	claim := func(at time.Time, lease spoke.Lease) []*spoke.Enrollment {
		t.Helper()
		got, err := db.Claim(ctx, at, 10, lease)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	ens := claim(now, first)
	if len(ens) != 1 {
		t.Fatalf("claimed %d", len(ens))
	}
	ids := []int64{ens[0].ID}
	if got := claim(now.Add(30*time.Second), spoke.Lease{Token: 12, Until: now.Add(2 * time.Minute)}); len(got) != 0 {
		t.Fatal("a held lease was claimed")
	}
	// Another token can neither renew nor release it; its own can renew.
	if err := db.RenewLease(ctx, spoke.Lease{Token: 99, Until: now.Add(time.Hour)}, ids); err != nil {
		t.Fatal(err)
	}
	if err := db.ReleaseLease(ctx, spoke.Lease{Token: 99}, ids); err != nil {
		t.Fatal(err)
	}
	if got := claim(now.Add(30*time.Second), spoke.Lease{Token: 12, Until: now.Add(2 * time.Minute)}); len(got) != 0 {
		t.Fatal("another token released or renewed the lease")
	}
	first.Until = now.Add(3 * time.Minute)
	if err := db.RenewLease(ctx, first, ids); err != nil {
		t.Fatal(err)
	}
	if got := claim(now.Add(2*time.Minute), spoke.Lease{Token: 12, Until: now.Add(4 * time.Minute)}); len(got) != 0 {
		t.Fatal("a renewed lease was claimed")
	}
	// The lease ends; a second runner claims the enrollment.
	second := spoke.Lease{Token: 13, Until: now.Add(5 * time.Minute)}
	again := claim(now.Add(4*time.Minute), second)
	if len(again) != 1 {
		t.Fatalf("claimed %d after the lease ended", len(again))
	}
	step := func(en *spoke.Enrollment, who string) *spoke.Step {
		en.Status, en.CompletedAt = spoke.EnrollmentCompleted, db.Now()
		return &spoke.Step{Enrollment: en, Writes: props("jobtitle", who), CodeExecutions: 1,
			Executions: []*spoke.Execution{{ActionID: "1", ActionType: "CUSTOM_CODE", Status: "SUCCESS", StartedAt: db.Now()}}}
	}
	lost, err := db.Commit(ctx, first, []*spoke.Step{step(ens[0], "first")})
	if err != nil || len(lost) != 1 || lost[0] != ens[0].ID {
		t.Fatalf("Commit with the lost lease = %v, %v; want the enrollment reported lost", lost, err)
	}
	if got := get(t, db, acct, "contacts", strconv.FormatInt(rec.ID, 10), spoke.ReadOptions{}).Properties["jobtitle"]; got != "" {
		t.Fatalf("the lost step's write was made: jobtitle %q", got)
	}
	if lost, err := db.Commit(ctx, second, []*spoke.Step{step(again[0], "second")}); err != nil || len(lost) != 0 {
		t.Fatalf("Commit with the held lease = %v, %v", lost, err)
	}
	if got := get(t, db, acct, "contacts", strconv.FormatInt(rec.ID, 10), spoke.ReadOptions{}).Properties["jobtitle"]; got != "second" {
		t.Fatalf("jobtitle = %q, want the holder's write", got)
	}
	xs, _, err := db.ListExecutions(ctx, acct, "77", spoke.ExecutionQuery{Limit: 10})
	if err != nil || len(xs) != 1 {
		t.Fatalf("executions = %d, %v; want 1", len(xs), err)
	}
	if u, _ := db.Usage(ctx, acct, spoke.Period(db.Now())); u.Executions != 1 {
		t.Fatalf("usage = %d, want 1", u.Executions)
	}
}

// testClaimLimit checks that concurrent claims never return more than
// their limit and never hand one enrollment to two claimants.
func testClaimLimit(t *testing.T, open Opener) {
	ctx := context.Background()
	db, acct := setup(t, open)
	const n, limit, claimants = 60, 7, 4
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = create(t, db, acct, "contacts", props("firstname", "c"+strconv.Itoa(i))).ID
	}
	if _, err := db.Enroll(ctx, acct, &spoke.Flow{ID: "78", RevisionID: "1"}, "contacts", ids, false); err != nil {
		t.Fatal(err)
	}
	at := db.Now().Add(time.Hour)
	var (
		mu   sync.Mutex
		seen = map[int64]int64{}
		wg   sync.WaitGroup
	)
	for c := range claimants {
		wg.Add(1)
		go func(token int64) {
			defer wg.Done()
			lease := spoke.Lease{Token: token, Until: at.Add(time.Hour)}
			for {
				got, err := db.Claim(ctx, at, limit, lease)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) > limit {
					t.Errorf("claimed %d enrollments with a limit of %d", len(got), limit)
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, en := range got {
					if other, ok := seen[en.ID]; ok {
						t.Errorf("enrollment %d claimed by leases %d and %d", en.ID, other, token)
					}
					seen[en.ID] = token
				}
				mu.Unlock()
			}
		}(int64(100 + c))
	}
	wg.Wait()
	if len(seen) != n {
		t.Errorf("claimed %d enrollments, want %d", len(seen), n)
	}
}
