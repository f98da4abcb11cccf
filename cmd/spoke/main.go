// Command spoke is the Spoke server and its command-line tools.
//
// Each subcommand lives in its own file (serve.go, token.go, run.go) and is
// dispatched from main by name.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// usage is printed for an unknown or missing subcommand.
const usage = `Spoke: a self-hosted, HubSpot-compatible CRM workflow server.

Usage:
  spoke serve [--addr HOST:PORT] [--data DIR]   start the HTTP API and the engine
        [--database postgres://...] [--no-engine] on PostgreSQL; API only
  spoke worker --database postgres://...        run flows (engine and sandbox) on PostgreSQL
  spoke migrate [--data DIR | --database URL]   apply the database migrations
  spoke token create [--data DIR] --scopes a,b  print a new private-app token
  spoke owners add --email E [--team NAME]      add an owner (record owner) and print its id
  spoke owners list [--data DIR]                list the owners and their teams
  spoke backup --data DIR --out FILE            back up a running Spoke's database
  spoke restore --backup FILE --data DIR        restore a backup (Spoke must be stopped)
  spoke run FILE [flags]                        run a custom code action locally
  spoke lint [flags] FILE...                    check custom code without running it
  spoke test [flags] [PATH...]                  run custom code test cases in the sandbox
  spoke init [DIR]                              scaffold a workflow folder with code and tests
  spoke flows export|diff|apply [flags]         keep workflows as code in git
  spoke stats [--data DIR]                      print the database's size, rows and retention figures
  spoke bench [flags]                           run the built-in benchmarks

Run "spoke COMMAND -h" for a command's flags.
`

// commands maps a subcommand name to its entry point. Each returns the
// process exit code.
var commands = map[string]func(ctx context.Context, args []string) int{}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	cmd, ok := commands[os.Args[1]]
	if !ok {
		if os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
			fmt.Print(usage)
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "spoke: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if os.Getenv("GOGC") == "" {
		// Spoke's request handling allocates many short-lived objects; a
		// larger heap target trades a little memory for less GC CPU on
		// small machines.
		debug.SetGCPercent(400)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cmd(ctx, os.Args[2:])
	stop()
	os.Exit(code)
}
