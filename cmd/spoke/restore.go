package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spokehq/spoke/sqlite"
)

func init() { commands["restore"] = restoreCommand }

// restoreCommand runs `spoke restore`: it puts a backup in place of the
// database in DIR, which no Spoke may have open.
func restoreCommand(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	backup := fs.String("backup", "", "backup `FILE` written by spoke backup")
	dir := fs.String("data", "./spoke-data", "data `DIR` to restore into")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *backup == "" {
		fmt.Fprintln(os.Stderr, "usage: spoke restore --backup FILE --data DIR")
		return 2
	}
	aside, err := sqlite.Restore(ctx, *backup, *dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "spoke restore:", err)
		return 1
	}
	fmt.Printf("Restored %s into %s.\n", *backup, *dir)
	if aside != "" {
		fmt.Printf("The database that was there is kept as %s.\n", filepath.Join(*dir, sqlite.FileName+aside))
	}
	fmt.Println("Start spoke serve with the secret key the backup was written with.")
	return 0
}
