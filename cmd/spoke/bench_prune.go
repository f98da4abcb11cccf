package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/engine"
	"github.com/spokehq/spoke/sqlite"
)

func init() {
	benchSuites["prune"] = func(ctx context.Context, args []string) int { return benchPrune(ctx, "prune", args) }
	benchSuites["soak"] = func(ctx context.Context, args []string) int { return benchPrune(ctx, "soak", args) }
}

// benchPrune runs rounds of the engine benchmark's flow over fresh
// contacts, moving the clock two days on before each round, with a
// retention of one day: every earlier round's rows are due while a round
// runs. `bench prune` alternates rounds without and with the pruner
// running, to compare the engine's rate; `bench soak` prunes in every
// round and prints the database's size after each, which must stay flat.
func benchPrune(ctx context.Context, mode string, args []string) int {
	fs := flag.NewFlagSet("bench "+mode, flag.ContinueOnError)
	n := fs.Int("contacts", 20000, "contacts enrolled per round")
	rounds := fs.Int("rounds", 6, "rounds")
	return runSuite(fs, args, func() error { return runBenchPrune(ctx, mode, *n, *rounds) })
}

func runBenchPrune(ctx context.Context, mode string, n, rounds int) error {
	var offset atomic.Int64 // the clock's lead over the real one
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	b, err := newBenchEnv(ctx, engine.Config{Now: now})
	if err != nil {
		return err
	}
	defer b.close()
	b.db.Now = now
	if err := b.db.SetRetentionDefaults(spoke.Retention{Days: 1, FailedDays: 1}); err != nil {
		return err
	}
	// The same contacts go through the flow every round (it re-enrolls a
	// record that starts to meet its criteria again), so the records are
	// the same size in every round and only runs and history accumulate.
	ids, err := b.loadWaiting(ctx, 0, n)
	if err != nil {
		return err
	}
	if err := b.createFlowWith(ctx, strings.Replace(benchFlow, `"shouldReEnroll":false`, `"shouldReEnroll":true`, 1)); err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- b.eng.Run(runCtx) }()
	fmt.Printf("# spoke bench %s: %d rounds of %d contacts, retention 1 day, the clock 2 days on before each round, %s\n\n",
		mode, rounds, n, time.Now().UTC().Format(time.RFC3339))
	fmt.Printf("| round | pruner | enrollments/s | pruner busy | rows pruned | file | enrollments + execution log | property history | execution rows | enrollment rows |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for r := 0; r < rounds; r++ {
		// The contacts stop meeting the criteria, unmeasured.
		if err := b.setLeadStatus(ctx, ids, "OPEN"); err != nil {
			return err
		}
		offset.Add(int64(48 * time.Hour))
		prune := mode == "soak" || r%2 == 1
		pruned0, busy0 := prunedTotal(ctx, b.db), b.db.PruneBusy()
		var pruneDone chan struct{}
		pruneCtx, stopPrune := context.WithCancel(ctx)
		if prune {
			pruneDone = make(chan struct{})
			go func() {
				defer close(pruneDone)
				b.db.RunPruner(pruneCtx, sqlite.PruneConfig{Every: time.Second})
			}()
		}
		start := time.Now()
		if err := b.setLeadStatus(ctx, ids, "NEW"); err != nil {
			stopPrune()
			return err
		}
		if err := waitIdle(ctx, b.db); err != nil {
			stopPrune()
			return err
		}
		took := time.Since(start)
		busy := b.db.PruneBusy() - busy0
		if prune {
			// Let the pruner finish what is due, as it would between
			// bursts, before the size is read.
			if _, err := b.db.PruneCycle(ctx, sqlite.PruneConfig{Duty: 1}); err != nil {
				stopPrune()
				return err
			}
		}
		stopPrune()
		if pruneDone != nil {
			<-pruneDone
		}
		if _, err := b.db.WriteDB().ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			return err
		}
		file, _, err := b.db.FileSize()
		if err != nil {
			return err
		}
		var steps, ens int64
		b.db.ReadDB().QueryRowContext(ctx, `SELECT count(*) FROM execution_steps`).Scan(&steps)
		b.db.ReadDB().QueryRowContext(ctx, `SELECT count(*) FROM enrollments`).Scan(&ens)
		space, err := b.db.SpaceUsed(ctx)
		if err != nil {
			return err
		}
		size := func(tables ...string) float64 {
			var n int64
			for _, t := range tables {
				if s := space[t]; s != nil {
					n += s.Bytes + s.IndexBytes
				}
			}
			return float64(n) / (1 << 20)
		}
		fmt.Printf("| %d | %s | %.0f | %.0f ms (%.1f%%) | %d | %.1f MiB | %.1f MiB | %.1f MiB | %d | %d |\n", r+1, map[bool]string{true: "on", false: "off"}[prune],
			float64(n)/took.Seconds(), float64(busy.Milliseconds()), 100*busy.Seconds()/took.Seconds(), prunedTotal(ctx, b.db)-pruned0, float64(file)/(1<<20), size("enrollments", "execution_steps", "execution_counts"),
			size("property_history"), steps, ens)
	}
	stop()
	<-done
	return nil
}

func prunedTotal(ctx context.Context, db *sqlite.DB) int64 {
	var n int64
	db.ReadDB().QueryRowContext(ctx, `SELECT coalesce(sum(rows), 0) FROM prune_totals`).Scan(&n)
	return n
}

// loadWaiting creates n contacts numbered from first that do not meet the
// flow's criteria (lead status OPEN) and returns their ids.
func (b *benchEnv) loadWaiting(ctx context.Context, first, n int) ([]string, error) {
	src := spoke.WriteSource{Type: spoke.SourceImport, ID: "bench"}
	var ids []string
	for from := first; from < first+n; from += 100 {
		inputs := make([]spoke.RecordInput, 0, 100)
		for i := from; i < from+100 && i < first+n; i++ {
			inputs = append(inputs, spoke.RecordInput{Properties: map[string]string{"email": fmt.Sprintf("c%d@bench.example", i),
				"firstname": fmt.Sprintf("F%d", i%97), "lastname": "Bench", "employees": strconv.Itoa(i % 60), "hs_lead_status": "OPEN"}})
		}
		res, err := b.db.WriteRecords(ctx, b.acct, "contacts", spoke.WriteCreate, inputs, src)
		if err != nil {
			return nil, err
		}
		for _, r := range res {
			if r.Err != nil {
				return nil, r.Err
			}
			ids = append(ids, strconv.FormatInt(r.Record.ID, 10))
		}
	}
	return ids, nil
}

// setLeadStatus sets the lead status of contacts, 100 per batch update:
// NEW enrolls them.
func (b *benchEnv) setLeadStatus(ctx context.Context, ids []string, status string) error {
	src := spoke.WriteSource{Type: spoke.SourceImport, ID: "bench"}
	for from := 0; from < len(ids); from += 100 {
		inputs := make([]spoke.RecordInput, 0, 100)
		for _, id := range ids[from:min(from+100, len(ids))] {
			inputs = append(inputs, spoke.RecordInput{ID: id, Properties: map[string]string{"hs_lead_status": status}})
		}
		res, err := b.db.WriteRecords(ctx, b.acct, "contacts", spoke.WriteUpdate, inputs, src)
		if err != nil {
			return err
		}
		for _, r := range res {
			if r.Err != nil {
				return r.Err
			}
		}
	}
	return nil
}
