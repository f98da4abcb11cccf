package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/engine"
	"github.com/spokehq/spoke/flow"
	"github.com/spokehq/spoke/sandbox"
)

// These tests run two engines, each on a store of its own opened on one
// database, as two worker processes do, and check that what must hold
// across processes holds: the custom code quota, actions' rate limits.

// countingCode stands in for the sandbox: it counts invocations and
// takes a little while, so several are in flight in both engines at once.
type countingCode struct{ calls atomic.Int64 }

func (c *countingCode) Invoke(ctx context.Context, inv sandbox.Invocation) (sandbox.Result, error) {
	c.calls.Add(1)
	select {
	case <-time.After(20 * time.Millisecond):
	case <-ctx.Done():
		return sandbox.Result{}, ctx.Err()
	}
	return sandbox.Result{Status: sandbox.StatusSuccess, OutputFields: map[string]any{}}, nil
}

// sharedBundle is one database with two stores on it (two processes).
type sharedBundle struct {
	dbs     [2]*DB
	account int64
}

func setupShared(t *testing.T) *sharedBundle {
	t.Helper()
	url := databaseForTest(t)
	b := &sharedBundle{dbs: [2]*DB{openURL(t, url), openURL(t, url)}}
	var err error
	if b.account, _, err = b.dbs[0].DefaultAccount(context.Background()); err != nil {
		t.Fatal(err)
	}
	return b
}

// flowWith creates an enabled manual contact flow whose one action is act
// (JSON), and enrolls n new contacts in it.
func (b *sharedBundle) flowWith(t *testing.T, act string, n int) *spoke.Flow {
	t.Helper()
	ctx := context.Background()
	f, err := flow.Parse([]byte(`{"name":"shared","type":"CONTACT_FLOW","objectTypeId":"0-1","flowType":"WORKFLOW","isEnabled":true,"startActionId":"1","actions":[` + act + `]}`))
	if err != nil {
		t.Fatal(err)
	}
	db := b.dbs[0]
	if f, err = db.CreateFlow(ctx, b.account, f); err != nil {
		t.Fatal(err)
	}
	inputs := make([]spoke.RecordInput, n)
	for i := range inputs {
		inputs[i] = spoke.RecordInput{Properties: map[string]string{"email": fmt.Sprintf("c%d@example.com", i)}}
	}
	res, err := db.WriteRecords(ctx, b.account, "contacts", spoke.WriteCreate, inputs, spoke.WriteSource{Type: spoke.SourceImport, ID: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, len(res))
	for i, r := range res {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
		ids[i] = r.Record.ID
	}
	if _, err := db.Enroll(ctx, b.account, f, "contacts", ids, false); err != nil {
		t.Fatal(err)
	}
	return f
}

// run runs an engine on each store until done reports true (checked every
// 50 ms) or 30 s pass, then stops them and waits for them to return. A
// timeout is an error; the caller's checks then say what went wrong.
func (b *sharedBundle) run(t *testing.T, code engine.Invoker, now func() time.Time, done func() bool) {
	t.Helper()
	b.runWith(t, code, now, nil, done)
}

// runWith is run with engines whose configuration edit changes.
func (b *sharedBundle) runWith(t *testing.T, code engine.Invoker, now func() time.Time, edit func(db *DB, cfg *engine.Config), done func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{}, 2)
	for _, db := range b.dbs {
		cfg := engine.Config{Store: db, Flows: db, Records: db, Properties: db, Secrets: db, Code: code, Now: now,
			Runners: 2, BatchSize: 8, Poll: 10 * time.Millisecond, SharedStore: true}
		if edit != nil {
			edit(db, &cfg)
		}
		eng := engine.New(cfg)
		go func() {
			defer eng.WaitAlerts()
			eng.Run(ctx)
			stopped <- struct{}{}
		}()
	}
	deadline := time.Now().Add(30 * time.Second)
	for !done() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	<-stopped
	<-stopped
	if !done() {
		t.Error("the engines did not get there in 30 s")
	}
}

func (b *sharedBundle) count(t *testing.T, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := b.dbs[0].pool.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestQuotaAcrossEngines runs 60 enrollments of a custom code action in
// two engines against a monthly limit of 25: between them they run the
// code exactly 25 times (each engine kept its own count before, and both
// could run up to the limit), the rest wait on the quota, every unit
// reserved is given back when the engines stop, and a raised limit lets
// the rest run.
func TestQuotaAcrossEngines(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setupShared(t)
	const limit, total = 25, 60
	if err := b.dbs[0].SetCodeLimit(ctx, b.account, limit); err != nil {
		t.Fatal(err)
	}
	f := b.flowWith(t, `{"type":"CUSTOM_CODE","actionId":"1","runtime":"NODE20X","sourceCode":"exports.main=async()=>({outputFields:{}})","secretNames":[],"inputFields":[],"outputFields":[]}`, total)
	code := &countingCode{}
	waiting := func() int64 {
		return b.count(t, `SELECT count(*) FROM enrollments WHERE flow_id = $1 AND status = 'ACTIVE' AND wait_reason = $2`, f.ID, spoke.WaitQuota)
	}
	b.run(t, code, nil, func() bool { return waiting() == total-limit })
	if got := code.calls.Load(); got != limit {
		t.Fatalf("the two engines ran custom code %d times, want the limit %d", got, limit)
	}
	u, err := b.dbs[1].Usage(ctx, b.account, spoke.Period(time.Now()))
	if err != nil || u.Executions != limit {
		t.Fatalf("usage = %+v, %v; want %d", u, err, limit)
	}
	if n := b.count(t, `SELECT count(*) FROM enrollments WHERE flow_id = $1 AND status = 'COMPLETED'`, f.ID); n != limit {
		t.Errorf("completed %d, want %d", n, limit)
	}
	if left := b.count(t, `SELECT coalesce(sum(units), 0)::bigint FROM code_reservations`); left != 0 {
		t.Errorf("stopped engines still hold %d reserved units", left)
	}

	if err := b.dbs[1].SetCodeLimit(ctx, b.account, 100); err != nil {
		t.Fatal(err)
	}
	b.run(t, code, nil, func() bool {
		return b.count(t, `SELECT count(*) FROM enrollments WHERE flow_id = $1 AND status = 'COMPLETED'`, f.ID) == total
	})
	if got := code.calls.Load(); got != total {
		t.Fatalf("custom code ran %d times in all, want %d", got, total)
	}
}

// TestRateLimitAcrossEngines runs 30 enrollments of an action limited to
// 7 executions a minute in two engines whose clocks stand still in one
// minute: 7 run between them, the rest wait for the next minute.
func TestRateLimitAcrossEngines(t *testing.T) {
	t.Parallel()
	b := setupShared(t)
	const limit, total = 7, 30
	f := b.flowWith(t, `{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-5","actionTypeVersion":0,"rateLimit":{"executions":`+strconv.Itoa(limit)+`,"per":"MINUTES"},
		"fields":{"property_name":"firstname","value":{"type":"STATIC_VALUE","staticValue":"Limited"}}}`, total)
	// Half a minute into a minute after the enrollments were made, so
	// they are due and the window cannot turn during the test.
	frozen := time.Now().Add(time.Minute).Truncate(time.Minute).Add(30 * time.Second)
	b.run(t, &countingCode{}, func() time.Time { return frozen }, func() bool {
		return b.count(t, `SELECT count(*) FROM enrollments WHERE flow_id = $1 AND wait_reason = $2`, f.ID, spoke.WaitRateLimit) == total-limit
	})
	if n := b.count(t, `SELECT count(*) FROM enrollments WHERE flow_id = $1 AND status = 'COMPLETED'`, f.ID); n != limit {
		t.Fatalf("completed %d in one minute, want the limit %d", n, limit)
	}
	next := b.count(t, `SELECT count(*) FROM enrollments WHERE flow_id = $1 AND wait_reason = $2 AND run_at = $3`, f.ID, spoke.WaitRateLimit, frozen.Add(30*time.Second).UnixMilli())
	if next != total-limit {
		t.Errorf("%d of the %d waiting are due when the next minute starts", next, total-limit)
	}
}

// failingCode fails every invocation, as code that throws does.
type failingCode struct{}

func (failingCode) Invoke(ctx context.Context, inv sandbox.Invocation) (sandbox.Result, error) {
	return sandbox.Result{Status: sandbox.StatusError, Error: &sandbox.Error{Type: sandbox.ErrUncaught, Message: "boom"}}, nil
}

// TestAlertsOnceAcrossEngines runs a failing flow in two engines whose
// alert checks tick every 10 ms: the flow crosses its failure threshold
// once, and the webhook hears of it once, not once per engine (each kept
// its own cursor of executions seen before).
func TestAlertsOnceAcrossEngines(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setupShared(t)
	var mu sync.Mutex
	var got []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var a engine.Alert
		json.NewDecoder(r.Body).Decode(&a)
		mu.Lock()
		got = append(got, a.Type)
		mu.Unlock()
	}))
	defer hook.Close()
	if err := b.dbs[0].PutAlertSettings(ctx, &spoke.AlertSettings{AccountID: b.account, URL: hook.URL, FailureRate: 0.5, FailureWindow: 4}); err != nil {
		t.Fatal(err)
	}
	const total = 20
	f := b.flowWith(t, `{"type":"CUSTOM_CODE","actionId":"1","runtime":"NODE20X","sourceCode":"throw 1","secretNames":[],"inputFields":[],"outputFields":[]}`, total)
	var ticks atomic.Int64
	failed := func() int64 {
		return b.count(t, `SELECT count(*) FROM enrollments WHERE flow_id = $1 AND status = 'FAILED'`, f.ID)
	}
	b.runWith(t, failingCode{}, nil, func(db *DB, cfg *engine.Config) {
		cfg.Alerts, cfg.RolloutPoll = db, 10*time.Millisecond
	}, func() bool {
		// Every enrollment failed, and both engines had time for many
		// more checks after that.
		if failed() < total {
			return false
		}
		return ticks.Add(1) > 10
	})
	mu.Lock()
	defer mu.Unlock()
	n := 0
	for _, typ := range got {
		if typ == engine.AlertFailureRate {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("alerts %v: %d FAILURE_RATE, want 1", got, n)
	}
}

// TestRevertAcrossEngines stores a revert in a process that runs no engine
// (`serve --no-engine`) and has the two engines of the worker processes
// run it: one of them claims it, and every record is reverted once. A
// second revert is claimed by a process that dies after one chunk: once
// its lease ends, an engine takes it over from its cursor.
func TestRevertAcrossEngines(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setupShared(t)
	const total = 40
	since := time.Now().Add(-time.Second)
	f := b.flowWith(t, `{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-5","actionTypeVersion":0,
		"fields":{"property_name":"firstname","value":{"type":"STATIC_VALUE","staticValue":"Flowed"}}}`, total)
	completed := func() bool {
		return b.count(t, `SELECT count(*) FROM enrollments WHERE flow_id = $1 AND status = 'COMPLETED'`, f.ID) == total
	}
	b.run(t, &countingCode{}, nil, completed)

	api := engine.New(engine.Config{Store: b.dbs[0], Flows: b.dbs[0], Records: b.dbs[0], Properties: b.dbs[0], Secrets: b.dbs[0],
		Code: &countingCode{}, Reverts: b.dbs[0]})
	job, err := api.Revert(ctx, b.account, f.ID, spoke.RevertRequest{Since: since})
	if err != nil {
		t.Fatalf("a process without a running engine refuses a revert: %v", err)
	}
	status := func(id int64) *spoke.RevertJob {
		j, err := b.dbs[1].GetRevertJob(ctx, b.account, f.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	written := func(id int64) int64 {
		return b.count(t, `SELECT count(*) FROM property_history WHERE source_id = $1`, spoke.RevertSourceID(id, f.ID))
	}
	workers := func(db *DB, cfg *engine.Config) { cfg.Reverts, cfg.RevertChunk = db, 3 }
	b.runWith(t, &countingCode{}, nil, workers, func() bool { return status(job.ID).Status == spoke.RevertComplete })
	if j := status(job.ID); j.Processed != total || j.Records != total || j.Reverted != total {
		t.Fatalf("job %+v", j)
	}
	if n := written(job.ID); n != total {
		t.Fatalf("the revert wrote %d records, want each of %d once", n, total)
	}
	if n := b.count(t, `SELECT count(*) FROM records WHERE object_type = 'contacts' AND properties->>'firstname' = 'Flowed'`); n != 0 {
		t.Fatalf("%d contacts keep the flow's write", n)
	}

	// Revert the revert, in a process that claims it, does one chunk and
	// dies without giving the job up.
	again, err := api.Revert(ctx, b.account, f.ID, spoke.RevertRequest{Since: since, RevertID: job.ID})
	if err != nil {
		t.Fatal(err)
	}
	dead, err := b.dbs[0].ClaimRevertJob(ctx, spoke.Lease{Token: 99, Until: time.Now().Add(time.Second)}, time.Now())
	if err != nil || dead == nil || dead.ID != again.ID {
		t.Fatalf("claim = %+v, %v", dead, err)
	}
	ids, err := b.dbs[0].RevertTargets(ctx, dead)
	if err != nil || len(ids) != total {
		t.Fatalf("targets %d, %v", len(ids), err)
	}
	if err := b.dbs[0].SetRevertTotal(ctx, dead, total); err != nil {
		t.Fatal(err)
	}
	if _, err := b.dbs[0].RevertRecords(ctx, dead, ids[:5], true); err != nil {
		t.Fatal(err)
	}
	b.runWith(t, &countingCode{}, nil, workers, func() bool { return status(again.ID).Status == spoke.RevertComplete })
	if j := status(again.ID); j.Processed != total || j.Records != total {
		t.Fatalf("taken-over job %+v", j)
	}
	if n := written(again.ID); n != total {
		t.Fatalf("the taken-over revert wrote %d records, want each of %d once", n, total)
	}
	if n := b.count(t, `SELECT count(*) FROM records WHERE object_type = 'contacts' AND properties->>'firstname' = 'Flowed'`); n != total {
		t.Fatalf("%d contacts have the flow's write back, want %d", n, total)
	}
	// The dead process's late write is refused.
	if _, err := b.dbs[0].RevertRecords(ctx, dead, ids[5:6], true); !errors.Is(err, spoke.ErrRevertLost) {
		t.Fatalf("the dead holder's write = %v", err)
	}
}

// TestIdleQuotaBlockGoesBack runs two custom code enrollments in one engine
// and checks that, while the engine keeps running idle, the rest of the
// block it reserved goes back to the account within a few keeps, so
// another worker can have it.
func TestIdleQuotaBlockGoesBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setupShared(t)
	if err := b.dbs[0].SetCodeLimit(ctx, b.account, 10); err != nil {
		t.Fatal(err)
	}
	f := b.flowWith(t, `{"type":"CUSTOM_CODE","actionId":"1","runtime":"NODE20X","sourceCode":"exports.main=async()=>({outputFields:{}})","secretNames":[],"inputFields":[],"outputFields":[]}`, 2)
	db := b.dbs[0]
	eng := engine.New(engine.Config{Store: db, Flows: db, Records: db, Properties: db, Secrets: db, Code: &countingCode{},
		Poll: 10 * time.Millisecond, Lease: 2 * time.Second, SharedStore: true})
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go eng.Run(runCtx)
	reserved := func() int64 { return b.count(t, `SELECT coalesce(sum(units), 0)::bigint FROM code_reservations`) }
	deadline := time.Now().Add(20 * time.Second)
	for b.count(t, `SELECT count(*) FROM enrollments WHERE flow_id = $1 AND status = 'COMPLETED'`, f.ID) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the enrollments did not complete")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := reserved(); n == 0 {
		t.Log("the block went back before it could be seen")
	}
	for reserved() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("an idle engine still holds %d units", reserved())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Another holder gets the rest of the limit.
	if got, err := b.dbs[1].ReserveCode(ctx, 12345, b.account, 100, time.Now(), time.Minute); err != nil || got != 8 {
		t.Fatalf("another holder got %d, %v; want 8", got, err)
	}
}

// TestRotationAcrossEngines runs 30 enrollments of a rotate-to-owner
// action over three owners in two engines: between them each owner gets
// exactly 10 records (each engine going round on its own would give
// uneven counts whenever the engines' shares are not multiples of 3).
func TestRotationAcrossEngines(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setupShared(t)
	var ids []string
	for i := range 3 {
		email := fmt.Sprintf("owner%d@example.com", i)
		o, err := b.dbs[0].CreateOwner(ctx, b.account, spoke.OwnerInput{Email: &email})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, strconv.Quote(strconv.FormatInt(o.ID, 10)))
	}
	const total = 30
	f := b.flowWith(t, `{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-11","actionTypeVersion":0,
		"fields":{"owner_ids":[`+ids[0]+`,`+ids[1]+`,`+ids[2]+`],"overwrite_current_owner":true}}`, total)
	b.runWith(t, &countingCode{}, nil, func(db *DB, cfg *engine.Config) { cfg.Owners = db }, func() bool {
		return b.count(t, `SELECT count(*) FROM enrollments WHERE flow_id = $1 AND status = 'COMPLETED'`, f.ID) == total
	})
	rows, err := b.dbs[0].pool.Query(ctx, `SELECT properties->>'hubspot_owner_id', count(*) FROM records
		WHERE account_id = $1 AND object_type = 'contacts' GROUP BY 1 ORDER BY 1`, b.account)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for rows.Next() {
		var owner *string
		var n int
		if err := rows.Scan(&owner, &n); err != nil {
			t.Fatal(err)
		}
		if owner == nil {
			t.Errorf("%d contacts have no owner", n)
			continue
		}
		got[*owner] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("owners assigned: %v, want 3 owners", got)
	}
	for owner, n := range got {
		if n != total/3 {
			t.Errorf("owner %s got %d contacts, want %d (all: %v)", owner, n, total/3, got)
		}
	}
	// Deleting the flow deletes its turns.
	if err := b.dbs[1].DeleteFlow(ctx, b.account, f.ID); err != nil {
		t.Fatal(err)
	}
	if n := b.count(t, `SELECT count(*) FROM owner_rotations WHERE flow_id = $1`, f.ID); n != 0 {
		t.Errorf("%d owner rotation rows left after the flow was deleted", n)
	}
}
