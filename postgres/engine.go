package postgres

import (
	"context"
	"crypto/cipher"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/spokehq/spoke/internal/outputseal"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/internal/jsonenc"
)

// Skip reasons of enrollment requests, as on SQLite.
const (
	SkipActive     = "ALREADY_ENROLLED: the record is in this flow now"
	SkipNoReEnroll = "ALREADY_ENROLLED_BEFORE: re-enrollment is off for this flow"
	SkipNotFound   = "OBJECT_NOT_FOUND: no live record with this id"
)

// Notification channels. A transaction that makes work due notifies
// chanWork, so idle workers in every process wake up at its commit; one that
// changes flows notifies chanFlows with the account, so every process drops
// its flow cache.
const (
	chanWork  = "spoke_work"
	chanFlows = "spoke_flows"
)

func notifyWork(ctx context.Context, tx pgx.Tx) error {
	// PostgreSQL folds identical notifications of one transaction into one.
	if _, err := tx.Exec(ctx, `SELECT pg_notify('`+chanWork+`', '')`); err != nil {
		return fmt.Errorf("notify workers: %w", err)
	}
	return nil
}

func notifyFlows(ctx context.Context, tx pgx.Tx, account int64) error {
	if _, err := tx.Exec(ctx, `SELECT pg_notify('`+chanFlows+`', $1)`, strconv.FormatInt(account, 10)); err != nil {
		return fmt.Errorf("notify flow change: %w", err)
	}
	return nil
}

// enrollOne enrolls one record unless it is in the flow now, or was before
// and reEnroll is off. The flow's enrollments of the record are serialised
// by a transaction-scoped advisory lock on (flow, record), so two
// processes writing the same record cannot both enroll it. A staged flow's
// enrollment is HELD while its rollout holds (holdingRollout).
func enrollOne(ctx context.Context, tx pgx.Tx, account int64, flowID, revision, objectType string, objectID int64, reEnroll, staged bool, now int64) (bool, string, error) {
	fid, _ := strconv.ParseInt(flowID, 10, 64)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1::int, $2::int)`, int32(fid), int32(objectID)); err != nil {
		return false, "", fmt.Errorf("lock enrollment of %d in flow %s: %w", objectID, flowID, err)
	}
	cond, reason := `status IN ('ACTIVE', 'HELD')`, SkipActive
	if !reEnroll {
		cond, reason = `true`, SkipNoReEnroll
	}
	status := spoke.EnrollmentActive
	if staged {
		held, err := holdingRollout(ctx, tx, flowID)
		if err != nil {
			return false, "", err
		}
		if held {
			status = spoke.EnrollmentHeld
		}
	}
	tag, err := tx.Exec(ctx, `INSERT INTO enrollments (account_id, flow_id, revision_id, object_type, object_id, status, current_action, run_at, created_at, updated_at)
		SELECT $1, $2, $3, $4, $5, $7, '', $6, $6, $6 WHERE NOT EXISTS (SELECT 1 FROM enrollments WHERE flow_id = $2 AND object_id = $5 AND `+cond+`)`,
		account, flowID, revision, objectType, objectID, now, status)
	if err != nil {
		return false, "", fmt.Errorf("enroll %d in flow %s: %w", objectID, flowID, err)
	}
	if tag.RowsAffected() == 0 {
		return false, reason, nil
	}
	if status == spoke.EnrollmentHeld {
		return true, "", nil
	}
	return true, "", notifyWork(ctx, tx)
}

// Enroll implements spoke.EngineStore.
func (db *DB) Enroll(ctx context.Context, account int64, f *spoke.Flow, objectType string, ids []int64, reEnroll bool) (*spoke.EnrollResult, error) {
	return db.enroll(ctx, account, f, objectType, ids, reEnroll, false)
}

// EnrollKnown is Enroll for ids just read as live records of objectType.
func (db *DB) EnrollKnown(ctx context.Context, account int64, f *spoke.Flow, objectType string, ids []int64, reEnroll bool) (*spoke.EnrollResult, error) {
	return db.enroll(ctx, account, f, objectType, ids, reEnroll, true)
}

// PreviewEnroll answers what Enroll (or EnrollKnown, when known) would do,
// without enrolling anything: it enrolls in a transaction it rolls back
// (whose notifications are never sent).
func (db *DB) PreviewEnroll(ctx context.Context, account int64, f *spoke.Flow, objectType string, ids []int64, reEnroll, known bool) (*spoke.EnrollResult, error) {
	return db.enrollBatch(ctx, account, f, objectType, ids, reEnroll, known, true)
}

// errPreview rolls back a preview's transaction.
var errPreview = errors.New("preview: roll back")

func (db *DB) enroll(ctx context.Context, account int64, f *spoke.Flow, objectType string, ids []int64, reEnroll, known bool) (*spoke.EnrollResult, error) {
	return db.enrollBatch(ctx, account, f, objectType, ids, reEnroll, known, false)
}

func (db *DB) enrollBatch(ctx context.Context, account int64, f *spoke.Flow, objectType string, ids []int64, reEnroll, known, preview bool) (*spoke.EnrollResult, error) {
	var res *spoke.EnrollResult
	now := db.nowMs()
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if preview {
			if err := db.enrollIn(ctx, tx, account, f, objectType, ids, reEnroll, known, now, &res); err != nil {
				return err
			}
			return errPreview
		}
		return db.enrollIn(ctx, tx, account, f, objectType, ids, reEnroll, known, now, &res)
	})
	if preview && errors.Is(err, errPreview) {
		return res, nil
	}
	if err != nil {
		return nil, err
	}
	if len(res.Enrolled) > 0 {
		db.notifyEnrolled()
		db.grew(ctx, "enrollments", len(res.Enrolled))
	}
	return res, nil
}

// enrollIn enrolls ids in tx and sets *out to the result; unless known,
// it first skips those that are not live records of objectType.
func (db *DB) enrollIn(ctx context.Context, tx pgx.Tx, account int64, f *spoke.Flow, objectType string, ids []int64, reEnroll, known bool, now int64, out **spoke.EnrollResult) error {
	res := &spoke.EnrollResult{Enrolled: []int64{}, Skipped: map[int64]string{}}
	*out = res
	if !known {
		// objectType is a stored type name: a standard type's, or a
		// custom object's, which is its object type id ("2-7").
		t, ok := spoke.LookupObjectType(objectType)
		if !ok && spoke.IsCustomObjectTypeID(objectType) {
			t, ok = spoke.ObjectType{Name: objectType}, true
		}
		if !ok {
			return spoke.UnknownObjectType(objectType)
		}
		live := map[int64]bool{}
		rows, err := tx.Query(ctx, `SELECT id FROM records WHERE account_id = $1 AND object_type = $2 AND NOT archived AND id = ANY($3)`, account, t.Name, ids)
		if err != nil {
			return fmt.Errorf("find %s to enroll: %w", objectType, err)
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			live[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("find %s to enroll: %w", objectType, err)
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
	// Serialise bulk enrollments of one flow across processes; the
	// record writes' single enrollments take the per-record lock.
	fid, _ := strconv.ParseInt(f.ID, 10, 64)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1::int, 0)`, int32(fid)); err != nil {
		return err
	}
	active := map[int64]bool{}
	rows, err := tx.Query(ctx, `SELECT object_id, status IN ('ACTIVE', 'HELD') FROM enrollments WHERE flow_id = $1 AND object_id = ANY($2)`, f.ID, ids)
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
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var toAdd []int64
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
		active[id] = true
		toAdd = append(toAdd, id)
	}
	if len(toAdd) == 0 {
		return nil
	}
	status := spoke.EnrollmentActive
	if f.Rollout != nil {
		held, err := holdingRollout(ctx, tx, f.ID)
		if err != nil {
			return err
		}
		if held {
			status = spoke.EnrollmentHeld
		}
	}
	// One statement for the lot: unnest keeps the ids' order, so ids
	// are assigned in input order.
	if _, err := tx.Exec(ctx, `INSERT INTO enrollments (account_id, flow_id, revision_id, object_type, object_id, status, current_action, run_at, created_at, updated_at)
		SELECT $1, $2, $3, $4, o, $7, '', $5, $5, $5 FROM unnest($6::bigint[]) WITH ORDINALITY AS u(o, n) ORDER BY n`,
		account, f.ID, f.RevisionID, objectType, now, toAdd, status); err != nil {
		return fmt.Errorf("enroll in flow %s: %w", f.ID, err)
	}
	res.Enrolled = toAdd
	if status == spoke.EnrollmentHeld {
		return nil
	}
	return notifyWork(ctx, tx)
}

const enrollmentColumns = `id, account_id, flow_id, revision_id, object_type, object_id, status, current_action, outputs, run_at, wait_reason, attempt, first_failure_at, error, created_at, updated_at, completed_at`

// scanEnrollment reads an enrollment row; aead (the secrets key, nil
// without one) opens its outputs (internal/outputseal).
func scanEnrollment(s pgx.Row, aead cipher.AEAD) (*spoke.Enrollment, error) {
	var e spoke.Enrollment
	var outputs string
	var errText *string
	var runAt, firstFail, created, updated, completed int64
	if err := s.Scan(&e.ID, &e.AccountID, &e.FlowID, &e.RevisionID, &e.ObjectType, &e.ObjectID, &e.Status, &e.CurrentAction, &outputs,
		&runAt, &e.WaitReason, &e.Attempt, &firstFail, &errText, &created, &updated, &completed); err != nil {
		return nil, err
	}
	if outputs != "{}" { // most claimed enrollments have run no code yet
		plain, err := outputseal.Open(aead, e.ID, outputs)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(plain, &e.Outputs); err != nil {
			return nil, fmt.Errorf("decode outputs of enrollment %d: %w", e.ID, err)
		}
	}
	if errText != nil && *errText != "" {
		e.Error = &spoke.ActionError{}
		if err := json.Unmarshal([]byte(*errText), e.Error); err != nil {
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

// Claim implements spoke.EngineStore. FOR UPDATE SKIP LOCKED lets
// workers in several processes claim at once without waiting for each
// other or ever handing one enrollment to two of them: a row another
// claim has locked is skipped, and one it has stamped is no longer due.
func (db *DB) Claim(ctx context.Context, now time.Time, limit int, lease spoke.Lease) ([]*spoke.Enrollment, error) {
	// The due rows are locked by a subquery that runs once (ARRAY(...) is
	// an init plan), and the UPDATE finds them by primary key. As
	// `id IN (SELECT ...)` the planner could run the subquery again for
	// every row of the table (each run skipping the rows the statement
	// already locked, and so claiming more than limit), or join the
	// claimed ids with a scan of the whole table, whenever its statistics
	// said the table was small (as they do right after a bulk enrollment:
	// see grew): claims then took 50-500 ms and held rows other runners'
	// commits waited for.
	rows, err := db.pool.Query(ctx, `UPDATE enrollments SET lease_until = $1, lease_token = $2
		WHERE id = ANY(ARRAY(SELECT id FROM enrollments WHERE status = 'ACTIVE' AND run_at <= $3 AND lease_until < $3
			ORDER BY run_at, id LIMIT $4 FOR UPDATE SKIP LOCKED))
		RETURNING `+enrollmentColumns, lease.Until.UnixMilli(), lease.Token, now.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("claim enrollments: %w", err)
	}
	defer rows.Close()
	var out []*spoke.Enrollment
	for rows.Next() {
		e, err := scanEnrollment(rows, db.secrets)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim enrollments: %w", err)
	}
	return out, nil
}

// RenewLease implements spoke.EngineStore.
func (db *DB) RenewLease(ctx context.Context, lease spoke.Lease, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := db.pool.Exec(ctx, `UPDATE enrollments SET lease_until = $1 WHERE lease_token = $2 AND lease_until > 0 AND id = ANY($3)`,
		lease.Until.UnixMilli(), lease.Token, ids); err != nil {
		return fmt.Errorf("renew lease: %w", err)
	}
	return nil
}

// ReleaseLease implements spoke.EngineStore.
func (db *DB) ReleaseLease(ctx context.Context, lease spoke.Lease, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE enrollments SET lease_until = 0 WHERE lease_token = $1 AND id = ANY($2)`, lease.Token, ids); err != nil {
			return err
		}
		return notifyWork(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("release lease: %w", err)
	}
	return nil
}

// ReleaseLeases implements spoke.EngineStore. Only a process that knows it
// is alone on the database may call it; workers sharing one wait for
// leases to end instead (engine.Config.SharedStore).
func (db *DB) ReleaseLeases(ctx context.Context) error {
	return db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE enrollments SET lease_until = 0 WHERE status = 'ACTIVE' AND lease_until > 0`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE revert_jobs SET lease_until = 0 WHERE status = 'RUNNING' AND lease_until > 0`)
		return err
	})
}

// Commit implements spoke.EngineStore. The enrollments' rows are locked
// first (in id order, so two commits cannot deadlock), and only those
// still carrying the lease's token are written.
func (db *DB) Commit(ctx context.Context, lease spoke.Lease, steps []*spoke.Step) ([]int64, error) {
	now := db.Now()
	var enrolled bool
	var lost []int64
	deferUpdates := true
	commit := func(tx pgx.Tx) error {
		enrolled, lost = false, lost[:0]
		ids := make([]int64, len(steps))
		for i, st := range steps {
			ids[i] = st.Enrollment.ID
		}
		own := make(map[int64]bool, len(steps))
		// The token is compared in the result, not in the WHERE clause:
		// the planner cannot know that one token matches the whole batch,
		// and guessing one row it scanned the table instead of the
		// primary key.
		rows, err := tx.Query(ctx, `SELECT id, lease_token = $2 FROM enrollments WHERE id = ANY($1) ORDER BY id FOR UPDATE`, ids, lease.Token)
		if err != nil {
			return fmt.Errorf("check leases: %w", err)
		}
		for rows.Next() {
			var id int64
			var mine bool
			if err := rows.Scan(&id, &mine); err != nil {
				rows.Close()
				return err
			}
			own[id] = mine
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("check leases: %w", err)
		}
		usage := map[int64]int64{}
		batch := &pgx.Batch{}
		var written stepRows
		// The steps' record updates and history rows are written
		// together (stepWrites), after the steps' other work.
		buf := &stepWrites{deferUpdates: deferUpdates}
		for _, st := range steps {
			e := st.Enrollment
			if !own[e.ID] {
				lost = append(lost, e.ID)
				continue
			}
			if len(st.Writes) > 0 {
				failed, more, err := db.writeStep(ctx, tx, st, buf)
				if err != nil {
					return err
				}
				enrolled = enrolled || more
				if failed != nil {
					e.Status, e.WaitReason, e.CompletedAt = spoke.EnrollmentFailed, spoke.WaitNone, now
					e.Error = &spoke.ActionError{Type: "WRITE_FAILED", Message: failed.Message}
					writers := st.Writers
					if len(writers) == 0 && len(st.Executions) > 0 {
						writers = []int{len(st.Executions) - 1}
					}
					for _, i := range writers {
						st.Executions[i].Status, st.Executions[i].Error = "ERROR", e.Error
					}
				}
			}
			if len(st.Effects) > 0 && e.Status != spoke.EnrollmentFailed {
				// Effects write at once, and may read this step's record
				// (a created record's associations recount it): the
				// writes gathered so far go first.
				if err := buf.flush(ctx, tx); err != nil {
					return err
				}
				// An effect that fails fails the enrollment at its action.
				failed, at, more, err := db.applyEffects(ctx, tx, st, now)
				if err != nil {
					return err
				}
				enrolled = enrolled || more
				if failed != nil {
					e.Status, e.WaitReason, e.CompletedAt, e.Error = spoke.EnrollmentFailed, spoke.WaitNone, now, failed
					if at >= 0 && at < len(st.Executions) {
						st.Executions[at].Status, st.Executions[at].Error = "ERROR", failed
					}
				}
			}
			usage[e.AccountID] += int64(st.CodeExecutions)
			if err := written.add(st, lease, now, db.secrets); err != nil {
				return err
			}
		}
		if err := buf.updates.flush(ctx, tx); err != nil {
			return err
		}
		buf.hist.queue(batch)
		written.queue(batch, now)
		for acct, n := range usage {
			if n > 0 {
				batch.Queue(`INSERT INTO code_usage (account_id, period, executions) VALUES ($1, $2, $3)
					ON CONFLICT (account_id, period) DO UPDATE SET executions = code_usage.executions + excluded.executions`, acct, spoke.Period(now), n)
				if lease.Holder != 0 {
					// The runs move from the holder's reservation to the
					// count, together (QuotaReserver).
					batch.Queue(`UPDATE code_reservations SET units = greatest(units - $3, 0) WHERE account_id = $1 AND holder = $2`, acct, lease.Holder, n)
				}
			}
		}
		if batch.Len() == 0 {
			return nil
		}
		// One round trip for every checkpoint and execution row.
		return tx.SendBatch(ctx, batch).Close()
	}
	err := db.inTx(ctx, commit)
	if errors.Is(err, errStaleCopy) {
		// A record changed since the round read it: write step by step.
		deferUpdates = false
		err = db.inTx(ctx, commit)
	}
	if err != nil {
		return nil, err
	}
	if enrolled {
		db.notifyEnrolled()
	}
	return lost, nil
}

// stepRows gathers a commit's checkpoints and execution rows as columns,
// so that each kind is written by one statement over unnest(...) arrays
// instead of one statement a row: a round of 512 enrollments through four
// actions wrote about 2,300 statements, which cost more CPU in Spoke and in
// the server than the rows themselves.
type stepRows struct {
	// Checkpoints: the enrollments' new state.
	ids, runAt, firstFail, completed, until []int64
	status, action, outputs, wait           []string
	attempt                                 []int32
	errs                                    []*string
	// Executions.
	xEnrollment, xAccount, xObject, xStarted, xMemory []int64
	xFlow, xAction, xType, xStatus, xLogs, xRuntime   []string
	xAttempt                                          []int32
	xDuration                                         []float64
	xInputs, xOutputs, xErr                           []*string
}

// add adds a step's checkpoint and execution rows; aead (the secrets key,
// nil without one) seals the enrollment's outputs (internal/outputseal).
func (r *stepRows) add(st *spoke.Step, lease spoke.Lease, now time.Time, aead cipher.AEAD) error {
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
	var until int64
	if e.Status == spoke.EnrollmentActive && !e.RunAt.After(now) {
		until = lease.Until.UnixMilli()
	}
	r.ids, r.runAt, r.firstFail, r.completed, r.until = append(r.ids, e.ID), append(r.runAt, e.RunAt.UnixMilli()),
		append(r.firstFail, firstFail), append(r.completed, completed), append(r.until, until)
	stored, err := outputseal.Seal(aead, e.ID, outputs)
	if err != nil {
		return fmt.Errorf("encrypt outputs of enrollment %d: %w", e.ID, err)
	}
	r.status, r.action, r.outputs, r.wait = append(r.status, e.Status), append(r.action, e.CurrentAction),
		append(r.outputs, stored), append(r.wait, e.WaitReason)
	r.attempt, r.errs = append(r.attempt, int32(e.Attempt)), append(r.errs, errJSON)
	for _, x := range st.Executions {
		inputs, err := jsonOrNil(x.Inputs)
		if err != nil {
			return err
		}
		outs, err := jsonOrNil(x.Outputs)
		if err != nil {
			return err
		}
		xerr, err := jsonOrNil(x.Error)
		if err != nil {
			return err
		}
		r.xEnrollment, r.xAccount, r.xObject = append(r.xEnrollment, e.ID), append(r.xAccount, e.AccountID), append(r.xObject, e.ObjectID)
		r.xStarted, r.xMemory = append(r.xStarted, x.StartedAt.UnixMilli()), append(r.xMemory, x.MemoryBytes)
		r.xFlow, r.xAction, r.xType, r.xStatus = append(r.xFlow, e.FlowID), append(r.xAction, x.ActionID), append(r.xType, x.ActionType), append(r.xStatus, x.Status)
		r.xLogs, r.xRuntime = append(r.xLogs, x.Logs), append(r.xRuntime, x.Runtime)
		r.xAttempt, r.xDuration = append(r.xAttempt, int32(x.Attempt)), append(r.xDuration, x.DurationMs)
		r.xInputs, r.xOutputs, r.xErr = append(r.xInputs, inputs), append(r.xOutputs, outs), append(r.xErr, xerr)
	}
	return nil
}

// queue queues the statements writing the rows: the checkpoints and, for
// the enrollments that still exist (a step's writes may have erased its
// record and with it the enrollment), their execution rows in the order
// given. Every step added belongs to an enrollment that Commit locked
// after checking its lease token, so the checkpoint needs no token
// condition; with one, the planner (which cannot know that a single token
// matches the whole batch) expected one row and rescanned the arrays for
// every enrollment.
func (r *stepRows) queue(b *pgx.Batch, now time.Time) {
	if len(r.ids) == 0 {
		return
	}
	b.Queue(`UPDATE enrollments e SET status = u.status, current_action = u.action, outputs = u.outputs, run_at = u.run_at,
			wait_reason = u.wait, attempt = u.attempt, first_failure_at = u.first_fail, error = u.err, updated_at = $1,
			completed_at = u.completed, lease_until = u.until
		FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::int[], $9::bigint[], $10::text[], $11::bigint[], $12::bigint[])
			AS u(id, status, action, outputs, run_at, wait, attempt, first_fail, err, completed, until)
		WHERE e.id = u.id`,
		now.UnixMilli(), r.ids, r.status, r.action, r.outputs, r.runAt, r.wait, r.attempt, r.firstFail, r.errs, r.completed, r.until)
	if len(r.xEnrollment) == 0 {
		return
	}
	b.Queue(`INSERT INTO executions (enrollment_id, account_id, flow_id, object_id, action_id, action_type, attempt, status, started_at,
			duration_ms, memory_bytes, inputs, outputs, logs, error, runtime)
		SELECT u.enrollment_id, u.account_id, u.flow_id, u.object_id, u.action_id, u.action_type, u.attempt, u.status, u.started_at,
			u.duration_ms, u.memory_bytes, u.inputs, u.outputs, u.logs, u.error, u.runtime
		FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::int[], $8::text[], $9::bigint[],
			$10::float8[], $11::bigint[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[]) WITH ORDINALITY
			AS u(enrollment_id, account_id, flow_id, object_id, action_id, action_type, attempt, status, started_at,
				duration_ms, memory_bytes, inputs, outputs, logs, error, runtime, n)
		JOIN (SELECT id FROM enrollments WHERE id = ANY($17)) AS live ON live.id = u.enrollment_id
		ORDER BY u.n`,
		r.xEnrollment, r.xAccount, r.xFlow, r.xObject, r.xAction, r.xType, r.xAttempt, r.xStatus, r.xStarted,
		r.xDuration, r.xMemory, r.xInputs, r.xOutputs, r.xLogs, r.xErr, r.xRuntime, r.ids)
}

func jsonOrNil(v any) (*string, error) {
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
	s := string(b)
	return &s, nil
}

// writeStep writes a step's property changes to its record with the
// engine's source, in the commit's transaction.
func (db *DB) writeStep(ctx context.Context, tx pgx.Tx, st *spoke.Step, buf *stepWrites) (*spoke.Error, bool, error) {
	e := st.Enrollment
	id := strconv.FormatInt(e.ObjectID, 10)
	src := spoke.WriteSource{Type: spoke.SourceAutomation, ID: e.FlowID, EnrollmentID: strconv.FormatInt(e.ID, 10)}
	var known map[string]*spoke.Record
	if st.Record != nil && st.Record.ID == e.ObjectID {
		known = map[string]*spoke.Record{id: st.Record}
	}
	res, more, err := db.writeRecordsTo(ctx, tx, e.AccountID, e.ObjectType, spoke.WriteUpdate,
		[]spoke.RecordInput{{ID: id, Properties: st.Writes}}, src, known, buf)
	var se *spoke.Error
	switch {
	case errors.As(err, &se):
		return se, more, nil
	case err != nil:
		return nil, more, err
	}
	return res[0].Err, more, nil
}

// ListEnrollments implements spoke.EngineStore.
func (db *DB) ListEnrollments(ctx context.Context, account int64, flowID string, after int64, limit int) ([]*spoke.Enrollment, bool, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+enrollmentColumns+` FROM enrollments WHERE account_id = $1 AND flow_id = $2 AND id > $3 ORDER BY id LIMIT $4`,
		account, flowID, after, limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("list enrollments: %w", err)
	}
	defer rows.Close()
	var out []*spoke.Enrollment
	for rows.Next() {
		e, err := scanEnrollment(rows, db.secrets)
		if err != nil {
			return nil, false, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}

// GetEnrollment returns one enrollment, or ENOTFOUND.
func (db *DB) GetEnrollment(ctx context.Context, id int64) (*spoke.Enrollment, error) {
	e, err := scanEnrollment(db.pool.QueryRow(ctx, `SELECT `+enrollmentColumns+` FROM enrollments WHERE id = $1`, id), db.secrets)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, spoke.NotFoundf("No enrollment %d.", id)
	}
	return e, err
}

const executionColumns = `id, enrollment_id, account_id, flow_id, object_id, action_id, action_type, attempt, status,
	started_at, duration_ms, memory_bytes, inputs, outputs, logs, error, runtime`

func scanExecution(s pgx.Row) (*spoke.Execution, error) {
	var x spoke.Execution
	var started int64
	var inputs, outputs, errText *string
	if err := s.Scan(&x.ID, &x.EnrollmentID, &x.AccountID, &x.FlowID, &x.ObjectID, &x.ActionID, &x.ActionType, &x.Attempt, &x.Status,
		&started, &x.DurationMs, &x.MemoryBytes, &inputs, &outputs, &x.Logs, &errText, &x.Runtime); err != nil {
		return nil, err
	}
	x.StartedAt = time.UnixMilli(started).UTC()
	if inputs != nil {
		if err := json.Unmarshal([]byte(*inputs), &x.Inputs); err != nil {
			return nil, fmt.Errorf("decode execution %d: %w", x.ID, err)
		}
	}
	if outputs != nil {
		if err := json.Unmarshal([]byte(*outputs), &x.Outputs); err != nil {
			return nil, fmt.Errorf("decode execution %d: %w", x.ID, err)
		}
	}
	if errText != nil {
		x.Error = &spoke.ActionError{}
		if err := json.Unmarshal([]byte(*errText), x.Error); err != nil {
			return nil, fmt.Errorf("decode execution %d: %w", x.ID, err)
		}
	}
	return &x, nil
}

// ListExecutions implements spoke.EngineStore.
func (db *DB) ListExecutions(ctx context.Context, account int64, flowID string, q spoke.ExecutionQuery) ([]*spoke.Execution, bool, error) {
	where := `account_id = $1 AND flow_id = $2 AND id > $3`
	args := []any{account, flowID, q.After}
	if q.ObjectID > 0 {
		args = append(args, q.ObjectID)
		where += ` AND object_id = $` + strconv.Itoa(len(args))
	}
	if q.ActionID != "" {
		args = append(args, q.ActionID)
		where += ` AND action_id = $` + strconv.Itoa(len(args))
	}
	if q.Status != "" {
		args = append(args, q.Status)
		where += ` AND status = $` + strconv.Itoa(len(args))
	}
	args = append(args, q.Limit+1)
	rows, err := db.pool.Query(ctx, `SELECT `+executionColumns+` FROM executions WHERE `+where+` ORDER BY id LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, false, fmt.Errorf("list executions: %w", err)
	}
	defer rows.Close()
	var out []*spoke.Execution
	for rows.Next() {
		x, err := scanExecution(rows)
		if err != nil {
			return nil, false, err
		}
		out = append(out, x)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	more := len(out) > q.Limit
	if more {
		out = out[:q.Limit]
	}
	return out, more, nil
}

// Usage implements spoke.EngineStore.
func (db *DB) Usage(ctx context.Context, account int64, period string) (*spoke.Usage, error) {
	u := &spoke.Usage{Period: period, Limit: spoke.DefaultCodeLimit}
	err := db.pool.QueryRow(ctx, `SELECT executions FROM code_usage WHERE account_id = $1 AND period = $2`, account, period).Scan(&u.Executions)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("read usage: %w", err)
	}
	err = db.pool.QueryRow(ctx, `SELECT monthly FROM code_limits WHERE account_id = $1`, account).Scan(&u.Limit)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("read limit: %w", err)
	}
	return u, nil
}

// SetCodeLimit implements spoke.EngineStore.
func (db *DB) SetCodeLimit(ctx context.Context, account int64, limit int64) error {
	if limit < -1 {
		return spoke.Invalidf("The monthly limit must be -1 (unlimited) or at least 0, got %d.", limit)
	}
	if _, err := db.pool.Exec(ctx, `INSERT INTO code_limits (account_id, monthly) VALUES ($1, $2) ON CONFLICT (account_id) DO UPDATE SET monthly = excluded.monthly`, account, limit); err != nil {
		return fmt.Errorf("set code limit: %w", err)
	}
	return db.WakeQuotaWaiters(ctx, account, db.Now())
}

// WakeQuotaWaiters implements spoke.EngineStore.
func (db *DB) WakeQuotaWaiters(ctx context.Context, account int64, now time.Time) error {
	var n int64
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE enrollments SET run_at = $1, wait_reason = '' WHERE account_id = $2 AND status = 'ACTIVE' AND wait_reason = $3`,
			now.UnixMilli(), account, spoke.WaitQuota)
		if err != nil {
			return err
		}
		if n = tag.RowsAffected(); n > 0 {
			return notifyWork(ctx, tx)
		}
		return nil
	})
	if err == nil && n > 0 {
		db.notifyEnrolled()
	}
	return err
}

// QueueDepth implements spoke.EngineStore.
func (db *DB) QueueDepth(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := db.pool.QueryRow(ctx, `SELECT count(*) FROM enrollments WHERE status = 'ACTIVE' AND run_at <= $1 AND lease_until < $1`, now.UnixMilli()).Scan(&n)
	return n, err
}
