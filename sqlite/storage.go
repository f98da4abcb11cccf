package sqlite

import (
	"context"
	"fmt"
	"os"
)

// TableSpace is the space one table takes in the database file: its own
// pages and its indexes' pages, in bytes, as SQLite's dbstat counts them.
type TableSpace struct {
	Table      string
	Bytes      int64 // the table's own b-tree (rows)
	IndexBytes int64 // every index on the table
	// Indexes holds each index's bytes by name.
	Indexes map[string]int64
}

// SpaceUsed returns the pages of every table and index in bytes, by
// table. It reads every page of the database (the dbstat virtual table),
// so it costs a scan of the file: callers cache it.
func (db *DB) SpaceUsed(ctx context.Context) (map[string]*TableSpace, error) {
	owner := map[string]string{} // index name -> table name
	rows, err := db.read.QueryContext(ctx, `SELECT name, tbl_name, type FROM sqlite_schema WHERE type IN ('table', 'index')`)
	if err != nil {
		return nil, fmt.Errorf("read schema: %w", err)
	}
	out := map[string]*TableSpace{}
	for rows.Next() {
		var name, table, typ string
		if err := rows.Scan(&name, &table, &typ); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read schema: %w", err)
		}
		owner[name] = table
		if out[table] == nil {
			out[table] = &TableSpace{Table: table, Indexes: map[string]int64{}}
		}
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("read schema: %w", err)
	}
	rows, err = db.read.QueryContext(ctx, `SELECT name, sum(pgsize) FROM dbstat GROUP BY name`)
	if err != nil {
		return nil, fmt.Errorf("read page sizes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			return nil, fmt.Errorf("read page sizes: %w", err)
		}
		table, ok := owner[name]
		if !ok {
			table = name // sqlite_schema itself
		}
		ts := out[table]
		if ts == nil {
			ts = &TableSpace{Table: table, Indexes: map[string]int64{}}
			out[table] = ts
		}
		if name == table {
			ts.Bytes += n
		} else {
			ts.IndexBytes += n
			ts.Indexes[name] = n
		}
	}
	return out, rows.Err()
}

// FileSize returns the bytes of the database file and of its write-ahead
// log.
func (db *DB) FileSize() (file, wal int64, err error) {
	st, err := os.Stat(db.path)
	if err != nil {
		return 0, 0, fmt.Errorf("stat database: %w", err)
	}
	file = st.Size()
	if st, err := os.Stat(db.path + "-wal"); err == nil {
		wal = st.Size()
	}
	return file, wal, nil
}
