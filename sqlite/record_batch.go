package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/internal/jsonenc"
)

// recordBatch carries the inputs of one writeRecords call through its
// transaction, in input order: it holds their results, the records the call
// addresses by unique value, and the new records queued for a multi-row
// insert (insertCreates).
//
// A new record without associations is not inserted when its input is
// reached: it queues, and one statement inserts up to historyChunks[0]
// queued records. The queue is flushed (inserted) before anything could
// see what it holds, so the call behaves exactly as if each record had been
// inserted at its own input:
//   - before any update, which checks unique values by query;
//   - before an input addresses a unique value a queued record holds;
//   - before a record created alone (associations, a type with custom
//     unique properties, or a unique value already queued, which must then
//     fail as a duplicate of the queued one), so ids keep the input order;
//   - when the queue is full, and at the end of the call.
type recordBatch struct {
	w       writer // by value: a batch on the stack keeps it there too
	mode    spoke.WriteMode
	results []spoke.WriteResult // by input
	// byUnique holds, when the call addresses several records by their
	// unique value (upsert by email), those live records by their
	// lower-cased value, read with one query and kept current by remember.
	byUnique map[string]*spoke.Record
	// queue holds the new records waiting for a multi-row insert, in input
	// order; queued holds their unique values, each at most once. Both are
	// made when the first record queues, with room for a full statement,
	// and reused after each flush.
	queue  []pendingCreate
	queued map[string]bool
	// batchable is false for a type with custom unique properties: their
	// values are checked by query, so its records are created one by one.
	batchable bool
}

// newRecordBatch starts the batch of inputs, whose results so far (the
// inputs that failed validation) are in results. Inputs that address
// records by their unique value, if there are several, have them read with
// one query instead of one per input. It returns the batch as a value,
// which the caller keeps on its stack.
func newRecordBatch(w writer, mode spoke.WriteMode, inputs []spoke.RecordInput, results []spoke.WriteResult) (recordBatch, error) {
	b := recordBatch{w: w, mode: mode, results: results, batchable: !hasCustomUnique(w.t, w.defs)}
	if mode != spoke.WriteCreate && w.t.UniqueProperty != "" {
		var keys []string
		for i, in := range inputs {
			if results[i].Err == nil && in.IDProperty == w.t.UniqueProperty {
				keys = append(keys, strings.ToLower(in.ID))
			}
		}
		if len(keys) > 1 {
			var err error
			if b.byUnique, err = b.w.recordsByUnique(keys); err != nil {
				return recordBatch{}, err
			}
		}
	}
	return b, nil
}

// write writes input i, whose validated values are props: it updates the
// record the input addresses, or creates one (giving it idValue, if set, as
// its idProperty's value). lookup finds the record; known is the caller's
// copy of it, if any. An error of the input is its result; the error
// returned fails the whole call.
func (b *recordBatch) write(i int, in spoke.RecordInput, props map[string]string, idValue string, lookup lookupFunc, known *spoke.Record) error {
	if known != nil && b.mode == spoke.WriteUpdate {
		err := b.update(i, known, props, true)
		if !errors.Is(err, errStale) {
			return err
		}
		// Changed since it was read: read it again below.
	}
	var cur *spoke.Record
	if b.mode != spoke.WriteCreate {
		var ok bool
		var err error
		if cur, ok, err = b.find(i, in, lookup); err != nil || !ok {
			return err
		}
	}
	if cur != nil {
		return b.update(i, cur, props, false)
	}
	if idValue != "" {
		props[in.IDProperty] = idValue
	}
	if e := checkRequired(b.w.t, props, in.Associations); e != nil {
		b.results[i].Err = e
		return nil
	}
	if err := b.w.derive(nil, props); err != nil {
		return b.settle(i, err)
	}
	return b.create(i, props, in.Associations)
}

// find returns the live record input i addresses, or nil for an upsert that
// creates one. It reports false, with the input's result set, if the input
// cannot go on: an update, or an upsert by record id, found no record.
//
// It keeps lookups from missing a queued record: an input addressing a
// unique value the queue holds flushes the queue first.
func (b *recordBatch) find(i int, in spoke.RecordInput, lookup lookupFunc) (*spoke.Record, bool, error) {
	w := &b.w
	if len(b.queue) > 0 && b.queued[strings.ToLower(in.ID)] {
		if err := b.flush(); err != nil {
			return nil, false, err
		}
	}
	var cur *spoke.Record
	var err error
	if b.byUnique != nil && in.IDProperty == w.t.UniqueProperty {
		cur = b.byUnique[strings.ToLower(in.ID)]
	} else if cur, err = lookup(w.ctx, w.s, in.ID, false); err != nil {
		return nil, false, err
	}
	byRecordID := in.IDProperty == "" || in.IDProperty == spoke.PropObjectID
	if cur == nil && byRecordID {
		// A merged record's id writes to the record it was merged into, as
		// it reads.
		var into int64
		err := w.s.QueryRowContext(w.ctx, qMergedInto, w.account, in.ID).Scan(&into)
		switch {
		case err == nil:
			if cur, err = lookup(w.ctx, w.s, strconv.FormatInt(into, 10), false); err != nil {
				return nil, false, err
			}
		case !errors.Is(err, sql.ErrNoRows):
			return nil, false, fmt.Errorf("follow merge of %s: %w", in.ID, err)
		}
	}
	if cur == nil && b.mode == spoke.WriteUpdate {
		b.results[i].Err = spoke.ObjectNotFound(in.ID)
		return nil, false, nil
	}
	if cur == nil && byRecordID {
		b.results[i].Err = spoke.Invalidf("Upsert by record id %s found no record; to create records with upsert, set idProperty to a unique property such as %s.", in.ID, w.t.UniqueProperty)
		return nil, false, nil
	}
	return cur, true, nil
}

// create creates input i's record with props. A record without
// associations, of a type without custom unique properties, whose unique
// value is not queued yet, is queued (enqueue). Any other is inserted alone
// after the queue is flushed, so ids keep the input order and a unique
// value met twice meets the first and fails as a duplicate, as it would one
// at a time.
func (b *recordBatch) create(i int, props map[string]string, assocs []spoke.AssociationInput) error {
	if b.batchable && len(assocs) == 0 {
		props = dropEmpty(props)
		uv, _ := b.w.uniqueValue(props).(string)
		if uv == "" || !b.queued[uv] {
			return b.enqueue(i, props, uv)
		}
	}
	if err := b.flush(); err != nil {
		return err
	}
	r, err := b.w.create(props, assocs)
	if err != nil {
		var e *spoke.Error
		if errors.As(err, &e) && e.Code == spoke.ECONFLICT {
			return err // HubSpot fails the whole call on a duplicate.
		}
		return b.settle(i, err)
	}
	b.results[i] = spoke.WriteResult{Record: r, New: true}
	b.remember(nil, r)
	return nil
}

// enqueue queues input i's new record (props without empty values, uv its
// unique value or ""). The queue keeps the input order and each unique
// value once (create sends a second one alone), and never holds more than
// one statement's rows: full, it is flushed at once.
func (b *recordBatch) enqueue(i int, props map[string]string, uv string) error {
	if b.queue == nil {
		b.queue, b.queued = make([]pendingCreate, 0, historyChunks[0]), make(map[string]bool, historyChunks[0])
	}
	b.queue = append(b.queue, pendingCreate{input: i, props: props})
	if uv != "" {
		b.queued[uv] = true
	}
	if len(b.queue) == historyChunks[0] {
		return b.flush()
	}
	return nil
}

// update writes props over cur as input i's result (ifUnchanged as in
// writer.update, whose errStale it returns). It flushes the queue first:
// the update checks unique values by query, which must see every record
// created before it.
func (b *recordBatch) update(i int, cur *spoke.Record, props map[string]string, ifUnchanged bool) error {
	if err := b.flush(); err != nil {
		return err
	}
	r, err := b.w.update(cur, props, ifUnchanged)
	if err != nil {
		return b.settle(i, err)
	}
	b.results[i] = spoke.WriteResult{Record: r}
	b.remember(cur, r)
	return nil
}

// flush inserts the queued records (insertCreates) and makes them their
// inputs' results. Afterwards the queue is empty: every record the call
// created is in the table, visible to queries, and in byUnique.
func (b *recordBatch) flush() error {
	if len(b.queue) == 0 {
		return nil
	}
	recs, err := b.w.insertCreates(b.queue)
	if err != nil {
		return err
	}
	for j, r := range recs {
		b.results[b.queue[j].input] = spoke.WriteResult{Record: r, New: true}
		b.remember(nil, r)
	}
	b.queue = b.queue[:0]
	clear(b.queued)
	return nil
}

// finish ends the call's writes: it flushes the queue, then writes the
// property history rows the writes queued (writer.flush).
func (b *recordBatch) finish() error {
	if err := b.flush(); err != nil {
		return err
	}
	return b.w.flush()
}

// remember keeps byUnique current after a write turned old (nil for a new
// record) into r: old's unique value leads to nothing, r's to r, so a later
// input addressing either value sees the record as it now is.
func (b *recordBatch) remember(old, r *spoke.Record) {
	if b.byUnique == nil {
		return
	}
	if old != nil {
		if uv, ok := b.w.uniqueValue(old.Properties).(string); ok {
			delete(b.byUnique, uv)
		}
	}
	if uv, ok := b.w.uniqueValue(r.Properties).(string); ok {
		b.byUnique[uv] = r
	}
}

// settle makes err input i's result if it is a *spoke.Error (the input
// fails, the call goes on), and returns any other error, which fails the
// whole call. A nil err returns nil.
func (b *recordBatch) settle(i int, err error) error {
	var e *spoke.Error
	if errors.As(err, &e) {
		b.results[i].Err = e
		return nil
	}
	return err
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
		bodies := make([][]byte, n)
		for j, p := range part {
			body, err := jsonenc.Append(nil, p.props)
			if err != nil {
				return nil, err
			}
			bodies[j] = body
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
			r, err := w.created(last-int64(n-1-j), p.props, bodies[j])
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// created finishes a record just inserted with id, props and body (props
// encoded): it queues its history, whose changes are the body (an empty
// record has none), and runs its enrollment triggers.
func (w *writer) created(id int64, props map[string]string, body []byte) (*spoke.Record, error) {
	at := time.UnixMilli(w.now).UTC()
	if len(props) > 0 {
		w.historyJSON(id, body)
	}
	if err := w.trigger(id, nil, props); err != nil {
		return nil, err
	}
	return &spoke.Record{ID: id, ObjectType: w.t.Name, Properties: props, CreatedAt: at, UpdatedAt: at}, nil
}
