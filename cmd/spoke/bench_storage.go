package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/engine"
	"github.com/spokehq/spoke/flow"
	"github.com/spokehq/spoke/sandbox"
	"github.com/spokehq/spoke/sqlite"
)

func init() { benchSuites["storage"] = benchStorage }

// benchStorage measures the bytes one enrollment of the engine
// benchmark's four-action flow leaves in the database: its enrollment row,
// its execution rows, the history rows of its writes and their indexes,
// but not the record itself (loaded before the flow exists).
func benchStorage(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("bench storage", flag.ContinueOnError)
	n := fs.Int("contacts", 20000, "contacts to enroll with allMatching")
	return runSuite(fs, args, func() error { return runBenchStorage(ctx, *n) })
}

// benchEnv is a fresh database with the engine benchmark's properties,
// contacts and flow, and an engine running on the real sandbox.
type benchEnv struct {
	dir  string
	db   *sqlite.DB
	pool *sandbox.Pool
	eng  *engine.Engine
	acct int64
	flow *spoke.Flow
}

func newBenchEnv(ctx context.Context, cfg engine.Config) (*benchEnv, error) {
	dir, err := os.MkdirTemp("", "spoke-bench-storage-")
	if err != nil {
		return nil, err
	}
	b := &benchEnv{dir: dir}
	if b.db, err = sqlite.Open(ctx, dir); err != nil {
		return nil, err
	}
	if err := b.db.SetSecretKey(make([]byte, 32)); err != nil {
		return nil, err
	}
	if b.acct, _, err = b.db.DefaultAccount(ctx); err != nil {
		return nil, err
	}
	if err := b.db.SetCodeLimit(ctx, b.acct, -1); err != nil {
		return nil, err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	b.db.Logger = quiet
	if b.pool, err = sandbox.NewPool(sandbox.Config{APIURL: "http://127.0.0.1:9", Logger: quiet}); err != nil {
		return nil, err
	}
	cfg.Store, cfg.Flows, cfg.Records, cfg.Properties, cfg.Secrets, cfg.Code, cfg.Logger = b.db, b.db, b.db, b.db, b.db, b.pool, quiet
	b.eng = engine.New(cfg)
	b.db.SetTrigger(b.eng.Trigger, b.eng.Wake)
	for _, p := range []*spoke.Property{
		{ObjectType: "contacts", Name: "score", Label: "Score", Type: spoke.TypeNumber, GroupName: "contactinformation"},
		{ObjectType: "contacts", Name: "employees", Label: "Employees", Type: spoke.TypeNumber, GroupName: "contactinformation"},
	} {
		if _, err := b.db.CreateProperty(ctx, b.acct, p); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func (b *benchEnv) close() {
	if b.pool != nil {
		b.pool.Close()
	}
	if b.db != nil {
		b.db.Close()
	}
	if os.Getenv("SPOKE_BENCH_KEEP") != "" {
		fmt.Println("kept", b.dir)
		return
	}
	os.RemoveAll(b.dir)
}

// load creates n contacts that meet the flow's criteria, numbered from
// first.
func (b *benchEnv) load(ctx context.Context, first, n int) error {
	src := spoke.WriteSource{Type: spoke.SourceImport, ID: "bench"}
	for from := first; from < first+n; from += 100 {
		inputs := make([]spoke.RecordInput, 0, 100)
		for i := from; i < from+100 && i < first+n; i++ {
			inputs = append(inputs, spoke.RecordInput{Properties: map[string]string{"email": fmt.Sprintf("c%d@bench.example", i),
				"firstname": fmt.Sprintf("F%d", i%97), "lastname": "Bench", "employees": strconv.Itoa(i % 60), "hs_lead_status": "NEW"}})
		}
		if _, err := b.db.WriteRecords(ctx, b.acct, "contacts", spoke.WriteCreate, inputs, src); err != nil {
			return err
		}
	}
	return nil
}

// createFlow creates the benchmark's flow and warms the pool with it.
func (b *benchEnv) createFlow(ctx context.Context) error { return b.createFlowWith(ctx, benchFlow) }

// createFlowWith creates a flow from its JSON and warms the pool with a
// test run of its first action on record 1.
func (b *benchEnv) createFlowWith(ctx context.Context, doc string) error {
	f, err := flow.Parse([]byte(doc))
	if err != nil {
		return err
	}
	if b.flow, err = b.db.CreateFlow(ctx, b.acct, f); err != nil {
		return err
	}
	b.eng.FlowsChanged()
	_, err = b.eng.TestAction(ctx, b.acct, b.flow.ID, "1", 1, true)
	return err
}

func runBenchStorage(ctx context.Context, n int) error {
	b, err := newBenchEnv(ctx, engine.Config{})
	if err != nil {
		return err
	}
	defer b.close()
	if err := b.load(ctx, 0, n); err != nil {
		return err
	}
	if err := b.createFlow(ctx); err != nil {
		return err
	}
	before, err := b.db.SpaceUsed(ctx)
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- b.eng.Run(runCtx) }()
	if res, err := b.eng.EnrollAllMatching(ctx, b.acct, b.flow.ID); err != nil {
		return err
	} else if len(res.Enrolled) != n {
		return fmt.Errorf("enrolled %d of %d", len(res.Enrolled), n)
	}
	if err := waitIdle(ctx, b.db); err != nil {
		return err
	}
	stop()
	<-done
	after, err := b.db.SpaceUsed(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("# spoke bench storage: %d contacts through the engine benchmark's flow, %s\n\n", n, time.Now().UTC().Format(time.RFC3339))
	fmt.Printf("| table (rows + indexes) | bytes per enrollment | of which indexes |\n|---|---|---|\n")
	var total, totalIdx float64
	type line struct {
		name     string
		all, idx float64
	}
	var lines []line
	for name, a := range after {
		var b0, i0 int64
		if b := before[name]; b != nil {
			b0, i0 = b.Bytes, b.IndexBytes
		}
		all := float64(a.Bytes+a.IndexBytes-b0-i0) / float64(n)
		idx := float64(a.IndexBytes-i0) / float64(n)
		if all < 0.5 && all > -0.5 {
			continue
		}
		lines = append(lines, line{name, all, idx})
		if name != "records" && name != "sqlite_sequence" {
			total += all
			totalIdx += idx
		}
		for ix, v := range a.Indexes {
			var v0 int64
			if b := before[name]; b != nil {
				v0 = b.Indexes[ix]
			}
			if d := float64(v-v0) / float64(n); d >= 0.5 {
				lines = append(lines, line{"  " + ix, d, d})
			}
		}
	}
	sort.Slice(lines, func(i, j int) bool { return lines[i].name < lines[j].name })
	for _, l := range lines {
		fmt.Printf("| %s | %.0f | %.0f |\n", l.name, l.all, l.idx)
	}
	fmt.Printf("| **per enrollment, without the record** | **%.0f** | %.0f |\n", total, totalIdx)
	return nil
}
