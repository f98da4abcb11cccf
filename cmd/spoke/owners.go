package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/sqlite"
)

func init() { commands["owners"] = ownersCommand }

const ownersUsage = `usage:
  spoke owners add [--data DIR] --email EMAIL [--first-name NAME] [--last-name NAME] [--team NAME]...
  spoke owners list [--data DIR] [--archived]
`

// teamFlags collects repeated --team flags; the first is the primary team.
type teamFlags []string

func (t *teamFlags) String() string     { return fmt.Sprint(*t) }
func (t *teamFlags) Set(v string) error { *t = append(*t, v); return nil }

// ownersCommand runs `spoke owners add|list` on the default account:
// HubSpot manages owners in its UI, Spoke here and through its admin API
// (/spoke/v1/owners).
func ownersCommand(ctx context.Context, args []string) int {
	if len(args) == 0 || (args[0] != "add" && args[0] != "list") {
		fmt.Fprint(os.Stderr, ownersUsage)
		return 2
	}
	fs := flag.NewFlagSet("owners "+args[0], flag.ContinueOnError)
	dir := fs.String("data", "./spoke-data", "data `DIR` holding the SQLite database")
	email := fs.String("email", "", "the owner's email (add)")
	first := fs.String("first-name", "", "the owner's first name (add)")
	last := fs.String("last-name", "", "the owner's last name (add)")
	archived := fs.Bool("archived", false, "list archived owners instead of live ones (list)")
	var teams teamFlags
	fs.Var(&teams, "team", "a team `NAME` of the owner (add; repeat for several, the first is primary)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if args[0] == "add" && *email == "" {
		fmt.Fprintln(os.Stderr, "spoke owners add: --email is required")
		return 2
	}
	db, err := sqlite.Open(ctx, *dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "spoke owners %s: %v\n", args[0], err)
		return 1
	}
	defer db.Close()
	acct, _, err := db.DefaultAccount(ctx)
	if err != nil {
		fmt.Fprintf(os.Stderr, "spoke owners %s: %v\n", args[0], err)
		return 1
	}
	if args[0] == "add" {
		in := spoke.OwnerInput{Email: email, FirstName: first, LastName: last}
		if len(teams) > 0 {
			t := []string(teams)
			in.Teams = &t
		}
		o, err := db.CreateOwner(ctx, acct, in)
		if err != nil {
			fmt.Fprintln(os.Stderr, "spoke owners add:", spoke.ErrorMessage(err))
			if spoke.ErrorCode(err) == spoke.EINTERNAL {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			return 2
		}
		fmt.Println(o.ID)
		return 0
	}
	owners, _, err := db.ListOwners(ctx, acct, spoke.OwnerListOptions{Limit: -1, Archived: *archived})
	if err != nil {
		fmt.Fprintln(os.Stderr, "spoke owners list:", err)
		return 1
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSER ID\tEMAIL\tNAME\tTEAMS")
	for _, o := range owners {
		names := ""
		for i, t := range o.Teams {
			if i > 0 {
				names += ", "
			}
			names += t.Name
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\n", o.ID, o.UserID, o.Email, o.FirstName+" "+o.LastName, names)
	}
	if err := tw.Flush(); err != nil {
		return 1
	}
	return 0
}
