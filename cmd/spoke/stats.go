package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/postgres"
	"github.com/spokehq/spoke/sqlite"
)

func init() { commands["stats"] = statsCommand }

// statsCommand runs `spoke stats`: the storage figures /metrics exports,
// read from the database directly, so it works beside a running server
// (read-only on SQLite) or on a stopped one.
func statsCommand(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("stats", flag.ContinueOnError)
	dir := fs.String("data", "./spoke-data", "data `DIR` holding the SQLite database")
	database := fs.String("database", "", "PostgreSQL `URL` (postgres://...) to read instead of SQLite; default $"+EnvDatabaseURL)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var db interface {
		spoke.StorageReporter
		Path() string
		Close() error
	}
	var err error
	if u := databaseURL(*database); u != "" {
		if !postgres.IsURL(u) {
			fmt.Fprintln(os.Stderr, "spoke stats: --database (or "+EnvDatabaseURL+") must be a PostgreSQL URL such as postgres://user:password@host:5432/spoke")
			return 1
		}
		db, err = postgres.Open(ctx, u)
	} else {
		db, err = sqlite.OpenReadOnly(ctx, *dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "spoke stats:", err)
		return 1
	}
	defer db.Close()
	st, err := db.StorageStats(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "spoke stats:", err)
		return 1
	}
	printStats(os.Stdout, db.Path(), st, time.Now())
	return 0
}

func printStats(w io.Writer, path string, st *spoke.StorageStats, now time.Time) {
	fmt.Fprintf(w, "database  %s\n", path)
	fmt.Fprintf(w, "file      %s (write-ahead log %s, free pages %s)\n", humanBytes(st.FileBytes), humanBytes(st.WALBytes), humanBytes(st.FreeBytes))
	if st.OldestExecution.IsZero() {
		fmt.Fprintf(w, "oldest execution  none\n")
	} else {
		fmt.Fprintf(w, "oldest execution  %s (%s ago)\n", st.OldestExecution.Format(time.RFC3339), now.Sub(st.OldestExecution).Round(time.Second))
	}
	fmt.Fprintf(w, "\n%-24s %12s %12s %12s %12s\n", "table", "rows", "bytes", "indexes", "pruned")
	for _, t := range st.Tables {
		fmt.Fprintf(w, "%-24s %12d %12s %12s %12d\n", t.Name, t.Rows, humanBytes(t.Bytes), humanBytes(t.IndexBytes), st.Pruned[t.Name])
	}
	var other []string
	for name := range st.Pruned {
		found := false
		for _, t := range st.Tables {
			found = found || t.Name == name
		}
		if !found {
			other = append(other, name)
		}
	}
	sort.Strings(other)
	for _, name := range other {
		fmt.Fprintf(w, "%-24s %12s %12s %12s %12d\n", name, "", "", "", st.Pruned[name])
	}
}

// humanBytes writes n in B, KiB, MiB or GiB.
func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
