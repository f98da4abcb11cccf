package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/internal/jsonenc"
)

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

// HistoryEntry is one property write of a record (spoke.HistoryEntry).
type HistoryEntry = spoke.HistoryEntry

// history queues the history row of a write; flush writes the queue.
func (w *writer) history(id int64, props map[string]string) error {
	if len(props) == 0 {
		return nil
	}
	changes, err := jsonenc.Append(nil, props)
	if err != nil {
		return err
	}
	w.historyJSON(id, changes)
	return nil
}

// historyJSON queues the history row of a write whose changes are already
// encoded (a new record's changes are its body), which the queue then
// holds until flush: the caller must not change them.
func (w *writer) historyJSON(id int64, changes []byte) {
	w.pending = append(w.pending, id, w.now, w.src.Type, w.src.ID, w.src.EnrollmentID, changes)
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
