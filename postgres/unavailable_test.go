package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/internal/pgtest"
)

// TestUnavailableKinds checks which driver errors say the database is
// unavailable: connection failures, a connection cut off, the server
// shutting down or starting; and which do not: SQL errors, the caller's
// own cancellation.
func TestUnavailableKinds(t *testing.T) {
	t.Parallel()
	opErr := &net.OpError{Op: "dial", Net: "unix", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Code: "08006"}, true}, // connection_failure
		{&pgconn.PgError{Code: "08001"}, true},
		{&pgconn.PgError{Code: "57P01"}, true}, // admin_shutdown
		{&pgconn.PgError{Code: "57P02"}, true},
		{&pgconn.PgError{Code: "57P03"}, true}, // cannot_connect_now
		{&pgconn.PgError{Code: "53300"}, true},
		{fmt.Errorf("claim: %w", io.ErrUnexpectedEOF), true},
		{io.EOF, true},
		{fmt.Errorf("query: %w", opErr), true},
		{pgconn.ErrConnClosed, true},
		{&pgconn.PgError{Code: "23505"}, false}, // unique_violation
		{&pgconn.PgError{Code: "57014"}, false}, // query_canceled
		{&pgconn.PgError{Code: "40001"}, false},
		{pgx.ErrNoRows, false},
		{context.Canceled, false},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), false},
		{errors.New("something else"), false},
		{nil, false},
	} {
		if got := Unavailable(c.err); got != c.want {
			t.Errorf("Unavailable(%v) = %v, want %v", c.err, got, c.want)
		}
		err := classify(c.err)
		if c.want {
			if spoke.ErrorCode(err) != spoke.EUNAVAILABLE || spoke.ErrorMessage(err) != spoke.ErrorMessage(spoke.DatabaseUnavailable(nil)) || !errors.Is(err, c.err) {
				t.Errorf("classify(%v) = %v: want EUNAVAILABLE wrapping it", c.err, err)
			}
		} else if err != c.err {
			t.Errorf("classify(%v) = %v, want it unchanged", c.err, err)
		}
	}
}

// TestDatabaseDown stops a PostgreSQL server under an open store and
// checks that reads, writes, claims and pings fail with EUNAVAILABLE and
// the message a user can act on while it is down, and that the store
// works again once the server is back, without being reopened. The test
// has a server of its own, since it stops it.
func TestDatabaseDown(t *testing.T) {
	t.Parallel()
	if os.Getenv(pgtest.EnvURL) != "" {
		t.Log("the test starts a server of its own to stop it, whatever " + pgtest.EnvURL + " says")
	}
	srv, err := pgtest.Start(os.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	ctx := context.Background()
	db, err := Open(ctx, srv.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	account, _, err := db.DefaultAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetSecretKey(make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PutSecret(ctx, account, "before", "x"); err != nil {
		t.Fatal(err)
	}

	if err := srv.Halt(); err != nil {
		t.Fatal(err)
	}
	calls := map[string]func() error{
		"ping":        func() error { return db.Ping(ctx) },
		"query row":   func() error { _, _, err := db.DefaultAccount(ctx); return err },
		"query rows":  func() error { _, err := db.ListSecrets(ctx, account); return err },
		"transaction": func() error { _, err := db.PutSecret(ctx, account, "during", "x"); return err },
		"claim": func() error {
			_, err := db.Claim(ctx, time.Now(), 10, spoke.Lease{Token: 1, Until: time.Now().Add(time.Minute)})
			return err
		},
		"queue depth": func() error { _, err := db.QueueDepth(ctx, time.Now()); return err },
		"create owner": func() error {
			e := "a@b.example"
			_, err := db.CreateOwner(ctx, account, spoke.OwnerInput{Email: &e})
			return err
		},
	}
	for name, call := range calls {
		err := call()
		if spoke.ErrorCode(err) != spoke.EUNAVAILABLE || spoke.ErrorMessage(err) != spoke.ErrorMessage(spoke.DatabaseUnavailable(nil)) {
			t.Errorf("%s while the server is down: %v (code %q), want EUNAVAILABLE", name, err, spoke.ErrorCode(err))
		}
	}

	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	for name, call := range calls {
		if err := call(); err != nil {
			t.Errorf("%s after the server is back: %v", name, err)
		}
	}
	got, err := db.ListSecrets(ctx, account)
	if err != nil || len(got) != 2 {
		t.Errorf("secrets after the restart: %v, %v; want before and during", got, err)
	}
}
