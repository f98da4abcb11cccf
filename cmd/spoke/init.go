package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spokehq/spoke/flowfile"
)

func init() { commands["init"] = initCommand }

const initUsage = `Usage: spoke init [DIR]

Scaffolds a workflow folder in DIR (default: the current directory):
flow.yaml (the flow's trigger and actions, with the custom code action
pointing at its file), actions/score.js with a commented example,
actions/score.test.yaml with two cases, properties.yaml and a README.
"spoke test DIR" passes on it straight away. Existing files are never
overwritten.
`

func initCommand(ctx context.Context, args []string) int {
	return initMain(ctx, args, os.Stdout, os.Stderr)
}

func initMain(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, initUsage) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 1 {
		fs.Usage()
		return 2
	}
	dir := "."
	if fs.NArg() == 1 {
		dir = fs.Arg(0)
	}
	files, err := flowfile.Scaffold(dir)
	if err != nil {
		fmt.Fprintf(stderr, "spoke init: %v\n", err)
		return 1
	}
	for _, f := range files {
		fmt.Fprintf(stdout, "created %s\n", filepath.Join(dir, f))
	}
	fmt.Fprintf(stdout, "\nNext: spoke test %s, then spoke flows apply %s --url URL --token TOKEN\n", dir, dir)
	return 0
}
