// Package postgres implements Spoke's store on PostgreSQL (jackc/pgx/v5),
// for deployments where several API and worker processes share one
// database. It keeps the SQLite store's tables and semantics and passes the
// same conformance suite (package storetest) for the parts it implements;
// see docs/scale.md for what it does not yet.
package postgres

import (
	"context"
	"crypto/cipher"
	"embed"
	"errors"
	"fmt"
	"github.com/spokehq/spoke/crmrules"
	"io/fs"
	"log/slog"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/spokehq/spoke"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is the PostgreSQL store. Its methods are safe for concurrent use, and
// several processes may open the same database.
type DB struct {
	// PipelineWrites gives DB spoke.PipelineService's writes, over
	// ChangePipelines.
	crmrules.PipelineWrites

	pool pool
	url  string

	// Now returns the current time; tests replace it.
	Now func() time.Time
	// Logger receives warnings; slog.Default when nil.
	Logger *slog.Logger

	secrets cipher.AEAD
	// legacySecrets opens secrets of key version 1 (SHA-256 of
	// SPOKE_SECRET_KEY) that an older process wrote after UseSecretKey.
	legacySecrets cipher.AEAD

	hookMu     sync.RWMutex
	trigger    TriggerFunc
	onEnrolled func()

	// dyn caches owners, teams, pipelines and schemas.
	dyn dynCache

	// ret holds the retention defaults and the pruner's cursors.
	ret retentionState

	mu    sync.RWMutex
	props map[propKey]map[string]*spoke.Property
	gen   uint64

	// SearchIndexMin is how many live records of a type an account must
	// hold before a search creates the index it needs (search_index.go);
	// 0 means DefaultSearchIndexMin, negative never.
	SearchIndexMin int

	// growth counts rows added by bulk writes, for grew.
	growth growth
	// searchIdx tracks the token indexes searches asked for.
	searchIdx searchIndexes
}

type propKey struct {
	account    int64
	objectType string
}

// IsURL reports whether s names a PostgreSQL database (postgres:// or
// postgresql://), as --database and SPOKE_DATABASE_URL do.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Open connects to the database at url, applies the migrations this
// binary has (under an advisory lock, so processes starting together do
// not race) and returns the store. Its errors say what is wrong in words:
// a malformed URL, a server that cannot be reached, a schema newer than
// this binary.
func Open(ctx context.Context, dbURL string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, fmt.Errorf("database URL %s is not a valid PostgreSQL URL: %w", redactURL(dbURL), unwrapParse(err))
	}
	cfg.MaxConns = max(cfg.MaxConns, 16)
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	pgPool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open PostgreSQL at %s: %w", redactURL(dbURL), err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := pgPool.Ping(pingCtx); err != nil {
		pgPool.Close()
		return nil, fmt.Errorf("cannot reach PostgreSQL at %s: %w", redactURL(dbURL), err)
	}
	db := &DB{pool: pool{pgPool}, url: dbURL, Now: time.Now, props: map[propKey]map[string]*spoke.Property{}}
	db.PipelineWrites.Store = db
	if err := db.Migrate(ctx); err != nil {
		pgPool.Close()
		return nil, err
	}
	if err := db.ensureValueIndexes(ctx); err != nil {
		pgPool.Close()
		return nil, err
	}
	return db, nil
}

// connectTimeout bounds a connection attempt whose URL sets no
// connect_timeout: a server that does not answer (a host down, a
// partition) must fail requests with 503 in seconds, not hang them.
const connectTimeout = 5 * time.Second

// redactURL drops the password from a URL for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.Redacted()
}

// unwrapParse returns the innermost error of a connection string parse,
// which names the bad part without repeating the whole string.
func unwrapParse(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

// SchemaVersion is the newest migration this binary has.
func SchemaVersion() int {
	names, _ := fs.Glob(migrations, "migrations/*.sql")
	v := 0
	for _, n := range names {
		if n, err := migrationVersion(n); err == nil && n > v {
			v = n
		}
	}
	return v
}

func migrationVersion(name string) (int, error) {
	base := name[strings.LastIndex(name, "/")+1:]
	num, _, _ := strings.Cut(base, "_")
	return strconv.Atoi(num)
}

// ErrSchemaTooNew reports a database migrated by a newer Spoke.
var ErrSchemaTooNew = errors.New("the database schema is newer than this binary")

// Migrate applies the migrations the database has not had, each in its own
// transaction, holding an advisory lock so that processes starting at the
// same time apply each once. It refuses a database whose schema is newer
// than this binary's.
func (db *DB) Migrate(ctx context.Context) error {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Release()
	// 0x5350_4b45 ("SPKE"): one lock for every Spoke process on the server.
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(1397771077)`); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(1397771077)`)
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS spoke_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var current int
	if err := conn.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM spoke_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("migrate: read version: %w", err)
	}
	if mine := SchemaVersion(); current > mine {
		return fmt.Errorf("%w: it is at version %d, this Spoke knows up to %d; run a newer Spoke", ErrSchemaTooNew, current, mine)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		v, err := migrationVersion(name)
		if err != nil {
			return fmt.Errorf("migration %s: bad name", name)
		}
		if v <= current {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO spoke_migrations (version) VALUES ($1)`, v)
			return err
		})
		if err != nil {
			return fmt.Errorf("apply migration %s: %w", name, err)
		}
	}
	return nil
}

// Close closes the connection pool.
func (db *DB) Close() error {
	db.stopSearchIndexes()
	db.pool.Close()
	return nil
}

// Pool returns the connection pool, for tests and tools.
func (db *DB) Pool() *pgxpool.Pool { return db.pool.Pool }

// Path names the database (its URL without a password), for logs.
func (db *DB) Path() string { return redactURL(db.url) }

func (db *DB) nowMs() int64 { return db.Now().UnixMilli() }

func (db *DB) logger() *slog.Logger {
	if db.Logger != nil {
		return db.Logger
	}
	return slog.Default()
}

// inTx runs fn in a transaction, retrying it when PostgreSQL reports a
// serialization failure or a deadlock, which a retry resolves. As on
// SQLite, the context's cancellation is removed: a client that goes away
// must not leave half a batch undone. Its error is classified (see
// classify): a transaction cut off by a database going away fails with
// EUNAVAILABLE.
func (db *DB) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	ctx = context.WithoutCancel(ctx)
	for attempt := 0; ; attempt++ {
		err := pgx.BeginFunc(ctx, db.pool, fn)
		var pgErr *pgconn.PgError
		if attempt < 5 && errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01") {
			continue
		}
		// A connection the server closed (it restarted) fails before
		// anything was sent: once, try again on a fresh connection.
		if attempt == 0 && pgconn.SafeToRetry(err) && Unavailable(err) {
			continue
		}
		return classify(err)
	}
}

// isUniqueViolation reports a unique index refusing a row.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// ensureValueIndexes creates the value indexes of the built-in properties
// the catalogue marks (spokeValueIndex), as the SQLite store does.
func (db *DB) ensureValueIndexes(ctx context.Context) error {
	for _, t := range spoke.ObjectTypes {
		for _, p := range spoke.BuiltinProperties(t) {
			if !p.ValueIndex || p.ReadOnlyValue || t.IsComputedProperty(p.Name) {
				continue
			}
			if q := valueIndexSQL(t.Name, p); q != "" {
				if _, err := db.pool.Exec(ctx, q); err != nil {
					return fmt.Errorf("index %s.%s: %w", t.Name, p.Name, err)
				}
			}
		}
	}
	return nil
}
