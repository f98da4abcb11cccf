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
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spokehq/spoke"

	"github.com/spokehq/spoke/api"
	"github.com/spokehq/spoke/engine"
	"github.com/spokehq/spoke/lint"
	"github.com/spokehq/spoke/sandbox"
	"github.com/spokehq/spoke/sandbox/egress"
	"github.com/spokehq/spoke/sqlite"
	"github.com/spokehq/spoke/web"
)

func init() { commands["serve"] = serveCommand }

// serveCommand runs `spoke serve`: the HTTP API and the engine, on
// embedded SQLite or, with --database, on PostgreSQL.
func serveCommand(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "`HOST:PORT` to listen on")
	dir := fs.String("data", "./spoke-data", "data `DIR` holding the SQLite database (and the admin token and CA with PostgreSQL)")
	database := fs.String("database", "", "PostgreSQL `URL` (postgres://...) to use instead of SQLite; default $"+EnvDatabaseURL)
	noEngine := fs.Bool("no-engine", false, "serve the API only; `spoke worker` processes run the flows (PostgreSQL)")
	demo := fs.Bool("demo", false, "add a few demo records when the database has none")
	verbose := fs.Bool("v", false, "log every request")
	trustProxy := fs.Bool("trust-proxy", false, "build paging links from X-Forwarded-Proto and X-Forwarded-Host (set only behind a reverse proxy that sets them)")
	var opts serveOptions
	fs.StringVar(&opts.metricsAddr, "metrics-addr", DefaultMetricsAddr, "`HOST:PORT` serving Prometheus metrics at /metrics, without a token; never reachable from custom code or webhooks (empty: no metrics)")
	fs.StringVar(&opts.secretKeyFile, "secret-key-file", "", "`FILE` holding the key that encrypts secrets (64 hex digits; created if missing); default DIR/secret.key, or SPOKE_SECRET_KEY when set")
	fs.IntVar(&opts.maxConns, "max-conns", api.DefaultMaxConns, "most open HTTP connections; more wait to be accepted (0: no cap)")
	fs.DurationVar(&opts.bodyTimeout, "body-timeout", api.DefaultBodyTimeout, "how long a request body may take to arrive")
	fs.BoolVar(&opts.noAutocheckpoint, "no-autocheckpoint", false, "leave WAL checkpoints to Litestream (set only when Litestream replicates DIR; see docs/backup.md)")
	var allow multiFlag
	fs.Var(&allow, "allow-host", "`HOST:PORT` that code and webhooks may reach even if it is loopback or private (repeatable)")
	ret := retentionFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	opts.addr, opts.dir, opts.demo, opts.trustProxy, opts.allowHosts, opts.retention = *addr, *dir, *demo, *trustProxy, allow, ret.retention()
	opts.dbURL, opts.noEngine = databaseURL(*database), *noEngine
	if err := serve(ctx, logger, opts); err != nil {
		logger.Error("serve failed", "err", err)
		return 1
	}
	return 0
}

// DefaultMetricsAddr is where `spoke serve` serves its metrics unless
// --metrics-addr says otherwise: loopback, port 9464 (the port
// OpenTelemetry's Prometheus exporter uses by convention).
const DefaultMetricsAddr = "127.0.0.1:9464"

// serveOptions are `spoke serve`'s flags.
type serveOptions struct {
	addr, dir string
	// dbURL selects PostgreSQL; "" is SQLite in dir.
	dbURL string
	// noEngine serves the API only, for deployments whose flows run in
	// `spoke worker` processes.
	noEngine         bool
	demo, trustProxy bool
	allowHosts       []string
	// metricsAddr serves /metrics; "" serves no metrics.
	metricsAddr string
	// retention is the default retention of accounts that set none; the
	// zero value means spoke.DefaultRetention.
	retention spoke.Retention
	// Hardening: secretKeyFile is --secret-key-file ("" means
	// SPOKE_SECRET_KEY or DIR/secret.key); maxConns, bodyTimeout and
	// noAutocheckpoint are their flags.
	secretKeyFile    string
	maxConns         int
	bodyTimeout      time.Duration
	noAutocheckpoint bool
}

func serve(ctx context.Context, logger *slog.Logger, o serveOptions) error {
	addr, dir, demo, trustProxy, allowHosts, retention := o.addr, o.dir, o.demo, o.trustProxy, o.allowHosts, o.retention
	if retention == (spoke.Retention{}) {
		retention = spoke.DefaultRetention
	}
	if err := ensureDir(dir); err != nil {
		return err
	}
	if o.noEngine && o.dbURL == "" {
		return errors.New("--no-engine needs --database: on SQLite the one process runs the engine")
	}
	opened, err := openStore(ctx, o.dbURL, dir, logger, sqlite.Options{NoAutocheckpoint: o.noAutocheckpoint})
	if err != nil {
		return err
	}
	// The driver's own store, not the wrapper, is wired in: the engine and
	// the API look for optional interfaces on it.
	db := opened.store
	if err := db.SetRetentionDefaults(retention); err != nil {
		db.Close()
		return fmt.Errorf("retention flags: %w", err)
	}
	defer func() {
		if err := db.Close(); err != nil {
			logger.Error("close database", "err", err)
		} else {
			logger.Info("database closed", "path", db.Path())
		}
	}()
	acct, token, err := bootstrap(ctx, db, dir)
	if err != nil {
		return err
	}
	if demo {
		if err := seedDemo(ctx, db, acct); err != nil {
			return fmt.Errorf("seed demo data: %w", err)
		}
	}
	if err := opened.useSecretKey(ctx, dir, o.secretKeyFile); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	url := "http://" + ln.Addr().String()

	// Metrics have a listener of their own, not an API route: the sandbox
	// reaches the API, and the egress guard refuses this address to code
	// and webhooks whatever --allow-host says. A metrics address that is
	// taken only costs the metrics (several servers on one machine, such
	// as tests, all default to the same port).
	var deny []string
	var metricsLn net.Listener
	if o.metricsAddr != "" {
		metricsLn, err = net.Listen("tcp", o.metricsAddr)
		if err != nil {
			logger.Error("metrics are not served", "addr", o.metricsAddr, "err", err)
		} else {
			defer metricsLn.Close()
			deny = append(deny, metricsLn.Addr().String())
		}
	}

	// The code sandbox reaches Spoke's own API at the listening address;
	// code run by a dry-run test reaches it through a loopback listener
	// that refuses writes.
	roLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen for the read-only API: %w", err)
	}
	defer roLn.Close()
	// HTTPS from code to api.hubapi.com reaches this server through the
	// egress proxy, with certificates from a CA kept in the data directory.
	ca, err := egress.LoadOrCreateCA(dir)
	if err != nil {
		return err
	}
	var code engine.Invoker
	pool, err := sandbox.NewPool(sandbox.Config{APIURL: url, ReadOnlyAPIURL: "http://" + roLn.Addr().String(), AllowHosts: allowHosts, DenyHosts: deny, CA: ca, Logger: logger})
	if err != nil {
		logger.Error("custom code is unavailable; run scripts/setup.sh (make setup) to install bubblewrap and the runtimes", "err", err)
		code = unavailableCode{err}
	} else {
		defer pool.Close()
		code = pool
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if pool != nil {
		registerSandboxMetrics(reg, pool)
	}
	apiHost := strings.TrimPrefix(url, "http://")
	engCfg := engine.Config{Store: db, Flows: db, Records: db, Properties: db, Secrets: db, ObjectTypes: db, Owners: db, Code: code, Logger: logger,
		HTTP:    engine.WebhookClient(egress.New(egress.Config{SpokeAPI: apiHost, Allow: allowHosts, Deny: deny, Logger: logger})),
		Metrics: engine.NewMetrics(reg, db), SharedStore: opened.shared, Lists: db, Alerts: db, Rollouts: db,
		// A revert job is stored here and run by whichever engine claims
		// it: with --no-engine, a worker's.
		Reverts: db}
	eng := engine.New(engCfg)
	opened.setTrigger(eng.Trigger, eng.Wake)
	engine.RegisterStorageMetrics(reg, db, 0)

	linter := lint.New(lint.Config{})
	defer linter.Close()
	go linter.Warm(context.Background())
	srv := &api.Server{Records: db, Properties: db, Associations: db, Schemas: db, Tokens: db, Owners: db, Pipelines: db, Flows: db, FlowChecker: db, Linter: linter,
		Engine: eng, EngineStore: db, Secrets: db, Lists: db, FlowWebhooks: db, Alerts: db, Logger: logger, TrustProxyHeaders: trustProxy}
	srv.Health = opened.ping
	ui := &web.Server{Tokens: db, Records: db, Properties: db, Associations: db, Flows: db, Engine: db, Runs: db,
		Secrets: db, Schemas: db, Owners: db, Pipelines: db, Storage: db, Retention: db, Logger: logger}
	srv.Retention = db
	handler := srv.Handler()
	ui.API = handler
	// Slow clients: headers must arrive in 10 s and bodies in
	// --body-timeout; idle connections close after two minutes, and at
	// most --max-conns are open at once.
	httpSrv := &http.Server{Handler: api.LimitBodies(ui.Wrap(handler), o.bodyTimeout), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	roSrv := &http.Server{Handler: api.LimitBodies(api.ReadOnly(handler), o.bodyTimeout), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	go roSrv.Serve(roLn)
	defer roSrv.Close()
	if metricsLn != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		metricsSrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go metricsSrv.Serve(metricsLn)
		defer metricsSrv.Close()
		logger.Info("metrics", "url", "http://"+metricsLn.Addr().String()+"/metrics")
	}
	engCtx, stopEngine := context.WithCancel(context.Background())
	engDone := make(chan error, 1)
	if opened.listen != nil {
		// Other processes' enrollments and flow changes reach this one.
		go opened.listen(engCtx, eng.Wake, eng.FlowsChanged)
	}
	if o.noEngine {
		engDone <- nil
	} else {
		go func() { engDone <- eng.Run(engCtx) }()
	}
	// The pruner runs beside the engine: on PostgreSQL in every process
	// that runs one, taking turns (spoke.Pruner's PruneCycle).
	pruneDone := make(chan struct{})
	go func() {
		defer close(pruneDone)
		if !o.noEngine {
			db.RunPruner(engCtx, spoke.PruneConfig{})
		}
	}()
	defer func() {
		stopEngine()
		if err := <-engDone; err != nil {
			logger.Error("engine stopped", "err", err)
		}
		<-pruneDone
	}()
	logger.Info("spoke listening", "url", url, "data", db.Path(), "portalId", acct)
	fmt.Printf("Spoke is listening on %s (data in %s)\n", url, dir)
	fmt.Printf("Open the web UI at %s/ and sign in with the admin token.\n", url)
	switch {
	case token != "":
		fmt.Printf("Admin token (generated on first start; also saved in %s): %s\n", filepath.Join(dir, AdminTokenFile), token)
	case os.Getenv("SPOKE_ADMIN_TOKEN") != "":
		fmt.Println("Admin token: the value of SPOKE_ADMIN_TOKEN")
	default:
		fmt.Printf("Admin token: see %s\n", filepath.Join(dir, AdminTokenFile))
	}
	errc := make(chan error, 1)
	go func() { errc <- httpSrv.Serve(api.LimitListener(ln, o.maxConns)) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down: finishing in-flight requests")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := httpSrv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// unavailableCode fails custom code when the sandbox could not start.
type unavailableCode struct{ err error }

func (u unavailableCode) Invoke(context.Context, sandbox.Invocation) (sandbox.Result, error) {
	return sandbox.Result{}, fmt.Errorf("the code sandbox is unavailable: %w", u.err)
}

// bootstrap creates the default account and makes sure an admin token
// exists: SPOKE_ADMIN_TOKEN's value if set, else one generated on first
// start and returned so it is printed once.
func bootstrap(ctx context.Context, db store, dir string) (account int64, newToken string, err error) {
	account, _, err = db.DefaultAccount(ctx)
	if err != nil {
		return 0, "", err
	}
	if secret := os.Getenv("SPOKE_ADMIN_TOKEN"); secret != "" {
		_, err = db.StoreToken(ctx, account, "admin (SPOKE_ADMIN_TOKEN)", secret, nil, true)
		return account, "", err
	}
	n, err := db.CountAdminTokens(ctx)
	if err != nil || n > 0 {
		return account, "", err
	}
	secret, _, err := db.CreateToken(ctx, account, "admin", nil, true)
	if err != nil {
		return account, "", err
	}
	// Keep a copy readable only by the owner, so `make run` and scripts can
	// find the token again after the first start.
	if err := os.WriteFile(filepath.Join(dir, AdminTokenFile), []byte(secret+"\n"), 0o600); err != nil {
		return account, "", fmt.Errorf("save admin token: %w", err)
	}
	return account, secret, nil
}

// seedDemoOwners adds three owners in two teams, unless the account has
// owners already, and returns the ids of the account's first three.
func seedDemoOwners(ctx context.Context, db store, acct int64) ([]string, error) {
	existing, _, err := db.ListOwners(ctx, acct, spoke.OwnerListOptions{Limit: 3})
	if err != nil {
		return nil, err
	}
	if len(existing) == 0 {
		for _, o := range []struct{ email, first, last, team string }{
			{"grace@spoke.example", "Grace", "Hopper", "Enterprise Sales"},
			{"alan@spoke.example", "Alan", "Turing", "Enterprise Sales"},
			{"katherine@spoke.example", "Katherine", "Johnson", "Customer Success"},
		} {
			teams := []string{o.team}
			if _, err := db.CreateOwner(ctx, acct, spoke.OwnerInput{Email: &o.email, FirstName: &o.first, LastName: &o.last, Teams: &teams}); err != nil {
				return nil, fmt.Errorf("add demo owner %s: %w", o.email, err)
			}
		}
		if existing, _, err = db.ListOwners(ctx, acct, spoke.OwnerListOptions{Limit: 3}); err != nil {
			return nil, err
		}
	}
	ids := make([]string, 3)
	for i := range ids {
		ids[i] = fmt.Sprint(existing[i%len(existing)].ID)
	}
	return ids, nil
}

// AdminTokenFile is where the generated admin token is kept in the data
// directory.
const AdminTokenFile = "admin-token"

// seedDemo adds a few companies and contacts to an empty database.
func seedDemo(ctx context.Context, db store, acct int64) error {
	recs, _, err := db.ListRecords(ctx, acct, "contacts", spoke.ListOptions{Limit: 1})
	if err != nil || len(recs) > 0 {
		return err
	}
	src := spoke.WriteSource{Type: spoke.SourceImport, ID: "demo"}
	owners, err := seedDemoOwners(ctx, db, acct)
	if err != nil {
		return err
	}
	companies, err := db.WriteRecords(ctx, acct, "companies", spoke.WriteCreate, []spoke.RecordInput{
		{Properties: map[string]string{"name": "Analytical Engines Ltd", "domain": "engines.example", "industry": "COMPUTER_HARDWARE", "numberofemployees": "12", "annualrevenue": "1200000"}},
		{Properties: map[string]string{"name": "Curie Labs", "domain": "curie.example", "industry": "RESEARCH", "numberofemployees": "48", "annualrevenue": "5400000"}},
	}, src)
	if err != nil {
		return err
	}
	for _, r := range companies {
		if r.Err != nil {
			return r.Err
		}
	}
	contacts := []spoke.RecordInput{
		{Properties: map[string]string{"email": "ada@engines.example", "firstname": "Ada", "lastname": "Lovelace", "jobtitle": "Programmer", "lifecyclestage": "customer", spoke.PropOwnerID: owners[0]}},
		{Properties: map[string]string{"email": "charles@engines.example", "firstname": "Charles", "lastname": "Babbage", "jobtitle": "Founder", "lifecyclestage": "opportunity", spoke.PropOwnerID: owners[0]}},
		{Properties: map[string]string{"email": "marie@curie.example", "firstname": "Marie", "lastname": "Curie", "jobtitle": "Director", "lifecyclestage": "lead", spoke.PropOwnerID: owners[1]}},
	}
	for i := range contacts {
		co := companies[0].Record.ID
		if i == 2 {
			co = companies[1].Record.ID
		}
		contacts[i].Associations = []spoke.AssociationInput{{ToID: fmt.Sprint(co), Types: []spoke.AssociationType{{Category: spoke.CategoryHubSpot, TypeID: 279}}}}
	}
	res, err := db.WriteRecords(ctx, acct, "contacts", spoke.WriteCreate, contacts, src)
	if err != nil {
		return err
	}
	for _, r := range res {
		if r.Err != nil {
			return r.Err
		}
	}
	_, err = db.WriteRecords(ctx, acct, "deals", spoke.WriteCreate, []spoke.RecordInput{
		{Properties: map[string]string{"dealname": "Difference Engine No. 2", "amount": "250000", "dealstage": "contractsent", "pipeline": "default", spoke.PropOwnerID: owners[2]}},
	}, src)
	if err != nil {
		return err
	}
	return seedDemoWork(ctx, db, acct, res, companies, owners)
}

// registerSandboxMetrics exports the sandbox pool's Stats.
func registerSandboxMetrics(reg prometheus.Registerer, pool *sandbox.Pool) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "spoke_sandbox_workers", Help: "Sandboxed worker processes: busy, warm and spare."},
			func() float64 { return float64(pool.Stats().Workers) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "spoke_sandbox_workers_started_total", Help: "Sandboxed workers started."},
			func() float64 { return float64(pool.Stats().Started) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "spoke_sandbox_workers_retired_total",
			Help: "Warm workers retired because a process or thread the code started outlived its invocation."},
			func() float64 { return float64(pool.Stats().Retired) }),
	)
}
