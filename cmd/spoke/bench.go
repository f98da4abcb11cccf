package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spokehq/spoke/api"
	"github.com/spokehq/spoke/postgres"
	"github.com/spokehq/spoke/sqlite"
)

func init() {
	commands["bench"] = benchCommand
	benchSuites["crm"] = benchCRM
}

// benchSuites maps `spoke bench NAME` to a benchmark suite. Set
// SPOKE_CPUPROFILE=FILE to profile a run.
var benchSuites = map[string]func(ctx context.Context, args []string) int{}

func benchCommand(ctx context.Context, args []string) int {
	if len(args) == 0 || benchSuites[args[0]] == nil {
		names := make([]string, 0, len(benchSuites))
		for n := range benchSuites {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(os.Stderr, "usage: spoke bench SUITE [flags]\nsuites: %s\n", strings.Join(names, ", "))
		return 2
	}
	if path := os.Getenv("SPOKE_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "spoke bench:", err)
			return 1
		}
		defer f.Close()
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	return benchSuites[args[0]](ctx, args[1:])
}

// benchCRM measures the CRM API through real HTTP on loopback, against a
// fresh SQLite database in a temporary directory and, with --database, a
// fresh PostgreSQL database after it, printed side by side.
func benchCRM(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("bench crm", flag.ContinueOnError)
	n := fs.Int("contacts", 100000, "contacts to load with batch upsert")
	conc := fs.Int("concurrency", 4, "concurrent clients for the batch upsert")
	samples := fs.Int("samples", 3000, "requests per latency measurement")
	database := fs.String("database", "", "also measure PostgreSQL: a postgres:// URL (its role needs CREATEDB) or pgtest (a throwaway server)")
	var pgSettings multiFlag
	fs.Var(&pgSettings, "pg-setting", "with --database pgtest: a server `name=value` setting (repeatable)")
	return runSuite(fs, args, func() error {
		fmt.Printf("# spoke bench crm: %d contacts, %d upsert clients, %d samples per latency, %s\n\n", *n, *conc, *samples, time.Now().UTC().Format(time.RFC3339))
		db, acct, closeStore, err := openBenchStore(ctx, "spoke-bench-")
		if err != nil {
			return err
		}
		lite, err := runBenchCRM(ctx, db, acct, *n, *conc, *samples)
		closeStore()
		if err != nil {
			return err
		}
		if *database == "" {
			fmt.Println("| measurement | result |")
			fmt.Println("|---|---|")
			for _, r := range lite {
				fmt.Printf("| %s | %s |\n", r.label, r.value)
			}
			return nil
		}
		pg, err := startBenchPG(*database, pgSettings)
		if err != nil {
			return err
		}
		defer pg.stop()
		name := benchDBName("crm")
		url, err := pg.create(ctx, name, "")
		if err != nil {
			return err
		}
		defer pg.drop(name)
		pdb, err := postgres.Open(ctx, url)
		if err != nil {
			return err
		}
		defer pdb.Close()
		pdb.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		pacct, _, err := pdb.DefaultAccount(ctx)
		if err != nil {
			return err
		}
		rows, err := runBenchCRM(ctx, pdb, pacct, *n, *conc, *samples)
		if err != nil {
			return fmt.Errorf("postgresql: %w", err)
		}
		fmt.Printf("PostgreSQL: %s\n\n", pg.desc)
		fmt.Println("| measurement | SQLite | PostgreSQL |")
		fmt.Println("|---|---|---|")
		for i, r := range lite {
			fmt.Printf("| %s | %s | %s |\n", r.label, r.value, rows[i].value)
		}
		fmt.Printf("\nbatch upsert, PostgreSQL / SQLite: %.2f\n", rows[1].num/lite[1].num)
		return nil
	})
}

// benchRow is one measurement of a suite: its label, the figure as
// printed, and the figure that ratios are made of.
type benchRow struct {
	label, value string
	num          float64
}

// runSuite parses a suite's flags and runs it; the exit code is 2 for bad
// flags and 1, with the error after the flag set's name, when run fails.
func runSuite(fs *flag.FlagSet, args []string, run func() error) int {
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "spoke %s: %v\n", fs.Name(), err)
		return 1
	}
	return 0
}

// openBenchStore opens a fresh database in a new temporary directory
// (named from prefix) and its default account; done closes the database
// and removes the directory.
func openBenchStore(ctx context.Context, prefix string) (db *sqlite.DB, acct int64, done func(), err error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return nil, 0, nil, err
	}
	if db, err = sqlite.Open(ctx, dir); err != nil {
		os.RemoveAll(dir)
		return nil, 0, nil, err
	}
	done = func() {
		db.Close()
		os.RemoveAll(dir)
	}
	if acct, _, err = db.DefaultAccount(ctx); err != nil {
		done()
		return nil, 0, nil, err
	}
	return db, acct, done, nil
}

// serveBench serves srv's API on a loopback port, with an admin token
// stored as token in acct, and returns a client that sends it; stop shuts
// the server down.
func serveBench(ctx context.Context, db store, acct int64, token string, srv *api.Server) (c *benchClient, stop func(), err error) {
	if _, err := db.StoreToken(ctx, acct, "bench", token, nil, true); err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	httpSrv := &http.Server{Handler: srv.Handler()}
	go httpSrv.Serve(ln)
	c = &benchClient{base: "http://" + ln.Addr().String(), token: token, http: &http.Client{
		Transport: &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64}}}
	return c, func() { httpSrv.Close() }, nil
}

// inBatches calls fn on [from, to) ranges of 0..n, size at a time, from
// workers goroutines, and returns the first error; a worker stops at its
// first error, the others at the end of the ranges.
func inBatches(n, size, workers int, fn func(from, to int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				from := int(next.Add(int64(size))) - size
				if from >= n {
					return
				}
				if err := fn(from, min(from+size, n)); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	return <-errc
}

type benchClient struct {
	base, token string
	http        *http.Client
}

func (c *benchClient) do(method, path string, body any, want int) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, truncateBytes(out, 300))
	}
	return out, nil
}

func truncateBytes(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// latencies runs fn sequentially n times and returns the sorted durations.
func latencies(n int, fn func(i int) error) ([]time.Duration, error) {
	out := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		start := time.Now()
		if err := fn(i); err != nil {
			return nil, err
		}
		out = append(out, time.Since(start))
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[int(float64(len(d)-1)*p)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d.Microseconds())/1000) }

// runBenchCRM measures the CRM API over db, which holds nothing yet but
// its account acct, and returns the rows of the table.
func runBenchCRM(ctx context.Context, db store, acct int64, n, conc, samples int) ([]benchRow, error) {
	var out []benchRow
	add := func(num float64, label, format string, args ...any) {
		out = append(out, benchRow{label: label, value: fmt.Sprintf(format, args...), num: num})
	}
	c, stop, err := serveBench(ctx, db, acct, "bench-admin-token", &api.Server{Records: db, Properties: db, Associations: db, Schemas: db, Tokens: db,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return nil, err
	}
	defer stop()

	// Baseline: an HTTP round trip that touches neither auth nor the
	// database, to see what the API adds on top of loopback HTTP.
	base, err := latencies(samples, func(int) error { _, err := c.do("GET", "/healthz", nil, 200); return err })
	if err != nil {
		return nil, err
	}
	add(0, "baseline GET /healthz (no auth, no database) p50 / p99", "%s / %s", ms(pct(base, .5)), ms(pct(base, .99)))

	if _, err := c.do("POST", "/crm/v3/properties/contacts", map[string]any{
		"name": "score", "label": "Score", "type": "number", "fieldType": "number", "groupName": "contactinformation"}, 201); err != nil {
		return nil, err
	}

	// Batch upsert by email, 100 per call, conc clients in parallel.
	start := time.Now()
	err = inBatches(n, 100, conc, func(from, to int) error {
		inputs := make([]map[string]any, 0, 100)
		for i := from; i < to; i++ {
			inputs = append(inputs, map[string]any{"idProperty": "email", "id": fmt.Sprintf("user%d@bench.example", i),
				"properties": map[string]string{"firstname": fmt.Sprintf("User%d", i), "lastname": "Bench",
					"score": fmt.Sprint(i % 1000), "lifecyclestage": "lead"}})
		}
		_, err := c.do("POST", "/crm/v3/objects/contacts/batch/upsert", map[string]any{"inputs": inputs}, 200)
		return err
	})
	if err != nil {
		return nil, err
	}
	el := time.Since(start)
	add(float64(n)/el.Seconds(), fmt.Sprintf("batch upsert of %d contacts (100 per call, %d clients)", n, conc), "%s, **%.0f records/s**", el.Round(time.Millisecond), float64(n)/el.Seconds())

	creates, err := latencies(samples, func(i int) error {
		_, err := c.do("POST", "/crm/v3/objects/contacts", map[string]any{"properties": map[string]string{
			"email": fmt.Sprintf("single%d@bench.example", i), "firstname": "Single", "score": "7"}}, 201)
		return err
	})
	if err != nil {
		return nil, err
	}
	add(0, "single create p50 / p99", "**%s** / %s", ms(pct(creates, .5)), ms(pct(creates, .99)))

	rng := rand.New(rand.NewPCG(1, 2))
	total := n + samples
	gets, err := latencies(samples, func(int) error {
		_, err := c.do("GET", fmt.Sprintf("/crm/v3/objects/contacts/%d", 1+rng.IntN(total)), nil, 200)
		return err
	})
	if err != nil {
		return nil, err
	}
	add(0, fmt.Sprintf("get by id p50 / p99 (at %d contacts)", total), "**%s** / %s", ms(pct(gets, .5)), ms(pct(gets, .99)))

	emails, err := latencies(samples, func(int) error {
		body := map[string]any{"filterGroups": []any{map[string]any{"filters": []any{map[string]any{
			"propertyName": "email", "operator": "EQ", "value": fmt.Sprintf("user%d@bench.example", rng.IntN(n))}}}}}
		out, err := c.do("POST", "/crm/v3/objects/contacts/search", body, 200)
		if err == nil && !bytes.Contains(out, []byte(`"total":1`)) {
			err = fmt.Errorf("email search found not exactly one: %s", truncateBytes(out, 200))
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	add(0, "search by email (EQ) p50 / p99", "**%s** / %s", ms(pct(emails, .5)), ms(pct(emails, .99)))

	rangeSamples := max(samples/20, 20)
	ranges, err := latencies(rangeSamples, func(int) error {
		lo := rng.IntN(990)
		body := map[string]any{"filterGroups": []any{map[string]any{"filters": []any{map[string]any{
			"propertyName": "score", "operator": "BETWEEN", "value": fmt.Sprint(lo), "highValue": fmt.Sprint(lo + 9)}}}}, "limit": 100}
		_, err := c.do("POST", "/crm/v3/objects/contacts/search", body, 200)
		return err
	})
	if err != nil {
		return nil, err
	}
	add(0, "search by number range (score BETWEEN, ~1% match, limit 100) p50 / p99", "%s / %s", ms(pct(ranges, .5)), ms(pct(ranges, .99)))
	add(0, "get by id p50 / baseline p50", "%.1fx", float64(pct(gets, .5))/float64(pct(base, .5)))
	return out, nil
}
