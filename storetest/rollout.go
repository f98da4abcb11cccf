package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spokehq/spoke"
)

func init() {
	register(
		test{"RolloutStages", testRolloutStages},
		test{"RolloutSavesAndAbort", testRolloutSavesAndAbort},
		test{"RolloutConcurrentControllers", testRolloutConcurrentControllers},
	)
}

// stagedBody is flowBody (a contact flow) with a rollout.
func stagedBody(name, rollout string, enabled bool) string {
	body := flowBody(name, "0-1", enabled)
	return strings.Replace(body, `"flowType":"WORKFLOW",`, `"flowType":"WORKFLOW","rollout":`+rollout+`,`, 1)
}

// stagedFlow creates an enabled contact flow with a rollout.
func stagedFlow(t *testing.T, db *DB, acct int64, rollout string) *spoke.Flow {
	t.Helper()
	f, err := db.CreateFlow(context.Background(), acct, parseFlow(t, stagedBody("staged", rollout, true)))
	if err != nil {
		t.Fatalf("CreateFlow: %v", err)
	}
	if f.Rollout == nil {
		t.Fatalf("flow has no rollout: %s", f.Raw)
	}
	return f
}

// contacts creates n contacts and returns their ids.
func contacts(t *testing.T, db *DB, acct int64, prefix string, n int) []int64 {
	t.Helper()
	var in []spoke.RecordInput
	for i := 0; i < n; i++ {
		in = append(in, spoke.RecordInput{Properties: props("email", fmt.Sprintf("%s%d@example.com", prefix, i))})
	}
	var ids []int64
	for _, r := range mustWrite(t, db, acct, "contacts", spoke.WriteCreate, in...) {
		ids = append(ids, r.Record.ID)
	}
	return ids
}

// enrollmentsOf returns a flow's enrollments in id order.
func enrollmentsOf(t *testing.T, db *DB, acct int64, flowID string) []*spoke.Enrollment {
	t.Helper()
	ens, _, err := db.ListEnrollments(context.Background(), acct, flowID, 0, 1000)
	if err != nil {
		t.Fatalf("ListEnrollments: %v", err)
	}
	return ens
}

// byStatus counts a flow's enrollments by status.
func byStatus(t *testing.T, db *DB, acct int64, flowID string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, e := range enrollmentsOf(t, db, acct, flowID) {
		out[e.Status]++
	}
	return out
}

func currentRollout(t *testing.T, db *DB, acct int64, flowID string) *spoke.Rollout {
	t.Helper()
	r, err := db.CurrentRollout(context.Background(), acct, flowID)
	if err != nil {
		t.Fatalf("CurrentRollout: %v", err)
	}
	return r
}

func stageCounts(t *testing.T, db *DB, r *spoke.Rollout) spoke.StageCounts {
	t.Helper()
	c, err := db.StageCounts(context.Background(), r)
	if err != nil {
		t.Fatalf("StageCounts: %v", err)
	}
	return c
}

// testRolloutStages walks a rollout through its stages with the store's
// calls as the engine's controller makes them: a staged flow's
// enrollments (bulk and by trigger) are HELD and never claimed; a stage
// releases its size, oldest first, and no more; counts and failures are
// the stage's; a stale reading moves nothing; completing the rollout
// releases the rest and later enrollments run at once.
func testRolloutStages(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	f := stagedFlow(t, db, acct, `{"stages": [2, 3], "maxFailureRate": 0.5, "approval": "auto"}`)
	r := currentRollout(t, db, acct, f.ID)
	if r.State != spoke.RolloutRunning || r.Stage != 0 || r.RevisionID != "1" || r.FlowID != f.ID || r.AccountID != acct ||
		len(r.Config.Stages) != 2 || r.Config.MaxFailureRate != 0.5 || r.StartedAt.IsZero() || !r.StageStartedAt.Equal(r.StartedAt) {
		t.Fatalf("new rollout: %+v", r)
	}
	if active, err := db.ActiveRollouts(ctx); err != nil || len(active) != 1 || active[0].ID != r.ID {
		t.Fatalf("ActiveRollouts = %v, %v", active, err)
	}
	if _, err := db.CurrentRollout(ctx, acct, "999"); code(err) != spoke.ENOTFOUND {
		t.Errorf("CurrentRollout of a flow without one: %v, want ENOTFOUND", err)
	}

	ids := contacts(t, db, acct, "held", 6)
	res, err := db.Enroll(ctx, acct, f, "contacts", ids, false)
	if err != nil || len(res.Enrolled) != 6 {
		t.Fatalf("Enroll = %+v, %v", res, err)
	}
	// A record write's trigger enrolls HELD too, and a held record is in
	// the flow: enrolling it again is skipped.
	db.back.SetTrigger(func(ch spoke.RecordChange) []spoke.EnrollmentTrigger {
		if ch.ObjectType != "contacts" || ch.Before != nil || ch.Event != nil || ch.List != nil {
			return nil
		}
		return []spoke.EnrollmentTrigger{{FlowID: f.ID, RevisionID: f.RevisionID, ReEnroll: true, Staged: true}}
	})
	byTrigger := create(t, db, acct, "contacts", props("email", "trigger@example.com"))
	db.back.SetTrigger(nil)
	if res, err := db.Enroll(ctx, acct, f, "contacts", []int64{ids[0]}, true); err != nil || len(res.Skipped) != 1 {
		t.Errorf("re-enrolling a held record: %+v, %v", res, err)
	}
	if got := byStatus(t, db, acct, f.ID); got[spoke.EnrollmentHeld] != 7 || len(got) != 1 {
		t.Fatalf("before the first stage: %v, want 7 HELD", got)
	}
	if got, err := db.Claim(ctx, db.Now().Add(time.Hour), 100, testLease); err != nil || len(got) != 0 {
		t.Fatalf("Claim took held enrollments: %v, %v", got, err)
	}
	if c := stageCounts(t, db, r); c != (spoke.StageCounts{Held: 7}) {
		t.Fatalf("counts before release: %+v", c)
	}

	// Stage 1 holds 2: asking for 5 releases 2, the oldest, and then
	// none.
	stale := *r
	if n, err := db.ReleaseHeld(ctx, r, 5, db.Now()); err != nil || n != 2 {
		t.Fatalf("ReleaseHeld(5) into a stage of 2 = %d, %v", n, err)
	}
	if n, err := db.ReleaseHeld(ctx, r, 5, db.Now()); err != nil || n != 0 {
		t.Fatalf("ReleaseHeld into a full stage = %d, %v", n, err)
	}
	ens := enrollmentsOf(t, db, acct, f.ID)
	for i, e := range ens {
		want := spoke.EnrollmentHeld
		if i < 2 {
			want = spoke.EnrollmentActive
		}
		if e.Status != want {
			t.Fatalf("enrollment %d (%d) is %s, want %s", i, e.ID, e.Status, want)
		}
	}
	if ens[6].ObjectID != byTrigger.ID {
		t.Errorf("the trigger's enrollment is not the newest: %+v", ens[6])
	}
	if c := stageCounts(t, db, r); c != (spoke.StageCounts{Total: 2, Running: 2, Held: 5}) {
		t.Fatalf("counts after release: %+v", c)
	}
	claimed, err := db.Claim(ctx, db.Now().Add(time.Hour), 100, testLease)
	if err != nil || len(claimed) != 2 {
		t.Fatalf("Claim = %v, %v", claimed, err)
	}
	// One completes, one fails with an error logged.
	var steps []*spoke.Step
	for i, e := range claimed {
		e.CompletedAt, e.Attempt = db.Now(), 1
		st := &spoke.Step{Enrollment: e, Executions: []*spoke.Execution{{ActionID: "1", ActionType: "CUSTOM_CODE", Attempt: 1, Status: "SUCCESS", StartedAt: db.Now()}}}
		e.Status = spoke.EnrollmentCompleted
		if i == 1 {
			e.Status, e.Error = spoke.EnrollmentFailed, &spoke.ActionError{Type: "CODE_ERROR", Message: "boom"}
			st.Executions[0].Status = "ERROR"
			st.Executions[0].Error = e.Error
		}
		steps = append(steps, st)
	}
	if _, err := db.Commit(ctx, testLease, steps); err != nil {
		t.Fatal(err)
	}
	if c := stageCounts(t, db, r); c != (spoke.StageCounts{Total: 2, Completed: 1, Failed: 1, Held: 5}) {
		t.Fatalf("counts after the stage ran: %+v", c)
	}
	fails, err := db.StageFailures(ctx, r, 10)
	if err != nil || len(fails) != 1 || fails[0].EnrollmentID != claimed[1].ID || fails[0].Status != "ERROR" {
		t.Fatalf("StageFailures = %+v, %v", fails, err)
	}

	// The next stage opens; the stale reading can neither move the
	// rollout again nor release into the stage it read.
	opened := db.Now()
	if err := db.SetRolloutState(ctx, r, spoke.RolloutRunning, 1, spoke.RolloutRunning, opened); err != nil {
		t.Fatal(err)
	}
	if r.Stage != 1 || !r.StageStartedAt.Equal(opened) {
		t.Errorf("rollout after the move: %+v", r)
	}
	if err := db.SetRolloutState(ctx, &stale, spoke.RolloutRunning, 1, spoke.RolloutRunning, db.Now()); code(err) != spoke.ECONFLICT {
		t.Errorf("a second move from the same reading: %v, want ECONFLICT", err)
	}
	if n, err := db.ReleaseHeld(ctx, &stale, 5, db.Now()); err != nil || n != 0 {
		t.Errorf("ReleaseHeld from a stale reading = %d, %v; want 0", n, err)
	}
	if got := currentRollout(t, db, acct, f.ID); got.Stage != 1 || got.State != spoke.RolloutRunning || got.StageStartedAt.UnixMilli() != opened.UnixMilli() {
		t.Errorf("stored rollout: %+v", got)
	}
	if c := stageCounts(t, db, r); c != (spoke.StageCounts{Held: 5}) {
		t.Errorf("the new stage's counts: %+v", c)
	}
	if fails, err := db.StageFailures(ctx, r, 10); err != nil || len(fails) != 0 {
		t.Errorf("the new stage's failures: %v, %v", fails, err)
	}
	if n, err := db.ReleaseHeld(ctx, r, 3, db.Now()); err != nil || n != 3 {
		t.Fatalf("ReleaseHeld(3) = %d, %v", n, err)
	}
	// Halted, it releases nothing.
	if err := db.SetRolloutState(ctx, r, spoke.RolloutRunning, 1, spoke.RolloutHalted, db.Now()); err != nil {
		t.Fatal(err)
	}
	if n, err := db.ReleaseHeld(ctx, r, 3, db.Now()); err != nil || n != 0 {
		t.Errorf("ReleaseHeld while halted = %d, %v", n, err)
	}
	// Past the last stage: the rest is released on the rollout's
	// revision and the rollout holds nothing.
	if err := db.SetRolloutState(ctx, r, spoke.RolloutHalted, 2, spoke.RolloutComplete, db.Now()); err != nil {
		t.Fatal(err)
	}
	if got := byStatus(t, db, acct, f.ID); got[spoke.EnrollmentHeld] != 0 || got[spoke.EnrollmentActive] != 5 {
		t.Fatalf("after completion: %v", got)
	}
	if active, err := db.ActiveRollouts(ctx); err != nil || len(active) != 0 {
		t.Errorf("ActiveRollouts after completion = %v, %v", active, err)
	}
	more := contacts(t, db, acct, "after", 1)
	if _, err := db.Enroll(ctx, acct, f, "contacts", more, false); err != nil {
		t.Fatal(err)
	}
	ens = enrollmentsOf(t, db, acct, f.ID)
	if last := ens[len(ens)-1]; last.ObjectID != more[0] || last.Status != spoke.EnrollmentActive {
		t.Errorf("an enrollment after completion: %+v", last)
	}
}

// testRolloutSavesAndAbort checks how saving a staged flow starts, keeps
// and ends rollouts, and that aborting cancels what is held.
func testRolloutSavesAndAbort(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	const rollout = `{"stages": [1], "maxFailureRate": 0}`
	f := stagedFlow(t, db, acct, rollout)
	ids := contacts(t, db, acct, "c", 3)
	if _, err := db.Enroll(ctx, acct, f, "contacts", ids[:2], false); err != nil {
		t.Fatal(err)
	}
	first := currentRollout(t, db, acct, f.ID)

	// Saving it disabled keeps the rollout and what it holds.
	off, err := db.UpdateFlow(ctx, acct, withRevision(parseFlow(t, stagedBody("staged", rollout, false)), f.ID, "1"))
	if err != nil {
		t.Fatal(err)
	}
	if got := currentRollout(t, db, acct, f.ID); got.ID != first.ID || got.State != spoke.RolloutRunning {
		t.Fatalf("after saving disabled: %+v", got)
	}
	// Saving it enabled again starts a new rollout on the new revision;
	// the old one is replaced and holds nothing.
	on, err := db.UpdateFlow(ctx, acct, withRevision(parseFlow(t, stagedBody("staged", rollout, true)), f.ID, off.RevisionID))
	if err != nil {
		t.Fatal(err)
	}
	second := currentRollout(t, db, acct, f.ID)
	if second.ID == first.ID || second.RevisionID != on.RevisionID || second.State != spoke.RolloutRunning || second.Stage != 0 {
		t.Fatalf("after saving enabled: %+v (first %+v)", second, first)
	}
	if active, err := db.ActiveRollouts(ctx); err != nil || len(active) != 1 || active[0].ID != second.ID {
		t.Fatalf("ActiveRollouts = %v, %v", active, err)
	}
	if n, err := db.ReleaseHeld(ctx, first, 1, db.Now()); err != nil || n != 0 {
		t.Errorf("ReleaseHeld on the replaced rollout = %d, %v", n, err)
	}
	// The held enrollments run on the rollout's revision.
	if n, err := db.ReleaseHeld(ctx, second, 1, db.Now()); err != nil || n != 1 {
		t.Fatalf("ReleaseHeld = %d, %v", n, err)
	}
	if ens := enrollmentsOf(t, db, acct, f.ID); ens[0].Status != spoke.EnrollmentActive || ens[0].RevisionID != on.RevisionID || ens[1].Status != spoke.EnrollmentHeld {
		t.Fatalf("after release: %+v %+v", ens[0], ens[1])
	}

	// Saving it without a rollout ends the rollout and releases the rest
	// on the new revision.
	plain, err := db.UpdateFlow(ctx, acct, withRevision(parseFlow(t, flowBody("staged", "0-1", true)), f.ID, on.RevisionID))
	if err != nil {
		t.Fatal(err)
	}
	if got := currentRollout(t, db, acct, f.ID); spoke.RolloutHolds(got.State) {
		t.Errorf("rollout after saving without one: %+v", got)
	}
	if ens := enrollmentsOf(t, db, acct, f.ID); ens[1].Status != spoke.EnrollmentActive || ens[1].RevisionID != plain.RevisionID {
		t.Errorf("held enrollment after saving without a rollout: %+v", ens[1])
	}

	// Another staged flow, aborted: what it holds ends CANCELLED.
	g := stagedFlow(t, db, acct, rollout)
	if _, err := db.Enroll(ctx, acct, g, "contacts", ids, false); err != nil {
		t.Fatal(err)
	}
	r := currentRollout(t, db, acct, g.ID)
	stale := *r
	at := db.Now()
	if err := db.SetRolloutState(ctx, r, r.State, r.Stage, spoke.RolloutAborted, at); err != nil {
		t.Fatal(err)
	}
	for _, e := range enrollmentsOf(t, db, acct, g.ID) {
		if e.Status != spoke.EnrollmentCancelled || e.CompletedAt.UnixMilli() != at.UnixMilli() {
			t.Errorf("enrollment after abort: %+v", e)
		}
	}
	if err := db.SetRolloutState(ctx, &stale, stale.State, stale.Stage, spoke.RolloutAborted, db.Now()); code(err) != spoke.ECONFLICT {
		t.Errorf("aborting twice: %v, want ECONFLICT", err)
	}
	// An aborted rollout holds nothing: a new enrollment runs.
	if _, err := db.Enroll(ctx, acct, g, "contacts", contacts(t, db, acct, "late", 1), false); err != nil {
		t.Fatal(err)
	}
	if got := byStatus(t, db, acct, g.ID); got[spoke.EnrollmentActive] != 1 || got[spoke.EnrollmentCancelled] != 3 {
		t.Errorf("after abort: %v", got)
	}
}

func withRevision(f *spoke.Flow, id, rev string) *spoke.Flow {
	f.ID, f.RevisionID = id, rev
	return f
}

// testRolloutConcurrentControllers runs the controller's steps from many
// goroutines at once (as controllers in several processes do, each with
// its own reading of the rollout): the stage is filled to its size
// exactly once, and exactly one of them opens the next stage.
func testRolloutConcurrentControllers(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	f := stagedFlow(t, db, acct, `{"stages": [5, 7], "maxFailureRate": 1}`)
	ids := contacts(t, db, acct, "race", 30)
	if _, err := db.Enroll(ctx, acct, f, "contacts", ids, false); err != nil {
		t.Fatal(err)
	}
	base := currentRollout(t, db, acct, f.ID)
	for stage := 0; stage < 2; stage++ {
		var released, moved atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := 0; i < 8; i++ {
			r := *base
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				c, err := db.StageCounts(ctx, &r)
				if err != nil {
					t.Error(err)
					return
				}
				if size := r.StageSize(); c.Total < size && c.Held > 0 {
					n, err := db.ReleaseHeld(ctx, &r, min(size-c.Total, c.Held), db.Now())
					if err != nil {
						t.Error(err)
						return
					}
					released.Add(int64(n))
				}
				switch err := db.SetRolloutState(ctx, &r, spoke.RolloutRunning, r.Stage, spoke.RolloutAwaitingApproval, db.Now()); code(err) {
				case "":
					moved.Add(1)
				case spoke.ECONFLICT:
				default:
					t.Error(err)
				}
			}()
		}
		close(start)
		wg.Wait()
		size := base.Config.Stages[stage]
		if released.Load() != int64(size) || moved.Load() != 1 {
			t.Fatalf("stage %d: released %d (want %d), moved by %d controllers (want 1)", stage+1, released.Load(), size, moved.Load())
		}
		if c := stageCounts(t, db, base); c.Total != size {
			t.Fatalf("stage %d counts %+v", stage+1, c)
		}
		base = currentRollout(t, db, acct, f.ID)
		if err := db.SetRolloutState(ctx, base, spoke.RolloutAwaitingApproval, stage+1, spoke.RolloutRunning, db.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if got := byStatus(t, db, acct, f.ID); got[spoke.EnrollmentActive] != 12 || got[spoke.EnrollmentHeld] != 18 {
		t.Errorf("after two stages: %v", got)
	}
}
