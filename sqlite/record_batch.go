package sqlite

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/internal/jsonenc"
)

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
