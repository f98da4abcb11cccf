package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/engine"
	"github.com/spokehq/spoke/flow"
	"github.com/spokehq/spoke/postgres"
)

// parseCounts parses a comma-separated list of positive counts.
func parseCounts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q: want positive numbers separated by commas, such as 1,2,4", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// runBenchEngineBoth runs the bulk enrollment of the engine benchmark on
// SQLite (one process, as `spoke serve` runs it) and then on PostgreSQL
// with each of counts `spoke worker` processes, and prints the PostgreSQL
// figures beside SQLite's from the same run.
func runBenchEngineBoth(ctx context.Context, spec string, settings []string, prepare string, n int, counts []int, runners, batch, codeConc, workers int) error {
	fmt.Println("## SQLite (one process: the engine runs in the benchmark's process)")
	fmt.Println()
	lite, err := runBenchEngine(ctx, n, 0, 0, runners, batch, codeConc, workers)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	pg, err := startBenchPG(spec, settings)
	if err != nil {
		return err
	}
	defer pg.stop()
	fmt.Printf("\n## PostgreSQL: %s\n\n", pg.desc)
	return benchEnginePG(ctx, pg, n, counts, runners, prepare, lite)
}

// benchEnginePG loads n contacts and the benchmark's flow into a template
// database once, then for each count of worker processes copies it, starts
// that many `spoke worker` processes on the copy, enrolls every contact
// with allMatching from this process, and waits (polling the database)
// until none is active. CPU comes from /proc: the workers (their own and
// their sandboxes'), this process, and the server's processes when it runs
// on this machine; database writes from pg_stat_database and pg_stat_wal.
func benchEnginePG(ctx context.Context, pg *benchPG, n int, counts []int, runners int, prepare string, lite *engineRun) error {
	tmpl := benchDBName("engine")
	tmplURL, err := pg.create(ctx, tmpl, "")
	if err != nil {
		return err
	}
	defer pg.drop(tmpl)
	flowID, load, err := loadEngineTemplate(ctx, tmplURL, n, prepare)
	if err != nil {
		return err
	}
	if prepare != "" {
		fmt.Printf("prepared with: %s\n\n", prepare)
	}
	fmt.Printf("load %d contacts through the store (batches of 100, one client): %s, %.0f records/s\n\n", n, load.Round(time.Millisecond), float64(n)/load.Seconds())
	fmt.Println("| worker processes | enroll (allMatching) | all completed | enrollments/s | PostgreSQL / SQLite | CPU per enrollment: spoke / Node / postgres | per enrollment: commits, rows inserted + updated, WAL records, WAL bytes |")
	fmt.Println("|---|---|---|---|---|---|---|")
	fmt.Printf("| SQLite, 1 process (same run) | | | %.0f | 1 | %.0f / %.0f / - µs | |\n", lite.rate, us(lite.spokeCPU), us(lite.nodeCPU))
	var walRanges []string
	var byTable map[string][2]int64
	for _, procs := range counts {
		name := fmt.Sprintf("%s_%d", tmpl, procs)
		url, err := pg.create(ctx, name, tmpl)
		if err != nil {
			return err
		}
		r, err := benchEngineWorkers(ctx, url, flowID, n, procs, runners)
		pg.drop(name)
		if err != nil {
			return fmt.Errorf("%d worker processes: %w", procs, err)
		}
		pgCPU := "n/a (server not on this machine)"
		if r.postgresCPU > 0 {
			pgCPU = fmt.Sprintf("%.0f", us(r.postgresCPU))
		}
		w := r.writes
		walRanges = append(walRanges, w.lsn)
		if byTable == nil {
			byTable = w.tables
		}
		per := func(v int64) float64 { return float64(v) / float64(n) }
		fmt.Printf("| %d | %s | %s | **%.0f** | %.2f | %.0f / %.0f / %s µs | %.2f, %.2f + %.2f, %.1f, %.0f B |\n",
			procs, r.enrolled.Round(time.Millisecond), r.total.Round(time.Millisecond), r.rate, r.rate/lite.rate,
			us(r.spokeCPU), us(r.nodeCPU), pgCPU, per(w.commits), per(w.inserted), per(w.updated), per(w.walRecords), per(w.walBytes))
	}
	fmt.Println()
	if len(byTable) > 0 {
		// The first run's rows by table: what each enrollment writes.
		names := make([]string, 0, len(byTable))
		for name := range byTable {
			names = append(names, name)
		}
		sort.Strings(names)
		var parts []string
		for _, name := range names {
			v := byTable[name]
			parts = append(parts, fmt.Sprintf("%s %.2f + %.2f", name, float64(v[0])/float64(n), float64(v[1])/float64(n)))
		}
		fmt.Printf("Rows inserted + updated per enrollment by table (%d worker processes): %s\n", counts[0], strings.Join(parts, ", "))
	}
	fmt.Printf("WAL of the runs (pg_walinspect's pg_get_wal_stats, while the server lives): %s\n", strings.Join(walRanges, ", "))
	fmt.Println("CPU per enrollment: spoke is the worker processes and the enrolling process, Node the sandboxes the workers started, postgres every server process; WAL is the whole cluster's (pg_stat_wal), commits and rows this database's (pg_stat_database).")
	return nil
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }

// loadEngineTemplate prepares the template database: the benchmark's
// properties and n contacts (written as the SQLite benchmark writes them),
// unlimited code executions, and the flow, created after the contacts so
// that none is enrolled yet. It returns the flow's id and how long the
// contacts took to load.
func loadEngineTemplate(ctx context.Context, url string, n int, prepare string) (string, time.Duration, error) {
	db, err := postgres.Open(ctx, url)
	if err != nil {
		return "", 0, err
	}
	defer db.Close()
	db.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := db.SetSecretKey(benchSecret()); err != nil {
		return "", 0, err
	}
	acct, _, err := db.DefaultAccount(ctx)
	if err != nil {
		return "", 0, err
	}
	if err := db.SetCodeLimit(ctx, acct, -1); err != nil {
		return "", 0, err
	}
	for _, p := range []*spoke.Property{
		{ObjectType: "contacts", Name: "score", Label: "Score", Type: spoke.TypeNumber, GroupName: "contactinformation"},
		{ObjectType: "contacts", Name: "employees", Label: "Employees", Type: spoke.TypeNumber, GroupName: "contactinformation"},
	} {
		if _, err := db.CreateProperty(ctx, acct, p); err != nil {
			return "", 0, err
		}
	}
	start := time.Now()
	if err := loadBenchContacts(ctx, db, acct, n); err != nil {
		return "", 0, err
	}
	load := time.Since(start)
	f, err := flow.Parse([]byte(benchFlow))
	if err != nil {
		return "", 0, err
	}
	if f, err = db.CreateFlow(ctx, acct, f); err != nil {
		return "", 0, err
	}
	// A database that has settled: statistics and visibility maps as
	// autovacuum would leave them after the load.
	if prepare != "" {
		if _, err := db.Pool().Exec(ctx, prepare); err != nil {
			return "", 0, fmt.Errorf("--pg-prepare: %w", err)
		}
	}
	if _, err := db.Pool().Exec(ctx, `VACUUM (ANALYZE)`); err != nil {
		return "", 0, err
	}
	return f.ID, load, nil
}

// workersRun is what benchEngineWorkers measured.
type workersRun struct {
	enrolled, total   time.Duration
	rate              float64
	spokeCPU, nodeCPU time.Duration // per enrollment
	postgresCPU       time.Duration // per enrollment; 0 when unknown
	writes            pgCounters
}

// benchEngineWorkers runs one bulk enrollment of the n contacts in url's
// database with procs worker processes.
func benchEngineWorkers(ctx context.Context, url, flowID string, n, procs, runners int) (*workersRun, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	var cmds []*exec.Cmd
	var logs []*bytes.Buffer
	stopWorkers := func() {
		for _, c := range cmds {
			if c.ProcessState == nil {
				c.Process.Signal(syscall.SIGTERM)
			}
		}
		for _, c := range cmds {
			if c.ProcessState == nil {
				c.Wait()
			}
		}
	}
	defer stopWorkers()
	for i := 0; i < procs; i++ {
		dir, err := os.MkdirTemp("", "spoke-bench-worker-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		addr, err := freeLoopback()
		if err != nil {
			return nil, err
		}
		args := []string{"worker", "--database", url, "--addr", addr, "--data", dir, "--api-url", "http://127.0.0.1:9"}
		if runners > 0 {
			args = append(args, "--runners", strconv.Itoa(runners))
		}
		buf := &bytes.Buffer{}
		cmd := exec.Command(exe, args...)
		cmd.Env = append(os.Environ(), "SPOKE_SECRET_KEY="+benchSecretKey, EnvDatabaseURL+"=")
		cmd.Stdout, cmd.Stderr = buf, buf
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		cmds, logs = append(cmds, cmd), append(logs, buf)
		if err := waitHealthy(ctx, "http://"+addr+"/healthz", 30*time.Second); err != nil {
			return nil, fmt.Errorf("worker %d: %w\n%s", i, err, buf)
		}
	}
	workerLogs := func() string {
		var b strings.Builder
		for i, l := range logs {
			fmt.Fprintf(&b, "--- worker %d:\n%s", i, truncateBytes(l.Bytes(), 2000))
		}
		return b.String()
	}

	db, err := postgres.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	db.Logger = quiet
	closed := false
	defer func() {
		if !closed {
			db.Close()
		}
	}()
	if err := db.SetSecretKey(benchSecret()); err != nil {
		return nil, err
	}
	acct, _, err := db.DefaultAccount(ctx)
	if err != nil {
		return nil, err
	}
	// This process only enrolls: allMatching lists the contacts that meet
	// the criteria and inserts their enrollments, which wake the workers.
	eng := engine.New(engine.Config{Store: db, Flows: db, Records: db, Properties: db, Secrets: db, ObjectTypes: db, Logger: quiet, SharedStore: true, Lists: db})
	pm := postmasterPID(ctx, url)
	time.Sleep(time.Second) // the workers' spare sandboxes start
	before, err := readPGCounters(ctx, url)
	if err != nil {
		return nil, err
	}
	self0, _ := cpuTimes()
	workers0, node0 := workersCPU(cmds)
	pg0 := postgresCPU(pm)

	start := time.Now()
	res, err := eng.EnrollAllMatching(ctx, acct, flowID)
	if err != nil {
		return nil, err
	}
	enrolled := time.Since(start)
	if len(res.Enrolled) != n {
		return nil, fmt.Errorf("enrolled %d of %d", len(res.Enrolled), n)
	}
	// Polled with a count the partial index of active enrollments
	// answers, so that the harness costs the server little; failures are
	// counted at the end.
	for {
		var active int
		if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM enrollments WHERE status = 'ACTIVE'`).Scan(&active); err != nil {
			return nil, err
		}
		if active == 0 {
			break
		}
		for _, c := range cmds {
			if c.ProcessState != nil {
				return nil, fmt.Errorf("a worker exited\n%s", workerLogs())
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	total := time.Since(start)
	var failed int
	if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM enrollments WHERE status = 'FAILED'`).Scan(&failed); err != nil {
		return nil, err
	}
	if failed > 0 {
		return nil, fmt.Errorf("%d enrollments failed\n%s", failed, workerLogs())
	}
	self1, _ := cpuTimes()
	workers1, node1 := workersCPU(cmds)
	pg1 := postgresCPU(pm)

	// The server counts a session's statistics when it ends (or every few
	// seconds): stop the workers and this process's sessions first.
	stopWorkers()
	db.Close()
	closed = true
	time.Sleep(1500 * time.Millisecond)
	after, err := readPGCounters(ctx, url)
	if err != nil {
		return nil, err
	}
	per := func(d time.Duration) time.Duration { return d / time.Duration(n) }
	r := &workersRun{enrolled: enrolled, total: total, rate: float64(n) / total.Seconds(),
		spokeCPU: per(self1 - self0 + workers1 - workers0), nodeCPU: per(node1 - node0), writes: after.sub(before)}
	if pm != 0 {
		r.postgresCPU = per(pg1 - pg0)
	}
	return r, nil
}

// workersCPU returns the CPU time the worker processes have used
// themselves and that their descendants (sandboxes) have used.
func workersCPU(cmds []*exec.Cmd) (self, sandboxes time.Duration) {
	procs := readProcs()
	for _, c := range cmds {
		s, d := treeCPU(procs, c.Process.Pid)
		self += s
		sandboxes += d
	}
	return self, sandboxes
}

// freeLoopback returns a loopback address with a port free just now.
func freeLoopback() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitHealthy waits until url answers 200.
func waitHealthy(ctx context.Context, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s did not answer 200 within %s", url, timeout)
}
