package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/engine"
	"github.com/spokehq/spoke/flow"
	"github.com/spokehq/spoke/sandbox"
)

func init() { benchSuites["engine"] = benchEngine }

// benchFlow is the benchmark's four-action flow: Node custom code computes
// a score from three inputs, set property from its output, a branch on the
// score, and a second set property on the high branch. It is LIST_BASED on
// hs_lead_status = NEW, so an update that sets it enrolls the record.
const benchFlow = `{"name":"bench","type":"CONTACT_FLOW","objectTypeId":"0-1","flowType":"WORKFLOW","isEnabled":true,
 "enrollmentCriteria":{"type":"LIST_BASED","shouldReEnroll":false,"unEnrollObjectsNotMeetingCriteria":false,"reEnrollmentTriggersFilterBranches":[],
  "listFilterBranch":{"filterBranchType":"OR","filterBranchOperator":"OR","filters":[],"filterBranches":[{"filterBranchType":"AND","filterBranchOperator":"AND","filterBranches":[],
   "filters":[{"filterType":"PROPERTY","property":"hs_lead_status","operation":{"operationType":"ENUMERATION","operator":"IS_ANY_OF","values":["NEW"],"includeObjectsWithNoValueSet":false}}]}]}},
 "actions":[
  {"type":"CUSTOM_CODE","actionId":"1","runtime":"NODE20X","secretNames":[],
   "sourceCode":"exports.main = async (event, callback) => { const f = event.inputFields; callback({outputFields: {score: (f.firstname || '').length * 3 + (f.lastname || '').length * 2 + Number(f.employees || 0)}}); };",
   "inputFields":[{"name":"firstname","value":{"type":"OBJECT_PROPERTY","propertyName":"firstname"}},{"name":"lastname","value":{"type":"OBJECT_PROPERTY","propertyName":"lastname"}},
    {"name":"employees","value":{"type":"OBJECT_PROPERTY","propertyName":"employees"}}],
   "outputFields":[{"name":"score","type":"NUMBER"}],"connection":{"edgeType":"STANDARD","nextActionId":"2"}},
  {"type":"SINGLE_CONNECTION","actionId":"2","actionTypeId":"0-5","actionTypeVersion":0,"fields":{"property_name":"score","value":{"type":"FIELD_DATA","actionId":"1","dataKey":"score"}},
   "connection":{"edgeType":"STANDARD","nextActionId":"3"}},
  {"type":"LIST_BRANCH","actionId":"3","defaultBranchName":"low","listBranches":[{"branchName":"high","filterBranch":{"filterBranchType":"AND","filterBranches":[],
    "filters":[{"filterType":"PROPERTY","property":"score","operation":{"operationType":"NUMBER","operator":"IS_GREATER_THAN","value":50,"includeObjectsWithNoValueSet":false}}]},
    "connection":{"edgeType":"STANDARD","nextActionId":"4"}}]},
  {"type":"SINGLE_CONNECTION","actionId":"4","actionTypeId":"0-5","actionTypeVersion":0,"fields":{"property_name":"lifecyclestage","value":{"type":"STATIC_VALUE","staticValue":"salesqualifiedlead"}}}
 ]}`

func benchEngine(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("bench engine", flag.ContinueOnError)
	n := fs.Int("contacts", 100000, "contacts to enroll with allMatching")
	samples := fs.Int("samples", 200, "single-record updates to time from write to completion")
	runners := fs.Int("runners", 0, "engine runners (0: the engine's default)")
	batch := fs.Int("batch", 0, "enrollments a runner claims at once (0: the engine's default)")
	codeConc := fs.Int("code-concurrency", 0, "concurrent custom code invocations per runner (0: the engine's default)")
	workers := fs.Int("workers", 0, "sandbox workers (0: the pool's default)")
	httpN := fs.Int("http-contacts", 50000, "contacts to create and enroll by objectIds over loopback HTTP (0: skip that path)")
	database := fs.String("database", "", "also run the bulk enrollment on PostgreSQL with `spoke worker` processes: a postgres:// URL (its role needs CREATEDB) or pgtest (a throwaway server); SQLite runs first in the same invocation, without the HTTP path and latency samples")
	procs := fs.String("worker-processes", "1,2,4", "with --database: the numbers of `spoke worker` processes to measure, comma-separated")
	var pgSettings multiFlag
	fs.Var(&pgSettings, "pg-setting", "with --database pgtest: a server `name=value` setting (repeatable), e.g. synchronous_commit=on")
	pgPrepare := fs.String("pg-prepare", "", "with --database: `SQL` run on the loaded database before the runs, for experiments (e.g. DROP INDEX records_properties)")
	return runSuite(fs, args, func() error {
		for _, d := range []struct {
			flag *int
			def  int
		}{{runners, engine.DefaultRunners}, {batch, engine.DefaultBatchSize}, {codeConc, engine.DefaultCodeConcurrency}} {
			if *d.flag <= 0 {
				*d.flag = d.def
			}
		}
		if *database != "" {
			counts, err := parseCounts(*procs)
			if err != nil {
				return err
			}
			return runBenchEngineBoth(ctx, *database, pgSettings, *pgPrepare, *n, counts, *runners, *batch, *codeConc, *workers)
		}
		_, err := runBenchEngine(ctx, *n, *httpN, *samples, *runners, *batch, *codeConc, *workers)
		return err
	})
}

// engineRun is what a bulk run through benchFlow measured.
type engineRun struct {
	rate float64 // enrollments completed per second
	// CPU per enrollment of Spoke's processes (the engine and the
	// enrolling process) and of the sandboxed Node workers.
	spokeCPU, nodeCPU time.Duration
}

// runBenchEngine runs the engine benchmark on SQLite: bulk enrollment by
// allMatching, then (unless httpN is 0) the HTTP path, then (unless
// samples is 0) the latency of single updates.
func runBenchEngine(ctx context.Context, n, httpN, samples, runners, batch, codeConc, workers int) (*engineRun, error) {
	db, acct, closeStore, err := openBenchStore(ctx, "spoke-bench-engine-")
	if err != nil {
		return nil, err
	}
	defer closeStore()
	if err := db.SetSecretKey(make([]byte, 32)); err != nil {
		return nil, err
	}
	if err := db.SetCodeLimit(ctx, acct, -1); err != nil {
		return nil, err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	db.Logger = quiet // the search indexes the HTTP path's progress search creates are part of the run
	pool, err := sandbox.NewPool(sandbox.Config{APIURL: "http://127.0.0.1:9", MaxWorkers: workers, Logger: quiet})
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	eng := engine.New(engine.Config{Store: db, Flows: db, Records: db, Properties: db, Secrets: db, Code: pool, Logger: quiet,
		Runners: runners, BatchSize: batch, CodeConcurrency: codeConc})
	db.SetTrigger(eng.Trigger, eng.Wake)

	for _, p := range []*spoke.Property{
		{ObjectType: "contacts", Name: "score", Label: "Score", Type: spoke.TypeNumber, GroupName: "contactinformation"},
		{ObjectType: "contacts", Name: "employees", Label: "Employees", Type: spoke.TypeNumber, GroupName: "contactinformation"},
	} {
		if _, err := db.CreateProperty(ctx, acct, p); err != nil {
			return nil, err
		}
	}
	fmt.Printf("# spoke bench engine: %d contacts (+%d over HTTP), %d runners x batch %d, code concurrency %d, %s\n\n", n, httpN, runners, batch, codeConc, time.Now().UTC().Format(time.RFC3339))
	load := time.Now()
	if err := loadBenchContacts(ctx, db, acct, n); err != nil {
		return nil, err
	}
	fmt.Printf("| measurement | result |\n|---|---|\n")
	fmt.Printf("| load %d contacts (store only, before the flow exists) | %s |\n", n, time.Since(load).Round(time.Millisecond))

	f, err := flow.Parse([]byte(benchFlow))
	if err != nil {
		return nil, err
	}
	f, err = db.CreateFlow(ctx, acct, f)
	if err != nil {
		return nil, err
	}
	eng.FlowsChanged()
	// Warm the pool with one invocation so the bulk run measures steady state.
	if _, err := eng.TestAction(ctx, acct, f.ID, "1", 1, true); err != nil {
		return nil, err
	}

	// Baseline, in the same run: the flow's code invoked straight through
	// the sandbox pool (no engine, no database) as often and as
	// concurrently as the engine will.
	base, err := benchCodeOnly(ctx, pool, acct, f, n, runners*codeConc)
	if err != nil {
		return nil, err
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- eng.Run(runCtx) }()

	self0, workers0 := cpuTimes()
	start := time.Now()
	res, err := eng.EnrollAllMatching(ctx, acct, f.ID)
	if err != nil {
		return nil, err
	}
	enrolled := time.Since(start)
	if len(res.Enrolled) != n {
		return nil, fmt.Errorf("enrolled %d of %d", len(res.Enrolled), n)
	}
	if err := waitIdle(ctx, db); err != nil {
		return nil, err
	}
	total := time.Since(start)
	self1, workers1 := cpuTimes()
	fmt.Printf("| enroll %d with allMatching (evaluate criteria, insert enrollments) | %s |\n", n, enrolled.Round(time.Millisecond))
	fmt.Printf("| allMatching to all %d completed (4 actions each, Node custom code) | %s, **%.0f enrollments/s** |\n", n, total.Round(time.Millisecond), float64(n)/total.Seconds())
	fmt.Printf("| baseline: the same code through the sandbox pool alone, %d invocations | %s, %.0f/s; the engine reaches **%.0f%%** of it |\n",
		n, base.Round(time.Millisecond), float64(n)/base.Seconds(), 100*base.Seconds()/total.Seconds())
	perEnrollment := func(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d.Microseconds())/float64(n)) }
	fmt.Printf("| CPU per enrollment: spoke / Node workers (of %.0f µs of both cores per enrollment) | %s / %s |\n",
		2*float64(total.Microseconds())/float64(n), perEnrollment(self1-self0), perEnrollment(workers1-workers0))

	run := &engineRun{rate: float64(n) / total.Seconds(), spokeCPU: (self1 - self0) / time.Duration(n), nodeCPU: (workers1 - workers0) / time.Duration(n)}
	if httpN > 0 {
		if err := benchEnrollHTTP(ctx, db, eng, acct, f, httpN, n, float64(n)/total.Seconds()); err != nil {
			return nil, err
		}
	}

	if samples == 0 {
		stop()
		<-done
		return run, nil
	}
	// Latency from one record's update (it starts to meet the criteria) to
	// its enrollment's completion, one record at a time.
	lat := make([]time.Duration, 0, samples)
	src := spoke.WriteSource{Type: spoke.SourceImport, ID: "bench"}
	for i := 0; i < samples; i++ {
		res, err := db.WriteRecords(ctx, acct, "contacts", spoke.WriteCreate, []spoke.RecordInput{{Properties: map[string]string{
			"email": fmt.Sprintf("late%d@bench.example", i), "firstname": "Late", "lastname": "Bench", "employees": "40"}}}, src)
		if err != nil || res[0].Err != nil {
			return nil, fmt.Errorf("create: %v %v", err, res[0].Err)
		}
		id := strconv.FormatInt(res[0].Record.ID, 10)
		t0 := time.Now()
		if _, err := db.WriteRecords(ctx, acct, "contacts", spoke.WriteUpdate, []spoke.RecordInput{{ID: id, Properties: map[string]string{"hs_lead_status": "NEW"}}}, src); err != nil {
			return nil, err
		}
		for {
			var status string
			err := db.ReadDB().QueryRowContext(ctx, `SELECT status FROM enrollments WHERE flow_id = ? AND object_id = ?`, f.ID, res[0].Record.ID).Scan(&status)
			if err == nil && status == spoke.EnrollmentCompleted {
				break
			}
			if err == nil && status == spoke.EnrollmentFailed {
				return nil, fmt.Errorf("enrollment of %s failed", id)
			}
			time.Sleep(200 * time.Microsecond)
		}
		lat = append(lat, time.Since(t0))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	fmt.Printf("| record update to enrollment completed, p50 / p99 (%d samples, idle engine) | **%s** / %s |\n", samples, ms(pct(lat, .5)), ms(pct(lat, .99)))
	stop()
	<-done
	return run, nil
}

// benchCodeOnly invokes the flow's custom code n times through the pool,
// on as many goroutines as the engine runs code on at once, and
// returns how long that took.
func benchCodeOnly(ctx context.Context, pool *sandbox.Pool, acct int64, f *spoke.Flow, n, workers int) (time.Duration, error) {
	act := f.ActionByID("1")
	// The engine's version key, so both use the same warm workers.
	inv := sandbox.Invocation{Runtime: act.Runtime, Code: act.SourceCode, Version: f.ID + "/" + act.ActionID + "/" + f.RevisionID,
		AccountID: strconv.FormatInt(acct, 10)}
	var next atomic.Int64
	errs := make(chan error, workers)
	start := time.Now()
	for w := 0; w < workers; w++ {
		go func() {
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				inv := inv
				inv.Event = sandbox.Event{PortalID: 1, ActionDefinitionID: 1, ObjectType: "CONTACT", ObjectID: i,
					InputFields: map[string]any{"firstname": fmt.Sprintf("F%d", i%97), "lastname": "Bench", "employees": strconv.FormatInt(i%60, 10)},
					CallbackID:  fmt.Sprintf("ap-baseline-%d", i)}
				res, err := pool.Invoke(ctx, inv)
				if err == nil && res.Status != sandbox.StatusSuccess {
					err = fmt.Errorf("baseline invocation: %+v", res.Error)
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for w := 0; w < workers; w++ {
		if err := <-errs; err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}

// loadBenchContacts creates the engine benchmark's n contacts, 100 a call,
// every one NEW so benchFlow's criteria enroll it.
func loadBenchContacts(ctx context.Context, db spoke.RecordService, acct int64, n int) error {
	src := spoke.WriteSource{Type: spoke.SourceImport, ID: "bench"}
	for from := 0; from < n; from += 100 {
		inputs := make([]spoke.RecordInput, 0, 100)
		for i := from; i < from+100 && i < n; i++ {
			inputs = append(inputs, spoke.RecordInput{Properties: map[string]string{"email": fmt.Sprintf("c%d@bench.example", i),
				"firstname": fmt.Sprintf("F%d", i%97), "lastname": "Bench", "employees": strconv.Itoa(i % 60), "hs_lead_status": "NEW"}})
		}
		res, err := db.WriteRecords(ctx, acct, "contacts", spoke.WriteCreate, inputs, src)
		if err != nil {
			return err
		}
		for _, r := range res {
			if r.Err != nil {
				return fmt.Errorf("create contact: %w", r.Err)
			}
		}
	}
	return nil
}
