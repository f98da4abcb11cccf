package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spokehq/spoke"
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
	t, err := db.ObjectType(ctx, account, objectType)
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

// Conditions of idLookup's queries by record id and by the type's unique
// property. Their queries on the writer are prepared at open (writeQueries).
const (
	byID     = `id = ?`
	byUnique = `unique_value = ? ORDER BY id DESC`
)

// lookupFunc finds one record by an identifier, or returns nil.
type lookupFunc func(ctx context.Context, q queryer, id string, archived bool) (*spoke.Record, error)

// idLookup returns how to find a record of t by id or by a unique property.
// ctx serves to read t's property definitions; each lookup runs with the
// context it is given.
func (db *DB) idLookup(ctx context.Context, account int64, t spoke.ObjectType, idProperty string) (lookupFunc, error) {
	one := func(ctx context.Context, q queryer, archived bool, where string, args ...any) (*spoke.Record, error) {
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
			return one(ctx, q, archived, byID, account, n)
		}, nil
	case idProperty == t.UniqueProperty:
		return func(ctx context.Context, q queryer, id string, archived bool) (*spoke.Record, error) {
			return one(ctx, q, archived, byUnique, account, strings.ToLower(id))
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
		return one(ctx, q, archived, `json_extract(properties, ?) = ?`, account, jsonPath(idProperty), id)
	}, nil
}

func jsonPath(name string) string { return `$."` + name + `"` }

// ListRecords implements spoke.RecordService.
func (db *DB) ListRecords(ctx context.Context, account int64, objectType string, opts spoke.ListOptions) ([]*spoke.Record, bool, error) {
	t, err := db.ObjectType(ctx, account, objectType)
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
	recs, more := page(recs, opts.Limit)
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
