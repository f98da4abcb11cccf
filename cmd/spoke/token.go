package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spokehq/spoke/sqlite"
)

func init() { commands["token"] = tokenCommand }

// tokenCommand runs `spoke token create`: it prints a new private-app
// token with the given scopes on the default account.
func tokenCommand(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprintln(os.Stderr, "usage: spoke token create [--data DIR | --database URL] --scopes SCOPE,SCOPE [--name NAME]")
		return 2
	}
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	dir := fs.String("data", "./spoke-data", "data `DIR` holding the SQLite database")
	database := fs.String("database", "", "PostgreSQL `URL` (postgres://...); default $"+EnvDatabaseURL+", else SQLite in --data")
	scopes := fs.String("scopes", "", "comma-separated HubSpot scopes, e.g. crm.objects.contacts.read,crm.objects.contacts.write")
	name := fs.String("name", "private app", "a name to recognise the token by")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	var list []string
	for _, s := range strings.Split(*scopes, ",") {
		if s = strings.TrimSpace(s); s != "" {
			list = append(list, s)
		}
	}
	if len(list) == 0 {
		fmt.Fprintln(os.Stderr, "spoke token create: --scopes is required")
		return 2
	}
	opened, err := openStore(ctx, databaseURL(*database), *dir, slog.New(slog.NewTextHandler(os.Stderr, nil)), sqlite.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "spoke token create:", err)
		return 1
	}
	db := opened.store
	defer db.Close()
	acct, _, err := db.DefaultAccount(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "spoke token create:", err)
		return 1
	}
	secret, _, err := db.CreateToken(ctx, acct, *name, list, false)
	if err != nil {
		fmt.Fprintln(os.Stderr, "spoke token create:", err)
		return 2
	}
	fmt.Println(secret)
	return 0
}
