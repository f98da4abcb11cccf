package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/spokehq/spoke"
)

// stepWrites gathers what the steps of one engine commit write to records
// and their history, so that each kind goes to the server as one statement
// over unnest(...) arrays instead of one statement (and round trip) per
// step: the commit of a round of 512 enrollments sent over a thousand.
//
// An update over the copy of the record the round read (the usual case)
// is deferred when deferUpdates is set: the statement writes only rows
// still at the copy's version, and if any has moved on (a concurrent write
// to the record, or two steps of the commit on one record) or a unique
// value is taken, the commit fails with errStaleCopy and is run again
// without deferral, where each update re-reads a stale copy and merges
// onto it as before.
type stepWrites struct {
	deferUpdates bool
	updates      recordUpdates
	hist         historyRows
}

// errStaleCopy makes Commit run again without deferred updates.
var errStaleCopy = errors.New("a deferred record update found the record changed")

// flush writes the deferred updates, checking that each applied, and then
// the history rows.
func (b *stepWrites) flush(ctx context.Context, tx pgx.Tx) error {
	if err := b.updates.flush(ctx, tx); err != nil {
		return err
	}
	return b.hist.flush(ctx, tx)
}

// recordUpdates gathers deferred updates over known copies.
type recordUpdates struct {
	ids, versions, updated []int64
	bodies                 []string
	unique                 []*string
}

func (u *recordUpdates) add(id, version int64, body []byte, unique any, now int64) {
	var uv *string
	if s, ok := unique.(string); ok {
		uv = &s
	}
	u.ids, u.versions, u.updated = append(u.ids, id), append(u.versions, version), append(u.updated, now)
	u.bodies, u.unique = append(u.bodies, string(body)), append(u.unique, uv)
}

// flush runs the updates and empties u; errStaleCopy when not every one
// applied.
func (u *recordUpdates) flush(ctx context.Context, tx pgx.Tx) error {
	if len(u.ids) == 0 {
		return nil
	}
	n := len(u.ids)
	tag, err := tx.Exec(ctx, `UPDATE records r SET properties = u.body::jsonb, unique_value = u.unique_value, updated_at = u.updated_at, version = r.version + 1
		FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::bigint[]) AS u(id, version, body, unique_value, updated_at)
		WHERE r.id = u.id AND r.version = u.version AND NOT r.archived`, u.ids, u.versions, u.bodies, u.unique, u.updated)
	*u = recordUpdates{}
	switch {
	case isUniqueViolation(err):
		return errStaleCopy
	case err != nil:
		return fmt.Errorf("update records: %w", err)
	case tag.RowsAffected() != int64(n):
		return errStaleCopy
	}
	return nil
}

// historyRows gathers property history rows as columns, to insert them
// with one statement.
type historyRows struct {
	records, ts                []int64
	srcType, srcID, enrollment []string
	changes                    []string
}

func (h *historyRows) add(record, ts int64, src spoke.WriteSource, changes []byte) {
	h.records, h.ts = append(h.records, record), append(h.ts, ts)
	h.srcType, h.srcID, h.enrollment = append(h.srcType, src.Type), append(h.srcID, src.ID), append(h.enrollment, src.EnrollmentID)
	h.changes = append(h.changes, string(changes))
}

// queue queues the insert of the rows, in the order they were added.
func (h *historyRows) queue(b *pgx.Batch) {
	if len(h.records) == 0 {
		return
	}
	b.Queue(`INSERT INTO property_history (record_id, ts, source_type, source_id, enrollment_id, changes)
		SELECT u.record_id, u.ts, u.source_type, u.source_id, u.enrollment_id, u.changes::jsonb
		FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY
			AS u(record_id, ts, source_type, source_id, enrollment_id, changes, n)
		ORDER BY u.n`, h.records, h.ts, h.srcType, h.srcID, h.enrollment, h.changes)
}

// flush inserts the rows gathered so far and empties h.
func (h *historyRows) flush(ctx context.Context, tx pgx.Tx) error {
	b := &pgx.Batch{}
	h.queue(b)
	if b.Len() == 0 {
		return nil
	}
	*h = historyRows{}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("record history: %w", err)
	}
	return nil
}
