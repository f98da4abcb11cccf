package postgres

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestOpenErrors checks that what an operator gets wrong is said in words:
// a URL that does not parse, a server that does not answer, a database a
// newer Spoke migrated.
func TestOpenErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if _, err := Open(ctx, "postgres://spoke@localhost:notaport/spoke"); err == nil || !strings.Contains(err.Error(), "is not a valid PostgreSQL URL") {
		t.Errorf("bad URL: %v", err)
	}
	if _, err := Open(ctx, "postgres://spoke:hunter2@127.0.0.1:1/spoke?connect_timeout=2"); err == nil ||
		!strings.Contains(err.Error(), "cannot reach PostgreSQL at") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("unreachable server: %v", err)
	}

	url := databaseForTest(t)
	db, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	// Opening again applies nothing and keeps the data.
	if _, _, err := db.DefaultAccount(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.pool.Exec(ctx, `INSERT INTO spoke_migrations (version) VALUES ($1)`, SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = Open(ctx, url)
	if !errors.Is(err, ErrSchemaTooNew) || !strings.Contains(err.Error(), "run a newer Spoke") {
		t.Errorf("newer schema: %v", err)
	}
}
