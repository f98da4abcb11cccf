package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spokehq/spoke/flowfile"
)

func init() { commands["flows"] = flowsCommand }

const flowsUsage = `Usage:
  spoke flows export [--out DIR] [--json] [FLOW...]   write flows (by id or name; default all) as folders
  spoke flows diff DIR                                show what apply would change
  spoke flows apply [--dry-run] [--force] DIR         create or update flows from folders

DIR is a flow folder (with flow.yaml) or a directory of them. Every command
takes --url (default $SPOKE_URL, else http://127.0.0.1:8080) and --token
(default $SPOKE_TOKEN, else the admin-token file in --data, default
./spoke-data). apply refuses to overwrite a flow changed on the server
since the last export unless --force. Exit codes: 0 done (diff: nothing to
change), 1 failed (diff: changes or conflicts), 2 bad usage.
`

func flowsCommand(ctx context.Context, args []string) int {
	return flowsMain(ctx, args, os.Stdout, os.Stderr)
}

func flowsMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, flowsUsage)
		return 2
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("flows "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, flowsUsage+"\nFlags:\n")
		fs.PrintDefaults()
	}
	url := fs.String("url", envOr("SPOKE_URL", "http://127.0.0.1:8080"), "the Spoke server's `URL`")
	token := fs.String("token", "", "an access `TOKEN` with the automation and schema scopes (default $SPOKE_TOKEN, else the admin token in --data)")
	data := fs.String("data", "./spoke-data", "data `DIR` of a local server, whose admin-token file is used when no token is given")
	var out *string
	var asJSON, dryRun, force *bool
	switch sub {
	case "export":
		out = fs.String("out", ".", "`DIR` to write the flow folders into")
		asJSON = fs.Bool("json", false, "write flow.json instead of flow.yaml in new folders")
	case "apply":
		dryRun = fs.Bool("dry-run", false, "print the plan and change nothing")
		force = fs.Bool("force", false, "overwrite flows changed on the server since the last export")
	case "diff":
	case "-h", "--help", "help":
		fmt.Fprint(stdout, flowsUsage)
		return 0
	default:
		fmt.Fprintf(stderr, "spoke flows: unknown command %q\n\n%s", sub, flowsUsage)
		return 2
	}
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	tok := *token
	if tok == "" {
		tok = os.Getenv("SPOKE_TOKEN")
	}
	if tok == "" {
		if b, err := os.ReadFile(filepath.Join(*data, AdminTokenFile)); err == nil {
			tok = strings.TrimSpace(string(b))
		}
	}
	if tok == "" {
		fmt.Fprintln(stderr, "spoke flows: no token: pass --token, set SPOKE_TOKEN, or run next to a server's data directory (--data)")
		return 2
	}
	client := &flowfile.Client{URL: *url, Token: tok}
	switch sub {
	case "export":
		dirs, err := flowfile.Export(ctx, client, flowfile.ExportOptions{Out: *out, Flows: rest, JSON: *asJSON})
		for _, d := range dirs {
			fmt.Fprintf(stdout, "exported %s\n", d)
		}
		if err != nil {
			fmt.Fprintf(stderr, "spoke flows export: %v\n", err)
			return 1
		}
		if len(dirs) == 0 {
			fmt.Fprintf(stdout, "no flows on %s\n", client.Target())
		}
		return 0
	}
	if len(rest) != 1 {
		fmt.Fprintf(stderr, "spoke flows %s: want one DIR\n", sub)
		return 2
	}
	dirs, err := flowfile.Folders(rest[0])
	if err != nil {
		fmt.Fprintf(stderr, "spoke flows %s: %v\n", sub, err)
		return 2
	}
	plan, err := flowfile.MakePlan(ctx, client, dirs)
	if err != nil {
		fmt.Fprintf(stderr, "spoke flows %s: %v\n", sub, err)
		return 1
	}
	plan.Write(stdout)
	if sub == "diff" || *dryRun {
		if plan.Blocked() || plan.Changes() > 0 && sub == "diff" {
			return 1
		}
		return 0
	}
	n, err := flowfile.Apply(ctx, client, plan, *force)
	if err != nil {
		fmt.Fprintf(stderr, "spoke flows apply: %v\n", err)
		return 1
	}
	for _, f := range plan.Flows {
		for _, w := range f.Warnings {
			fmt.Fprintf(stdout, "flow %q: %s\n", f.Name, w)
		}
	}
	if n == 0 {
		fmt.Fprintln(stdout, "Nothing to change.")
	} else {
		fmt.Fprintf(stdout, "Applied %d change(s).\n", n)
	}
	return 0
}

// parseInterspersed parses flags before and after the positional
// arguments and returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return rest, nil
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
