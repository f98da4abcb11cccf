package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/engine"
	"github.com/spokehq/spoke/sandbox"
	"github.com/spokehq/spoke/sandbox/egress"
	"github.com/spokehq/spoke/sqlite"
)

func init() { commands["worker"] = workerCommand }

// workerCommand runs `spoke worker`: the engine and the code sandbox on a
// shared PostgreSQL database, without the API. Several workers and API
// processes (`spoke serve --no-engine`) share one database; workers claim
// enrollments with FOR UPDATE SKIP LOCKED, so none is run by two.
func workerCommand(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:9090", "`HOST:PORT` serving /metrics and /healthz")
	dir := fs.String("data", "./spoke-data", "data `DIR` holding the CA that code's HTTPS to the API is verified with")
	database := fs.String("database", "", "PostgreSQL `URL` (postgres://...); default $"+EnvDatabaseURL)
	apiURL := fs.String("api-url", "http://127.0.0.1:8080", "`URL` of a Spoke API process, which custom code reaches as api.hubapi.com")
	runners := fs.Int("runners", 0, "claim-and-run loops (default engine.DefaultRunners)")
	keyFile := fs.String("secret-key-file", "", "`FILE` holding the key that encrypts secrets (64 hex digits; created if missing); default $SPOKE_SECRET_KEY. Every process sharing the database needs the same key")
	lease := fs.Duration("lease", engine.DefaultLease, "how long a claimed enrollment stays with a worker that stops renewing it (a killed worker's enrollments run elsewhere after this)")
	var allow multiFlag
	fs.Var(&allow, "allow-host", "`HOST:PORT` that code and webhooks may reach even if it is loopback or private (repeatable)")
	ret := retentionFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	// SPOKE_WORKER_CPUPROFILE=PREFIX profiles the worker into PREFIX.PID
	// until it stops (spoke bench engine --database starts several).
	if prefix := os.Getenv("SPOKE_WORKER_CPUPROFILE"); prefix != "" {
		f, err := os.Create(fmt.Sprintf("%s.%d", prefix, os.Getpid()))
		if err != nil {
			logger.Error("cpu profile", "err", err)
			return 1
		}
		defer f.Close()
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if err := work(ctx, logger, workerOptions{addr: *addr, dir: *dir, dbURL: databaseURL(*database), apiURL: *apiURL, keyFile: *keyFile,
		runners: *runners, lease: *lease, allowHosts: allow, retention: ret.retention()}); err != nil {
		logger.Error("worker failed", "err", err)
		return 1
	}
	return 0
}

// workerOptions are `spoke worker`'s flags.
type workerOptions struct {
	addr, dir, dbURL, apiURL string
	// keyFile is --secret-key-file; "" means SPOKE_SECRET_KEY.
	keyFile    string
	runners    int
	lease      time.Duration
	allowHosts []string
	// retention is the default retention of accounts that set none (every
	// process should be given the same, through SPOKE_RETENTION_*).
	retention spoke.Retention
}

// work runs a worker: the engine, its rollout controller and the pruner
// (which takes turns with the other processes' pruners).
func work(ctx context.Context, logger *slog.Logger, o workerOptions) error {
	addr, dir, dbURL, apiURL, runners, lease, allowHosts, retention := o.addr, o.dir, o.dbURL, o.apiURL, o.runners, o.lease, o.allowHosts, o.retention
	if dbURL == "" {
		return errors.New("spoke worker needs --database (or " + EnvDatabaseURL + "): workers share a PostgreSQL database with the API processes; on SQLite, spoke serve runs the engine itself")
	}
	if err := ensureDir(dir); err != nil {
		return err
	}
	opened, err := openStore(ctx, dbURL, dir, logger, sqlite.Options{})
	if err != nil {
		return err
	}
	db := opened.store
	defer db.Close()
	if err := db.SetRetentionDefaults(retention); err != nil {
		return fmt.Errorf("retention flags: %w", err)
	}
	if err := opened.useSecretKey(ctx, dir, o.keyFile); err != nil {
		return err
	}
	ca, err := egress.LoadOrCreateCA(dir)
	if err != nil {
		return err
	}
	var code engine.Invoker
	pool, err := sandbox.NewPool(sandbox.Config{APIURL: apiURL, AllowHosts: allowHosts, CA: ca, Logger: logger})
	if err != nil {
		logger.Error("custom code is unavailable; run scripts/setup.sh (make setup) to install bubblewrap and the runtimes", "err", err)
		code = unavailableCode{err}
	} else {
		defer pool.Close()
		code = pool
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	eng := engine.New(engine.Config{Store: db, Flows: db, Records: db, Properties: db, Secrets: db, ObjectTypes: db, Code: code, Logger: logger,
		HTTP:    engine.WebhookClient(egress.New(egress.Config{Allow: allowHosts, Logger: logger})),
		Metrics: engine.NewMetrics(reg, db), Runners: runners, Lease: lease, RenewEvery: lease / 5, SharedStore: true, Lists: db, Rollouts: db,
		Alerts: db, Reverts: db})
	opened.setTrigger(eng.Trigger, eng.Wake)
	engine.RegisterStorageMetrics(reg, db, 0)

	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		pingCtx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := opened.ping(pingCtx); err != nil {
			w.Header().Set("Retry-After", "5")
			http.Error(w, "database unreachable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	engCtx, stop := context.WithCancel(context.Background())
	defer stop()
	go opened.listen(engCtx, eng.Wake, eng.FlowsChanged)
	done := make(chan error, 1)
	go func() { done <- eng.Run(engCtx) }()
	pruneDone := make(chan struct{})
	go func() {
		defer close(pruneDone)
		db.RunPruner(engCtx, spoke.PruneConfig{})
	}()
	defer func() { stop(); <-pruneDone }()
	logger.Info("spoke worker running", "database", db.Path(), "metrics", "http://"+ln.Addr().String()+"/metrics")
	select {
	case <-ctx.Done():
		logger.Info("shutting down: the round in flight is dropped and runs again elsewhere")
		stop()
		return <-done
	case err := <-done:
		return err
	}
}
