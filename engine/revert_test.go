package engine

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/spokehq/spoke"
)

// revertSetup runs scoreFlow on a high and a low contact (the flow writes
// score on both and lifecyclestage on the high one), then has a person
// change the low one's score.
func revertSetup(t *testing.T) (b *bundle, high, low int64, since time.Time) {
	t.Helper()
	b = setup(t)
	b.eng.Reverts = b.db
	b.flows.put(parseFlow(t, "7", scoreFlow))
	high = b.contact(t, map[string]string{"n": "8", "lifecyclestage": "lead"})
	low = b.contact(t, map[string]string{"n": "3"})
	since = b.clock.Now()
	b.clock.Add(time.Second)
	b.drain(t)
	b.clock.Add(time.Second)
	if _, err := b.db.WriteRecords(context.Background(), b.account, "contacts", spoke.WriteUpdate,
		[]spoke.RecordInput{{ID: strconv.FormatInt(low, 10), Properties: map[string]string{"score": "99"}}}, spoke.WriteSource{Type: spoke.SourceCRMUI, ID: "7"}); err != nil {
		t.Fatal(err)
	}
	b.clock.Add(time.Second)
	return b, high, low, since
}

func TestRevertDryRunAndRun(t *testing.T) {
	t.Parallel()
	b, high, low, since := revertSetup(t)
	ctx := context.Background()
	req := spoke.RevertRequest{Since: since, DryRun: true}
	dry, err := b.eng.Revert(ctx, b.account, "7", req)
	if err != nil {
		t.Fatal(err)
	}
	if dry.Total != 2 || dry.Records != 1 || dry.Reverted != 2 || dry.Conflicts != 1 {
		t.Fatalf("dry run: total %d records %d reverted %d conflicts %d: %+v", dry.Total, dry.Records, dry.Reverted, dry.Conflicts, dry.Sample)
	}
	c := dry.Sample.Conflicts[0]
	if c.ObjectID != low || c.Property != "score" || c.FlowValue != "6" || c.Current != "99" || c.ChangedBy != "CRM_UI:7" {
		t.Errorf("conflict %+v", c)
	}
	if got := b.record(t, high).Properties; got["score"] != "16" || got["lifecyclestage"] != "customer" {
		t.Fatalf("a dry run wrote: %v", got)
	}

	req.DryRun = false
	job, err := b.eng.Revert(ctx, b.account, "7", req)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.eng.RunReverts(ctx); err != nil {
		t.Fatal(err)
	}
	job, err = b.eng.RevertJob(ctx, b.account, "7", job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if job.Status != spoke.RevertComplete || job.Reverted != 2 || job.Conflicts != 1 || job.Processed != 2 {
		t.Fatalf("job %+v", job)
	}
	if got := b.record(t, high).Properties; got["score"] != "" || got["lifecyclestage"] != "lead" {
		t.Errorf("high after the revert: %v", got)
	}
	if got := b.record(t, low).Properties; got["score"] != "99" {
		t.Errorf("the conflict was overwritten: %v", got)
	}
	// The revert is in history under its own source id, and did not
	// enroll the records in the flow again.
	hist, err := b.db.History(ctx, high)
	if err != nil {
		t.Fatal(err)
	}
	last := hist[len(hist)-1]
	if last.SourceType != spoke.SourceAutomation || last.SourceID != spoke.RevertSourceID(job.ID, "7") {
		t.Errorf("history %+v", last)
	}
	b.drain(t)
	if n := len(b.enrollments(t, "7")); n != 2 {
		t.Errorf("enrollments after the revert: %d, want 2", n)
	}
	// A revert can be reverted.
	again, err := b.eng.Revert(ctx, b.account, "7", spoke.RevertRequest{Since: since, RevertID: job.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.eng.RunReverts(ctx); err != nil {
		t.Fatal(err)
	}
	if got := b.record(t, high).Properties; got["score"] != "16" || got["lifecyclestage"] != "customer" {
		t.Errorf("after reverting the revert %d: %v", again.ID, got)
	}
}

// A revert that stops after some chunks resumes from its cursor: the
// records it already put back are not seen as changed by someone else.
func TestRevertResumesAfterRestart(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.eng.Reverts = b.db
	b.eng.RevertChunk = 2
	b.flows.put(parseFlow(t, "7", scoreFlow))
	since := b.clock.Now()
	var ids []int64
	for i := 1; i <= 5; i++ {
		ids = append(ids, b.contact(t, map[string]string{"n": strconv.Itoa(i)}))
	}
	b.drain(t)
	ctx := context.Background()
	stored, err := b.eng.Revert(ctx, b.account, "7", spoke.RevertRequest{Since: since})
	if err != nil {
		t.Fatal(err)
	}
	// The first process claims the job, commits one chunk, then dies.
	job, err := b.db.ClaimRevertJob(ctx, spoke.Lease{Token: 1, Until: b.clock.Now().Add(DefaultLease)}, b.clock.Now())
	if err != nil || job == nil || job.ID != stored.ID {
		t.Fatalf("claim = %+v, %v; want the job stored, %d", job, err, stored.ID)
	}
	targets, err := b.db.RevertTargets(ctx, job)
	if err != nil || len(targets) != 5 {
		t.Fatalf("targets %v %v", targets, err)
	}
	if err := b.db.SetRevertTotal(ctx, job, int64(len(targets))); err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.RevertRecords(ctx, job, targets[:2], true); err != nil {
		t.Fatal(err)
	}
	// No other engine takes the job while its lease lasts; the next one
	// resumes it once the lease ended.
	next := New(Config{Store: b.db, Flows: b.flows, Records: b.db, Properties: b.db, Secrets: b.db, Code: b.code, Now: b.clock.Now, Reverts: b.db, RevertChunk: 2})
	if err := next.RunReverts(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := next.RevertJob(ctx, b.account, "7", job.ID); got.Status != spoke.RevertRunning || got.Processed != 2 {
		t.Fatalf("job taken over while its lease lasted: %+v", got)
	}
	b.clock.Add(DefaultLease + time.Second)
	if err := next.RunReverts(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := next.RevertJob(ctx, b.account, "7", job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != spoke.RevertComplete || got.Conflicts != 0 || got.Processed != 5 || got.Reverted < 5 {
		t.Fatalf("resumed job %+v", got)
	}
	for _, id := range ids {
		if p := b.record(t, id).Properties; p["score"] != "" {
			t.Errorf("record %d score %q after the revert", id, p["score"])
		}
	}
}

func TestPreflightEnroll(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.flows.put(parseFlow(t, "7", scoreFlow))
	var ids []int64
	for i := 0; i < 4; i++ {
		ids = append(ids, b.contact(t, map[string]string{"email": strconv.Itoa(i) + "@example.com"}))
	}
	if err := b.db.SetCodeLimit(context.Background(), b.account, 3); err != nil {
		t.Fatal(err)
	}
	p, err := b.eng.PreflightEnroll(context.Background(), b.account, "7", append(ids, ids[0], 999999), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Result.Enrolled) != 4 || len(p.Result.Skipped) != 1 || p.CodeExecutionsPerRecord != 1 || p.CodeExecutions != 4 ||
		p.Remaining != 3 || !p.Exceeds || p.RunsOutAfter != 3 || !p.ResetsAt.Equal(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("preflight %+v result %+v", p, p.Result)
	}
	if n := len(b.enrollments(t, "7")); n != 0 {
		t.Fatalf("a preflight enrolled %d records", n)
	}
	// allMatching: none of them has n > 0.
	p, err = b.eng.PreflightEnroll(context.Background(), b.account, "7", nil, true)
	if err != nil || len(p.Result.Enrolled) != 0 || p.Exceeds {
		t.Fatalf("allMatching preflight %+v %v", p, err)
	}
}
