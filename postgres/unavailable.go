package postgres

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/spokehq/spoke"
)

// Unavailable reports whether err says the database cannot be reached or
// cannot serve right now (down, restarting, refusing connections, a
// connection cut in the middle of a query): a retry later may succeed, so
// the API answers 503 rather than 500.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"): // connection_exception
			return true
		case pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03":
			// admin_shutdown, crash_shutdown, cannot_connect_now
			// (starting up or shutting down).
			return true
		case pgErr.Code == "53300": // too_many_connections: the server is full for now
			return true
		}
		return false
	}
	// A caller's own cancellation or deadline is not the database's
	// fault (a connection that never came is a ConnectError, above).
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, pgconn.ErrConnClosed) {
		return true
	}
	var netErr net.Error
	return errors.As(err, &netErr)
}

// classify turns an error that says the database is unavailable into an
// EUNAVAILABLE *spoke.Error that still wraps the driver's error (for the
// logs), and returns any other error as it is. Every error that leaves
// the connection pool, and every transaction's, passes through it, so no
// method of the store has to think of it.
func classify(err error) error {
	if err == nil || !Unavailable(err) {
		return err
	}
	var e *spoke.Error
	if errors.As(err, &e) {
		return err // classified already
	}
	return spoke.DatabaseUnavailable(err)
}

// pool is the connection pool with every error classified as it leaves:
// errors from Exec, from QueryRow's Scan, from Acquire and from Query,
// including those its rows report when a connection drops while they are
// read. (A connection acquired is the caller's: its own errors are not.)
// Transactions are classified by DB.inTx, the one way the store begins
// them.
type pool struct {
	*pgxpool.Pool
}

// Exec is pgxpool's Exec with the error classified.
func (p pool) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := p.Pool.Exec(ctx, sql, args...)
	return tag, classify(err)
}

// Query is pgxpool's Query with the errors classified, its own and its
// rows'.
func (p pool) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rs, err := p.Pool.Query(ctx, sql, args...)
	return rows{rs}, classify(err)
}

// QueryRow is pgxpool's QueryRow with Scan's error classified.
func (p pool) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return row{p.Pool.QueryRow(ctx, sql, args...)}
}

// Acquire is pgxpool's Acquire with the error classified.
func (p pool) Acquire(ctx context.Context) (*pgxpool.Conn, error) {
	c, err := p.Pool.Acquire(ctx)
	return c, classify(err)
}

type rows struct{ pgx.Rows }

func (r rows) Err() error { return classify(r.Rows.Err()) }

type row struct{ pgx.Row }

func (r row) Scan(dest ...any) error { return classify(r.Row.Scan(dest...)) }

// Ping checks that the database answers, for health checks: its error is
// EUNAVAILABLE while the database is down.
func (db *DB) Ping(ctx context.Context) error {
	return classify(db.pool.Ping(ctx))
}
