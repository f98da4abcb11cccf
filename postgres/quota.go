package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/spokehq/spoke"
)

// The custom code quota and actions' rate limits are kept in the database
// (spoke.QuotaReserver, spoke.RateLimiter), so engines in several
// processes share them.

// ReserveCode implements spoke.QuotaReserver. The account's reservations
// are read and extended under a transaction-scoped advisory lock on the
// account, so two processes cannot both take the last units; Commit needs
// no lock, since it moves units from a reservation to the count without
// changing their sum.
func (db *DB) ReserveCode(ctx context.Context, holder, account int64, n int64, now time.Time, ttl time.Duration) (int64, error) {
	if n <= 0 {
		return 0, nil
	}
	var granted int64
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('code_quota'), $1::int)`, int32(account)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM code_reservations WHERE account_id = $1 AND expires_at < $2`, account, now.UnixMilli()); err != nil {
			return err
		}
		var used, limit, reserved int64
		err := tx.QueryRow(ctx, `SELECT
				coalesce((SELECT executions FROM code_usage WHERE account_id = $1 AND period = $2), 0),
				coalesce((SELECT monthly FROM code_limits WHERE account_id = $1), $3),
				coalesce((SELECT sum(units) FROM code_reservations WHERE account_id = $1), 0)::bigint`,
			account, spoke.Period(now), int64(spoke.DefaultCodeLimit)).Scan(&used, &limit, &reserved)
		if err != nil {
			return err
		}
		granted = n
		if limit >= 0 {
			granted = max(0, min(n, limit-used-reserved))
		}
		if granted == 0 {
			return nil
		}
		// Even without a limit the units are recorded, so a limit set
		// later counts the runs already in flight.
		_, err = tx.Exec(ctx, `INSERT INTO code_reservations (account_id, holder, units, expires_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (account_id, holder) DO UPDATE SET units = code_reservations.units + excluded.units, expires_at = excluded.expires_at`,
			account, holder, granted, now.Add(ttl).UnixMilli())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("reserve custom code quota: %w", err)
	}
	return granted, nil
}

// KeepCode implements spoke.QuotaReserver. An expired row is left for
// ReserveCode to delete: its units may be counted as free already.
func (db *DB) KeepCode(ctx context.Context, holder, account int64, units int64, now time.Time, ttl time.Duration) (bool, error) {
	if units <= 0 {
		if _, err := db.pool.Exec(ctx, `DELETE FROM code_reservations WHERE account_id = $1 AND holder = $2`, account, holder); err != nil {
			return false, fmt.Errorf("end custom code reservation: %w", err)
		}
		return true, nil
	}
	tag, err := db.pool.Exec(ctx, `UPDATE code_reservations SET units = $3, expires_at = $5 WHERE account_id = $1 AND holder = $2 AND expires_at >= $4`,
		account, holder, units, now.UnixMilli(), now.Add(ttl).UnixMilli())
	if err != nil {
		return false, fmt.Errorf("keep custom code reservation: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// TakeRate implements spoke.RateLimiter: one statement takes a unit of the
// current window, starting the window over when the stored one is older,
// and returns no row when the window's units are used up. A window started
// by a process whose clock runs ahead is kept (GREATEST), not restarted.
func (db *DB) TakeRate(ctx context.Context, account int64, flowID, actionID string, limit int, window time.Duration, now time.Time) (time.Duration, error) {
	if limit <= 0 || window <= 0 {
		return 0, nil
	}
	start := now.Truncate(window)
	var used int
	err := db.pool.QueryRow(ctx, `INSERT INTO rate_windows AS w (account_id, flow_id, action_id, window_start, used) VALUES ($1, $2, $3, $4, 1)
		ON CONFLICT (account_id, flow_id, action_id) DO UPDATE
			SET used = CASE WHEN w.window_start < excluded.window_start THEN 1 ELSE w.used + 1 END,
				window_start = greatest(w.window_start, excluded.window_start)
			WHERE w.window_start < excluded.window_start OR w.used < $5
		RETURNING used`, account, flowID, actionID, start.UnixMilli(), limit).Scan(&used)
	if errors.Is(err, pgx.ErrNoRows) {
		return start.Add(window).Sub(now), nil
	}
	if err != nil {
		return 0, fmt.Errorf("take rate limit of action %s: %w", actionID, err)
	}
	return 0, nil
}
