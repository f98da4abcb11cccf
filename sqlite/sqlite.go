// Package sqlite implements Spoke's store on embedded SQLite
// (modernc.org/sqlite, pure Go). It keeps one writer connection, whose
// transactions start IMMEDIATE so writers queue instead of failing, and a
// pool of reader connections; the database runs in WAL mode.
package sqlite

import (
	"context"
	"crypto/cipher"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"github.com/spokehq/spoke/crmrules"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/spokehq/spoke"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is Spoke's SQLite store. It implements spoke.RecordService,
// spoke.PropertyService, spoke.AssociationService, spoke.SchemaService
// (and so spoke.ObjectTypeService), spoke.TokenService,
// spoke.FlowService, spoke.EngineStore and spoke.SecretService, and the
// flow package's Checker.
type DB struct {
	// PipelineWrites gives DB spoke.PipelineService's writes, over
	// ChangePipelines.
	crmrules.PipelineWrites

	path  string
	write *sql.DB
	read  *sql.DB
	lock  *os.File // shared lock on the data directory (LockFile)

	// Now returns the current time; tests replace it.
	Now func() time.Time
	// Logger receives the store's warnings; nil means slog.Default().
	Logger *slog.Logger

	mu    sync.RWMutex
	props map[propKey]map[string]*propertyDef // cache of property definitions
	// propGen counts forgetDefinitions calls, so that a load that raced
	// with a change does not cache what it read.
	propGen uint64

	schemaMu sync.RWMutex
	schemas  map[int64][]*spoke.ObjectSchema // live custom object schemas by account
	// schemaGen counts forgetSchemas calls, as propGen does for
	// properties.
	schemaGen uint64
	dyn       dynCache // owners, teams and pipelines (dynamic.go)

	secrets cipher.AEAD // encrypts secrets; see SetSecretKey

	hookMu     sync.RWMutex
	trigger    TriggerFunc // enrollment triggers, run inside record writes
	onEnrolled func()      // called after a commit that enrolled records

	retMu       sync.Mutex
	retDefaults *spoke.Retention // nil: spoke.DefaultRetention
	prune       retentionState

	refMu sync.Mutex
	refs  actionRefs // execution_actions rows (execlog.go)

	stmtMu sync.Mutex
	stmts  map[stmtKey]*sql.Stmt // prepared statements by pool and text

	searchMu       sync.Mutex
	searchIdx      map[string]bool // on-demand search indexes that exist, by name (search_index.go)
	searchIndexMin int             // live records of a type before searches create indexes; tests lower it
	searchScan     bool            // answer every search by scanning rows, as tests compare
}

type stmtKey struct {
	pool  *sql.DB
	query string
}

type propKey struct {
	account    int64
	objectType string
}

// FileName is the database's file name inside the data directory.
const FileName = "spoke.db"

// Open opens (creating if needed) the database in dir and applies pending
// migrations.
func Open(ctx context.Context, dir string) (*DB, error) {
	return OpenWith(ctx, dir, Options{})
}

// Options are the store's settings beyond its data directory.
type Options struct {
	// NoAutocheckpoint turns SQLite's automatic WAL checkpoints off
	// (wal_autocheckpoint=0), for a database Litestream replicates: then
	// only Litestream checkpoints, so it never misses WAL frames under a
	// heavy write load (see docs/backup.md). Without Litestream the WAL
	// would grow without bound.
	NoAutocheckpoint bool
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, dir string, o Options) (*DB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", dir, err)
	}
	lock, err := lockDir(dir, false)
	if err != nil {
		if errors.Is(err, ErrInUse) {
			return nil, fmt.Errorf("%s is being restored: %w", dir, err)
		}
		return nil, err
	}
	path := filepath.Join(dir, FileName)
	pragmas := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)&_pragma=cache_size(-65536)"
	// The writer keeps its temporary files in memory. A multi-row INSERT
	// (insertCreates, history) needs a statement journal of the pages it
	// changes, which SQLite otherwise spills to a temporary file past 64 KiB:
	// an open, writes and a delete per statement (about a tenth of the CPU
	// of a batch upsert). VACUUM, whose temporary copy is the whole
	// database, switches back to files (ensureIncrementalVacuum).
	writePragmas := pragmas + "&_pragma=temp_store(MEMORY)"
	if o.NoAutocheckpoint {
		writePragmas += "&_pragma=wal_autocheckpoint(0)"
	}
	w, err := sql.Open("sqlite", "file:"+path+"?"+writePragmas+"&_txlock=immediate")
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	r, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_pragma=query_only(ON)")
	if err != nil {
		w.Close()
		lock.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	db := &DB{path: path, write: w, read: r, lock: lock, Now: time.Now, props: map[propKey]map[string]*propertyDef{}, schemas: map[int64][]*spoke.ObjectSchema{}, stmts: map[stmtKey]*sql.Stmt{},
		searchIdx: map[string]bool{}, searchIndexMin: DefaultSearchIndexMin}
	db.PipelineWrites.Store = db
	if err := db.ensureIncrementalVacuum(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.convertLegacyLog(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.ensureValueIndexes(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.loadSearchIndexes(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.prepareWrites(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.backfillUsers(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// OpenReadOnly opens the database in dir for reading only, without
// migrations, as `spoke stats` does beside a running server: writes fail.
func OpenReadOnly(ctx context.Context, dir string) (*DB, error) {
	path := filepath.Join(dir, FileName)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=query_only(ON)")
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	r.SetMaxOpenConns(2)
	if err := r.PingContext(ctx); err != nil {
		r.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db := &DB{path: path, write: r, read: r, Now: time.Now, props: map[propKey]map[string]*propertyDef{}, stmts: map[stmtKey]*sql.Stmt{},
		searchIdx: map[string]bool{}, searchIndexMin: DefaultSearchIndexMin}
	db.PipelineWrites.Store = db
	return db, nil
}

// Path returns the database file's path.
func (db *DB) Path() string { return db.path }

// Close closes both connection pools.
func (db *DB) Close() error {
	db.stmtMu.Lock()
	for _, st := range db.stmts {
		st.Close()
	}
	db.stmts = map[stmtKey]*sql.Stmt{}
	db.stmtMu.Unlock()
	err1 := db.read.Close()
	var err2 error
	if db.write != db.read {
		err2 = db.write.Close()
	}
	if db.lock != nil {
		db.lock.Close() // after the pools: a restore may then replace the files
	}
	if err1 != nil {
		return err1
	}
	return err2
}

// WriteDB returns the writer pool, for packages (the engine) that share the
// database file and its single writer.
func (db *DB) WriteDB() *sql.DB { return db.write }

// ReadDB returns the reader pool.
func (db *DB) ReadDB() *sql.DB { return db.read }

func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		version := strings.TrimSuffix(filepath.Base(name), ".sql")
		var n int
		if err := db.write.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
			return fmt.Errorf("check migration %s: %w", version, err)
		}
		if n > 0 {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		tx, err := db.write.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("begin migration %s: %w", version, err)
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("apply migration %s: %w", version, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, version, time.Now().UnixMilli()); err != nil {
			tx.Rollback()
			return fmt.Errorf("record migration %s: %w", version, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit migration %s: %w", version, err)
		}
	}
	return nil
}

func (db *DB) nowMs() int64 { return db.Now().UnixMilli() }

func (db *DB) logger() *slog.Logger {
	if db.Logger != nil {
		return db.Logger
	}
	return slog.Default()
}

// inTx runs fn in a write transaction, committing if fn returns nil.
//
// A transaction runs to its end even if ctx ends first (writes are short,
// and a caller gone away must not leave half a batch undone); that also
// spares the driver a goroutine per statement watching ctx. The session of
// the transaction ignores cancellation in the same way.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.write.BeginTx(context.WithoutCancel(ctx), nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// prepared returns a statement prepared once per pool and reused: SQLite's
// parser is a large share of a small query's cost.
func (db *DB) prepared(ctx context.Context, pool *sql.DB, query string) (*sql.Stmt, error) {
	key := stmtKey{pool, query}
	db.stmtMu.Lock()
	defer db.stmtMu.Unlock()
	if st, ok := db.stmts[key]; ok {
		return st, nil
	}
	st, err := pool.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	db.stmts[key] = st
	return st, nil
}

// session runs queries through the statement cache: inside tx when it is
// set, else on the reader pool.
type session struct {
	db    *DB
	tx    *sql.Tx
	stmts map[string]*sql.Stmt // this transaction's statements, when tx is set
}

// txSession returns a session running in tx.
func (db *DB) txSession(tx *sql.Tx) session {
	return session{db: db, tx: tx, stmts: map[string]*sql.Stmt{}}
}

func (db *DB) reader() session { return session{db: db} }

// stmt returns the cached statement for query, or nil to run it unprepared.
// Inside a transaction only statements prepared at Open are used: the
// writer pool's one connection is busy with the transaction, so preparing
// on the pool would wait for it forever.
func (s session) stmt(ctx context.Context, query string) *sql.Stmt {
	if s.tx == nil {
		st, err := s.db.prepared(ctx, s.db.read, query)
		if err != nil {
			return nil
		}
		return st
	}
	if st, ok := s.stmts[query]; ok {
		return st
	}
	s.db.stmtMu.Lock()
	st := s.db.stmts[stmtKey{s.db.write, query}]
	s.db.stmtMu.Unlock()
	if st == nil {
		return nil
	}
	st = s.tx.StmtContext(ctx, st)
	if s.stmts != nil {
		s.stmts[query] = st
	}
	return st
}

// context returns the context to run a statement in: in a transaction,
// ctx without its cancellation (see inTx).
func (s session) context(ctx context.Context) context.Context {
	if s.tx != nil {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// QueryRowContext runs a query expected to return at most one row.
func (s session) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	ctx = s.context(ctx)
	if st := s.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	if s.tx != nil {
		return s.tx.QueryRowContext(ctx, query, args...)
	}
	return s.db.read.QueryRowContext(ctx, query, args...)
}

// QueryContext runs a query.
func (s session) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = s.context(ctx)
	if st := s.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	if s.tx != nil {
		return s.tx.QueryContext(ctx, query, args...)
	}
	return s.db.read.QueryContext(ctx, query, args...)
}

// ExecContext runs a statement.
func (s session) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx = s.context(ctx)
	if st := s.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	if s.tx != nil {
		return s.tx.ExecContext(ctx, query, args...)
	}
	return s.db.write.ExecContext(ctx, query, args...)
}

// prepareWrites prepares, before any transaction runs, the statements of
// the write path.
func (db *DB) prepareWrites(ctx context.Context) error {
	for _, q := range writeQueries {
		if _, err := db.prepared(ctx, db.write, q); err != nil {
			return fmt.Errorf("prepare %q: %w", q, err)
		}
	}
	return nil
}
