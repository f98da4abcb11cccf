package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/spokehq/spoke/internal/pgtest"
	"github.com/spokehq/spoke/postgres"
)

// The benchmarks' PostgreSQL: `--database pgtest` starts a throwaway
// server (internal/pgtest) with benchPGSettings, on a Unix socket in a
// temporary directory, and removes it at the end; `--database URL` uses an
// existing server, on which the benchmark creates and drops databases of
// its own (spoke_bench_*), so its role needs CREATEDB.

// benchPGSettings are the throwaway server's settings. Durability is
// SQLite's in WAL mode with synchronous=NORMAL, which the SQLite figures
// are measured with: writes are in the WAL before the commit returns, the
// WAL is flushed to disk shortly after (synchronous_commit=off), and fsync
// and full-page writes keep the cluster consistent across a crash.
// pgtest's own defaults (fsync off) are for tests only. Memory: 1 GiB of
// shared buffers, so that 1,000,000 contacts and their indexes stay in
// memory as SQLite's do in the page cache.
var benchPGSettings = []string{"fsync=on", "full_page_writes=on", "synchronous_commit=off", "shared_buffers=1GB",
	"max_wal_size=4GB", "checkpoint_timeout=15min"}

// benchSecretKey is the SPOKE_SECRET_KEY the benchmarks' processes share.
const benchSecretKey = "spoke-bench-secret-key"

// benchPG is a PostgreSQL server the benchmarks create databases on.
type benchPG struct {
	admin string // a database to connect to for CREATE and DROP DATABASE
	stop  func()
	desc  string
}

// startBenchPG returns the server spec names: "pgtest" for a throwaway
// one (with extra settings after benchPGSettings), or a postgres:// URL.
func startBenchPG(spec string, extra []string) (*benchPG, error) {
	if spec == "pgtest" {
		s, err := pgtest.StartWith(os.TempDir(), append(append([]string{}, benchPGSettings...), extra...)...)
		if err != nil {
			return nil, err
		}
		v := benchServerVersion(s.URL("postgres"))
		return &benchPG{admin: s.URL("postgres"), stop: func() {
			if err := s.Stop(); err != nil {
				fmt.Fprintln(os.Stderr, "spoke bench:", err)
			}
		}, desc: fmt.Sprintf("throwaway PostgreSQL %s on a Unix socket (%s)", v, strings.Join(append(append([]string{}, benchPGSettings...), extra...), ", "))}, nil
	}
	if !postgres.IsURL(spec) {
		return nil, errors.New("--database must be a postgres:// URL (the role needs CREATEDB: the benchmark creates and drops databases of its own) or pgtest (a throwaway server)")
	}
	if len(extra) > 0 {
		return nil, errors.New("--pg-setting applies only to --database pgtest; set an existing server's settings on the server")
	}
	return &benchPG{admin: spec, stop: func() {}, desc: "PostgreSQL " + benchServerVersion(spec) + " at " + redactBenchURL(spec)}, nil
}

func benchServerVersion(admin string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "(unknown version)"
	}
	defer conn.Close(ctx)
	var v string
	if conn.QueryRow(ctx, `SHOW server_version`).Scan(&v) != nil {
		return "(unknown version)"
	}
	return v
}

func redactBenchURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(URL)"
	}
	return u.Redacted()
}

// dbURL returns the URL of database name on the server.
func (b *benchPG) dbURL(name string) string {
	u, err := url.Parse(b.admin)
	if err != nil {
		return b.admin + " dbname=" + name
	}
	u.Path = "/" + name
	return u.String()
}

// create creates database name, a copy of template when that is not "",
// and returns its URL.
func (b *benchPG) create(ctx context.Context, name, template string) (string, error) {
	conn, err := pgx.Connect(ctx, b.admin)
	if err != nil {
		return "", fmt.Errorf("connect to %s: %w", redactBenchURL(b.admin), err)
	}
	defer conn.Close(ctx)
	q := `CREATE DATABASE ` + pgx.Identifier{name}.Sanitize()
	if template != "" {
		q += ` TEMPLATE ` + pgx.Identifier{template}.Sanitize()
	}
	if _, err := conn.Exec(ctx, q); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return b.dbURL(name), nil
}

// drop drops database name, cutting off its sessions.
func (b *benchPG) drop(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, b.admin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "spoke bench: drop database:", err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`); err != nil {
		fmt.Fprintln(os.Stderr, "spoke bench: drop database:", err)
	}
}

// benchDBName names a benchmark's database, unique to this process.
func benchDBName(what string) string {
	return "spoke_bench_" + what + "_" + strconv.Itoa(os.Getpid())
}

// pgCounters are the server's cumulative statistics the cost model uses:
// the database's commits and row writes (pg_stat_database) and the
// cluster's WAL (pg_stat_wal: every server process, whichever database).
type pgCounters struct {
	commits, inserted, updated, deleted int64
	walRecords, walFPI, walBytes        int64
	// lsn is the WAL's insert position, for a look at a run's WAL
	// (pg_walinspect).
	lsn string
	// tables holds each table's rows inserted and updated
	// (pg_stat_user_tables).
	tables map[string][2]int64
}

func readPGCounters(ctx context.Context, dbURL string) (pgCounters, error) {
	var c pgCounters
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return c, err
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, `SELECT xact_commit, tup_inserted, tup_updated, tup_deleted FROM pg_stat_database WHERE datname = current_database()`).
		Scan(&c.commits, &c.inserted, &c.updated, &c.deleted); err != nil {
		return c, fmt.Errorf("read pg_stat_database: %w", err)
	}
	if err := conn.QueryRow(ctx, `SELECT wal_records, wal_fpi, wal_bytes::bigint, pg_current_wal_insert_lsn()::text FROM pg_stat_wal`).Scan(&c.walRecords, &c.walFPI, &c.walBytes, &c.lsn); err != nil {
		return c, fmt.Errorf("read pg_stat_wal: %w", err)
	}
	rows, err := conn.Query(ctx, `SELECT relname, n_tup_ins, n_tup_upd FROM pg_stat_user_tables`)
	if err != nil {
		return c, fmt.Errorf("read pg_stat_user_tables: %w", err)
	}
	defer rows.Close()
	c.tables = map[string][2]int64{}
	for rows.Next() {
		var name string
		var ins, upd int64
		if err := rows.Scan(&name, &ins, &upd); err != nil {
			return c, err
		}
		c.tables[name] = [2]int64{ins, upd}
	}
	return c, rows.Err()
}

func (c pgCounters) sub(o pgCounters) pgCounters {
	d := pgCounters{c.commits - o.commits, c.inserted - o.inserted, c.updated - o.updated, c.deleted - o.deleted,
		c.walRecords - o.walRecords, c.walFPI - o.walFPI, c.walBytes - o.walBytes, o.lsn + "-" + c.lsn, map[string][2]int64{}}
	for name, v := range c.tables {
		if dv := [2]int64{v[0] - o.tables[name][0], v[1] - o.tables[name][1]}; dv != [2]int64{} {
			d.tables[name] = dv
		}
	}
	return d
}

// postmasterPID returns the process id of the server's postmaster when
// the server runs on this machine (a backend's parent, named postgres), or
// 0: then its CPU cannot be read from /proc.
func postmasterPID(ctx context.Context, dbURL string) int {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return 0
	}
	defer conn.Close(ctx)
	var backend int
	if conn.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&backend) != nil {
		return 0
	}
	procs := readProcs()
	parent := procs[backend].ppid
	comm, err := os.ReadFile("/proc/" + strconv.Itoa(parent) + "/comm")
	if err != nil || !strings.HasPrefix(string(comm), "postgres") {
		return 0
	}
	return parent
}

// postgresCPU returns the CPU time the server with postmaster pid has used
// (its processes, live and exited), or 0 when pid is 0.
func postgresCPU(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	self, desc := treeCPU(readProcs(), pid)
	return self + desc
}

// benchSecret is the AES key that SPOKE_SECRET_KEY=benchSecretKey gives a
// PostgreSQL store (see useSecretKey).
func benchSecret() []byte {
	sum := sha256.Sum256([]byte(benchSecretKey))
	return sum[:]
}
