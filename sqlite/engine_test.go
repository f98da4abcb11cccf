package sqlite

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/spokehq/spoke"
)

// claimOne enrolls rec in a flow and claims its enrollment.
func claimOne(t *testing.T, db *DB, acct int64, rec *spoke.Record) *spoke.Enrollment {
	t.Helper()
	ctx := context.Background()
	f := &spoke.Flow{ID: "77", RevisionID: "1"}
	if _, err := db.Enroll(ctx, acct, f, "contacts", []int64{rec.ID}, false); err != nil {
		t.Fatalf("Enroll: %v", err)
	}
	got, err := db.Claim(ctx, db.Now().Add(time.Hour), 10, time.Minute)
	if err != nil || len(got) != 1 {
		t.Fatalf("Claim = %v, %v", got, err)
	}
	return got[0]
}

// TestCommitOverCopy checks the commit of a step that carries the record
// as its round read it: an unchanged record is written over that copy, and
// one changed or archived since is read again, so no write is lost.
func TestCommitOverCopy(t *testing.T) {
	t.Parallel()
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
			db, acct := setup(t)
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
			if err := db.Commit(ctx, []*spoke.Step{st}); err != nil {
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
