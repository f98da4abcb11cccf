package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/spokehq/spoke"
)

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

const recordColumns = `id, object_type, properties, created_at, updated_at, archived, coalesce(archived_at, 0), version`

func scanRecord(row pgx.Row) (*spoke.Record, error) {
	var r spoke.Record
	var props []byte
	var created, updated, archivedAt int64
	if err := row.Scan(&r.ID, &r.ObjectType, &props, &created, &updated, &r.Archived, &archivedAt, &r.Version); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(props, &r.Properties); err != nil {
		return nil, fmt.Errorf("decode record %d: %w", r.ID, err)
	}
	r.CreatedAt, r.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	if archivedAt > 0 {
		r.ArchivedAt = time.UnixMilli(archivedAt).UTC()
	}
	return &r, nil
}

// definitions returns every live property of a type, built-in and custom,
// keyed by name. The result is cached until a property of the account
// changes in this process; other processes see a change when their cache
// is dropped by the property notification (see listen.go).
func (db *DB) definitions(ctx context.Context, account int64, t spoke.ObjectType) (map[string]*spoke.Property, error) {
	key := propKey{account, t.Name}
	db.mu.RLock()
	defs, ok := db.props[key]
	gen := db.gen
	db.mu.RUnlock()
	if ok {
		return defs, nil
	}
	defs = map[string]*spoke.Property{}
	for _, p := range spoke.BuiltinProperties(t) {
		defs[p.Name] = p
	}
	custom, err := db.customProperties(ctx, db.pool, account, t.Name, false)
	if err != nil {
		return nil, err
	}
	for _, p := range custom {
		defs[p.Name] = p
	}
	if err := db.fillOptions(ctx, account, t, defs); err != nil {
		return nil, err
	}
	db.mu.Lock()
	if db.gen == gen {
		db.props[key] = defs
	}
	db.mu.Unlock()
	return defs, nil
}

// forgetDefinitions drops every cached definition, and the owners, teams,
// pipelines and schemas they and the object types are made from.
func (db *DB) forgetDefinitions() {
	db.dyn.forget()
	db.mu.Lock()
	clear(db.props)
	db.gen++
	db.mu.Unlock()
}

func (db *DB) customProperties(ctx context.Context, q querier, account int64, objectType string, archived bool) ([]*spoke.Property, error) {
	rows, err := q.Query(ctx, `SELECT definition FROM properties WHERE account_id = $1 AND object_type = $2 AND archived = $3 ORDER BY name`, account, objectType, archived)
	if err != nil {
		return nil, fmt.Errorf("load properties of %s: %w", objectType, err)
	}
	defer rows.Close()
	var out []*spoke.Property
	for rows.Next() {
		var def []byte
		if err := rows.Scan(&def); err != nil {
			return nil, err
		}
		var p spoke.Property
		if err := json.Unmarshal(def, &p); err != nil {
			return nil, fmt.Errorf("decode property definition: %w", err)
		}
		out = append(out, &p)
	}
	return out, rows.Err()
}

// validateProperties normalizes an input's values against the definitions
// and returns the problems in HubSpot's VALIDATION_ERROR shape, as the
// SQLite store does.
func validateProperties(t spoke.ObjectType, defs map[string]*spoke.Property, in map[string]string) (map[string]string, *spoke.Error) {
	out := make(map[string]string, len(in))
	var bad []*spoke.ValueError
	names := make([]string, 0, len(in))
	for name := range in {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p, ok := defs[name]
		switch {
		case !ok:
			bad = append(bad, &spoke.ValueError{Name: name, Error: "PROPERTY_DOESNT_EXIST", Message: fmt.Sprintf("Property \"%s\" does not exist", name)})
			continue
		case p.ReadOnlyValue || t.IsComputedProperty(name):
			bad = append(bad, spoke.ReadOnlyValueError(p))
			continue
		}
		v, verr := p.NormalizeValue(in[name])
		if verr != nil {
			bad = append(bad, verr)
			continue
		}
		out[name] = v
	}
	if len(bad) > 0 {
		return nil, spoke.InvalidPropertyValues(bad)
	}
	return out, nil
}

// checkRequired checks what a new record of the type must have.
func checkRequired(t spoke.ObjectType, props map[string]string, assocs []spoke.AssociationInput) *spoke.Error {
	var bad []*spoke.ValueError
	for _, name := range t.RequiredProperties {
		if props[name] == "" {
			bad = append(bad, &spoke.ValueError{Name: name, Error: "REQUIRED_FIELD", Message: fmt.Sprintf("%s is required: set it when you create the record.", name)})
		}
	}
	if len(bad) > 0 {
		return spoke.InvalidPropertyValues(bad)
	}
	if t.RequiredAssociation != "" && len(assocs) == 0 {
		return spoke.Invalidf("A %s must be associated with an existing %s when it is created: add associations to the request.", t.Singular, t.RequiredAssociation)
	}
	return nil
}

// lookup finds a record by id or by a unique property's value, locking
// its row when forUpdate is set. It returns nil when there is none.
func (db *DB) lookup(ctx context.Context, q querier, account int64, t spoke.ObjectType, defs map[string]*spoke.Property, idProperty, id string, archived, forUpdate bool) (*spoke.Record, error) {
	where, arg := "", any(nil)
	switch {
	case idProperty == "" || idProperty == spoke.PropObjectID:
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil || n <= 0 {
			return nil, nil
		}
		where, arg = `id = $3`, n
	case idProperty == t.UniqueProperty:
		where, arg = `unique_value = $3`, strings.ToLower(id)
	default:
		p, ok := defs[idProperty]
		if !ok {
			return nil, spoke.Invalidf("Property \"%s\" does not exist on %s.", idProperty, t.Name)
		}
		if !p.HasUniqueValue {
			return nil, spoke.Invalidf("idProperty %s is not a unique property of %s; use hs_object_id%s or a property with hasUniqueValue.", idProperty, t.Name, map[bool]string{true: ", " + t.UniqueProperty}[t.UniqueProperty != ""])
		}
		where, arg = `properties @> jsonb_build_object($4::text, $3::text)`, id
	}
	q2 := `SELECT ` + recordColumns + ` FROM records WHERE account_id = $1 AND object_type = $2 AND archived = ` + strconv.FormatBool(archived) + ` AND ` + where
	args := []any{account, t.Name, arg}
	if strings.Contains(where, "$4") {
		args = append(args, idProperty)
	}
	if forUpdate {
		q2 += ` FOR UPDATE`
	}
	q2 += ` LIMIT 1`
	r, err := scanRecord(q.QueryRow(ctx, q2, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", t.Name, err)
	}
	return r, nil
}

// GetRecords implements spoke.RecordService.
func (db *DB) GetRecords(ctx context.Context, account int64, objectType string, ids []string, opts spoke.ReadOptions) (map[string]*spoke.Record, error) {
	t, err := db.ObjectType(ctx, account, objectType)
	if err != nil {
		return nil, err
	}
	var defs map[string]*spoke.Property
	if opts.IDProperty != "" && opts.IDProperty != spoke.PropObjectID && opts.IDProperty != t.UniqueProperty {
		if defs, err = db.definitions(ctx, account, t); err != nil {
			return nil, err
		}
	}
	out := make(map[string]*spoke.Record, len(ids))
	var found []*spoke.Record
	// Ids and the type's unique values are read with one query for the
	// lot (the engine reads a round's records here: one query per record
	// was an eighth of a worker's CPU).
	batch, err := db.readBatch(ctx, account, t, opts.IDProperty, ids, opts.Archived)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		var r *spoke.Record
		if batch != nil {
			r = batch(id)
		} else if r, err = db.lookup(ctx, db.pool, account, t, defs, opts.IDProperty, id, opts.Archived, false); err != nil {
			return nil, err
		}
		if r == nil && !opts.Archived && (opts.IDProperty == "" || opts.IDProperty == spoke.PropObjectID) {
			// A merged record's id answers its primary, as on SQLite.
			r, err = db.followMerge(ctx, account, t, id)
			if err != nil {
				return nil, err
			}
		}
		if r != nil {
			out[id] = r
			found = append(found, r)
		}
	}
	if err := db.loadHistory(ctx, found, opts.WithHistory); err != nil {
		return nil, err
	}
	return out, nil
}

// readBatch reads the records ids name, by id or by the type's unique
// value, with one query, and returns the function that finds one by its
// id as given; it returns nil for a custom unique property, which lookup
// reads one by one.
func (db *DB) readBatch(ctx context.Context, account int64, t spoke.ObjectType, idProperty string, ids []string, archived bool) (func(string) *spoke.Record, error) {
	byID := idProperty == "" || idProperty == spoke.PropObjectID
	if !byID && idProperty != t.UniqueProperty {
		return nil, nil
	}
	where := `id = ANY($3)`
	var nums []int64
	var values []string
	for _, id := range ids {
		if !byID {
			values = append(values, strings.ToLower(id))
		} else if n, err := strconv.ParseInt(id, 10, 64); err == nil && n > 0 {
			nums = append(nums, n)
		}
	}
	var arg any = nums
	if !byID {
		where, arg = `unique_value = ANY($3)`, values
	}
	rows, err := db.pool.Query(ctx, `SELECT `+recordColumns+` FROM records WHERE account_id = $1 AND object_type = $2 AND archived = `+
		strconv.FormatBool(archived)+` AND `+where, account, t.Name, arg)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", t.Name, err)
	}
	recs, err := collectRecords(rows)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", t.Name, err)
	}
	found := make(map[string]*spoke.Record, len(recs))
	for _, r := range recs {
		if byID {
			found[strconv.FormatInt(r.ID, 10)] = r
		} else {
			found[strings.ToLower(r.Properties[t.UniqueProperty])] = r
		}
	}
	return func(id string) *spoke.Record {
		if byID {
			n, err := strconv.ParseInt(id, 10, 64)
			if err != nil || n <= 0 {
				return nil
			}
			return found[strconv.FormatInt(n, 10)]
		}
		return found[strings.ToLower(id)]
	}, nil
}

// followMerge returns the live record a merged record id was merged into.
func (db *DB) followMerge(ctx context.Context, account int64, t spoke.ObjectType, id string) (*spoke.Record, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return nil, nil
	}
	r, err := scanRecord(db.pool.QueryRow(ctx, `SELECT `+recordColumns+` FROM records WHERE account_id = $1 AND object_type = $2 AND NOT archived
		AND id = (SELECT merged_into FROM records WHERE account_id = $1 AND id = $3)`, account, t.Name, n))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return r, err
}

// ListRecords implements spoke.RecordService.
func (db *DB) ListRecords(ctx context.Context, account int64, objectType string, opts spoke.ListOptions) ([]*spoke.Record, bool, error) {
	t, err := db.ObjectType(ctx, account, objectType)
	if err != nil {
		return nil, false, err
	}
	limit := opts.Limit
	if limit <= 0 {
		limit = spoke.DefaultPageLimit
	}
	rows, err := db.pool.Query(ctx, `SELECT `+recordColumns+` FROM records WHERE account_id = $1 AND object_type = $2 AND archived = $3 AND id > $4 ORDER BY id LIMIT $5`,
		account, t.Name, opts.Archived, opts.After, limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("list %s: %w", t.Name, err)
	}
	out, err := collectRecords(rows)
	if err != nil {
		return nil, false, fmt.Errorf("list %s: %w", t.Name, err)
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	if opts.Only != nil {
		for _, r := range out {
			only := make(map[string]string, len(opts.Only))
			for _, name := range opts.Only {
				if v, ok := r.Properties[name]; ok {
					only[name] = v
				}
			}
			r.Properties = only
		}
	}
	if err := db.loadHistory(ctx, out, opts.WithHistory); err != nil {
		return nil, false, err
	}
	return out, more, nil
}

func collectRecords(rows pgx.Rows) ([]*spoke.Record, error) {
	defer rows.Close()
	var out []*spoke.Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ArchiveRecords implements spoke.RecordService.
func (db *DB) ArchiveRecords(ctx context.Context, account int64, objectType string, ids []string) error {
	t, err := db.ObjectType(ctx, account, objectType)
	if err != nil {
		return err
	}
	if t.FromOwners {
		return errUserWrite("archived")
	}
	var nums []int64
	for _, id := range ids {
		if n, err := strconv.ParseInt(id, 10, 64); err == nil && n > 0 {
			nums = append(nums, n)
		}
	}
	if len(nums) == 0 {
		return nil
	}
	now := db.nowMs()
	var enrolled bool
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `UPDATE records SET archived = true, archived_at = $1, version = version + 1
			WHERE account_id = $2 AND object_type = $3 AND NOT archived AND id = ANY($4) RETURNING id`, now, account, t.Name, nums)
		archived, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("archive %s: %w", t.Name, err)
		}
		// The records linked to them no longer count them.
		touched := touchedSet{}
		for _, id := range archived {
			if err := leaving(ctx, tx, account, id, t.Name, touched); err != nil {
				return err
			}
		}
		_, enrolled, err = db.recount(ctx, tx, account, touched)
		return err
	})
	if err != nil {
		return err
	}
	if enrolled {
		db.notifyEnrolled()
	}
	return nil
}

// History returns every property write of a record, oldest first.
func (db *DB) History(ctx context.Context, recordID int64) ([]spoke.HistoryEntry, error) {
	rows, err := db.pool.Query(ctx, `SELECT record_id, ts, source_type, source_id, enrollment_id, changes FROM property_history WHERE record_id = $1 ORDER BY id`, recordID)
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	defer rows.Close()
	var out []spoke.HistoryEntry
	for rows.Next() {
		var id, ts int64
		var src, srcID, enr string
		var changes map[string]string
		if err := rows.Scan(&id, &ts, &src, &srcID, &enr, &changes); err != nil {
			return nil, err
		}
		for _, name := range sortedKeys(changes) {
			out = append(out, spoke.HistoryEntry{RecordID: id, Name: name, PropertyValue: spoke.PropertyValue{
				Value: changes[name], Timestamp: time.UnixMilli(ts).UTC(), SourceType: src, SourceID: srcID, EnrollmentID: enr}})
		}
	}
	return out, rows.Err()
}

// loadHistory fills the History of records for the named properties,
// newest first.
func (db *DB) loadHistory(ctx context.Context, recs []*spoke.Record, names []string) error {
	if len(names) == 0 || len(recs) == 0 {
		return nil
	}
	byID := make(map[int64]*spoke.Record, len(recs))
	ids := make([]int64, 0, len(recs))
	for _, r := range recs {
		r.History = map[string][]spoke.PropertyValue{}
		byID[r.ID] = r
		ids = append(ids, r.ID)
	}
	rows, err := db.pool.Query(ctx, `SELECT record_id, ts, source_type, source_id, enrollment_id, changes FROM property_history
		WHERE record_id = ANY($1) AND changes ?| $2 ORDER BY id DESC`, ids, names)
	if err != nil {
		return fmt.Errorf("read history: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, ts int64
		var src, srcID, enr string
		var changes map[string]string
		if err := rows.Scan(&id, &ts, &src, &srcID, &enr, &changes); err != nil {
			return err
		}
		r := byID[id]
		for _, name := range names {
			if v, ok := changes[name]; ok {
				r.History[name] = append(r.History[name], spoke.PropertyValue{Value: v, Timestamp: time.UnixMilli(ts).UTC(),
					SourceType: src, SourceID: srcID, EnrollmentID: enr})
			}
		}
	}
	return rows.Err()
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
