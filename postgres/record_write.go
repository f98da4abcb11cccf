package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/spokehq/spoke"
)

// TriggerFunc decides which flows a record change enrolls the record in.
// It runs inside the write's transaction and must not touch the database.
type TriggerFunc func(ch spoke.RecordChange) []spoke.EnrollmentTrigger

// SetTrigger installs the function that evaluates enrollment triggers on
// every record write, and one called after a commit that enrolled records
// in this process. Other processes learn of new work by notification.
func (db *DB) SetTrigger(trigger TriggerFunc, onEnrolled func()) {
	db.hookMu.Lock()
	defer db.hookMu.Unlock()
	db.trigger, db.onEnrolled = trigger, onEnrolled
}

func (db *DB) hooks() (TriggerFunc, func()) {
	db.hookMu.RLock()
	defer db.hookMu.RUnlock()
	return db.trigger, db.onEnrolled
}

func (db *DB) notifyEnrolled() {
	if _, fn := db.hooks(); fn != nil {
		fn()
	}
}

// WriteRecords implements spoke.RecordService: the whole batch is one
// transaction, and the enrollments its writes trigger commit with it.
func (db *DB) WriteRecords(ctx context.Context, account int64, objectType string, mode spoke.WriteMode, inputs []spoke.RecordInput, src spoke.WriteSource) ([]spoke.WriteResult, error) {
	var results []spoke.WriteResult
	var enrolled bool
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		results, enrolled, err = db.writeRecords(ctx, tx, account, objectType, mode, inputs, src, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	if enrolled {
		db.notifyEnrolled()
	}
	created := 0
	for _, r := range results {
		if r.New && r.Err == nil {
			created++
		}
	}
	if created > 0 {
		db.grew(ctx, "records", created)
	}
	return results, nil
}

// writeRecords is WriteRecords inside tx. known holds records the caller
// read earlier (the engine's round), by input id: an update writes over
// such a copy if its version is unchanged, and reads the record otherwise.
func (db *DB) writeRecords(ctx context.Context, tx pgx.Tx, account int64, objectType string, mode spoke.WriteMode, inputs []spoke.RecordInput, src spoke.WriteSource, known map[string]*spoke.Record) ([]spoke.WriteResult, bool, error) {
	return db.writeRecordsTo(ctx, tx, account, objectType, mode, inputs, src, known, nil)
}

// writeRecordsTo is writeRecords that, when buf is not nil, leaves some of
// its statements to buf, which the caller runs later in the transaction
// together with other writes' (see stepWrites).
func (db *DB) writeRecordsTo(ctx context.Context, tx pgx.Tx, account int64, objectType string, mode spoke.WriteMode, inputs []spoke.RecordInput, src spoke.WriteSource, known map[string]*spoke.Record, buf *stepWrites) ([]spoke.WriteResult, bool, error) {
	t, err := db.ObjectType(ctx, account, objectType)
	if err != nil {
		return nil, false, err
	}
	if t.FromOwners && mode != spoke.WriteUpdate {
		return nil, false, errUserWrite("created")
	}
	defs, err := db.definitions(ctx, account, t)
	if err != nil {
		return nil, false, err
	}
	w := &writer{db: db, ctx: ctx, tx: tx, account: account, t: t, src: src, now: db.nowMs(), defs: defs, touched: touchedSet{}, buf: buf}
	if buf == nil {
		// The history rows of the call are inserted together after its
		// writes, before its recounts (which may add rows of their own).
		w.buf = &stepWrites{}
	}
	// Inputs named by the type's unique value (batch upserts by email) are
	// read, locked, with one query for the call, and the values found
	// absent need no unique check on create: three statements a record
	// fewer than reading and checking each.
	if mode != spoke.WriteCreate {
		if err := w.preRead(inputs); err != nil {
			return nil, false, err
		}
	}
	results := make([]spoke.WriteResult, len(inputs))
	valid := make([]map[string]string, len(inputs))
	for i, in := range inputs {
		props, verr := validateProperties(t, defs, in.Properties)
		if verr != nil {
			results[i].Err = verr
			continue
		}
		if verr, err := checkPrimaryCompanyWrite(ctx, tx, account, t, props); err != nil {
			return nil, false, err
		} else if verr != nil {
			results[i].Err = verr
			continue
		}
		valid[i] = maps.Clone(props)
		if mode == spoke.WriteCreate {
			r, err := w.create(props, in.Associations)
			if err := w.result(&results[i], r, true, err); err != nil {
				return nil, false, err
			}
			if results[i].Err != nil && results[i].Err.Code == spoke.ECONFLICT {
				// A taken unique value on create fails the whole call, as
				// HubSpot does.
				return nil, false, results[i].Err
			}
			continue
		}
		if in.ID == "" {
			results[i].Err = spoke.Invalidf("inputs[%d].id is required", i)
			continue
		}
		var cur *spoke.Record
		if k := known[in.ID]; k != nil && (in.IDProperty == "" || in.IDProperty == spoke.PropObjectID) {
			cur = k
		} else if r, ok := w.preReadRecord(in); ok {
			cur = r
		} else {
			cur, err = db.lookup(ctx, tx, account, t, defs, in.IDProperty, in.ID, false, true)
			var se *spoke.Error
			if errors.As(err, &se) {
				results[i].Err = se
				continue
			}
			if err != nil {
				return nil, false, err
			}
		}
		if cur == nil && mode == spoke.WriteUpdate {
			if (in.IDProperty == "" || in.IDProperty == spoke.PropObjectID) && in.ID != "" {
				if r, err := db.mergedTarget(ctx, tx, account, t, in.ID); err != nil {
					return nil, false, err
				} else if r != nil {
					cur = r
				}
			}
			if cur == nil {
				results[i].Err = spoke.ObjectNotFound(in.ID)
				continue
			}
		}
		if cur == nil { // upsert that creates
			if in.IDProperty == "" || in.IDProperty == spoke.PropObjectID {
				results[i].Err = spoke.Invalidf("inputs[%d]: upsert by id needs an idProperty (a unique property such as email) to create a record.", i)
				continue
			}
			if _, set := props[in.IDProperty]; !set {
				v, verr := defs[in.IDProperty].NormalizeValue(in.ID)
				if verr != nil {
					results[i].Err = spoke.InvalidPropertyValues([]*spoke.ValueError{verr})
					continue
				}
				props[in.IDProperty] = v
			}
			r, err := w.create(props, in.Associations)
			if err := w.result(&results[i], r, true, err); err != nil {
				return nil, false, err
			}
			w.wrote(nil, results[i].Record)
			continue
		}
		if mode == spoke.WriteUpsert && in.IDProperty != "" && in.IDProperty != spoke.PropObjectID {
			// A record found by its unique value keeps its own (the id may
			// differ in case).
			if v, ok := props[in.IDProperty]; ok && strings.EqualFold(v, cur.Properties[in.IDProperty]) {
				delete(props, in.IDProperty)
			}
		}
		r, err := w.update(cur, props, known[in.ID] == cur)
		if err := w.result(&results[i], r, false, err); err != nil {
			return nil, false, err
		}
		w.wrote(cur, results[i].Record)
	}
	if buf == nil {
		if err := w.buf.flush(ctx, tx); err != nil {
			return nil, false, err
		}
	}
	if err := linkPrimaryCompanies(ctx, tx, account, t, valid, results, w.touched); err != nil {
		return nil, false, err
	}
	recounted, enrolled, err := db.recount(ctx, tx, account, w.touched)
	if err != nil {
		return nil, false, err
	}
	for i := range results {
		if r := results[i].Record; r != nil && recounted[r.ID] != nil {
			results[i].Record = recounted[r.ID]
		}
	}
	return results, w.enrolled || enrolled, nil
}

// mergedTarget returns, locked, the live record a merged id now names.
func (db *DB) mergedTarget(ctx context.Context, tx pgx.Tx, account int64, t spoke.ObjectType, id string) (*spoke.Record, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return nil, nil
	}
	var into *int64
	err = tx.QueryRow(ctx, `SELECT merged_into FROM records WHERE account_id = $1 AND id = $2`, account, n).Scan(&into)
	if errors.Is(err, pgx.ErrNoRows) || into == nil {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return db.lookup(ctx, tx, account, t, nil, "", strconv.FormatInt(*into, 10), false, true)
}

// writer performs record writes inside one transaction.
type writer struct {
	db       *DB
	ctx      context.Context
	tx       pgx.Tx
	account  int64
	t        spoke.ObjectType
	src      spoke.WriteSource
	now      int64
	defs     map[string]*spoke.Property
	enrolled bool
	// aborted is set when a statement failed inside the transaction
	// (a unique value taken by a concurrent write after the check), which
	// PostgreSQL then refuses to go on with: the call fails.
	aborted bool
	// touched collects the records whose associations the writes changed,
	// whose associated values (counts, primary company) are recomputed
	// before the transaction ends (DB.recount).
	touched touchedSet
	// buf, when set, collects history rows and updates over known copies
	// instead of running each at once.
	buf *stepWrites
	// unique holds, by the type's unique value, the live records that
	// preRead found and the writes since made (nil: no record holds the
	// value); a value missing from it was not read.
	unique map[string]*spoke.Record
}

// preRead reads, locked, the live records the inputs name by the type's
// unique value, into w.unique.
func (w *writer) preRead(inputs []spoke.RecordInput) error {
	if w.t.UniqueProperty == "" {
		return nil
	}
	var values []string
	for _, in := range inputs {
		if in.IDProperty == w.t.UniqueProperty && in.ID != "" {
			values = append(values, strings.ToLower(in.ID))
		}
	}
	if len(values) == 0 {
		return nil
	}
	// In value order, so that two calls lock their common records in the
	// same order.
	rows, err := w.tx.Query(w.ctx, `SELECT `+recordColumns+` FROM records WHERE account_id = $1 AND object_type = $2 AND NOT archived
		AND unique_value = ANY($3) ORDER BY unique_value FOR UPDATE`, w.account, w.t.Name, values)
	if err != nil {
		return fmt.Errorf("read %s: %w", w.t.Name, err)
	}
	recs, err := collectRecords(rows)
	if err != nil {
		return fmt.Errorf("read %s: %w", w.t.Name, err)
	}
	w.unique = make(map[string]*spoke.Record, len(values))
	for _, v := range values {
		w.unique[v] = nil
	}
	for _, r := range recs {
		w.unique[strings.ToLower(r.Properties[w.t.UniqueProperty])] = r
	}
	return nil
}

// preReadRecord returns the record an input names by the type's unique
// value, as preRead read it (or nil when none holds it), and whether
// preRead answers for the input at all.
func (w *writer) preReadRecord(in spoke.RecordInput) (*spoke.Record, bool) {
	if w.unique == nil || in.IDProperty != w.t.UniqueProperty || in.ID == "" {
		return nil, false
	}
	r, ok := w.unique[strings.ToLower(in.ID)]
	return r, ok
}

// wrote keeps w.unique up to date after a write that turned before (nil
// for a create) into after (nil if the write failed).
func (w *writer) wrote(before, after *spoke.Record) {
	if w.unique == nil || after == nil {
		return
	}
	if before != nil {
		if old := strings.ToLower(before.Properties[w.t.UniqueProperty]); old != "" {
			if _, read := w.unique[old]; read {
				w.unique[old] = nil
			}
		}
	}
	if v := strings.ToLower(after.Properties[w.t.UniqueProperty]); v != "" {
		if _, read := w.unique[v]; read {
			w.unique[v] = after
		}
	}
}

// result files a write's outcome: a *spoke.Error fails the input, any
// other error the call.
func (w *writer) result(res *spoke.WriteResult, r *spoke.Record, created bool, err error) error {
	var se *spoke.Error
	switch {
	case errors.As(err, &se) && !w.aborted:
		res.Err = se
		return nil
	case err != nil:
		return err
	}
	if w.aborted {
		return err
	}
	res.Record, res.New = r, created
	return nil
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

// checkUnique returns ECONFLICT if another live record holds a unique
// value that props sets: the type's own (indexed column) or a custom
// property with hasUniqueValue.
func (w *writer) checkUnique(props map[string]string, self int64) error {
	uv := w.uniqueValue(props)
	if r, read := w.unique[fmt.Sprint(uv)]; uv != nil && read {
		// Known from preRead and the call's writes since.
		if r != nil && r.ID != self {
			return &spoke.Error{Code: spoke.ECONFLICT, Category: "CONFLICT",
				Message: fmt.Sprintf("%s already exists. Existing ID: %d", strings.ToUpper(w.t.Singular[:1])+w.t.Singular[1:], r.ID)}
		}
		uv = nil
	}
	if uv != nil {
		var other int64
		err := w.tx.QueryRow(w.ctx, `SELECT id FROM records WHERE account_id = $1 AND object_type = $2 AND NOT archived AND unique_value = $3 AND id != $4`,
			w.account, w.t.Name, uv, self).Scan(&other)
		if err == nil {
			return &spoke.Error{Code: spoke.ECONFLICT, Category: "CONFLICT",
				Message: fmt.Sprintf("%s already exists. Existing ID: %d", strings.ToUpper(w.t.Singular[:1])+w.t.Singular[1:], other)}
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("check unique %s: %w", w.t.UniqueProperty, err)
		}
	}
	for _, name := range sortedKeys(props) {
		v, p := props[name], w.defs[name]
		if v == "" || p == nil || !p.HasUniqueValue || name == w.t.UniqueProperty {
			continue
		}
		var other int64
		err := w.tx.QueryRow(w.ctx, `SELECT id FROM records WHERE account_id = $1 AND object_type = $2 AND NOT archived AND id != $3
			AND properties @> jsonb_build_object($4::text, $5::text) LIMIT 1`, w.account, w.t.Name, self, name, v).Scan(&other)
		if errors.Is(err, pgx.ErrNoRows) {
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
	for k, v := range props {
		if v == "" {
			delete(props, k)
		}
	}
	if err := checkRequired(w.t, props, assocs); err != nil {
		return nil, err
	}
	if err := w.derive(nil, props); err != nil {
		return nil, err
	}
	// Check the associations before inserting, so a bad one fails the input
	// without leaving a record behind.
	links, err := w.resolveAssociations(assocs)
	if err != nil {
		return nil, err
	}
	if err := w.checkUnique(props, 0); err != nil {
		return nil, err
	}
	body, err := json.Marshal(props)
	if err != nil {
		return nil, err
	}
	var id int64
	err = w.tx.QueryRow(w.ctx, `INSERT INTO records (account_id, object_type, unique_value, properties, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING id`,
		w.account, w.t.Name, w.uniqueValue(props), body, w.now).Scan(&id)
	if isUniqueViolation(err) {
		// Another transaction took the value after the check.
		w.aborted = true
		return nil, &spoke.Error{Code: spoke.ECONFLICT, Category: "CONFLICT", Message: fmt.Sprintf("%s already exists.", strings.ToUpper(w.t.Singular[:1])+w.t.Singular[1:])}
	}
	if err != nil {
		return nil, fmt.Errorf("insert %s: %w", w.t.Singular, err)
	}
	if err := w.history(id, props); err != nil {
		return nil, err
	}
	if err := w.fire(id, nil, props); err != nil {
		return nil, err
	}
	for _, l := range links {
		added, err := link(w.ctx, w.tx, w.account, w.t.Name, id, l.toType, l.toID, l.types)
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
	at := time.UnixMilli(w.now).UTC()
	return &spoke.Record{ID: id, ObjectType: w.t.Name, Properties: props, CreatedAt: at, UpdatedAt: at, Version: 1}, nil
}

// update writes changes over cur. When cur is a copy read earlier (fromCopy),
// the update applies only if the row is still at cur's version and live;
// otherwise the record is read again, locked, and the changes merged onto
// the fresh copy, so no concurrent write is lost.
func (w *writer) update(cur *spoke.Record, changes map[string]string, fromCopy bool) (*spoke.Record, error) {
	for attempt := 0; ; attempt++ {
		changed := map[string]string{}
		for k, v := range changes {
			if old, ok := cur.Properties[k]; (ok && old != v) || (!ok && v != "") {
				changed[k] = v
			}
		}
		if err := w.derive(cur, changed); err != nil {
			return nil, err
		}
		after := maps.Clone(cur.Properties)
		if after == nil {
			after = map[string]string{}
		}
		set := map[string]string{}
		for k, v := range changed {
			old, had := after[k]
			switch {
			case v == "" && had:
				delete(after, k)
				set[k] = ""
			case v != "" && old != v:
				after[k] = v
				set[k] = v
			}
		}
		if len(set) == 0 {
			return cur, nil
		}
		if err := w.checkUnique(set, cur.ID); err != nil {
			return nil, err
		}
		body, err := json.Marshal(after)
		if err != nil {
			return nil, err
		}
		q := `UPDATE records SET properties = $1, unique_value = $2, updated_at = $3, version = version + 1 WHERE id = $4`
		args := []any{body, w.uniqueValue(after), w.now, cur.ID}
		if fromCopy && attempt == 0 {
			q += ` AND version = $5 AND NOT archived`
			args = append(args, cur.Version)
		}
		var tag pgconn.CommandTag
		if fromCopy && attempt == 0 && w.buf != nil && w.buf.deferUpdates {
			// Written later with the commit's other updates, which fail
			// the whole commit if the copy is stale (stepWrites).
			w.buf.updates.add(cur.ID, cur.Version, body, w.uniqueValue(after), w.now)
			tag = pgconn.NewCommandTag("UPDATE 1")
		} else {
			tag, err = w.tx.Exec(w.ctx, q, args...)
		}
		if isUniqueViolation(err) {
			w.aborted = true
			return nil, &spoke.Error{Code: spoke.ECONFLICT, Category: "CONFLICT", Message: fmt.Sprintf("%s already exists.", strings.ToUpper(w.t.Singular[:1])+w.t.Singular[1:])}
		}
		if err != nil {
			return nil, fmt.Errorf("update %s %d: %w", w.t.Singular, cur.ID, err)
		}
		if tag.RowsAffected() == 0 {
			// Changed or archived since the copy was read: read it again.
			fresh, err := w.db.lookup(w.ctx, w.tx, w.account, w.t, w.defs, "", strconv.FormatInt(cur.ID, 10), false, true)
			if err != nil {
				return nil, err
			}
			if fresh == nil {
				return nil, spoke.ObjectNotFound(strconv.FormatInt(cur.ID, 10))
			}
			cur, fromCopy = fresh, false
			continue
		}
		if err := w.history(cur.ID, set); err != nil {
			return nil, err
		}
		if err := w.fireUpdate(cur, after); err != nil {
			return nil, err
		}
		return &spoke.Record{ID: cur.ID, ObjectType: w.t.Name, Properties: after, CreatedAt: cur.CreatedAt,
			UpdatedAt: time.UnixMilli(w.now).UTC(), Version: cur.Version + 1}, nil
	}
}

func (w *writer) history(id int64, props map[string]string) error {
	if len(props) == 0 {
		return nil
	}
	changes, err := json.Marshal(props)
	if err != nil {
		return err
	}
	if w.buf != nil {
		w.buf.hist.add(id, w.now, w.src, changes)
		return nil
	}
	_, err = w.tx.Exec(w.ctx, `INSERT INTO property_history (record_id, ts, source_type, source_id, enrollment_id, changes) VALUES ($1, $2, $3, $4, $5, $6)`,
		id, w.now, w.src.Type, w.src.ID, w.src.EnrollmentID, changes)
	if err != nil {
		return fmt.Errorf("record history: %w", err)
	}
	return nil
}

func (w *writer) fireUpdate(before *spoke.Record, after map[string]string) error {
	return w.fire(before.ID, before, after)
}

// fire enrolls a just-written record in the flows whose criteria it
// started to meet, inside the write's transaction.
func (w *writer) fire(id int64, before *spoke.Record, after map[string]string) error {
	fn, _ := w.db.hooks()
	if fn == nil {
		return nil
	}
	now := time.UnixMilli(w.now).UTC()
	ch := spoke.RecordChange{AccountID: w.account, ObjectType: w.t.Name, RecordID: id, After: after, Source: w.src, CreatedAt: now, UpdatedAt: now}
	if before != nil {
		ch.Before, ch.CreatedAt, ch.BeforeUpdatedAt = before.Properties, before.CreatedAt, before.UpdatedAt
	}
	for _, t := range fn(ch) {
		if stop, err := w.db.loopGuard(w.ctx, w.tx, t, id, w.src, w.now); err != nil {
			return err
		} else if stop {
			continue
		}
		ok, err := enrollEvent(w.ctx, w.tx, w.account, t, w.t.Name, id, w.now)
		if err != nil {
			return err
		}
		w.enrolled = w.enrolled || ok
	}
	return nil
}

// loopGuard reports whether a trigger must be ignored because a flow's
// write would re-enroll the record once too often: flows that re-enroll
// each other's writes can loop. The count is in the database, so the
// guard holds across processes.
func (db *DB) loopGuard(ctx context.Context, tx pgx.Tx, t spoke.EnrollmentTrigger, id int64, src spoke.WriteSource, now int64) (bool, error) {
	if !t.ReEnroll || src.Type != spoke.SourceAutomation {
		return false, nil
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM enrollments WHERE flow_id = $1 AND object_id = $2 AND created_at > $3`,
		t.FlowID, id, now-time.Hour.Milliseconds()).Scan(&n); err != nil {
		return false, fmt.Errorf("count enrollments of %d in flow %s: %w", id, t.FlowID, err)
	}
	if n < LoopGuard {
		return false, nil
	}
	db.logger().Warn("re-enrollment stopped: a flow's write would enroll the record in this flow again", "flowId", t.FlowID,
		"objectId", id, "byFlowId", src.ID, "enrollmentsLastHour", n, "limit", LoopGuard)
	return true, nil
}

// LoopGuard is how many times in an hour a record may enter one flow
// through re-enrollment triggered by flows' own writes (as on SQLite).
const LoopGuard = 10
