package sqlite

import (
	"context"
	"database/sql"
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

// uniqueOwnerSQL finds the live record of a type that holds a unique value.
func uniqueOwnerSQL(objectType string) string {
	return `SELECT id FROM records WHERE account_id = ? AND ` + typeFilter(objectType, false) + ` AND unique_value = ? AND id != ?`
}

// Statements of the write path, prepared when the store opens.
const (
	qInsert = `INSERT INTO records (account_id, object_type, unique_value, properties, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`
	qUpdate = `UPDATE records SET properties = ?, unique_value = ?, updated_at = ?, version = version + 1 WHERE id = ?`
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
//
// The inputs are validated first; a recordBatch then writes the valid ones
// in input order.
func (db *DB) writeRecords(ctx context.Context, s session, account int64, objectType string, mode spoke.WriteMode, inputs []spoke.RecordInput, src spoke.WriteSource, known map[string]*spoke.Record) ([]spoke.WriteResult, bool, error) {
	t, err := db.ObjectType(ctx, account, objectType)
	if err != nil {
		return nil, false, err
	}
	if t.FromOwners && mode != spoke.WriteUpdate {
		return nil, false, errUserWrite("created")
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
	if err := checkPrimaryCompanyWrites(ctx, s, account, t, valid, results); err != nil {
		return nil, false, err
	}
	b, err := newRecordBatch(writer{db: db, ctx: ctx, s: s, account: account, t: t, src: src, now: db.nowMs(), defs: defs}, mode, inputs, results)
	if err != nil {
		return nil, false, err
	}
	for i, in := range inputs {
		if results[i].Err != nil {
			continue
		}
		if err := b.write(i, in, valid[i], idValues[i], lookups[i], known[in.ID]); err != nil {
			return nil, false, err
		}
	}
	if err := b.finish(); err != nil {
		return nil, false, err
	}
	if err := linkPrimaryCompanies(ctx, s, account, t, valid, results, &b.w.touched); err != nil {
		return nil, false, err
	}
	recounted, enrolled, err := db.recount(ctx, s, account, b.w.touched)
	if err != nil {
		return nil, false, err
	}
	for i := range results {
		if r := results[i].Record; r != nil && recounted[r.ID] != nil {
			results[i].Record = recounted[r.ID]
		}
	}
	return results, b.w.enrolled || enrolled, nil
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
	// touched collects the records whose associations the writes changed,
	// whose associated values (counts, primary company) are recomputed
	// before the transaction ends (DB.recount).
	touched touchedSet
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
	r, err := w.created(id, props, body)
	if err != nil {
		return nil, err
	}
	for _, l := range links {
		added, err := link(w.ctx, w.s, w.account, w.t.Name, id, l.toType, l.toID, l.types)
		if err != nil {
			return nil, err
		}
		if w.touched == nil {
			w.touched = touchedSet{}
		}
		w.touched.Touch(l.toID)
		if added {
			w.touched.Linked(id, w.t.Name, l.toID, l.toType, 1)
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
	if err := w.derive(cur, changed); err != nil {
		return nil, err
	}
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

// ArchiveRecords implements spoke.RecordService.
func (db *DB) ArchiveRecords(ctx context.Context, account int64, objectType string, ids []string) error {
	t, err := db.ObjectType(ctx, account, objectType)
	if err != nil {
		return err
	}
	if t.FromOwners {
		return errUserWrite("archived")
	}
	now := db.nowMs()
	var enrolled bool
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		touched := touchedSet{}
		for _, s := range ids {
			id, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				continue
			}
			res, err := tx.ExecContext(ctx, `UPDATE records SET archived = 1, archived_at = ?, updated_at = ?, version = version + 1 WHERE account_id = ? AND object_type = ? AND id = ? AND archived = 0`,
				now, now, account, t.Name, id)
			if err != nil {
				return fmt.Errorf("archive %s %d: %w", t.Singular, id, err)
			}
			// The records linked to it no longer count it.
			if n, _ := res.RowsAffected(); n > 0 {
				if err := leaving(ctx, tx, account, id, t.Name, touched); err != nil {
					return err
				}
			}
		}
		var err error
		_, enrolled, err = db.recount(ctx, db.txSession(tx), account, touched)
		return err
	})
	if err == nil && enrolled {
		db.notifyEnrolled()
	}
	return err
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
