package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/engine"
	"github.com/spokehq/spoke/flow"
)

func init() { benchSuites["revert"] = benchRevert }

// benchRevertFlow is a MANUAL flow that sets one property; the benchmark
// writes its history directly, as the engine's commit does.
const benchRevertFlow = `{"name":"bench revert","type":"CONTACT_FLOW","objectTypeId":"0-1","flowType":"WORKFLOW","isEnabled":false,
 "enrollmentCriteria":{"type":"MANUAL","shouldReEnroll":false},
 "actions":[{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-5","actionTypeVersion":0,
  "fields":{"property_name":"jobtitle","value":{"type":"STATIC_VALUE","staticValue":"oops"}}}]}`

// benchRevert measures a real revert: n contacts each get one write from a
// flow (source AUTOMATION_PLATFORM, the flow's id, an enrollment id, as the
// engine writes), a tenth of them are then changed by hand (conflicts),
// and the revert job puts back the rest.
func benchRevert(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("bench revert", flag.ContinueOnError)
	n := fs.Int("writes", 100000, "records the flow wrote (one property each)")
	return runSuite(fs, args, func() error { return runBenchRevert(ctx, *n) })
}

func runBenchRevert(ctx context.Context, n int) error {
	db, acct, closeStore, err := openBenchStore(ctx, "spoke-bench-revert-")
	if err != nil {
		return err
	}
	defer closeStore()
	f, err := flow.Parse([]byte(benchRevertFlow))
	if err != nil {
		return err
	}
	if f, err = db.CreateFlow(ctx, acct, f); err != nil {
		return err
	}
	fmt.Printf("# spoke bench revert: %d writes, %s\n\n| measurement | result |\n|---|---|\n", n, time.Now().UTC().Format(time.RFC3339))
	start := time.Now()
	const batch = 100
	ids := make([]string, 0, n)
	for from := 0; from < n; from += batch {
		inputs := make([]spoke.RecordInput, 0, batch)
		for i := from; i < from+batch && i < n; i++ {
			inputs = append(inputs, spoke.RecordInput{Properties: map[string]string{"email": fmt.Sprintf("r%d@bench.example", i), "jobtitle": "engineer"}})
		}
		res, err := db.WriteRecords(ctx, acct, "contacts", spoke.WriteCreate, inputs, spoke.WriteSource{Type: spoke.SourceImport, ID: "bench"})
		if err != nil {
			return err
		}
		for _, r := range res {
			ids = append(ids, strconv.FormatInt(r.Record.ID, 10))
		}
	}
	since := time.Now()
	for from := 0; from < n; from += batch {
		inputs := make([]spoke.RecordInput, 0, batch)
		for _, id := range ids[from:min(from+batch, n)] {
			inputs = append(inputs, spoke.RecordInput{ID: id, Properties: map[string]string{"jobtitle": "oops"}})
		}
		src := spoke.WriteSource{Type: spoke.SourceAutomation, ID: f.ID, EnrollmentID: strconv.Itoa(from)}
		if _, err := db.WriteRecords(ctx, acct, "contacts", spoke.WriteUpdate, inputs, src); err != nil {
			return err
		}
	}
	conflicts := 0
	for from := 0; from < n; from += 10 * batch {
		inputs := []spoke.RecordInput{{ID: ids[from], Properties: map[string]string{"jobtitle": "fixed by hand"}}}
		if _, err := db.WriteRecords(ctx, acct, "contacts", spoke.WriteUpdate, inputs, spoke.WriteSource{Type: spoke.SourceCRMUI, ID: "1"}); err != nil {
			return err
		}
		conflicts++
	}
	fmt.Printf("| setup: %d contacts, %d flow writes, %d later edits | %s |\n", n, n, conflicts, time.Since(start).Round(time.Millisecond))

	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng := engine.New(engine.Config{Store: db, Flows: db, Records: db, Properties: db, Secrets: db, Code: unavailableCode{}, Logger: quiet, Reverts: db})
	req := spoke.RevertRequest{Since: since, DryRun: true}
	t0 := time.Now()
	dry, err := eng.Revert(ctx, acct, f.ID, req)
	if err != nil {
		return err
	}
	dryTime := time.Since(t0)
	fmt.Printf("| dry run: %d values to revert, %d conflicts | %s |\n", dry.Reverted, dry.Conflicts, dryTime.Round(time.Millisecond))
	req.DryRun = false
	t0 = time.Now()
	job, err := eng.Revert(ctx, acct, f.ID, req)
	if err != nil {
		return err
	}
	if err := eng.RunReverts(ctx); err != nil {
		return err
	}
	took := time.Since(t0)
	if job, err = eng.RevertJob(ctx, acct, f.ID, job.ID); err != nil {
		return err
	}
	if job.Status != spoke.RevertComplete || job.Reverted+job.Conflicts != int64(n) {
		return fmt.Errorf("revert ended %s with %d reverted and %d conflicts (error %q)", job.Status, job.Reverted, job.Conflicts, job.Error)
	}
	fmt.Printf("| revert: %d values put back, %d conflicts left alone | %s, **%.0f writes/s** |\n", job.Reverted, job.Conflicts,
		took.Round(time.Millisecond), float64(job.Reverted)/took.Seconds())
	return nil
}
