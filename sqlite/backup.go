package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// LockFile is the file in the data directory on which every process that
// has the database open (serve, token, owners, backup) holds a shared
// lock, and a restore an exclusive one: a restore cannot replace a
// database in use, and nothing opens a database being restored. The
// kernel drops the lock when the process ends, kill -9 included.
const LockFile = "spoke.lock"

// ErrInUse is returned by Restore when a process has the database open,
// and by Open while a restore runs.
var ErrInUse = errors.New("the data directory is in use")

// lockDir takes the data directory's lock, shared or exclusive, without
// waiting.
func lockDir(dir string, exclusive bool) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, LockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	if err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrInUse
		}
		return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	return f, nil
}

// Backup writes a consistent copy of the database in dir to out while
// the database may be in use: SQLite's VACUUM INTO reads one snapshot in a
// read transaction, which in WAL mode neither waits for the writer nor
// stops it. The copy is written beside out, checked, synced and renamed
// into place, so out is either a whole backup or absent. Backup refuses
// to overwrite an existing out.
func Backup(ctx context.Context, dir, out string) error {
	src := filepath.Join(dir, FileName)
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("no database to back up: %w", err)
	}
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("%s exists; back up to a new file", out)
	}
	lock, err := lockDir(dir, false)
	if err != nil {
		if errors.Is(err, ErrInUse) {
			return fmt.Errorf("%s is being restored: %w", dir, err)
		}
		return err
	}
	defer lock.Close()
	tmp := out + ".partial"
	os.Remove(tmp)
	db, err := sql.Open("sqlite", "file:"+src+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("open %s: %w", src, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("back up %s: %w", src, err)
	}
	if err := checkDatabase(ctx, tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := syncFile(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("move the backup into place: %w", err)
	}
	return syncDir(filepath.Dir(out))
}

// checkDatabase opens path read-only and checks that it is a whole Spoke
// database: SQLite's quick_check passes and its migrations table is
// there.
func checkDatabase(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRowContext(ctx, `PRAGMA quick_check`).Scan(&check); err != nil {
		return fmt.Errorf("%s is not a SQLite database: %w", path, err)
	}
	if check != "ok" {
		return fmt.Errorf("%s is damaged: %s", path, check)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n == 0 {
		return fmt.Errorf("%s is not a Spoke database (no migrations recorded)", path)
	}
	return nil
}

// Restore puts the backup at backup in place of the database in dir,
// which must not be in use: it takes the directory's lock exclusively and
// returns ErrInUse when a server or another command holds it. A database
// already in dir is not deleted: it and its -wal and -shm files are
// renamed with the suffix it returns (its WAL must not be applied to the
// restored database, so it cannot stay). The secret key is not part of a
// backup: the restored database needs the key it was written with.
func Restore(ctx context.Context, backup, dir string) (movedAside string, err error) {
	if err := checkDatabase(ctx, backup); err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create data directory %s: %w", dir, err)
	}
	lock, err := lockDir(dir, true)
	if err != nil {
		if errors.Is(err, ErrInUse) {
			return "", fmt.Errorf("%s is open in a running Spoke (spoke serve, or another command): stop it before restoring: %w", dir, err)
		}
		return "", err
	}
	defer lock.Close()
	dst := filepath.Join(dir, FileName)
	tmp := dst + ".restoring"
	if err := copyFile(backup, tmp); err != nil {
		os.Remove(tmp)
		return "", err
	}
	if _, err := os.Stat(dst); err == nil {
		movedAside = ".before-restore-" + time.Now().UTC().Format("20060102T150405Z")
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if err := os.Rename(dst+suffix, dst+suffix+movedAside); err != nil && !errors.Is(err, os.ErrNotExist) {
				return "", fmt.Errorf("move the current database aside: %w", err)
			}
		}
	}
	// A -wal or -shm without its database (left by a crash) would be
	// applied to the restored file.
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(dst + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("remove a stale %s: %w", suffix, err)
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		return "", fmt.Errorf("move the restored database into place: %w", err)
	}
	return movedAside, syncDir(dir)
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return fmt.Errorf("open backup: %w", err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", to, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy backup: %w", err)
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return fmt.Errorf("sync %s: %w", to, err)
	}
	return out.Close()
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
