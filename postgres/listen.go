package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// chanProps carries property definition changes, so every process drops
// its cached definitions.
const chanProps = "spoke_props"

// Listen keeps a connection listening for the store's notifications until
// ctx ends: onWork when enrollments became due in any process (a record
// write enrolled one, a lease was given back, quota waiters were woken),
// onFlows when a flow changed in any process (the engine's flow cache is
// dropped). Property changes drop this store's own definition cache. The
// connection is re-established when it breaks (PostgreSQL restarted); since
// notifications sent meanwhile are lost, both callbacks run after every
// reconnection, so nothing waits for a poll.
func (db *DB) Listen(ctx context.Context, onWork, onFlows func()) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := db.listenOnce(ctx, onWork, onFlows, func() { backoff = 100 * time.Millisecond })
		if ctx.Err() != nil {
			return
		}
		db.logger().Warn("database notifications interrupted; reconnecting", "err", err, "retryIn", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (db *DB) listenOnce(ctx context.Context, onWork, onFlows func(), connected func()) error {
	cfg, err := pgx.ParseConfig(db.url)
	if err != nil {
		return err
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = connectTimeout
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, ch := range []string{chanWork, chanFlows, chanProps} {
		if _, err := conn.Exec(ctx, "LISTEN "+ch); err != nil {
			return err
		}
	}
	connected()
	// Whatever was notified while no connection listened is caught up now.
	db.forgetDefinitions()
	onFlows()
	onWork()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		switch n.Channel {
		case chanWork:
			onWork()
		case chanFlows:
			onFlows()
		case chanProps:
			db.forgetDefinitions()
		}
	}
}

// notifyProps tells every process that property definitions changed.
func notifyProps(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `SELECT pg_notify('`+chanProps+`', '')`)
	return err
}
