package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/spokehq/spoke/internal/outputseal"
	"strconv"
	"strings"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/internal/jsonenc"
)

// TriggerFunc decides which flows a record change enrolls the record in.
// It runs inside the write's transaction, so it must not touch the
// database; the engine evaluates cached flow criteria.
type TriggerFunc func(ch spoke.RecordChange) []spoke.EnrollmentTrigger

// SetTrigger installs the function that evaluates enrollment triggers on
// every record write, and a function called after a commit that enrolled
// records (to wake the engine).
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

// trigger enrolls a just-written record in the flows whose criteria it
// started to meet, inside the write's transaction. before is the record
// before the write, nil for a new one.
func (w *writer) trigger(id int64, before *spoke.Record, after map[string]string) error {
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
		if stop, err := w.db.loopGuard(w.ctx, w.s, t, id, w.src, w.now); err != nil {
			return err
		} else if stop {
			continue
		}
		ok, err := enrollEvent(w.ctx, w.s, w.account, t, w.t.Name, id, w.now)
		if err != nil {
			return err
		}
		w.enrolled = w.enrolled || ok
	}
	return nil
}

// loopGuard reports whether a trigger must be ignored because a flow's
// write would re-enroll the record once too often: flows that re-enroll
// each other's writes can loop, so a record is stopped from entering one
// flow again and again.
func (db *DB) loopGuard(ctx context.Context, s session, t spoke.EnrollmentTrigger, id int64, src spoke.WriteSource, now int64) (bool, error) {
	if !t.ReEnroll || src.Type != spoke.SourceAutomation {
		return false, nil
	}
	var n int
	if err := s.QueryRowContext(ctx, qRecentEnrollments, t.FlowID, id, now-time.Hour.Milliseconds()).Scan(&n); err != nil {
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
// through re-enrollment triggered by flows' own writes; beyond it the
// trigger is ignored (and logged). Writes from the API or imports are not
// counted against it.
const LoopGuard = 10

const qRecentEnrollments = `SELECT count(*) FROM enrollments WHERE flow_id = ? AND object_id = ? AND created_at > ?`

// Enrollment inserts that skip a record in the flow now (or ever, without
// re-enrollment) in the same statement.
const (
	qEnrollIfNotActive = `INSERT INTO enrollments (account_id, flow_id, revision_id, object_type, object_id, status, current_action, run_at, created_at, updated_at)
		SELECT ?, ?, ?, ?, ?, 'ACTIVE', '', ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM enrollments WHERE flow_id = ? AND object_id = ? AND status = 'ACTIVE')`
	qEnrollIfNever = `INSERT INTO enrollments (account_id, flow_id, revision_id, object_type, object_id, status, current_action, run_at, created_at, updated_at)
		SELECT ?, ?, ?, ?, ?, 'ACTIVE', '', ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM enrollments WHERE flow_id = ? AND object_id = ?)`
	// The same for a flow with a rollout: the status is HELD while the
	// flow's rollout holds (the last argument is the flow id again).
	qEnrollStagedIfNotActive = `INSERT INTO enrollments (account_id, flow_id, revision_id, object_type, object_id, status, current_action, run_at, created_at, updated_at)
		SELECT ?, ?, ?, ?, ?, CASE WHEN ` + qHolding + ` THEN 'HELD' ELSE 'ACTIVE' END, '', ?, ?, ?
		WHERE NOT EXISTS (SELECT 1 FROM enrollments WHERE flow_id = ? AND object_id = ? AND status IN ('ACTIVE', 'HELD'))`
	qEnrollStagedIfNever = `INSERT INTO enrollments (account_id, flow_id, revision_id, object_type, object_id, status, current_action, run_at, created_at, updated_at)
		SELECT ?, ?, ?, ?, ?, CASE WHEN ` + qHolding + ` THEN 'HELD' ELSE 'ACTIVE' END, '', ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM enrollments WHERE flow_id = ? AND object_id = ?)`
)

// Skip reasons of enrollment requests.
const (
	SkipActive     = "ALREADY_ENROLLED: the record is in this flow now"
	SkipNoReEnroll = "ALREADY_ENROLLED_BEFORE: re-enrollment is off for this flow"
	SkipNotFound   = "OBJECT_NOT_FOUND: no live record with this id"
)

// enrollTx enrolls one record unless it is in the flow now, or was before
// and reEnroll is off. The first action is resolved by the engine when it
// runs (current_action ” means the flow's start action). A staged flow's
// enrollment is HELD while its rollout holds.
func enrollTx(ctx context.Context, s session, account int64, flowID, revision, objectType string, objectID int64, reEnroll, staged bool, now int64) (bool, string, error) {
	q, reason := qEnrollIfNotActive, SkipActive
	if !reEnroll {
		q, reason = qEnrollIfNever, SkipNoReEnroll
	}
	args := []any{account, flowID, revision, objectType, objectID, now, now, now, flowID, objectID}
	if staged {
		q = qEnrollStagedIfNotActive
		if !reEnroll {
			q = qEnrollStagedIfNever
		}
		args = []any{account, flowID, revision, objectType, objectID, flowID, now, now, now, flowID, objectID}
	}
	res, err := s.ExecContext(ctx, q, args...)
	if err != nil {
		return false, "", fmt.Errorf("enroll %d in flow %s: %w", objectID, flowID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, reason, err
	}
	return true, "", nil
}

const enrollmentCols = 8

func enrollmentInsert(rows int) string {
	return `INSERT INTO enrollments (account_id, flow_id, revision_id, object_type, object_id, status, current_action, run_at, created_at, updated_at) VALUES ` +
		strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, 'ACTIVE', '', ?, ?, ?),", rows), ",")
}

// heldEnrollmentInsert is enrollmentInsert for a staged flow whose rollout
// holds new enrollments.
func heldEnrollmentInsert(rows int) string {
	return `INSERT INTO enrollments (account_id, flow_id, revision_id, object_type, object_id, status, current_action, run_at, created_at, updated_at) VALUES ` +
		strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, 'HELD', '', ?, ?, ?),", rows), ",")
}

// holding reports whether a staged flow's rollout holds new enrollments.
func holding(ctx context.Context, s session, f *spoke.Flow) (bool, error) {
	if f.Rollout == nil {
		return false, nil
	}
	var held bool
	if err := s.QueryRowContext(ctx, `SELECT `+qHolding, f.ID).Scan(&held); err != nil {
		return false, fmt.Errorf("read the rollout of flow %s: %w", f.ID, err)
	}
	return held, nil
}

// enrollMany enrolls many known records at once: one query finds the ones
// in the flow already, and multi-row inserts add the rest.
func enrollMany(ctx context.Context, s session, account int64, f *spoke.Flow, objectType string, ids []int64, reEnroll bool, now int64, res *spoke.EnrollResult) error {
	active := map[int64]bool{}
	for rest := ids; len(rest) > 0; {
		part := rest[:min(500, len(rest))]
		rest = rest[len(part):]
		args := []any{f.ID}
		for _, id := range part {
			args = append(args, id)
		}
		rows, err := s.QueryContext(ctx, `SELECT object_id, status IN ('ACTIVE', 'HELD') FROM enrollments WHERE flow_id = ? AND object_id IN (`+placeholders(len(part))+`)`, args...)
		if err != nil {
			return fmt.Errorf("find enrollments: %w", err)
		}
		for rows.Next() {
			var id int64
			var isActive bool
			if err := rows.Scan(&id, &isActive); err != nil {
				rows.Close()
				return err
			}
			active[id] = active[id] || isActive
		}
		if err := rows.Close(); err != nil {
			return err
		}
	}
	var rows []any
	for _, id := range ids {
		if isActive, enrolled := active[id]; enrolled {
			switch {
			case isActive:
				res.Skipped[id] = SkipActive
				continue
			case !reEnroll:
				res.Skipped[id] = SkipNoReEnroll
				continue
			}
		}
		active[id] = true // a repeated id enrolls once
		rows = append(rows, account, f.ID, f.RevisionID, objectType, id, now, now, now)
		res.Enrolled = append(res.Enrolled, id)
	}
	insert := enrollmentInsert
	if held, err := holding(ctx, s, f); err != nil {
		return err
	} else if held {
		insert = heldEnrollmentInsert
	}
	if err := insertRows(ctx, s, insert, enrollmentCols, rows); err != nil {
		return fmt.Errorf("enroll in flow %s: %w", f.ID, err)
	}
	return nil
}

// Enroll implements spoke.EngineStore.
func (db *DB) Enroll(ctx context.Context, account int64, f *spoke.Flow, objectType string, ids []int64, reEnroll bool) (*spoke.EnrollResult, error) {
	return db.enroll(ctx, account, f, objectType, ids, reEnroll, false)
}

// EnrollKnown is Enroll for ids just read as live records of objectType,
// which skips checking each one.
func (db *DB) EnrollKnown(ctx context.Context, account int64, f *spoke.Flow, objectType string, ids []int64, reEnroll bool) (*spoke.EnrollResult, error) {
	return db.enroll(ctx, account, f, objectType, ids, reEnroll, true)
}

// liveRecords returns which of ids are live (not archived) records of
// objectType in the account, asking for up to 500 at a time rather than one
// by one: an enrollment request names up to 10,000.
func liveRecords(ctx context.Context, s session, account int64, objectType string, ids []int64) (map[int64]bool, error) {
	// objectType is a stored type name: a standard type's, or a custom
	// object's, which is its object type id ("2-7", safe as a literal).
	t, ok := spoke.LookupObjectType(objectType)
	if !ok && spoke.IsCustomObjectTypeID(objectType) {
		t, ok = spoke.ObjectType{Name: objectType}, true
	}
	if !ok {
		return nil, spoke.UnknownObjectType(objectType)
	}
	live := make(map[int64]bool, len(ids))
	for rest := ids; len(rest) > 0; {
		part := rest[:min(500, len(rest))]
		rest = rest[len(part):]
		args := make([]any, 0, len(part)+1)
		args = append(args, account)
		for _, id := range part {
			args = append(args, id)
		}
		// The object type is a literal (from a fixed set), as in searches.
		rows, err := s.QueryContext(ctx, `SELECT id FROM records WHERE account_id = ? AND object_type = '`+t.Name+`' AND archived = 0 AND id IN (`+placeholders(len(part))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("find %s to enroll: %w", objectType, err)
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("find %s to enroll: %w", objectType, err)
			}
			live[id] = true
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("find %s to enroll: %w", objectType, err)
		}
	}
	return live, nil
}

// PreviewEnroll answers what Enroll (or EnrollKnown, when known) would do,
// without enrolling anything: it enrolls in a transaction it rolls back.
func (db *DB) PreviewEnroll(ctx context.Context, account int64, f *spoke.Flow, objectType string, ids []int64, reEnroll, known bool) (*spoke.EnrollResult, error) {
	res, err := db.enrollBatch(ctx, account, f, objectType, ids, reEnroll, known, true)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// errPreview rolls back a preview's transaction.
var errPreview = errors.New("preview: roll back")

func (db *DB) enroll(ctx context.Context, account int64, f *spoke.Flow, objectType string, ids []int64, reEnroll, known bool) (*spoke.EnrollResult, error) {
	return db.enrollBatch(ctx, account, f, objectType, ids, reEnroll, known, false)
}

func (db *DB) enrollBatch(ctx context.Context, account int64, f *spoke.Flow, objectType string, ids []int64, reEnroll, known, preview bool) (*spoke.EnrollResult, error) {
	res := &spoke.EnrollResult{Enrolled: []int64{}, Skipped: map[int64]string{}}
	now := db.nowMs()
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if preview {
			if err := db.enrollIn(ctx, tx, account, f, objectType, ids, reEnroll, known, now, res); err != nil {
				return err
			}
			return errPreview
		}
		return db.enrollIn(ctx, tx, account, f, objectType, ids, reEnroll, known, now, res)
	})
	if preview && errors.Is(err, errPreview) {
		return res, nil
	}
	if err != nil {
		return nil, err
	}
	if len(res.Enrolled) > 0 {
		db.notifyEnrolled()
	}
	return res, nil
}

// enrollIn enrolls ids in tx; unless known, it first skips those that are
// not live records of objectType.
func (db *DB) enrollIn(ctx context.Context, tx *sql.Tx, account int64, f *spoke.Flow, objectType string, ids []int64, reEnroll, known bool, now int64, res *spoke.EnrollResult) error {
	s := db.txSession(tx)
	if !known {
		live, err := liveRecords(ctx, s, account, objectType, ids)
		if err != nil {
			return err
		}
		found := make([]int64, 0, len(ids))
		for _, id := range ids {
			if live[id] {
				found = append(found, id)
			} else {
				res.Skipped[id] = SkipNotFound
			}
		}
		ids = found
	}
	return enrollMany(ctx, s, account, f, objectType, ids, reEnroll, now, res)
}

const enrollmentColumns = `id, account_id, flow_id, revision_id, object_type, object_id, status, current_action, outputs, run_at, wait_reason, attempt, first_failure_at, error, created_at, updated_at, completed_at`

func (db *DB) scanEnrollment(s interface{ Scan(...any) error }) (*spoke.Enrollment, error) {
	var e spoke.Enrollment
	var outputs string
	var errText sql.NullString
	var runAt, firstFail, created, updated, completed int64
	if err := s.Scan(&e.ID, &e.AccountID, &e.FlowID, &e.RevisionID, &e.ObjectType, &e.ObjectID, &e.Status, &e.CurrentAction, &outputs,
		&runAt, &e.WaitReason, &e.Attempt, &firstFail, &errText, &created, &updated, &completed); err != nil {
		return nil, err
	}
	if outputs != "{}" { // most claimed enrollments have run no code yet
		plain, err := outputseal.Open(db.secrets, e.ID, outputs)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(plain, &e.Outputs); err != nil {
			return nil, fmt.Errorf("decode outputs of enrollment %d: %w", e.ID, err)
		}
	}
	if errText.Valid && errText.String != "" {
		e.Error = &spoke.ActionError{}
		if err := json.Unmarshal([]byte(errText.String), e.Error); err != nil {
			return nil, fmt.Errorf("decode error of enrollment %d: %w", e.ID, err)
		}
	}
	e.RunAt = time.UnixMilli(runAt).UTC()
	e.CreatedAt, e.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	if firstFail > 0 {
		e.FirstFailureAt = time.UnixMilli(firstFail).UTC()
	}
	if completed > 0 {
		e.CompletedAt = time.UnixMilli(completed).UTC()
	}
	return &e, nil
}

// Claim implements spoke.EngineStore.
func (db *DB) Claim(ctx context.Context, now time.Time, limit int, lease spoke.Lease) ([]*spoke.Enrollment, error) {
	var out []*spoke.Enrollment
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := db.txSession(tx).QueryContext(ctx, `UPDATE enrollments SET lease_until = ?, lease_token = ?
			WHERE id IN (SELECT id FROM enrollments WHERE status = 'ACTIVE' AND run_at <= ? AND lease_until < ? ORDER BY run_at, id LIMIT ?)
			RETURNING `+enrollmentColumns, lease.Until.UnixMilli(), lease.Token, now.UnixMilli(), now.UnixMilli(), limit)
		if err != nil {
			return fmt.Errorf("claim enrollments: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			e, err := db.scanEnrollment(rows)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	return out, err
}

// RenewLease implements spoke.EngineStore.
func (db *DB) RenewLease(ctx context.Context, lease spoke.Lease, ids []int64) error {
	err := db.leaseUpdate(ctx, `UPDATE enrollments SET lease_until = ? WHERE lease_token = ? AND lease_until > 0 AND id IN `, lease.Until.UnixMilli(), lease.Token, ids)
	if err != nil {
		return fmt.Errorf("renew lease: %w", err)
	}
	return nil
}

// ReleaseLease implements spoke.EngineStore.
func (db *DB) ReleaseLease(ctx context.Context, lease spoke.Lease, ids []int64) error {
	err := db.leaseUpdate(ctx, `UPDATE enrollments SET lease_until = ? WHERE lease_token = ? AND id IN `, 0, lease.Token, ids)
	if err != nil {
		return fmt.Errorf("release lease: %w", err)
	}
	return nil
}

// leaseUpdate runs q, which ends in "id IN ", for ids in chunks.
func (db *DB) leaseUpdate(ctx context.Context, q string, until, token int64, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		for rest := ids; len(rest) > 0; {
			part := rest[:min(500, len(rest))]
			rest = rest[len(part):]
			args := make([]any, 0, len(part)+2)
			args = append(args, until, token)
			for _, id := range part {
				args = append(args, id)
			}
			if _, err := tx.ExecContext(ctx, q+`(`+placeholders(len(part))+`)`, args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// held returns which of the steps' enrollments still carry the lease's
// token. Inside the commit's write transaction no claim can change that.
func held(ctx context.Context, s session, lease spoke.Lease, steps []*spoke.Step) (map[int64]bool, error) {
	out := make(map[int64]bool, len(steps))
	for rest := steps; len(rest) > 0; {
		part := rest[:min(500, len(rest))]
		rest = rest[len(part):]
		args := make([]any, 0, len(part)+1)
		args = append(args, lease.Token)
		for _, st := range part {
			args = append(args, st.Enrollment.ID)
		}
		rows, err := s.QueryContext(ctx, `SELECT id FROM enrollments WHERE lease_token = ? AND id IN (`+placeholders(len(part))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("check leases: %w", err)
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = true
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ReleaseLeases implements spoke.EngineStore.
func (db *DB) ReleaseLeases(ctx context.Context) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE enrollments SET lease_until = 0 WHERE status = 'ACTIVE' AND lease_until > 0`); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE revert_jobs SET lease_until = 0 WHERE status = 'RUNNING' AND lease_until > 0`)
		return err
	})
}

const (
	qCheckpoint = `UPDATE enrollments SET status = ?, current_action = ?, outputs = ?, run_at = ?, wait_reason = ?, attempt = ?,
		first_failure_at = ?, error = ?, updated_at = ?, completed_at = ?, lease_until = ?, lease_token = ? WHERE id = ? AND lease_token = ?`
	qUsage = `INSERT INTO code_usage (account_id, period, executions) VALUES (?, ?, ?)
		ON CONFLICT (account_id, period) DO UPDATE SET executions = executions + excluded.executions`
)

func init() {
	writeQueries = append(writeQueries, qEnrollIfNotActive, qEnrollIfNever, qEnrollStagedIfNotActive, qEnrollStagedIfNever, qCheckpoint, qUsage, qRecentEnrollments)
	for _, n := range historyChunks {
		writeQueries = append(writeQueries, enrollmentInsert(n))
	}
}

func jsonOrNil(v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		if x == nil {
			return nil, nil
		}
	case *spoke.ActionError:
		if x == nil {
			return nil, nil
		}
	}
	b, err := jsonenc.Append(nil, v)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// Commit implements spoke.EngineStore. The rows of the checkpoints and
// execution logs are encoded before the transaction begins, so the writer
// is held only for the writes themselves.
func (db *DB) Commit(ctx context.Context, lease spoke.Lease, steps []*spoke.Step) ([]int64, error) {
	now := db.Now()
	if err := db.ensureRefs(ctx, steps); err != nil {
		return nil, err
	}
	rows := make([]stepRows, len(steps))
	for i, st := range steps {
		if err := rows[i].encode(db, st, lease, now); err != nil {
			return nil, err
		}
	}
	var enrolled bool
	var lost []int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		s := db.txSession(tx)
		own, err := held(ctx, s, lease, steps)
		if err != nil {
			return err
		}
		lost = lost[:0] // inTx may run this function again
		usage := map[int64]int64{}
		counts := map[countKey]*countVal{}
		var execRows []any
		for i, st := range steps {
			e := st.Enrollment
			if !own[e.ID] {
				lost = append(lost, e.ID)
				continue
			}
			if len(st.Writes) > 0 {
				failed, more, err := db.writeStep(ctx, s, st)
				if err != nil {
					return err
				}
				enrolled = enrolled || more
				if failed != nil {
					// The write failed (the record was archived, or a value
					// became invalid): the action fails instead.
					e.Status, e.WaitReason, e.CompletedAt = spoke.EnrollmentFailed, spoke.WaitNone, now
					e.Error = &spoke.ActionError{Type: "WRITE_FAILED", Message: failed.Message}
					// None of the step's writes happened: every action that
					// wrote failed, or the last one if none is known.
					writers := st.Writers
					if len(writers) == 0 && len(st.Executions) > 0 {
						writers = []int{len(st.Executions) - 1}
					}
					for _, i := range writers {
						st.Executions[i].Status, st.Executions[i].Error = "ERROR", e.Error
					}
					if err := rows[i].encode(db, st, lease, now); err != nil {
						return err
					}
				}
			}
			if len(st.Effects) > 0 && e.Status != spoke.EnrollmentFailed {
				if err := db.commitEffects(ctx, s, st, &rows[i], lease, now, &enrolled); err != nil {
					return err
				}
			}
			// The quota counts the code that ran, even for an enrollment
			// erased meanwhile.
			usage[e.AccountID] += int64(st.CodeExecutions)
			res, err := s.ExecContext(ctx, qCheckpoint, rows[i].checkpoint...)
			if err != nil {
				return fmt.Errorf("checkpoint enrollment %d: %w", e.ID, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				continue // erased meanwhile (gdpr-delete): log nothing about it
			}
			execRows = append(execRows, rows[i].executions...)
			addCounts(counts, e, st.Executions)
		}
		if err := insertRows(ctx, s, stepInsert, stepCols, execRows); err != nil {
			return fmt.Errorf("log executions: %w", err)
		}
		if err := writeCounts(ctx, s, counts); err != nil {
			return err
		}
		for acct, n := range usage {
			if n == 0 {
				continue
			}
			if _, err := s.ExecContext(ctx, qUsage, acct, spoke.Period(now), n); err != nil {
				return fmt.Errorf("count usage: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if enrolled {
		db.notifyEnrolled()
	}
	return lost, nil
}

// writeStep writes a step's property changes to its record with the
// engine's source. It returns the error that refused the write, if one
// did, and whether the write enrolled the record in a flow.
func (db *DB) writeStep(ctx context.Context, s session, st *spoke.Step) (*spoke.Error, bool, error) {
	e := st.Enrollment
	id := strconv.FormatInt(e.ObjectID, 10)
	src := spoke.WriteSource{Type: spoke.SourceAutomation, ID: e.FlowID, EnrollmentID: strconv.FormatInt(e.ID, 10)}
	var known map[string]*spoke.Record
	if st.Record != nil && st.Record.ID == e.ObjectID {
		known = map[string]*spoke.Record{id: st.Record}
	}
	res, more, err := db.writeRecords(ctx, s, e.AccountID, e.ObjectType, spoke.WriteUpdate,
		[]spoke.RecordInput{{ID: id, Properties: st.Writes}}, src, known)
	var se *spoke.Error
	switch {
	case errors.As(err, &se):
		return se, more, nil
	case err != nil:
		return nil, more, err
	}
	return res[0].Err, more, nil
}

// stepRows are a step's encoded checkpoint and execution-log rows.
type stepRows struct {
	checkpoint []any
	executions []any
}

// encode fills the rows from the step's enrollment and executions.
func (r *stepRows) encode(db *DB, st *spoke.Step, lease spoke.Lease, now time.Time) error {
	e := st.Enrollment
	outputs := []byte("{}")
	if e.Outputs != nil {
		var err error
		if outputs, err = jsonenc.Append(nil, e.Outputs); err != nil {
			return fmt.Errorf("encode outputs of enrollment %d: %w", e.ID, err)
		}
	}
	errJSON, err := jsonOrNil(e.Error)
	if err != nil {
		return err
	}
	var firstFail, completed int64
	if !e.FirstFailureAt.IsZero() {
		firstFail = e.FirstFailureAt.UnixMilli()
	}
	if !e.CompletedAt.IsZero() {
		completed = e.CompletedAt.UnixMilli()
	}
	// An enrollment that runs on at once stays leased by its runner; one
	// that waits or is done gives its lease up.
	var until int64
	if e.Status == spoke.EnrollmentActive && !e.RunAt.After(now) {
		until = lease.Until.UnixMilli()
	}
	// A finished enrollment keeps no token: no runner can hold it, and the
	// eight bytes of a random token are a tenth of its row.
	token := lease.Token
	if e.Status != spoke.EnrollmentActive {
		token = 0
	}
	stored, err := outputseal.Seal(db.secrets, e.ID, outputs)
	if err != nil {
		return fmt.Errorf("encrypt outputs of enrollment %d: %w", e.ID, err)
	}
	r.checkpoint = []any{e.Status, e.CurrentAction, stored, e.RunAt.UnixMilli(), e.WaitReason, e.Attempt,
		firstFail, errJSON, now.UnixMilli(), completed, until, token, e.ID, lease.Token}
	var err2 error
	r.executions, err2 = db.encodeSteps(r.executions[:0], e, st.Executions)
	return err2
}

// ListEnrollments implements spoke.EngineStore.
func (db *DB) ListEnrollments(ctx context.Context, account int64, flowID string, after int64, limit int) ([]*spoke.Enrollment, bool, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+enrollmentColumns+` FROM enrollments WHERE account_id = ? AND flow_id = ? AND id > ? ORDER BY id LIMIT ?`,
		account, flowID, after, limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("list enrollments: %w", err)
	}
	out, err := db.scanEnrollments(rows)
	if err != nil {
		return nil, false, err
	}
	out, more := page(out, limit)
	return out, more, nil
}

// GetEnrollment returns one enrollment, or ENOTFOUND.
func (db *DB) GetEnrollment(ctx context.Context, id int64) (*spoke.Enrollment, error) {
	e, err := db.scanEnrollment(db.read.QueryRowContext(ctx, `SELECT `+enrollmentColumns+` FROM enrollments WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, spoke.NotFoundf("No enrollment %d.", id)
	}
	return e, err
}

// ListExecutions implements spoke.EngineStore.
func (db *DB) ListExecutions(ctx context.Context, account int64, flowID string, q spoke.ExecutionQuery) ([]*spoke.Execution, bool, error) {
	where := `flow_id = ? AND account_id = ? AND id >= ?`
	args := []any{flowID, account, q.After / stepSlots}
	if q.ObjectID > 0 {
		where += ` AND object_id = ?`
		args = append(args, q.ObjectID)
	}
	if q.Status == "ERROR" {
		where += ` AND failed = 1`
	}
	rows, err := db.read.QueryContext(ctx, `SELECT `+stepColumns+` FROM execution_steps INDEXED BY execution_steps_by_flow WHERE `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, false, fmt.Errorf("list executions: %w", err)
	}
	out, err := db.collect(ctx, rows, execFilter{after: q.After, actionID: q.ActionID, status: q.Status, limit: q.Limit})
	if err != nil {
		return nil, false, fmt.Errorf("list executions: %w", err)
	}
	out, more := page(out, q.Limit)
	return out, more, nil
}

// Usage implements spoke.EngineStore.
func (db *DB) Usage(ctx context.Context, account int64, period string) (*spoke.Usage, error) {
	u := &spoke.Usage{Period: period, Limit: spoke.DefaultCodeLimit}
	err := db.read.QueryRowContext(ctx, `SELECT executions FROM code_usage WHERE account_id = ? AND period = ?`, account, period).Scan(&u.Executions)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("read usage: %w", err)
	}
	err = db.read.QueryRowContext(ctx, `SELECT monthly FROM code_limits WHERE account_id = ?`, account).Scan(&u.Limit)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("read limit: %w", err)
	}
	return u, nil
}

// SetCodeLimit implements spoke.EngineStore.
func (db *DB) SetCodeLimit(ctx context.Context, account int64, limit int64) error {
	if limit < -1 {
		return spoke.Invalidf("The monthly limit must be -1 (unlimited) or at least 0, got %d.", limit)
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO code_limits (account_id, monthly) VALUES (?, ?) ON CONFLICT (account_id) DO UPDATE SET monthly = excluded.monthly`, account, limit)
		return err
	})
	if err != nil {
		return fmt.Errorf("set code limit: %w", err)
	}
	return db.WakeQuotaWaiters(ctx, account, db.Now())
}

// WakeQuotaWaiters implements spoke.EngineStore.
func (db *DB) WakeQuotaWaiters(ctx context.Context, account int64, now time.Time) error {
	var n int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE enrollments SET run_at = ?, wait_reason = '' WHERE account_id = ? AND status = 'ACTIVE' AND wait_reason = ?`,
			now.UnixMilli(), account, spoke.WaitQuota)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err == nil && n > 0 {
		db.notifyEnrolled()
	}
	return err
}

// QueueDepth implements spoke.EngineStore.
func (db *DB) QueueDepth(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM enrollments WHERE status = 'ACTIVE' AND run_at <= ? AND lease_until < ?`, now.UnixMilli(), now.UnixMilli()).Scan(&n)
	return n, err
}
