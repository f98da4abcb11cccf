package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/spokehq/spoke/sqlite"
)

func init() { commands["migrate"] = migrateCommand }

// migrateCommand runs `spoke migrate`: it applies the migrations this
// binary has to the database (every command applies them at start too),
// so an operator can upgrade the schema before starting new processes.
func migrateCommand(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	dir := fs.String("data", "./spoke-data", "data `DIR` holding the SQLite database")
	database := fs.String("database", "", "PostgreSQL `URL` (postgres://...); default $"+EnvDatabaseURL)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	dbURL := databaseURL(*database)
	if dbURL == "" {
		if err := ensureDir(*dir); err != nil {
			logger.Error("migrate failed", "err", err)
			return 1
		}
	}
	db, err := openStore(ctx, dbURL, *dir, logger, sqlite.Options{})
	if err != nil {
		logger.Error("migrate failed", "err", err)
		return 1
	}
	defer db.Close()
	fmt.Printf("%s is up to date\n", db.Path())
	return 0
}
