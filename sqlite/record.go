package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/internal/jsonenc"
)

const recordColumns = `id, object_type, properties, created_at, updated_at, archived, archived_at, version`

func scanRecord(s interface{ Scan(...any) error }) (*spoke.Record, error) {
	return scanRecordWith(s)
}

// scanRecordWith scans recordColumns followed by extra columns.
func scanRecordWith(s interface{ Scan(...any) error }, extra ...any) (*spoke.Record, error) {
	var r spoke.Record
	var props string
	var created, updated int64
	var archivedAt sql.NullInt64
	if err := s.Scan(append([]any{&r.ID, &r.ObjectType, &props, &created, &updated, &r.Archived, &archivedAt, &r.Version}, extra...)...); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(props), &r.Properties); err != nil {
		return nil, fmt.Errorf("decode properties of record %d: %w", r.ID, err)
	}
	r.CreatedAt, r.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	if archivedAt.Valid {
		r.ArchivedAt = time.UnixMilli(archivedAt.Int64).UTC()
	}
	return &r, nil
}

// GetRecords implements spoke.RecordService.
func (db *DB) GetRecords(ctx context.Context, account int64, objectType string, ids []string, opts spoke.ReadOptions) (map[string]*spoke.Record, error) {
	t, err := spoke.ObjectTypeFor(objectType)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*spoke.Record, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	requested := ids
	byID := opts.IDProperty == "" || opts.IDProperty == spoke.PropObjectID
	if byID && len(ids) > 1 {
		if err := db.getByIDs(ctx, account, t, ids, opts.Archived, out); err != nil {
			return nil, err
		}
		ids = nil // all looked up
	}
	lookup, err := db.idLookup(ctx, account, t, opts.IDProperty)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if _, done := out[id]; done {
			continue
		}
		r, err := lookup(ctx, db.reader(), id, opts.Archived)
		if err != nil {
			return nil, err
		}
		if r != nil {
			out[id] = r
		}
	}
	if byID && !opts.Archived && len(out) < len(requested) {
		if err := db.followMerges(ctx, account, t, requested, out); err != nil {
			return nil, err
		}
	}
	if len(opts.WithHistory) > 0 {
		recs := make([]*spoke.Record, 0, len(out))
		for _, r := range out {
			recs = append(recs, r)
		}
		if err := db.loadHistory(ctx, recs, opts.WithHistory); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// followMerges answers the ids not found that were merged into another
// record with that record, as HubSpot does.
func (db *DB) followMerges(ctx context.Context, account int64, t spoke.ObjectType, ids []string, out map[string]*spoke.Record) error {
	var missing []any
	for _, s := range ids {
		if _, found := out[s]; found {
			continue
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
			missing = append(missing, n)
		}
	}
	for len(missing) > 0 {
		part := missing[:min(500, len(missing))]
		missing = missing[len(part):]
		rows, err := db.read.QueryContext(ctx, `SELECT id, merged_into FROM records WHERE account_id = ? AND `+typeFilter(t.Name, true)+
			` AND merged_into IS NOT NULL AND id IN (`+placeholders(len(part))+`)`, append([]any{account}, part...)...)
		if err != nil {
			return fmt.Errorf("follow merges: %w", err)
		}
		into := map[string]string{}
		for rows.Next() {
			var from, to int64
			if err := rows.Scan(&from, &to); err != nil {
				rows.Close()
				return err
			}
			into[strconv.FormatInt(from, 10)] = strconv.FormatInt(to, 10)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if len(into) == 0 {
			continue
		}
		targets := make([]string, 0, len(into))
		for _, to := range into {
			targets = append(targets, to)
		}
		found := map[string]*spoke.Record{}
		if err := db.getByIDs(ctx, account, t, targets, false, found); err != nil {
			return err
		}
		for from, to := range into {
			if r := found[to]; r != nil {
				out[from] = r
			}
		}
	}
	return nil
}

// getByIDs reads many records by id with IN queries, which beats one
// lookup per id for batches.
func (db *DB) getByIDs(ctx context.Context, account int64, t spoke.ObjectType, ids []string, archived bool, out map[string]*spoke.Record) error {
	byNum := make(map[int64][]string, len(ids))
	nums := make([]any, 0, len(ids))
	for _, s := range ids {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			continue
		}
		if _, seen := byNum[n]; !seen {
			nums = append(nums, n)
		}
		byNum[n] = append(byNum[n], s)
	}
	const chunk = 500
	for len(nums) > 0 {
		part := nums[:min(chunk, len(nums))]
		nums = nums[len(part):]
		rows, err := db.read.QueryContext(ctx, `SELECT `+recordColumns+` FROM records WHERE account_id = ? AND `+typeFilter(t.Name, archived)+` AND id IN (`+placeholders(len(part))+`)`,
			append([]any{account}, part...)...)
		if err != nil {
			return fmt.Errorf("read %s: %w", t.Name, err)
		}
		recs, err := scanRecords(rows)
		if err != nil {
			return err
		}
		for _, r := range recs {
			for _, s := range byNum[r.ID] {
				out[s] = r
			}
		}
	}
	return nil
}

// typeFilter spells the object type and archived flag of a records query
// as literals (the type comes from a fixed set). SQLite checks partial
// indexes (the unique email index, the value indexes) against such terms;
// spelled as parameters, every new binding would make it re-plan the
// statement.
func typeFilter(objectType string, archived bool) string {
	a := "0"
	if archived {
		a = "1"
	}
	return `object_type = '` + objectType + `' AND archived = ` + a
}

// lookupSQL selects one record of a type by a condition.
func lookupSQL(objectType string, archived bool, where string) string {
	return `SELECT ` + recordColumns + ` FROM records WHERE account_id = ? AND ` + typeFilter(objectType, archived) + ` AND ` + where + ` LIMIT 1`
}

// uniqueOwnerSQL finds the live record of a type that holds a unique value.
func uniqueOwnerSQL(objectType string) string {
	return `SELECT id FROM records WHERE account_id = ? AND ` + typeFilter(objectType, false) + ` AND unique_value = ? AND id != ?`
}

// Statements of the write path, prepared when the store opens.
const (
	byID     = `id = ?`
	byUnique = `unique_value = ? ORDER BY id DESC`
	qInsert  = `INSERT INTO records (account_id, object_type, unique_value, properties, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`
	qUpdate  = `UPDATE records SET properties = ?, unique_value = ?, updated_at = ?, version = version + 1 WHERE id = ?`
	// qUpdateProps leaves unique_value alone, which spares SQLite
	// rewriting its index entry.
	qUpdateProps = `UPDATE records SET properties = ?, updated_at = ?, version = version + 1 WHERE id = ?`
	// The If variants update a record only if it is live and unchanged
	// since it was read (at the version given).
	qUpdateIf      = qUpdate + ` AND version = ? AND archived = 0`
	qUpdatePropsIf = qUpdateProps + ` AND version = ? AND archived = 0`
	qRecordType    = `SELECT object_type FROM records WHERE account_id = ? AND id = ? AND archived = 0`
	qMergedInto    = `SELECT merged_into FROM records WHERE account_id = ? AND id = ? AND merged_into IS NOT NULL`
	qLink          = `INSERT OR IGNORE INTO associations (account_id, from_id, to_type, to_id, category, type_id, label) VALUES (?, ?, ?, ?, ?, ?, ?)`
)

func init() {
	for _, t := range spoke.ObjectTypes {
		writeQueries = append(writeQueries, lookupSQL(t.Name, false, byID), lookupSQL(t.Name, false, byUnique), uniqueOwnerSQL(t.Name))
	}
}

var writeQueries = []string{qInsert, recordInsert(32), recordInsert(8), qUpdate, qUpdateProps, qUpdateIf, qUpdatePropsIf, qRecordType, qMergedInto, qLink,
	historyInsert(32), historyInsert(8), historyInsert(1)}

// lookupFunc finds one record by an identifier, or returns nil.
type lookupFunc func(ctx context.Context, q queryer, id string, archived bool) (*spoke.Record, error)

// idLookup returns how to find a record of t by id or by a unique property.
func (db *DB) idLookup(ctx context.Context, account int64, t spoke.ObjectType, idProperty string) (lookupFunc, error) {
	one := func(q queryer, archived bool, where string, args ...any) (*spoke.Record, error) {
		r, err := scanRecord(q.QueryRowContext(ctx, lookupSQL(t.Name, archived, where), args...))
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", t.Name, err)
		}
		return r, nil
	}
	switch {
	case idProperty == "" || idProperty == spoke.PropObjectID:
		return func(ctx context.Context, q queryer, id string, archived bool) (*spoke.Record, error) {
			n, err := strconv.ParseInt(id, 10, 64)
			if err != nil || n <= 0 {
				return nil, nil
			}
			return one(q, archived, byID, account, n)
		}, nil
	case idProperty == t.UniqueProperty:
		return func(ctx context.Context, q queryer, id string, archived bool) (*spoke.Record, error) {
			return one(q, archived, byUnique, account, strings.ToLower(id))
		}, nil
	}
	defs, err := db.definitions(ctx, account, t.Name)
	if err != nil {
		return nil, err
	}
	p, ok := defs[idProperty]
	if !ok {
		return nil, spoke.Invalidf("Property \"%s\" does not exist on %s.", idProperty, t.Name)
	}
	if !p.HasUniqueValue {
		return nil, spoke.Invalidf("idProperty %s is not a unique property of %s; use hs_object_id%s or a property with hasUniqueValue.", idProperty, t.Name, map[bool]string{true: ", " + t.UniqueProperty}[t.UniqueProperty != ""])
	}
	return func(ctx context.Context, q queryer, id string, archived bool) (*spoke.Record, error) {
		return one(q, archived, `json_extract(properties, ?) = ?`, account, jsonPath(idProperty), id)
	}, nil
}

func jsonPath(name string) string { return `$."` + name + `"` }

// ListRecords implements spoke.RecordService.
func (db *DB) ListRecords(ctx context.Context, account int64, objectType string, opts spoke.ListOptions) ([]*spoke.Record, bool, error) {
	t, err := spoke.ObjectTypeFor(objectType)
	if err != nil {
		return nil, false, err
	}
	cols := recordColumns
	if len(opts.Only) > 0 {
		// SQLite extracts the few values asked for faster than Go decodes
		// every value.
		cols = strings.Replace(recordColumns, "properties", "NULL", 1)
		for _, name := range opts.Only {
			cols += ", json_extract(properties, '" + strings.ReplaceAll(jsonPath(name), "'", "''") + "')"
		}
	}
	rows, err := db.read.QueryContext(ctx, `SELECT `+cols+` FROM records
		WHERE account_id = ? AND `+typeFilter(t.Name, opts.Archived)+` AND id > ? ORDER BY id LIMIT ?`,
		account, opts.After, opts.Limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("list %s: %w", t.Name, err)
	}
	var recs []*spoke.Record
	if len(opts.Only) > 0 {
		recs, err = scanOnly(rows, opts.Only)
	} else {
		recs, err = scanRecords(rows)
	}
	if err != nil {
		return nil, false, err
	}
	more := len(recs) > opts.Limit
	if more {
		recs = recs[:opts.Limit]
	}
	if len(opts.WithHistory) > 0 {
		if err := db.loadHistory(ctx, recs, opts.WithHistory); err != nil {
			return nil, false, err
		}
	}
	return recs, more, nil
}

// scanOnly scans rows of recordColumns, with NULL for the properties,
// followed by the values of the properties named.
func scanOnly(rows *sql.Rows, names []string) ([]*spoke.Record, error) {
	defer rows.Close()
	var out []*spoke.Record
	vals := make([]sql.NullString, len(names))
	var r spoke.Record
	var created, updated int64
	var archivedAt sql.NullInt64
	var none any
	dest := []any{&r.ID, &r.ObjectType, &none, &created, &updated, &r.Archived, &archivedAt, &r.Version}
	for i := range vals {
		dest = append(dest, &vals[i])
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		rec := r
		rec.Properties = make(map[string]string, len(names))
		for i, v := range vals {
			if v.Valid {
				rec.Properties[names[i]] = v.String
			}
		}
		rec.CreatedAt, rec.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
		if archivedAt.Valid {
			rec.ArchivedAt = time.UnixMilli(archivedAt.Int64).UTC()
		}
		out = append(out, &rec)
	}
	return out, rows.Err()
}

func scanRecords(rows *sql.Rows) ([]*spoke.Record, error) {
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

// loadHistory fills History for the named properties of recs.
func (db *DB) loadHistory(ctx context.Context, recs []*spoke.Record, names []string) error {
	if len(recs) == 0 || len(names) == 0 {
		return nil
	}
	byID := make(map[int64]*spoke.Record, len(recs))
	ids := make([]any, 0, len(recs))
	for _, r := range recs {
		byID[r.ID] = r
		r.History = map[string][]spoke.PropertyValue{}
		ids = append(ids, r.ID)
	}
	entries, err := db.history(ctx, ids, true)
	if err != nil {
		return err
	}
	wanted := map[string]bool{}
	for _, n := range names {
		wanted[n] = true
	}
	for _, e := range entries {
		if wanted[e.Name] {
			r := byID[e.RecordID]
			r.History[e.Name] = append(r.History[e.Name], e.PropertyValue)
		}
	}
	return nil
}

// History returns every history entry of a record, oldest first. The
// engine's revert builds on it.
func (db *DB) History(ctx context.Context, recordID int64) ([]HistoryEntry, error) {
	return db.history(ctx, []any{recordID}, false)
}

// history expands the writes of the given records into one entry per
// property, ordered by record, then by write (newest first when desc),
// then by property name.
func (db *DB) history(ctx context.Context, ids []any, desc bool) ([]HistoryEntry, error) {
	order := "record_id, id"
	if desc {
		order = "record_id, id DESC"
	}
	rows, err := db.read.QueryContext(ctx, `SELECT record_id, ts, source_type, source_id, enrollment_id, changes
		FROM property_history WHERE record_id IN (`+placeholders(len(ids))+`) ORDER BY `+order, ids...)
	if err != nil {
		return nil, fmt.Errorf("load property history: %w", err)
	}
	defer rows.Close()
	var out []HistoryEntry
	for rows.Next() {
		var w HistoryEntry
		var ts int64
		var changes string
		if err := rows.Scan(&w.RecordID, &ts, &w.SourceType, &w.SourceID, &w.EnrollmentID, &changes); err != nil {
			return nil, err
		}
		w.Timestamp = time.UnixMilli(ts).UTC()
		var vals map[string]string
		if err := json.Unmarshal([]byte(changes), &vals); err != nil {
			return nil, fmt.Errorf("decode history of record %d: %w", w.RecordID, err)
		}
		for _, name := range keysSorted(vals) {
			e := w
			e.Name, e.Value = name, vals[name]
			out = append(out, e)
		}
	}
	return out, rows.Err()
}

func keysSorted(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// HistoryEntry is one property write of a record.
type HistoryEntry struct {
	RecordID int64
	Name     string
	spoke.PropertyValue
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

func stringsToAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// validate normalizes an input's properties against the definitions and
// returns the first-found problems in HubSpot's VALIDATION_ERROR shape.
func validateProperties(t spoke.ObjectType, defs map[string]*propertyDef, in map[string]string) (map[string]string, *spoke.Error) {
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
		return nil, ValidationError(bad)
	}
	return out, nil
}

// ValidationError builds HubSpot's 400 for invalid property values: a
// message embedding the JSON list of problems, and the bad names in the
// context.
func ValidationError(bad []*spoke.ValueError) *spoke.Error {
	return spoke.InvalidPropertyValues(bad)
}

// WriteRecords implements spoke.RecordService.
func (db *DB) WriteRecords(ctx context.Context, account int64, objectType string, mode spoke.WriteMode, inputs []spoke.RecordInput, src spoke.WriteSource) ([]spoke.WriteResult, error) {
	var results []spoke.WriteResult
	var enrolled bool
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		results, enrolled, err = db.writeRecords(ctx, db.txSession(tx), account, objectType, mode, inputs, src, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	if enrolled {
		db.notifyEnrolled()
	}
	return results, nil
}

// writeRecords is WriteRecords inside the transaction of s. It reports
// whether the writes enrolled records in flows.
//
// known holds, by input id, records the caller read earlier (the engine's
// round): an update writes over such a copy if the record has not changed
// since, which spares reading it again, and reads it again otherwise.
func (db *DB) writeRecords(ctx context.Context, s session, account int64, objectType string, mode spoke.WriteMode, inputs []spoke.RecordInput, src spoke.WriteSource, known map[string]*spoke.Record) ([]spoke.WriteResult, bool, error) {
	t, err := spoke.ObjectTypeFor(objectType)
	if err != nil {
		return nil, false, err
	}
	defs, err := db.definitions(ctx, account, t.Name)
	if err != nil {
		return nil, false, err
	}
	results := make([]spoke.WriteResult, len(inputs))
	valid := make([]map[string]string, len(inputs))
	idValues := make([]string, len(inputs)) // upserts: idProperty value of a created record
	lookups := make([]lookupFunc, len(inputs))
	for i, in := range inputs {
		props, verr := validateProperties(t, defs, in.Properties)
		if verr != nil {
			results[i].Err = verr
			continue
		}
		valid[i] = props
		if mode == spoke.WriteCreate {
			continue
		}
		if in.ID == "" {
			results[i].Err = spoke.Invalidf("inputs[%d].id is required", i)
			continue
		}
		lookups[i], err = db.idLookup(ctx, account, t, in.IDProperty)
		if err != nil {
			var e *spoke.Error
			if errors.As(err, &e) {
				results[i].Err = e
				continue
			}
			return nil, false, err
		}
		if mode == spoke.WriteUpsert && in.IDProperty != "" && in.IDProperty != spoke.PropObjectID {
			// A record the upsert creates gets the id as its value; one it
			// finds keeps its own (the id may differ in case).
			if _, set := props[in.IDProperty]; !set {
				if v, verr := defs[in.IDProperty].NormalizeValue(in.ID); verr != nil {
					results[i].Err = ValidationError([]*spoke.ValueError{verr})
				} else {
					idValues[i] = v
				}
			}
		}
	}
	w := &writer{db: db, ctx: ctx, s: s, account: account, t: t, src: src, now: db.nowMs(), defs: defs}
	err = func() error {
		// Batches that address records by their unique value (upsert by
		// email) read them all with one query instead of one per input.
		var byUnique map[string]*spoke.Record
		if mode != spoke.WriteCreate && t.UniqueProperty != "" {
			var keys []string
			for i, in := range inputs {
				if results[i].Err == nil && in.IDProperty == t.UniqueProperty {
					keys = append(keys, strings.ToLower(in.ID))
				}
			}
			if len(keys) > 1 {
				if byUnique, err = w.recordsByUnique(keys); err != nil {
					return err
				}
			}
		}
		remember := func(old, r *spoke.Record) {
			if byUnique == nil {
				return
			}
			if old != nil {
				if uv, ok := w.uniqueValue(old.Properties).(string); ok {
					delete(byUnique, uv)
				}
			}
			if uv, ok := w.uniqueValue(r.Properties).(string); ok {
				byUnique[uv] = r
			}
		}
		// New records without associations wait in pending and are
		// inserted together, several per statement (see insertCreates).
		// Anything that could see them first flushes them: an update, a
		// lookup of a unique value one of them holds, or a second new
		// record with that value.
		var pending []pendingCreate
		pendingKeys := map[string]bool{}
		batchable := !hasCustomUnique(t, defs)
		flush := func() error {
			if len(pending) == 0 {
				return nil
			}
			recs, err := w.insertCreates(pending)
			if err != nil {
				return err
			}
			for j, r := range recs {
				results[pending[j].input] = spoke.WriteResult{Record: r, New: true}
				remember(nil, r)
			}
			pending, pendingKeys = pending[:0], map[string]bool{}
			return nil
		}
		for i, in := range inputs {
			if results[i].Err != nil {
				continue
			}
			if len(pending) > 0 && mode != spoke.WriteCreate && pendingKeys[strings.ToLower(in.ID)] {
				if err := flush(); err != nil {
					return err
				}
			}
			var cur *spoke.Record
			if k := known[in.ID]; k != nil && mode == spoke.WriteUpdate {
				r, err := w.update(k, valid[i], true)
				if err == nil {
					results[i] = spoke.WriteResult{Record: r}
					continue
				}
				if !errors.Is(err, errStale) {
					var e *spoke.Error
					if errors.As(err, &e) {
						results[i].Err = e
						continue
					}
					return err
				}
				// Changed since it was read: read it again below.
			}
			if mode != spoke.WriteCreate {
				if byUnique != nil && in.IDProperty == t.UniqueProperty {
					cur = byUnique[strings.ToLower(in.ID)]
				} else if cur, err = lookups[i](ctx, w.s, in.ID, false); err != nil {
					return err
				}
				if cur == nil && (in.IDProperty == "" || in.IDProperty == spoke.PropObjectID) {
					// A merged record's id writes to the record it was
					// merged into, as it reads.
					var into int64
					err := w.s.QueryRowContext(ctx, qMergedInto, account, in.ID).Scan(&into)
					switch {
					case err == nil:
						if cur, err = lookups[i](ctx, w.s, strconv.FormatInt(into, 10), false); err != nil {
							return err
						}
					case !errors.Is(err, sql.ErrNoRows):
						return fmt.Errorf("follow merge of %s: %w", in.ID, err)
					}
				}
				if cur == nil && mode == spoke.WriteUpdate {
					results[i].Err = &spoke.Error{Code: spoke.ENOTFOUND, Category: "OBJECT_NOT_FOUND",
						Message: "Object not found.  objectId are usually numeric.", Context: map[string][]string{"id": {in.ID}}}
					continue
				}
				if cur == nil && (in.IDProperty == "" || in.IDProperty == spoke.PropObjectID) {
					results[i].Err = spoke.Invalidf("Upsert by record id %s found no record; to create records with upsert, set idProperty to a unique property such as %s.", in.ID, t.UniqueProperty)
					continue
				}
			}
			if cur == nil {
				if idValues[i] != "" {
					valid[i][in.IDProperty] = idValues[i]
				}
				w.derive(nil, valid[i])
				if batchable && len(in.Associations) == 0 {
					props := dropEmpty(valid[i])
					uv, _ := w.uniqueValue(props).(string)
					if uv == "" || !pendingKeys[uv] {
						pending = append(pending, pendingCreate{input: i, props: props})
						if uv != "" {
							pendingKeys[uv] = true
						}
						if len(pending) == historyChunks[0] {
							if err := flush(); err != nil {
								return err
							}
						}
						continue
					}
				}
				// One at a time (associations, custom unique values, or the
				// same value twice, which must meet the first and fail as a
				// duplicate), after those before it, so ids keep the order.
				if err := flush(); err != nil {
					return err
				}
				r, err := w.create(valid[i], in.Associations)
				if err != nil {
					var e *spoke.Error
					if errors.As(err, &e) && e.Code == spoke.ECONFLICT {
						return err // HubSpot fails the whole call on a duplicate.
					}
					if errors.As(err, &e) {
						results[i].Err = e
						continue
					}
					return err
				}
				results[i] = spoke.WriteResult{Record: r, New: true}
				remember(nil, r)
				continue
			}
			if err := flush(); err != nil { // the update may meet their values
				return err
			}
			r, err := w.update(cur, valid[i], false)
			if err != nil {
				var e *spoke.Error
				if errors.As(err, &e) {
					results[i].Err = e
					continue
				}
				return err
			}
			results[i] = spoke.WriteResult{Record: r}
			remember(cur, r)
		}
		if err := flush(); err != nil {
			return err
		}
		return w.flush()
	}()
	if err != nil {
		return nil, false, err
	}
	return results, w.enrolled, nil
}

// recordsByUnique reads the live records holding the given unique values
// (lower-cased), keyed by them.
func (w *writer) recordsByUnique(keys []string) (map[string]*spoke.Record, error) {
	out := make(map[string]*spoke.Record, len(keys))
	for len(keys) > 0 {
		part := keys[:min(500, len(keys))]
		keys = keys[len(part):]
		rows, err := w.s.QueryContext(w.ctx, `SELECT `+recordColumns+`, unique_value FROM records INDEXED BY records_unique_value WHERE account_id = ? AND `+typeFilter(w.t.Name, false)+
			` AND unique_value IS NOT NULL AND unique_value IN (`+placeholders(len(part))+`)`, append([]any{w.account}, stringsToAny(part)...)...)
		if err != nil {
			return nil, fmt.Errorf("read %s by %s: %w", w.t.Name, w.t.UniqueProperty, err)
		}
		for rows.Next() {
			var uv string
			r, err := scanRecordWith(rows, &uv)
			if err != nil {
				rows.Close()
				return nil, err
			}
			out[uv] = r
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// writer performs record writes inside one transaction.
type writer struct {
	db      *DB
	ctx     context.Context
	s       session
	account int64
	t       spoke.ObjectType
	src     spoke.WriteSource
	now     int64
	pending []any // queued property_history rows, historyCols values each
	// enrolled is set when a write enrolled its record in a flow.
	enrolled bool
	// defs are the object type's property definitions.
	defs map[string]*propertyDef
}

func (w *writer) uniqueValue(props map[string]string) any {
	if w.t.UniqueProperty == "" {
		return nil
	}
	v, ok := props[w.t.UniqueProperty]
	if !ok || v == "" {
		return nil
	}
	return strings.ToLower(v)
}

// checkUnique returns ECONFLICT if another live record holds the value.
func (w *writer) checkUnique(uv any, self int64) error {
	if uv == nil {
		return nil
	}
	var other int64
	err := w.s.QueryRowContext(w.ctx, uniqueOwnerSQL(w.t.Name), w.account, uv, self).Scan(&other)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check unique %s: %w", w.t.UniqueProperty, err)
	}
	return &spoke.Error{Code: spoke.ECONFLICT, Category: "CONFLICT",
		Message: fmt.Sprintf("%s already exists. Existing ID: %d", strings.ToUpper(w.t.Singular[:1])+w.t.Singular[1:], other)}
}

// checkCustomUnique returns ECONFLICT if another live record holds the
// value of a custom property with hasUniqueValue that props sets. (The
// type's own unique property has its indexed column and checkUnique.)
func (w *writer) checkCustomUnique(props map[string]string, self int64) error {
	for name, v := range props {
		p := w.defs[name]
		if v == "" || p == nil || !p.HasUniqueValue || name == w.t.UniqueProperty {
			continue
		}
		var other int64
		err := w.s.QueryRowContext(w.ctx, `SELECT id FROM records WHERE account_id = ? AND `+typeFilter(w.t.Name, false)+` AND id != ? AND json_extract(properties, ?) = ? LIMIT 1`,
			w.account, self, jsonPath(name), v).Scan(&other)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return fmt.Errorf("check unique %s: %w", name, err)
		}
		return &spoke.Error{Code: spoke.ECONFLICT, Category: "CONFLICT",
			Message: fmt.Sprintf("A %s with %s %s already exists. Existing ID: %d", w.t.Singular, name, strconv.Quote(v), other)}
	}
	return nil
}

func (w *writer) create(props map[string]string, assocs []spoke.AssociationInput) (*spoke.Record, error) {
	props = dropEmpty(props)
	// Check the associations before inserting, so a bad one fails the input
	// without leaving a record behind.
	links, err := w.resolveAssociations(assocs)
	if err != nil {
		return nil, err
	}
	if err := w.checkCustomUnique(props, 0); err != nil {
		return nil, err
	}
	uv := w.uniqueValue(props)
	body, err := jsonenc.Append(nil, props)
	if err != nil {
		return nil, err
	}
	res, err := w.s.ExecContext(w.ctx, qInsert, w.account, w.t.Name, uv, body, w.now, w.now)
	if err != nil {
		var se *sqlite.Error
		if errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE {
			// The unique index caught a taken value; name its owner.
			if cerr := w.checkUnique(uv, 0); cerr != nil {
				return nil, cerr
			}
		}
		return nil, fmt.Errorf("insert %s: %w", w.t.Singular, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return nil, err
	}
	r, err := w.created(id, props)
	if err != nil {
		return nil, err
	}
	for _, l := range links {
		if err := link(w.ctx, w.s, w.account, w.t.Name, id, l.toType, l.toID, l.types); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// errStale reports that a record changed after the copy an update was
// given was read.
var errStale = errors.New("record changed since it was read")

// update writes props over cur. With ifUnchanged, cur is a copy read
// earlier, and the update returns errStale, writing nothing, if the record
// changed or was archived since.
func (w *writer) update(cur *spoke.Record, props map[string]string, ifUnchanged bool) (*spoke.Record, error) {
	changed := map[string]string{}
	for k, v := range props {
		if old, ok := cur.Properties[k]; (ok && old != v) || (!ok && v != "") {
			changed[k] = v
		}
	}
	w.derive(cur.Properties, changed)
	next := make(map[string]string, len(cur.Properties)+len(changed))
	for k, v := range cur.Properties {
		next[k] = v
	}
	for k, v := range changed {
		if v == "" {
			delete(next, k)
		} else {
			next[k] = v
		}
	}
	if err := w.checkCustomUnique(changed, cur.ID); err != nil {
		return nil, err
	}
	uv := w.uniqueValue(next)
	if _, touched := changed[w.t.UniqueProperty]; touched {
		if err := w.checkUnique(uv, cur.ID); err != nil {
			return nil, err
		}
	}
	body, err := jsonenc.Append(nil, next)
	if err != nil {
		return nil, err
	}
	var q string
	var args []any
	switch same := uv == w.uniqueValue(cur.Properties); {
	case same && ifUnchanged:
		q, args = qUpdatePropsIf, []any{body, w.now, cur.ID, cur.Version}
	case same:
		q, args = qUpdateProps, []any{body, w.now, cur.ID}
	case ifUnchanged:
		q, args = qUpdateIf, []any{body, uv, w.now, cur.ID, cur.Version}
	default:
		q, args = qUpdate, []any{body, uv, w.now, cur.ID}
	}
	res, err := w.s.ExecContext(w.ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("update %s %d: %w", w.t.Singular, cur.ID, err)
	}
	if ifUnchanged {
		if n, err := res.RowsAffected(); err != nil {
			return nil, err
		} else if n == 0 {
			return nil, errStale
		}
	}
	if err := w.history(cur.ID, changed); err != nil {
		return nil, err
	}
	if len(changed) > 0 {
		if err := w.trigger(cur.ID, cur, next); err != nil {
			return nil, err
		}
	}
	r := *cur
	r.Properties, r.UpdatedAt, r.Version = next, time.UnixMilli(w.now).UTC(), cur.Version+1
	return &r, nil
}

// history queues the history row of a write; flush writes the queue.
func (w *writer) history(id int64, props map[string]string) error {
	if len(props) == 0 {
		return nil
	}
	changes, err := jsonenc.Append(nil, props)
	if err != nil {
		return err
	}
	w.pending = append(w.pending, id, w.now, w.src.Type, w.src.ID, w.src.EnrollmentID, changes)
	return nil
}

// historyChunks are the row counts of the prepared multi-row inserts
// (history, executions, enrollments, new records), largest first.
var historyChunks = []int{32, 8, 1}

const historyCols = 6

func historyInsert(rows int) string {
	return `INSERT INTO property_history (record_id, ts, source_type, source_id, enrollment_id, changes) VALUES ` +
		strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?),", rows), ",")
}

// flush writes the queued history rows.
func (w *writer) flush() error {
	if err := insertRows(w.ctx, w.s, historyInsert, historyCols, w.pending); err != nil {
		return fmt.Errorf("record property history: %w", err)
	}
	w.pending = w.pending[:0]
	return nil
}

// insertRows inserts rows (cols values each) with the multi-row INSERTs
// that insert(n) builds, in as few statements as the prepared chunk sizes
// (historyChunks) allow.
func insertRows(ctx context.Context, s session, insert func(rows int) string, cols int, rows []any) error {
	for len(rows) > 0 {
		for _, n := range historyChunks {
			if len(rows) >= n*cols {
				if _, err := s.ExecContext(ctx, insert(n), rows[:n*cols]...); err != nil {
					return err
				}
				rows = rows[n*cols:]
				break
			}
		}
	}
	return nil
}

// ArchiveRecords implements spoke.RecordService.
func (db *DB) ArchiveRecords(ctx context.Context, account int64, objectType string, ids []string) error {
	t, err := spoke.ObjectTypeFor(objectType)
	if err != nil {
		return err
	}
	now := db.nowMs()
	return db.inTx(ctx, func(tx *sql.Tx) error {
		for _, s := range ids {
			id, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE records SET archived = 1, archived_at = ?, updated_at = ?, version = version + 1 WHERE account_id = ? AND object_type = ? AND id = ? AND archived = 0`,
				now, now, account, t.Name, id); err != nil {
				return fmt.Errorf("archive %s %d: %w", t.Singular, id, err)
			}
		}
		return nil
	})
}

// dropEmpty removes the empty values of props (a new record does not store
// unset properties) and returns it.
func dropEmpty(props map[string]string) map[string]string {
	for k, v := range props {
		if v == "" {
			delete(props, k)
		}
	}
	return props
}

// hasCustomUnique reports whether t has unique properties besides its
// built-in one; their values are checked by query, one record at a time.
func hasCustomUnique(t spoke.ObjectType, defs map[string]*propertyDef) bool {
	for name, p := range defs {
		if p.HasUniqueValue && name != t.UniqueProperty {
			return true
		}
	}
	return false
}

// pendingCreate is a new record waiting to be inserted with others.
type pendingCreate struct {
	input int // index of its input
	props map[string]string
}

// recordInsert is the INSERT of rows new records.
func recordInsert(rows int) string {
	return `INSERT INTO records (account_id, object_type, unique_value, properties, created_at, updated_at) VALUES ` +
		strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?),", rows), ",")
}

// insertCreates inserts new records with the multi-row INSERTs of
// recordInsert, which cost SQLite and the driver much less per record than
// one statement each, then records their history and runs their triggers
// as create does. One writer inserts one statement's rows in order, so
// their AUTOINCREMENT ids are the last one's and those before it. If a
// statement meets a taken unique value, the records are inserted one at a
// time instead, which names the duplicate as create does.
func (w *writer) insertCreates(pending []pendingCreate) ([]*spoke.Record, error) {
	out := make([]*spoke.Record, 0, len(pending))
	for rest := pending; len(rest) > 0; {
		n := 1
		for _, c := range historyChunks {
			if len(rest) >= c {
				n = c
				break
			}
		}
		part := rest[:n]
		rest = rest[n:]
		args := make([]any, 0, 6*n)
		for _, p := range part {
			body, err := jsonenc.Append(nil, p.props)
			if err != nil {
				return nil, err
			}
			args = append(args, w.account, w.t.Name, w.uniqueValue(p.props), body, w.now, w.now)
		}
		res, err := w.s.ExecContext(w.ctx, recordInsert(n), args...)
		if err != nil {
			var se *sqlite.Error
			if errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE {
				for _, p := range part {
					r, err := w.create(p.props, nil)
					if err != nil {
						return nil, err
					}
					out = append(out, r)
				}
				continue
			}
			return nil, fmt.Errorf("insert %s: %w", w.t.Name, err)
		}
		last, err := res.LastInsertId()
		if err != nil {
			return nil, err
		}
		for j, p := range part {
			r, err := w.created(last-int64(n-1-j), p.props)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// created finishes a record just inserted with id: it queues its history
// and runs its enrollment triggers.
func (w *writer) created(id int64, props map[string]string) (*spoke.Record, error) {
	at := time.UnixMilli(w.now).UTC()
	if err := w.history(id, props); err != nil {
		return nil, err
	}
	if err := w.trigger(id, nil, props); err != nil {
		return nil, err
	}
	return &spoke.Record{ID: id, ObjectType: w.t.Name, Properties: props, CreatedAt: at, UpdatedAt: at}, nil
}
