package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/spokehq/spoke/sqlite"
)

func init() { commands["backup"] = backupCommand }

// backupCommand runs `spoke backup`: a consistent copy of a SQLite Spoke's
// database, taken while the server runs.
func backupCommand(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	dir := fs.String("data", "./spoke-data", "data `DIR` holding the SQLite database")
	out := fs.String("out", "", "`FILE` to write the backup to (must not exist)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *out == "" {
		fmt.Fprintln(os.Stderr, "usage: spoke backup --data DIR --out FILE")
		return 2
	}
	if err := sqlite.Backup(ctx, *dir, *out); err != nil {
		fmt.Fprintln(os.Stderr, "spoke backup:", err)
		return 1
	}
	fmt.Printf("Backed up %s to %s. The secret key is not in the backup: keep it (see docs/secrets.md).\n", *dir, *out)
	return 0
}
