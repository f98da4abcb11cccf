package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/spokehq/spoke"
)

// Searches that count (every search reports its total) used to read every
// record of the type: about 1 µs a record to load the row and parse its
// properties, 115-150 ms over 100,000 contacts. A search whose filters an
// index can each answer instead intersects id lists read from indexes
// alone, without loading a row, and loads only the page it returns.
//
// Text properties have no index until a search needs one: indexing every
// property would slow every write. When a search over a large object type
// filters with EQ or IN on a text property, or with HAS_PROPERTY on any
// stored property, the store creates the index that filter needs (once,
// about 1.5 µs a record) and keeps it; at most maxSearchIndexes per object
// type, since each one costs every later write of that type a little.

// Defaults of the on-demand search indexes.
const (
	// DefaultSearchIndexMin is how many live records of a type an account
	// must hold before its searches create indexes: below it a scan is fast.
	DefaultSearchIndexMin = 10000
	// maxSearchIndexes bounds the on-demand indexes of one object type.
	maxSearchIndexes = 16
)

// Prefixes of the on-demand indexes' names, followed by the object type and
// the property: an index of lower-cased values with the account (EQ, IN),
// and a partial index of the records that have a value (HAS_PROPERTY).
const (
	eqIndexPrefix  = "records_eq_"
	hasIndexPrefix = "records_has_"
)

func eqIndexName(objectType, property string) string {
	return eqIndexPrefix + objectType + "_" + property
}
func hasIndexName(objectType, property string) string {
	return hasIndexPrefix + objectType + "_" + property
}

// eqIndexSQL creates the index of a text property's lower-cased values; the
// account comes second, so an EQ reads the ids of one account in order.
func eqIndexSQL(objectType, property string) string {
	return fmt.Sprintf(`CREATE INDEX IF NOT EXISTS "%s" ON records (lower(%s), account_id) WHERE object_type = '%s' AND archived = 0`,
		eqIndexName(objectType, property), valueExpr(property), objectType)
}

// hasIndexSQL creates the partial index of the records that have a value
// of property, by account and then id.
func hasIndexSQL(objectType, property string) string {
	return fmt.Sprintf(`CREATE INDEX IF NOT EXISTS "%s" ON records (account_id) WHERE object_type = '%s' AND archived = 0 AND %s IS NOT NULL`,
		hasIndexName(objectType, property), objectType, valueExpr(property))
}

// loadSearchIndexes reads which on-demand indexes exist.
func (db *DB) loadSearchIndexes(ctx context.Context) error {
	rows, err := db.write.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'index' AND (name LIKE ? OR name LIKE ?)`,
		eqIndexPrefix+"%", hasIndexPrefix+"%")
	if err != nil {
		return fmt.Errorf("list search indexes: %w", err)
	}
	defer rows.Close()
	db.searchMu.Lock()
	defer db.searchMu.Unlock()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return fmt.Errorf("list search indexes: %w", err)
		}
		db.searchIdx[name] = true
	}
	return rows.Err()
}

func (db *DB) hasSearchIndex(name string) bool {
	db.searchMu.Lock()
	defer db.searchMu.Unlock()
	return db.searchIdx[name]
}

// indexCount counts the on-demand indexes of an object type.
func (db *DB) indexCount(objectType string) int {
	db.searchMu.Lock()
	defer db.searchMu.Unlock()
	n := 0
	for name := range db.searchIdx {
		if strings.HasPrefix(name, eqIndexPrefix+objectType+"_") || strings.HasPrefix(name, hasIndexPrefix+objectType+"_") {
			n++
		}
	}
	return n
}

// idStream is one filter's matching ids read from an index alone, without
// loading rows.
type idStream struct {
	sql  string
	args []any
	// account tells whether the stream keeps to the account; an
	// intersection needs one that does.
	account bool
	// scoped, for a stream that does not keep to the account, is the same
	// stream checking the account on each row it finds: cheaper than
	// intersecting with every id of the account when the filter is narrow.
	scoped     string
	scopedArgs []any
}

// indexNeed is an on-demand index a filter would use.
type indexNeed struct{ name, ddl string }

// filterStream returns the id stream answering f from an index, or, when
// none exists yet, the on-demand index that would (empty when no index can
// answer f).
func (db *DB) filterStream(t spoke.ObjectType, defs map[string]*propertyDef, account int64, f spoke.Filter) (*idStream, indexNeed, error) {
	c, err := db.column(t, defs, f.PropertyName)
	if err != nil {
		return nil, indexNeed{}, err
	}
	p := c.prop
	if p == nil || p.ReadOnlyValue || t.IsComputedProperty(p.Name) {
		return nil, indexNeed{}, nil
	}
	scope := ` AND object_type = '` + t.Name + `' AND archived = 0`
	op := strings.ToUpper(f.Operator)
	switch {
	case op == "HAS_PROPERTY":
		name := hasIndexName(t.Name, p.Name)
		if !db.hasSearchIndex(name) {
			return nil, indexNeed{name, hasIndexSQL(t.Name, p.Name)}, nil
		}
		return &idStream{sql: `SELECT id FROM records INDEXED BY "` + name + `" WHERE account_id = ?` + scope + ` AND ` + valueExpr(p.Name) + ` IS NOT NULL`,
			args: []any{account}, account: true}, indexNeed{}, nil
	case (op == "EQ" || op == "IN") && c.kind == kindText && p.Name != t.UniqueProperty:
		// EQ on the unique property has an index of its own and finds at
		// most one record: the plain query is fast.
		name := eqIndexName(t.Name, p.Name)
		if !db.hasSearchIndex(name) {
			return nil, indexNeed{name, eqIndexSQL(t.Name, p.Name)}, nil
		}
		cond, args, err := db.filterSQL(t, defs, f)
		if err != nil {
			return nil, indexNeed{}, err
		}
		return &idStream{sql: `SELECT id FROM records INDEXED BY "` + name + `" WHERE ` + cond + ` AND account_id = ?` + scope,
			args: append(args, account), account: true}, indexNeed{}, nil
	case (c.kind == kindNumber || c.kind == kindSorted) && hasValueIndex(t, p):
		switch op {
		case "EQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN":
		default:
			return nil, indexNeed{}, nil
		}
		// The value indexes hold no account: another stream of the
		// intersection keeps to it.
		cond, args, err := db.filterSQL(t, defs, f)
		if err != nil {
			return nil, indexNeed{}, err
		}
		from := `SELECT id FROM records INDEXED BY "` + valueIndexName(t.Name, p.Name) + `" WHERE ` + cond + scope
		return &idStream{sql: from, args: args, scoped: from + ` AND account_id = ?`, scopedArgs: append(append([]any(nil), args...), account)}, indexNeed{}, nil
	}
	return nil, indexNeed{}, nil
}

// indexedIDs returns a query of the ids of the records that match req's
// filter groups, read from indexes alone, and its arguments; or "" when
// some filter has no index to answer it. On a type with at least
// searchIndexMin records it first creates the on-demand indexes the
// filters lack, within maxSearchIndexes.
func (db *DB) indexedIDs(ctx context.Context, t spoke.ObjectType, defs map[string]*propertyDef, account int64, req spoke.SearchRequest) (string, []any, error) {
	if db.searchScan || len(req.FilterGroups) == 0 || strings.TrimSpace(req.Query) != "" {
		return "", nil, nil
	}
	for attempt := 0; ; attempt++ {
		var groups []string
		var args []any
		var needs []indexNeed
		complete := true
		for _, g := range req.FilterGroups {
			if len(g.Filters) == 0 {
				// An empty group matches every record: nothing to gain.
				return "", nil, nil
			}
			var streams []*idStream
			scoped := false
			for _, f := range g.Filters {
				s, need, err := db.filterStream(t, defs, account, f)
				if err != nil {
					return "", nil, err
				}
				switch {
				case s != nil:
					streams = append(streams, s)
					scoped = scoped || s.account
				case need.name != "":
					needs = append(needs, need)
					complete = false
				default:
					return "", nil, nil
				}
			}
			if !complete {
				continue
			}
			if !scoped {
				// No stream keeps to the account: the first checks it on
				// the rows it finds.
				streams[0] = &idStream{sql: streams[0].scoped, args: streams[0].scopedArgs, account: true}
			}
			sqls := make([]string, len(streams))
			for i, s := range streams {
				sqls[i] = s.sql
				args = append(args, s.args...)
			}
			groups = append(groups, strings.Join(sqls, " INTERSECT "))
		}
		if complete {
			if len(groups) == 1 {
				return groups[0], args, nil
			}
			// Compound operators bind left to right: each group's
			// intersection is a subquery of the union.
			for i, g := range groups {
				groups[i] = "SELECT id FROM (" + g + ")"
			}
			return strings.Join(groups, " UNION "), args, nil
		}
		if attempt > 0 {
			return "", nil, nil
		}
		if ok, err := db.createSearchIndexes(ctx, t, account, needs); err != nil || !ok {
			return "", nil, err
		}
	}
}

// createSearchIndexes creates the indexes a search needs if the account
// holds enough records of the type to gain from them and the type has room
// for them; it reports whether it created them all.
func (db *DB) createSearchIndexes(ctx context.Context, t spoke.ObjectType, account int64, needs []indexNeed) (bool, error) {
	if db.indexCount(t.Name)+len(needs) > maxSearchIndexes {
		return false, nil
	}
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM records WHERE account_id = ? AND object_type = '`+t.Name+`' AND archived = 0`, account).Scan(&n); err != nil {
		return false, fmt.Errorf("count %s: %w", t.Name, err)
	}
	if n < db.searchIndexMin {
		return false, nil
	}
	for _, need := range needs {
		if db.hasSearchIndex(need.name) {
			continue
		}
		if _, err := db.write.ExecContext(ctx, need.ddl); err != nil {
			return false, fmt.Errorf("create search index %s: %w", need.name, err)
		}
		db.searchMu.Lock()
		db.searchIdx[need.name] = true
		db.searchMu.Unlock()
		db.logger().Info("created a search index", "index", need.name, "records", n)
	}
	return true, nil
}
