package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/spokehq/spoke"
)

// Token indexes: CONTAINS_TOKEN without an index reads every record of the
// type (about 0.8 s per 100,000 contacts, `spoke bench search`). A GIN index
// on spoke_tokens of the property (migration 0011) answers it from the
// index, but indexing every text property would slow every write of the
// type. So, as the SQLite store does with its search indexes, the first
// CONTAINS_TOKEN search on a text property over an account holding at least
// SearchIndexMin live records of the type starts building that property's
// index, at most maxTokenIndexes per type. The build runs in the
// background with CREATE INDEX CONCURRENTLY, which does not block writes;
// searches scan until it is valid, and the planner uses it from then on.
// Processes sharing the database build one index at a time, and each once:
// the builder holds an advisory lock, and an invalid index found under the
// lock (a build that was cut off) is dropped and built again.
//
// Equality indexes: `city EQ "Boston"` (or IN) on a text property other
// than the type's unique one likewise read every record of the type. The
// first such search (or sort) over enough records builds, by the same
// machinery, a btree index on (account_id, lower(value) NULLS FIRST), the
// expression filterSQL compares (column.lhs), partial like the token
// indexes; NULLS FIRST is the order an ascending sort asks for (and,
// walked backwards, a descending one), so sorts on the property use it
// too. At most maxTokenIndexes per type of each kind.

// DefaultSearchIndexMin is how many live records of a type an account must
// hold before its searches create indexes, as on SQLite.
const DefaultSearchIndexMin = 10000

// maxTokenIndexes bounds the token indexes of one object type, since each
// costs every later write of the type a little.
const maxTokenIndexes = 16

// buildLock is the advisory lock a process holds while it builds a search
// index ("SPKI").
const buildLock = "1397771081"

// tokenIndexPrefix starts the names of the token indexes, eqIndexPrefix
// those of the equality indexes.
const (
	tokenIndexPrefix = "records_tok_"
	eqIndexPrefix    = "records_eq_"
)

// tokenIndexName names the token index of a property.
func tokenIndexName(objectType, property string) string {
	return indexName(tokenIndexPrefix, objectType, property)
}

// eqIndexName names the equality index of a property.
func eqIndexName(objectType, property string) string {
	return indexName(eqIndexPrefix, objectType, property)
}

// indexName names a search index of a property. PostgreSQL cuts names at
// 63 bytes, so a long one is a digest instead.
func indexName(prefix, objectType, property string) string {
	name := prefix + objectType + "_" + property
	if len(name) > 63 || strings.ContainsAny(name, `"`) {
		sum := sha256.Sum256([]byte(objectType + "\x00" + property))
		name = prefix + objectType + "_" + hex.EncodeToString(sum[:8])
		if len(name) > 63 {
			name = prefix + hex.EncodeToString(sum[:12])
		}
	}
	return name
}

// tokenIndexSQL creates the token index of a property, partial on the type
// and live records as search's conditions are.
func tokenIndexSQL(name, objectType, property string) string {
	return fmt.Sprintf(`CREATE INDEX CONCURRENTLY IF NOT EXISTS "%s" ON records USING gin (%s) WHERE object_type = %s AND NOT archived`,
		name, tokenExpr(property), quoteLiteral(objectType))
}

// tokenExpr is the expression a token index holds.
func tokenExpr(property string) string { return "spoke_tokens(" + valueExpr(property) + ")" }

// eqExpr is the expression an equality index holds: column.lhs of a text
// property, which EQ, IN and sorts compare.
func eqExpr(property string) string { return "lower(" + valueExpr(property) + ")" }

// eqIndexSQL creates the equality index of a property. account_id leads,
// as every search fixes it, so the index gives a sort's order within one
// account.
func eqIndexSQL(name, objectType, property string) string {
	return fmt.Sprintf(`CREATE INDEX CONCURRENTLY IF NOT EXISTS "%s" ON records (account_id, (%s) NULLS FIRST) WHERE object_type = %s AND NOT archived`,
		name, eqExpr(property), quoteLiteral(objectType))
}

// searchIndexes is what a process knows of the search indexes.
type searchIndexes struct {
	mu sync.Mutex
	// ready names the indexes known to exist and be valid, or refused
	// (over maxTokenIndexes); pending those searches asked for, which the
	// one builder goroutine (running while building) looks at in turn;
	// later when a name may be looked at again (too few records, or
	// another process was building).
	ready   map[string]bool
	pending map[string]tokenIndex
	later   map[string]time.Time
	running bool
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// tokenIndex is a search index a search asked for (a token index, or
// with eq an equality index), and the account whose records decide
// whether it is worth building.
type tokenIndex struct {
	account              int64
	objectType, property string
	eq                   bool
	// value, when set, makes this the value index of a custom number or
	// date property (valueIndex), built whatever the records.
	value *spoke.Property
}

// Waits before a process looks again at an index it found unneeded, or
// that it could not build because another build was running.
const (
	recheckAfter = time.Minute
	retryAfter   = 5 * time.Second
)

// errBuildBusy reports another process's index build in progress.
var errBuildBusy = errors.New("another index build is running")

// wantTokenIndex notes that a search over account filtered property of
// objectType with CONTAINS_TOKEN, and has the index built in the
// background if it should have one and has none. It never waits.
func (db *DB) wantTokenIndex(account int64, objectType, property string) {
	db.wantSearchIndex(tokenIndex{account: account, objectType: objectType, property: property})
}

// wantEqIndex notes that a search over account compared property of
// objectType with EQ or IN, or sorted on it, as wantTokenIndex does.
func (db *DB) wantEqIndex(account int64, objectType, property string) {
	db.wantSearchIndex(tokenIndex{account: account, objectType: objectType, property: property, eq: true})
}

// wantValueIndex has the value index of a number or date property p
// (valueIndex) built in the background if it is not: a plain CREATE INDEX
// in the property's transaction would hold writes to records while it
// reads the table (seconds at 1,000,000 records). Searches work without it
// meanwhile, by reading every record of the type.
func (db *DB) wantValueIndex(objectType string, p *spoke.Property) {
	cp := *p
	db.wantSearchIndex(tokenIndex{objectType: objectType, property: p.Name, value: &cp})
}

// wantSearchIndex has index want built in the background if it should be
// and is not. It never waits.
func (db *DB) wantSearchIndex(want tokenIndex) {
	name := tokenIndexName(want.objectType, want.property)
	switch {
	case want.value != nil:
		var ok bool
		if name, _, ok = valueIndex(want.objectType, want.value); !ok {
			return
		}
	case db.searchIndexMin() < 0:
		return
	case want.eq:
		name = eqIndexName(want.objectType, want.property)
	}
	s := &db.searchIdx
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ready == nil {
		s.ready, s.pending, s.later = map[string]bool{}, map[string]tokenIndex{}, map[string]time.Time{}
		s.ctx, s.cancel = context.WithCancel(context.Background())
	}
	if s.ready[name] || time.Now().Before(s.later[name]) || s.ctx.Err() != nil {
		return
	}
	if _, ok := s.pending[name]; ok {
		return
	}
	s.pending[name] = want
	if s.running {
		return
	}
	s.running = true
	s.wg.Add(1)
	go db.buildTokenIndexes()
}

// buildTokenIndexes builds the pending indexes one at a time: PostgreSQL
// builds one index CONCURRENTLY per table at a time (two deadlock).
func (db *DB) buildTokenIndexes() {
	s := &db.searchIdx
	defer s.wg.Done()
	for {
		s.mu.Lock()
		var name string
		var want tokenIndex
		for name, want = range s.pending {
			break
		}
		if name == "" || s.ctx.Err() != nil {
			s.running = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		ready, err := db.ensureTokenIndex(s.ctx, want, name)
		if err != nil && !errors.Is(err, errBuildBusy) && s.ctx.Err() == nil {
			db.logger().Warn("search index", "index", name, "err", err)
		}
		if !ready && want.value != nil && s.ctx.Err() == nil && errors.Is(err, errBuildBusy) {
			// A value index is wanted whatever the searches: try again
			// once another process's build is done, leaving it pending.
			// (After a failure, the next search on the property asks
			// again.)
			select {
			case <-s.ctx.Done():
			case <-time.After(retryAfter):
			}
			continue
		}
		s.mu.Lock()
		delete(s.pending, name)
		switch {
		case ready:
			s.ready[name] = true
		case errors.Is(err, errBuildBusy) || err != nil:
			s.later[name] = time.Now().Add(retryAfter)
		default:
			s.later[name] = time.Now().Add(recheckAfter)
		}
		s.mu.Unlock()
	}
}

// stopSearchIndexes cancels a build in progress (CREATE INDEX
// CONCURRENTLY is cut off and leaves an invalid index, which the next
// build replaces) and waits for the builder to end.
func (db *DB) stopSearchIndexes() {
	s := &db.searchIdx
	s.mu.Lock()
	if s.cancel != nil {
		s.cancel()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (db *DB) searchIndexMin() int {
	if db.SearchIndexMin == 0 {
		return DefaultSearchIndexMin
	}
	return db.SearchIndexMin
}

// ensureTokenIndex builds the index name unless it exists, the account has
// too few records of the type, or the type has its maximum of indexes of
// the kind. It reports whether this process need not look at the index
// again, and errBuildBusy when another process is building an index.
func (db *DB) ensureTokenIndex(ctx context.Context, want tokenIndex, name string) (bool, error) {
	account, objectType, property := want.account, want.objectType, want.property
	prefix, create, expr := tokenIndexPrefix, tokenIndexSQL(name, objectType, property), tokenExpr(property)
	if want.eq {
		prefix, create, expr = eqIndexPrefix, eqIndexSQL(name, objectType, property), eqExpr(property)
	}
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Release()
	if valid, _, err := indexState(ctx, conn.Conn(), name); err != nil || valid {
		return valid, err
	}
	if want.value != nil {
		_, expr, _ = valueIndex(objectType, want.value)
		create = valueIndexCreate(name, objectType, expr, true)
		return db.buildIndex(ctx, conn, name, create, expr, "")
	}
	var enough bool
	if err := conn.QueryRow(ctx, `SELECT count(*) >= $3 FROM (SELECT 1 FROM records WHERE account_id = $1 AND object_type = $2 AND NOT archived LIMIT $3) r`,
		account, objectType, db.searchIndexMin()).Scan(&enough); err != nil {
		return false, err
	}
	if !enough {
		return false, nil
	}
	return db.buildIndex(ctx, conn, name, create, expr, prefix+strings.ReplaceAll(objectType, "_", `\_`)+`\_%`)
}

// buildIndex builds index name with create (CREATE INDEX CONCURRENTLY
// IF NOT EXISTS) and statistics on expr, under the build lock, unless
// another process has built it; with capLike, not when maxTokenIndexes
// indexes are named like it. It reports whether this process need not
// look at the index again, and errBuildBusy when another process is
// building an index.
func (db *DB) buildIndex(ctx context.Context, conn *pgxpool.Conn, name, create, expr, capLike string) (bool, error) {
	// One build at a time on the database, by whichever process holds
	// the lock.
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+buildLock+`)`).Scan(&locked); err != nil {
		return false, err
	}
	if !locked {
		return false, errBuildBusy
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(`+buildLock+`)`)
	// Read again under the lock: another process may have finished.
	valid, exists, err := indexState(ctx, conn.Conn(), name)
	if err != nil || valid {
		return valid, err
	}
	if exists {
		// Invalid and nobody building it: a build that was cut off.
		if _, err := conn.Exec(ctx, `DROP INDEX CONCURRENTLY IF EXISTS "`+name+`"`); err != nil {
			return false, err
		}
	}
	var n int
	if capLike != "" {
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_class WHERE relkind = 'i' AND relname LIKE $1`, capLike).Scan(&n); err != nil {
			return false, err
		}
	}
	if capLike != "" && n >= maxTokenIndexes {
		db.logger().Warn("not creating a search index: the object type has its maximum", "index", name, "max", maxTokenIndexes)
		return true, nil
	}
	start := time.Now()
	if _, err := conn.Exec(ctx, create); err != nil {
		return false, fmt.Errorf("create %s: %w", name, err)
	}
	// Statistics on the tokens (or values), so that the planner knows how
	// few records hold one (exprStatsSQL), filled by an ANALYZE of a
	// sample of the table.
	if _, err := conn.Exec(ctx, exprStatsSQL(name, expr)+`; ANALYZE records`); err != nil {
		return false, fmt.Errorf("statistics of %s: %w", name, err)
	}
	db.logger().Info("created search index", "index", name, "took", time.Since(start).Round(time.Millisecond))
	return true, nil
}

// indexState reports whether index name exists and whether it is valid
// (usable by queries: a concurrent build in progress or cut off is not).
func indexState(ctx context.Context, conn *pgx.Conn, name string) (valid, exists bool, err error) {
	err = conn.QueryRow(ctx, `SELECT i.indisvalid FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid
		WHERE c.relname = $1 AND c.relnamespace = current_schema()::regnamespace`, name).Scan(&valid)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, false, nil
	}
	return valid, err == nil, err
}

// WaitSearchIndexes waits until the index builds searches have asked for
// so far are done (or ctx ends), for tools that measure searches with
// their indexes.
func (db *DB) WaitSearchIndexes(ctx context.Context) error {
	for {
		s := &db.searchIdx
		s.mu.Lock()
		running := s.running
		s.mu.Unlock()
		if !running {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
