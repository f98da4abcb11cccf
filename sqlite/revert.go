package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/crmrules"
)

// Reverts read property history: the writes to undo are found through
// property_history_by_flow (source id and time), then each record's whole
// history says what the value was before the flow's first write in the
// window and whether the flow's last write is still the current value.

const revertJobColumns = `id, account_id, flow_id, request, status, cursor, total, processed, records, reverted, conflicts, sample, error, created_at, updated_at`

func scanRevertJob(s interface{ Scan(...any) error }) (*spoke.RevertJob, error) {
	var j spoke.RevertJob
	var req, sample string
	var created, updated int64
	if err := s.Scan(&j.ID, &j.AccountID, &j.FlowID, &req, &j.Status, &j.Cursor, &j.Total, &j.Processed, &j.Records, &j.Reverted, &j.Conflicts,
		&sample, &j.Error, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(req), &j.Request); err != nil {
		return nil, fmt.Errorf("decode revert job %d: %w", j.ID, err)
	}
	if err := json.Unmarshal([]byte(sample), &j.Sample); err != nil {
		return nil, fmt.Errorf("decode revert job %d: %w", j.ID, err)
	}
	j.CreatedAt, j.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return &j, nil
}

// CreateRevertJob implements spoke.RevertStore.
func (db *DB) CreateRevertJob(ctx context.Context, j *spoke.RevertJob) error {
	req, err := json.Marshal(j.Request)
	if err != nil {
		return err
	}
	now := db.nowMs()
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO revert_jobs (account_id, flow_id, request, status, created_at, updated_at) VALUES (?, ?, ?, 'RUNNING', ?, ?)`,
			j.AccountID, j.FlowID, string(req), now, now)
		if err != nil {
			return err
		}
		j.ID, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return fmt.Errorf("create revert job: %w", err)
	}
	j.Status, j.CreatedAt, j.UpdatedAt = spoke.RevertRunning, time.UnixMilli(now).UTC(), time.UnixMilli(now).UTC()
	return nil
}

// GetRevertJob implements spoke.RevertStore.
func (db *DB) GetRevertJob(ctx context.Context, account int64, flowID string, id int64) (*spoke.RevertJob, error) {
	j, err := scanRevertJob(db.read.QueryRowContext(ctx, `SELECT `+revertJobColumns+` FROM revert_jobs WHERE account_id = ? AND flow_id = ? AND id = ?`, account, flowID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, spoke.NotFoundf("Flow %s has no revert %d.", flowID, id)
	}
	if err != nil {
		return nil, fmt.Errorf("read revert job %d: %w", id, err)
	}
	return j, nil
}

// ClaimRevertJob implements spoke.RevertStore.
func (db *DB) ClaimRevertJob(ctx context.Context, lease spoke.Lease, now time.Time) (*spoke.RevertJob, error) {
	var j *spoke.RevertJob
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		j, err = scanRevertJob(tx.QueryRowContext(ctx, `UPDATE revert_jobs SET lease_token = ?, lease_until = ?
			WHERE id = (SELECT id FROM revert_jobs WHERE status = 'RUNNING' AND lease_until < ? ORDER BY id LIMIT 1)
			RETURNING `+revertJobColumns, lease.Token, lease.Until.UnixMilli(), now.UnixMilli()))
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim a revert job: %w", err)
	}
	if j != nil {
		j.Lease = lease
	}
	return j, nil
}

// RenewRevertLease implements spoke.RevertStore.
func (db *DB) RenewRevertLease(ctx context.Context, id int64, lease spoke.Lease) error {
	var n int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE revert_jobs SET lease_until = ? WHERE id = ? AND lease_token = ? AND status = 'RUNNING'`,
			lease.Until.UnixMilli(), id, lease.Token)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("renew the lease of revert job %d: %w", id, err)
	}
	if n == 0 {
		return spoke.RevertLost(id)
	}
	return nil
}

// ownJob checks, in tx (the writer's, so nothing moves the lease until it
// ends), that job j still carries its lease's token.
func ownJob(ctx context.Context, tx *sql.Tx, j *spoke.RevertJob) error {
	if j.Lease.Token == 0 {
		return spoke.RevertLost(j.ID)
	}
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM revert_jobs WHERE id = ? AND lease_token = ?`, j.ID, j.Lease.Token).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return spoke.RevertLost(j.ID)
	}
	return err
}

// RevertTargets implements spoke.RevertStore.
func (db *DB) RevertTargets(ctx context.Context, j *spoke.RevertJob) ([]int64, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT DISTINCT record_id FROM property_history
		WHERE source_type = 'AUTOMATION_PLATFORM' AND source_id = ? AND ts >= ? AND ts <= ? AND record_id > ?`,
		j.SourceID(), j.Request.Since.UnixMilli(), j.Request.Until.UnixMilli(), j.Cursor)
	if err != nil {
		return nil, fmt.Errorf("find the writes to revert: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.Sort(ids)
	return ids, nil
}

// SetRevertTotal implements spoke.RevertStore.
func (db *DB) SetRevertTotal(ctx context.Context, j *spoke.RevertJob, total int64) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := ownJob(ctx, tx, j); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE revert_jobs SET total = ?, updated_at = ? WHERE id = ?`, total, db.nowMs(), j.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("update revert job %d: %w", j.ID, err)
	}
	j.Total = total
	return nil
}

// FinishRevertJob implements spoke.RevertStore.
func (db *DB) FinishRevertJob(ctx context.Context, j *spoke.RevertJob, status, errMsg string) error {
	now := db.nowMs()
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := ownJob(ctx, tx, j); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE revert_jobs SET status = ?, error = ?, updated_at = ?, lease_until = 0 WHERE id = ?`, status, errMsg, now, j.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("finish revert job %d: %w", j.ID, err)
	}
	j.Status, j.Error, j.UpdatedAt = status, errMsg, time.UnixMilli(now).UTC()
	return nil
}

// revisionFilter returns the ids of the flow's enrollments on the
// request's revision, or nil when the request names none.
func revisionFilter(ctx context.Context, s session, j *spoke.RevertJob) (map[string]bool, error) {
	if j.Request.RevisionID == "" {
		return nil, nil
	}
	rows, err := s.QueryContext(ctx, `SELECT id FROM enrollments WHERE account_id = ? AND flow_id = ? AND revision_id = ?`, j.AccountID, j.FlowID, j.Request.RevisionID)
	if err != nil {
		return nil, fmt.Errorf("read enrollments of revision %s: %w", j.Request.RevisionID, err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[strconv.FormatInt(id, 10)] = true
	}
	return out, rows.Err()
}

// planRevert reads the history of records ids and returns the changes that
// put back the values from before the reverted writes, and the conflicts;
// crmrules.RevertPlan works them out.
func (db *DB) planRevert(ctx context.Context, s session, j *spoke.RevertJob, ids []int64, revs map[string]bool) (map[int64]map[string]string, *spoke.RevertChunk, error) {
	t, err := spoke.ObjectTypeFor(j.Request.ObjectType)
	if err != nil {
		return nil, nil, err
	}
	defs, err := db.definitions(ctx, j.AccountID, t.Name)
	if err != nil {
		return nil, nil, err
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := s.QueryContext(ctx, `SELECT id, record_id, ts, source_type, source_id, enrollment_id, changes FROM property_history
		WHERE record_id IN (`+placeholders(len(ids))+`) ORDER BY record_id, id`, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("read history to revert: %w", err)
	}
	defer rows.Close()
	plan := crmrules.NewRevertPlan(j, t, defs, revs)
	for rows.Next() {
		var hid, rec, ts int64
		var st, sid, enr, changes string
		if err := rows.Scan(&hid, &rec, &ts, &st, &sid, &enr, &changes); err != nil {
			return nil, nil, err
		}
		var vals map[string]string
		if err := json.Unmarshal([]byte(changes), &vals); err != nil {
			return nil, nil, fmt.Errorf("decode history of record %d: %w", rec, err)
		}
		plan.Add(crmrules.HistoryEntry{ID: hid, Record: rec, At: ts, SourceType: st, SourceID: sid, Enrollment: enr, Changes: vals})
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	writes, res := plan.Result(ids)
	return writes, res, nil
}

// RevertRecords implements spoke.RevertStore.
func (db *DB) RevertRecords(ctx context.Context, j *spoke.RevertJob, ids []int64, apply bool) (*spoke.RevertChunk, error) {
	if len(ids) == 0 {
		return &spoke.RevertChunk{}, nil
	}
	if !apply {
		s := session{db: db}
		revs, err := revisionFilter(ctx, s, j)
		if err != nil {
			return nil, err
		}
		_, res, err := db.planRevert(ctx, s, j, ids, revs)
		return res, err
	}
	var res *spoke.RevertChunk
	var enrolled bool
	sample := j.Sample
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := ownJob(ctx, tx, j); err != nil {
			return err
		}
		s := db.txSession(tx)
		revs, err := revisionFilter(ctx, s, j)
		if err != nil {
			return err
		}
		writes, plan, err := db.planRevert(ctx, s, j, ids, revs)
		if err != nil {
			return err
		}
		res = plan
		inputs := make([]spoke.RecordInput, 0, len(writes))
		for _, rec := range ids {
			if w := writes[rec]; w != nil {
				inputs = append(inputs, spoke.RecordInput{ID: strconv.FormatInt(rec, 10), Properties: w})
			}
		}
		if len(inputs) > 0 {
			src := spoke.WriteSource{Type: spoke.SourceAutomation, ID: spoke.RevertSourceID(j.ID, j.FlowID)}
			results, more, err := db.writeRecords(ctx, s, j.AccountID, j.Request.ObjectType, spoke.WriteUpdate, inputs, src, nil)
			if err != nil {
				return fmt.Errorf("write the revert: %w", err)
			}
			enrolled = more
			failed := map[int64]string{}
			for i, r := range results {
				if r.Err != nil {
					id, _ := strconv.ParseInt(inputs[i].ID, 10, 64)
					failed[id] = r.Err.Message
				}
			}
			if len(failed) > 0 {
				// A record that cannot be written (archived, merged, a
				// value no longer valid) is a conflict, not a change.
				kept := res.Changes[:0]
				for _, c := range res.Changes {
					if msg, bad := failed[c.ObjectID]; bad {
						res.Conflicts = append(res.Conflicts, spoke.RevertConflict{ObjectID: c.ObjectID, Property: c.Property, Current: c.Current, ChangedBy: "WRITE_FAILED: " + msg})
						continue
					}
					kept = append(kept, c)
				}
				res.Changes = kept
				res.Records -= int64(len(failed))
			}
		}
		sample = j.Sample
		sample.Add(res.Changes, res.Conflicts)
		sb, err := json.Marshal(sample)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE revert_jobs SET cursor = ?, processed = processed + ?, records = records + ?, reverted = reverted + ?, conflicts = conflicts + ?,
			sample = ?, updated_at = ? WHERE id = ?`, ids[len(ids)-1], len(ids), res.Records, len(res.Changes), len(res.Conflicts), string(sb), db.nowMs(), j.ID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("revert job %d: %w", j.ID, err)
	}
	if enrolled {
		db.notifyEnrolled()
	}
	j.Cursor = ids[len(ids)-1]
	j.Processed += int64(len(ids))
	j.Records += res.Records
	j.Reverted += int64(len(res.Changes))
	j.Conflicts += int64(len(res.Conflicts))
	j.Sample = sample
	return res, nil
}
