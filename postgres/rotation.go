package postgres

import (
	"context"
	"fmt"
)

// TakeTurn implements spoke.OwnerRotator: one upsert counts the turn and
// returns the count before it, so concurrent engines each get a distinct
// turn.
func (db *DB) TakeTurn(ctx context.Context, account int64, flowID, actionID string) (int64, error) {
	var turn int64
	err := db.pool.QueryRow(ctx, `INSERT INTO owner_rotations (account_id, flow_id, action_id, turns) VALUES ($1, $2, $3, 1)
		ON CONFLICT (account_id, flow_id, action_id) DO UPDATE SET turns = owner_rotations.turns + 1
		RETURNING turns - 1`, account, flowID, actionID).Scan(&turn)
	if err != nil {
		return 0, fmt.Errorf("take a turn of flow %s action %s: %w", flowID, actionID, err)
	}
	return turn, nil
}
