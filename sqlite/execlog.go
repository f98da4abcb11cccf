package sqlite

import (
	"bytes"
	"compress/flate"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/internal/jsonenc"
)

// The execution log keeps one execution_steps row per committed step of an
// enrollment instead of one row per execution: the enrollment, account,
// flow, object and start time are stored once for the step's executions,
// and one index entry serves them all. Each execution in the row's body
// names its action by a small id (execution_actions), whose row holds the
// action's id, type and runtime and a template of its inputs and outputs;
// an execution stores only the values that differ from the template. A
// body larger than compressAbove is deflated. Execution ids stay unique
// and ordered: a row's id times stepSlots plus the execution's place.

// stepSlots is the most executions one row holds; a step with more is
// stored in several rows.
const stepSlots = 32

const compressAbove = 512

// Body format versions (the first byte of body).
const (
	bodyRaw     = 1
	bodyDeflate = 2
)

// Execution statuses as stored.
var statusCodes = map[string]byte{"SUCCESS": 0, "ERROR": 1, "WAITING": 2}

const statusOther = 3

var statusNames = []string{"SUCCESS", "ERROR", "WAITING"}

// Tags of inputs and outputs in a body.
const (
	mapNil      = 0 // no map
	mapTemplate = 1 // equal to the action's template
	mapFull     = 2 // JSON of the whole map
	mapDelta    = 3 // JSON of the keys that differ from the template
	// mapStrings: the keys that differ are template keys and their values
	// strings: a count, then each key's place among the template's sorted
	// keys and its value, length-prefixed.
	mapStrings = 4
)

// actionKey identifies what the executions of one action share.
type actionKey struct {
	account                    int64
	flow, action, typ, runtime string
}

// actionRef is an execution_actions row.
type actionRef struct {
	id              int64
	key             actionKey
	inputs, outputs map[string]any    // templates; nil if none
	inJSON, outJSON map[string][]byte // templates' values encoded, for comparison
	inKeys, outKeys []string          // templates' keys, sorted
}

func newActionRef(id int64, key actionKey, inputs, outputs sql.NullString) (*actionRef, error) {
	r := &actionRef{id: id, key: key}
	for _, f := range []struct {
		src  sql.NullString
		dst  *map[string]any
		json *map[string][]byte
		keys *[]string
	}{{inputs, &r.inputs, &r.inJSON, &r.inKeys}, {outputs, &r.outputs, &r.outJSON, &r.outKeys}} {
		if !f.src.Valid {
			continue
		}
		if err := json.Unmarshal([]byte(f.src.String), f.dst); err != nil {
			return nil, fmt.Errorf("decode template of action %d: %w", id, err)
		}
		*f.json = encodeValues(*f.dst)
		for k := range *f.dst {
			*f.keys = append(*f.keys, k)
		}
		sort.Strings(*f.keys)
	}
	return r, nil
}

// encodeValues returns each value of m as JSON (nil for one that cannot
// be encoded, which then never equals anything).
func encodeValues(m map[string]any) map[string][]byte {
	out := make(map[string][]byte, len(m))
	for k, v := range m {
		b, err := jsonenc.Append(nil, v)
		if err != nil {
			b = nil
		}
		out[k] = b
	}
	return out
}

// actionRefs caches the execution_actions rows by key and by id.
type actionRefs struct {
	byKey map[actionKey]*actionRef
	byID  map[int64]*actionRef
}

func (db *DB) cachedRef(k actionKey) *actionRef {
	db.refMu.Lock()
	defer db.refMu.Unlock()
	return db.refs.byKey[k]
}

func (db *DB) cacheRef(r *actionRef) {
	db.refMu.Lock()
	defer db.refMu.Unlock()
	if db.refs.byKey == nil {
		db.refs = actionRefs{byKey: map[actionKey]*actionRef{}, byID: map[int64]*actionRef{}}
	}
	db.refs.byKey[r.key], db.refs.byID[r.id] = r, r
}

func execKey(e *spoke.Enrollment, x *spoke.Execution) actionKey {
	return actionKey{e.AccountID, e.FlowID, x.ActionID, x.ActionType, x.Runtime}
}

// ensureRefs makes sure every action of the steps' executions has its
// execution_actions row, creating missing ones (with the first execution
// seen as template) in a transaction of their own: a template without
// executions is harmless, and the commit's transaction then needs no
// lookups.
func (db *DB) ensureRefs(ctx context.Context, steps []*spoke.Step) error {
	missing := map[actionKey]*spoke.Execution{}
	var order []actionKey
	for _, st := range steps {
		for _, x := range st.Executions {
			k := execKey(st.Enrollment, x)
			if _, seen := missing[k]; seen || db.cachedRef(k) != nil {
				continue
			}
			missing[k] = x
			order = append(order, k)
		}
	}
	if len(order) == 0 {
		return nil
	}
	var found []*actionRef
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		found = found[:0]
		for _, k := range order {
			x := missing[k]
			in, err := templateJSON(x.Inputs)
			if err != nil {
				return err
			}
			out, err := templateJSON(x.Outputs)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO execution_actions (account_id, flow_id, action_id, action_type, runtime, inputs, outputs)
				VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, k.account, k.flow, k.action, k.typ, k.runtime, in, out); err != nil {
				return fmt.Errorf("add execution action: %w", err)
			}
			r, err := readRef(ctx, tx.QueryRowContext(ctx, `SELECT id, inputs, outputs FROM execution_actions
				WHERE account_id = ? AND flow_id = ? AND action_id = ? AND action_type = ? AND runtime = ?`, k.account, k.flow, k.action, k.typ, k.runtime), k)
			if err != nil {
				return err
			}
			found = append(found, r)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, r := range found {
		db.cacheRef(r)
	}
	return nil
}

func readRef(ctx context.Context, row *sql.Row, k actionKey) (*actionRef, error) {
	var id int64
	var in, out sql.NullString
	if err := row.Scan(&id, &in, &out); err != nil {
		return nil, fmt.Errorf("read execution action: %w", err)
	}
	return newActionRef(id, k, in, out)
}

// refByID returns the execution_actions row id, from the cache or the
// store.
func (db *DB) refByID(ctx context.Context, id int64) (*actionRef, error) {
	db.refMu.Lock()
	r := db.refs.byID[id]
	db.refMu.Unlock()
	if r != nil {
		return r, nil
	}
	var k actionKey
	var in, out sql.NullString
	err := db.read.QueryRowContext(ctx, `SELECT account_id, flow_id, action_id, action_type, runtime, inputs, outputs FROM execution_actions WHERE id = ?`, id).
		Scan(&k.account, &k.flow, &k.action, &k.typ, &k.runtime, &in, &out)
	if err != nil {
		return nil, fmt.Errorf("read execution action %d: %w", id, err)
	}
	if r, err = newActionRef(id, k, in, out); err != nil {
		return nil, err
	}
	db.cacheRef(r)
	return r, nil
}

// templateJSON is a map's JSON if it holds only scalar values (strings,
// numbers, booleans, null), which are what a template compares; else nil.
func templateJSON(m map[string]any) (any, error) {
	if m == nil {
		return nil, nil
	}
	for _, v := range m {
		switch v.(type) {
		case nil, string, bool, float64, float32, int, int64, json.Number:
		default:
			return nil, nil
		}
	}
	b, err := jsonenc.Append(nil, m)
	if err != nil {
		return nil, fmt.Errorf("encode execution template: %w", err)
	}
	return string(b), nil
}

// appendMap appends m to buf as a tag and, unless the template answers it
// whole, its JSON or the JSON of the keys that differ from the template.
func appendMap(buf []byte, m map[string]any, tmpl map[string][]byte, keys []string) ([]byte, error) {
	if m == nil {
		return append(buf, mapNil), nil
	}
	tag, out := byte(mapFull), m
	if tmpl != nil {
		delta := map[string]any{}
		for k := range tmpl {
			if _, ok := m[k]; !ok {
				delta = nil // a template key is absent: store the whole map
				break
			}
		}
		if delta != nil {
			for k, v := range m {
				t, ok := tmpl[k]
				if ok && t != nil {
					if s, isStr := v.(string); isStr && len(t) == len(s)+2 && t[0] == '"' && string(t[1:len(t)-1]) == s && !strings.ContainsAny(s, "\"\\<>&") {
						continue // fast path: a plain string equal to the template's
					}
					if b, err := jsonenc.Append(nil, v); err == nil && bytes.Equal(b, t) {
						continue
					}
				}
				delta[k] = v
			}
			if len(delta) == 0 {
				return append(buf, mapTemplate), nil
			}
			if b, ok := appendStrings(buf, delta, keys); ok {
				return b, nil
			}
			tag, out = mapDelta, delta
		}
	}
	b, err := jsonenc.Append(nil, out)
	if err != nil {
		return nil, fmt.Errorf("encode execution: %w", err)
	}
	buf = append(buf, tag)
	buf = binary.AppendUvarint(buf, uint64(len(b)))
	return append(buf, b...), nil
}

// appendStrings appends delta in the mapStrings form if every key of it is
// one of keys and every value a string.
func appendStrings(buf []byte, delta map[string]any, keys []string) ([]byte, bool) {
	buf = append(buf, mapStrings)
	buf = binary.AppendUvarint(buf, uint64(len(delta)))
	n := 0
	for i, k := range keys {
		v, ok := delta[k]
		if !ok {
			continue
		}
		s, isStr := v.(string)
		if !isStr {
			return nil, false
		}
		buf = binary.AppendUvarint(buf, uint64(i))
		buf = appendString(buf, s)
		n++
	}
	return buf, n == len(delta)
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

// encodeSteps appends to rows the execution_steps rows of one
// enrollment's executions (a row per stepSlots executions).
func (db *DB) encodeSteps(rows []any, e *spoke.Enrollment, xs []*spoke.Execution) ([]any, error) {
	for len(xs) > 0 {
		part := xs[:min(stepSlots, len(xs))]
		xs = xs[len(part):]
		base := part[0].StartedAt.UnixMilli()
		failed := 0
		buf := []byte{bodyRaw}
		for _, x := range part {
			ref := db.cachedRef(execKey(e, x))
			if ref == nil {
				return nil, fmt.Errorf("log execution of action %s: no execution action", x.ActionID)
			}
			buf = binary.AppendUvarint(buf, uint64(ref.id))
			buf = binary.AppendUvarint(buf, uint64(max(x.Attempt, 0)))
			code, known := statusCodes[x.Status]
			if !known {
				buf = appendString(append(buf, statusOther), x.Status)
			} else {
				buf = append(buf, code)
			}
			if x.Status == "ERROR" {
				failed = 1
			}
			buf = binary.AppendVarint(buf, x.StartedAt.UnixMilli()-base)
			buf = binary.AppendUvarint(buf, uint64(math.Round(max(x.DurationMs, 0)*1000)))
			buf = binary.AppendUvarint(buf, uint64(max(x.MemoryBytes, 0)))
			var err error
			if buf, err = appendMap(buf, x.Inputs, ref.inJSON, ref.inKeys); err != nil {
				return nil, err
			}
			if buf, err = appendMap(buf, x.Outputs, ref.outJSON, ref.outKeys); err != nil {
				return nil, err
			}
			buf = appendString(buf, x.Logs)
			var errJSON []byte
			if x.Error != nil {
				if errJSON, err = jsonenc.Append(nil, x.Error); err != nil {
					return nil, fmt.Errorf("encode execution error: %w", err)
				}
			}
			buf = appendString(buf, string(errJSON))
		}
		if len(buf) > compressAbove {
			var z bytes.Buffer
			z.WriteByte(bodyDeflate)
			w, _ := flate.NewWriter(&z, flate.BestSpeed)
			w.Write(buf[1:])
			w.Close()
			if z.Len() < len(buf) {
				buf = z.Bytes()
			}
		}
		rows = append(rows, e.ID, e.AccountID, e.FlowID, e.ObjectID, base, failed, len(part), buf)
	}
	return rows, nil
}

const stepCols = 8

func stepInsert(rows int) string {
	return `INSERT INTO execution_steps (enrollment_id, account_id, flow_id, object_id, started_at, failed, n, body) VALUES ` +
		strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?),", rows), ",")
}

const qCount = `INSERT INTO execution_counts (account_id, flow_id, minute, executions, failures, last_at) VALUES (?, ?, ?, ?, ?, ?)
	ON CONFLICT (account_id, flow_id, minute) DO UPDATE SET executions = executions + excluded.executions,
	failures = failures + excluded.failures, last_at = max(last_at, excluded.last_at)`

func init() {
	writeQueries = append(writeQueries, qCount)
	for _, n := range historyChunks {
		writeQueries = append(writeQueries, stepInsert(n))
	}
}

// countKey is one row of execution_counts.
type countKey struct {
	account int64
	flow    string
	minute  int64
}

type countVal struct{ executions, failures, last int64 }

func addCounts(c map[countKey]*countVal, e *spoke.Enrollment, xs []*spoke.Execution) {
	for _, x := range xs {
		at := x.StartedAt.UnixMilli()
		k := countKey{e.AccountID, e.FlowID, at / 60000}
		v := c[k]
		if v == nil {
			v = &countVal{}
			c[k] = v
		}
		v.executions++
		if x.Status == "ERROR" {
			v.failures++
		}
		v.last = max(v.last, at)
	}
}

func writeCounts(ctx context.Context, s session, c map[countKey]*countVal) error {
	for k, v := range c {
		if _, err := s.ExecContext(ctx, qCount, k.account, k.flow, k.minute, v.executions, v.failures, v.last); err != nil {
			return fmt.Errorf("count executions: %w", err)
		}
	}
	return nil
}

// stepRow is an execution_steps row as read.
type stepRow struct {
	id, enrollment, account, object, started int64
	flow                                     string
	body                                     []byte
}

const stepColumns = `id, enrollment_id, account_id, flow_id, object_id, started_at, body`

func scanStep(s interface{ Scan(...any) error }) (*stepRow, error) {
	var r stepRow
	if err := s.Scan(&r.id, &r.enrollment, &r.account, &r.flow, &r.object, &r.started, &r.body); err != nil {
		return nil, err
	}
	return &r, nil
}

// bodyReader reads a body's fields.
type bodyReader struct {
	b   []byte
	err error
}

func (r *bodyReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *bodyReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *bodyReader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil || uint64(len(r.b)) < n {
		r.fail()
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *bodyReader) byte1() byte {
	if len(r.b) == 0 {
		r.fail()
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *bodyReader) fail() {
	if r.err == nil {
		r.err = errors.New("truncated execution body")
	}
}

// rawExec is one execution of a body, its maps not yet decoded.
type rawExec struct {
	ref             int64
	x               spoke.Execution
	inTag, outTag   byte
	inJSON, outJSON []byte
}

// decodeBody returns the executions of a row's body.
func decodeBody(row *stepRow) ([]rawExec, error) {
	b := row.body
	if len(b) == 0 {
		return nil, fmt.Errorf("execution step %d: empty body", row.id)
	}
	switch b[0] {
	case bodyRaw:
		b = b[1:]
	case bodyDeflate:
		var err error
		if b, err = io.ReadAll(flate.NewReader(bytes.NewReader(b[1:]))); err != nil {
			return nil, fmt.Errorf("execution step %d: inflate: %w", row.id, err)
		}
	default:
		return nil, fmt.Errorf("execution step %d: unknown body format %d", row.id, b[0])
	}
	r := &bodyReader{b: b}
	var out []rawExec
	for i := int64(0); len(r.b) > 0 && r.err == nil; i++ {
		var e rawExec
		e.ref = int64(r.uvarint())
		e.x.ID = row.id*stepSlots + i
		e.x.EnrollmentID, e.x.AccountID, e.x.FlowID, e.x.ObjectID = row.enrollment, row.account, row.flow, row.object
		e.x.Attempt = int(r.uvarint())
		if c := r.byte1(); c == statusOther {
			e.x.Status = string(r.bytes())
		} else if int(c) < len(statusNames) {
			e.x.Status = statusNames[c]
		} else {
			r.fail()
		}
		e.x.StartedAt = time.UnixMilli(row.started + r.varint()).UTC()
		e.x.DurationMs = float64(r.uvarint()) / 1000
		e.x.MemoryBytes = int64(r.uvarint())
		for _, m := range []struct {
			tag *byte
			js  *[]byte
		}{{&e.inTag, &e.inJSON}, {&e.outTag, &e.outJSON}} {
			*m.tag = r.byte1()
			switch *m.tag {
			case mapFull, mapDelta:
				*m.js = r.bytes()
			case mapStrings:
				start := r.b
				for n := r.uvarint(); n > 0 && r.err == nil; n-- {
					r.uvarint()
					r.bytes()
				}
				*m.js = start[:len(start)-len(r.b)]
			}
		}
		e.x.Logs = string(r.bytes())
		if errJSON := r.bytes(); len(errJSON) > 0 {
			e.x.Error = &spoke.ActionError{}
			if err := json.Unmarshal(errJSON, e.x.Error); err != nil {
				return nil, fmt.Errorf("decode execution %d: %w", e.x.ID, err)
			}
		}
		out = append(out, e)
	}
	if r.err != nil {
		return nil, fmt.Errorf("execution step %d: %w", row.id, r.err)
	}
	return out, nil
}

// finish decodes the execution's maps against its action's template and
// fills the action's fields.
func (e *rawExec) finish(ref *actionRef) (*spoke.Execution, error) {
	x := e.x
	x.ActionID, x.ActionType, x.Runtime = ref.key.action, ref.key.typ, ref.key.runtime
	for _, m := range []struct {
		tag  byte
		js   []byte
		tmpl map[string]any
		keys []string
		dst  *map[string]any
	}{{e.inTag, e.inJSON, ref.inputs, ref.inKeys, &x.Inputs}, {e.outTag, e.outJSON, ref.outputs, ref.outKeys, &x.Outputs}} {
		switch m.tag {
		case mapNil:
		case mapFull:
			if err := json.Unmarshal(m.js, m.dst); err != nil {
				return nil, fmt.Errorf("decode execution %d: %w", x.ID, err)
			}
		case mapTemplate, mapDelta, mapStrings:
			out := make(map[string]any, len(m.tmpl))
			for k, v := range m.tmpl {
				out[k] = v
			}
			if m.tag == mapDelta {
				var d map[string]any
				if err := json.Unmarshal(m.js, &d); err != nil {
					return nil, fmt.Errorf("decode execution %d: %w", x.ID, err)
				}
				for k, v := range d {
					out[k] = v
				}
			}
			if m.tag == mapStrings {
				r := &bodyReader{b: m.js}
				for n := r.uvarint(); n > 0 && r.err == nil; n-- {
					i := r.uvarint()
					v := string(r.bytes())
					if r.err == nil && i >= uint64(len(m.keys)) {
						r.fail()
					}
					if r.err == nil {
						out[m.keys[i]] = v
					}
				}
				if r.err != nil {
					return nil, fmt.Errorf("decode execution %d: %w", x.ID, r.err)
				}
			}
			*m.dst = out
		default:
			return nil, fmt.Errorf("decode execution %d: unknown map tag %d", x.ID, m.tag)
		}
	}
	return &x, nil
}

// execFilter selects executions of rows read in id order.
type execFilter struct {
	after, before int64 // exclusive bounds on execution ids (0: none)
	actionID      string
	status        string
	limit         int
	desc          bool
}

// collect reads step rows and returns the executions the filter selects,
// at most limit+1 of them.
func (db *DB) collect(ctx context.Context, rows *sql.Rows, f execFilter) ([]*spoke.Execution, error) {
	defer rows.Close()
	var out []*spoke.Execution
	for rows.Next() {
		row, err := scanStep(rows)
		if err != nil {
			return nil, err
		}
		xs, err := decodeBody(row)
		if err != nil {
			return nil, err
		}
		for j := range xs {
			e := &xs[j]
			if f.desc {
				e = &xs[len(xs)-1-j]
			}
			if (f.after > 0 && e.x.ID <= f.after) || (f.before > 0 && e.x.ID >= f.before) || (f.status != "" && e.x.Status != f.status) {
				continue
			}
			ref, err := db.refByID(ctx, e.ref)
			if err != nil {
				return nil, err
			}
			if f.actionID != "" && ref.key.action != f.actionID {
				continue
			}
			x, err := e.finish(ref)
			if err != nil {
				return nil, err
			}
			out = append(out, x)
			if len(out) > f.limit {
				return out, nil
			}
		}
	}
	return out, rows.Err()
}

// convertLegacyLog moves the rows of the execution log as it was before
// migration 0012 (one row per execution, renamed executions_v1) into
// execution_steps, a batch per transaction, then drops the old table. It
// runs at open; a crash in the middle resumes where it stopped, since
// each batch deletes the rows it converted. Converted executions get new
// ids (in the same order).
func (db *DB) convertLegacyLog(ctx context.Context) error {
	var n int
	if err := db.write.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'executions_v1'`).Scan(&n); err != nil {
		return fmt.Errorf("look for the old execution log: %w", err)
	}
	if n == 0 {
		return nil
	}
	converted := 0
	for {
		rows, err := db.write.QueryContext(ctx, `SELECT `+legacyColumns+` FROM executions_v1 ORDER BY id LIMIT 2000`)
		if err != nil {
			return fmt.Errorf("read the old execution log: %w", err)
		}
		var steps []*spoke.Step
		var last int64
		for rows.Next() {
			x, err := scanLegacy(rows)
			if err != nil {
				rows.Close()
				return err
			}
			last = x.ID
			steps = append(steps, &spoke.Step{Enrollment: &spoke.Enrollment{ID: x.EnrollmentID, AccountID: x.AccountID, FlowID: x.FlowID, ObjectID: x.ObjectID},
				Executions: []*spoke.Execution{x}})
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("read the old execution log: %w", err)
		}
		if len(steps) == 0 {
			break
		}
		if err := db.ensureRefs(ctx, steps); err != nil {
			return err
		}
		var out []any
		for _, st := range steps {
			if out, err = db.encodeSteps(out, st.Enrollment, st.Executions); err != nil {
				return err
			}
		}
		err = db.inTx(ctx, func(tx *sql.Tx) error {
			for rest := out; len(rest) > 0; {
				part := rest[:min(len(rest), 128*stepCols)]
				rest = rest[len(part):]
				if _, err := tx.ExecContext(ctx, stepInsert(len(part)/stepCols), part...); err != nil {
					return err
				}
			}
			_, err := tx.ExecContext(ctx, `DELETE FROM executions_v1 WHERE id <= ?`, last)
			return err
		})
		if err != nil {
			return fmt.Errorf("convert the old execution log: %w", err)
		}
		converted += len(steps)
	}
	if _, err := db.write.ExecContext(ctx, `DROP TABLE executions_v1`); err != nil {
		return fmt.Errorf("drop the old execution log: %w", err)
	}
	if converted > 0 {
		db.logger().Info("converted the execution log to its compact form", "executions", converted)
	}
	return nil
}

const legacyColumns = `id, enrollment_id, account_id, flow_id, object_id, action_id, action_type, attempt, status,
	started_at, duration_ms, memory_bytes, inputs, outputs, logs, error, runtime`

func scanLegacy(s interface{ Scan(...any) error }) (*spoke.Execution, error) {
	var x spoke.Execution
	var started int64
	var inputs, outputs, errText sql.NullString
	if err := s.Scan(&x.ID, &x.EnrollmentID, &x.AccountID, &x.FlowID, &x.ObjectID, &x.ActionID, &x.ActionType, &x.Attempt, &x.Status,
		&started, &x.DurationMs, &x.MemoryBytes, &inputs, &outputs, &x.Logs, &errText, &x.Runtime); err != nil {
		return nil, fmt.Errorf("read the old execution log: %w", err)
	}
	x.StartedAt = time.UnixMilli(started).UTC()
	for _, f := range []struct {
		src sql.NullString
		dst any
	}{{inputs, &x.Inputs}, {outputs, &x.Outputs}} {
		if f.src.Valid {
			if err := json.Unmarshal([]byte(f.src.String), f.dst); err != nil {
				return nil, fmt.Errorf("decode old execution %d: %w", x.ID, err)
			}
		}
	}
	if errText.Valid {
		x.Error = &spoke.ActionError{}
		if err := json.Unmarshal([]byte(errText.String), x.Error); err != nil {
			return nil, fmt.Errorf("decode old execution %d: %w", x.ID, err)
		}
	}
	return &x, nil
}
