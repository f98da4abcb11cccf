package sqlite

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/spokehq/spoke"
)

// TestBackupRestore backs up an open store, refuses to restore over it
// while it is open, restores into a fresh directory and finds the data;
// a restore over a closed store keeps the old files aside.
func TestBackupRestore(t *testing.T) {
	ctx := context.Background()
	db, acct := setup(t)
	rec := create(t, db, acct, "contacts", props("firstname", "Ada"))
	dir := filepath.Dir(db.Path())
	out := filepath.Join(t.TempDir(), "b.db")
	if err := Backup(ctx, dir, out); err != nil {
		t.Fatalf("Backup: %v", err)
	}
	if err := Backup(ctx, dir, out); err == nil {
		t.Error("Backup overwrote an existing file")
	}
	if _, err := Restore(ctx, out, dir); !errors.Is(err, ErrInUse) {
		t.Fatalf("Restore over an open store = %v, want ErrInUse", err)
	}
	fresh := t.TempDir()
	if aside, err := Restore(ctx, out, fresh); err != nil || aside != "" {
		t.Fatalf("Restore = %q, %v", aside, err)
	}
	r, err := Open(ctx, fresh)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.GetRecords(ctx, acct, "contacts", []string{strconv.FormatInt(rec.ID, 10)}, spoke.ReadOptions{})
	if err != nil || got[strconv.FormatInt(rec.ID, 10)] == nil || got[strconv.FormatInt(rec.ID, 10)].Properties["firstname"] != "Ada" {
		t.Fatalf("restored record = %v, %v", got, err)
	}
	r.Close()
	aside, err := Restore(ctx, out, fresh)
	if err != nil || aside == "" {
		t.Fatalf("Restore over a closed store = %q, %v", aside, err)
	}
	if _, err := os.Stat(filepath.Join(fresh, FileName+aside)); err != nil {
		t.Errorf("the replaced database was not kept: %v", err)
	}
	if _, err := Restore(ctx, filepath.Join(fresh, LockFile), t.TempDir()); err == nil {
		t.Error("Restore accepted a file that is no database")
	}
}

// TestNoAutocheckpoint checks that the option reaches the writer.
func TestNoAutocheckpoint(t *testing.T) {
	ctx := context.Background()
	for _, off := range []bool{false, true} {
		db, err := OpenWith(ctx, t.TempDir(), Options{NoAutocheckpoint: off})
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.write.QueryRowContext(ctx, `PRAGMA wal_autocheckpoint`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		db.Close()
		if (n == 0) != off {
			t.Errorf("NoAutocheckpoint %v: wal_autocheckpoint = %d", off, n)
		}
	}
}
