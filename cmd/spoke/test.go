package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spokehq/spoke/codetest"
)

func init() { commands["test"] = testCommand }

const testUsage = `Usage: spoke test [flags] [PATH...]

Runs the test cases of custom code actions in the real sandbox, with the
real limits, against an in-process Spoke API seeded per case. PATH is a
case file (score.test.yaml, score.test.json), a code file with one beside
it, or a directory searched for case files (default: the current one).
Exits 0 when every case passed, 1 when one failed, 2 on bad usage or a
broken case file. See docs/testing.md for the case format.

Flags:
`

func testCommand(ctx context.Context, args []string) int {
	return testMain(ctx, args, os.Stdout, os.Stderr)
}

// testMain is `spoke test` with its output streams, for tests.
func testMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, testUsage)
		fs.PrintDefaults()
	}
	format := fs.String("format", "text", "output `FORMAT`: text, junit (JUnit XML) or json")
	update := fs.Bool("update", false, "record each case's outputs, CRM writes and logs as its snapshot")
	repeat := fs.Int("repeat", 1, "run each case `N` times and report cases whose result changes")
	watch := fs.Bool("watch", false, "rerun the affected cases when a case file, code file or .env changes")
	verbose := fs.Bool("v", false, "log sandbox and API events to stderr")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *format != "text" && *format != "junit" && *format != "json" {
		fmt.Fprintf(stderr, "spoke test: --format %q: want text, junit or json\n", *format)
		return 2
	}
	if *repeat < 1 {
		fmt.Fprintln(stderr, "spoke test: --repeat must be at least 1")
		return 2
	}
	if *watch && *format != "text" {
		fmt.Fprintln(stderr, "spoke test: --watch prints text; drop --format")
		return 2
	}
	paths := fs.Args()
	files, err := codetest.Find(paths)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if len(files) == 0 && !*watch {
		fmt.Fprintln(stderr, "spoke test: no case files (*.test.yaml, *.test.json) found")
		return 2
	}
	cases, errs := codetest.Load(files, nil)
	if len(errs) > 0 && !*watch {
		for _, e := range errs {
			fmt.Fprintln(stderr, e)
		}
		return 2
	}
	logLevel := slog.LevelError + 4
	if *verbose {
		logLevel = slog.LevelDebug
	}
	opts := codetest.Options{
		Repeat:   *repeat,
		Update:   *update,
		Runtimes: runtimesOf(cases),
		Logger:   slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: logLevel})),
	}
	prog := newProgress(stderr)
	opts.OnStart = prog.start
	runner, err := codetest.NewRunner(ctx, opts)
	if err != nil {
		fmt.Fprintf(stderr, "spoke test: %v\n", err)
		return 1
	}
	defer runner.Close()
	if *watch {
		return watchLoop(ctx, runner, paths, stdout, stderr, prog)
	}
	prog.total = len(cases)
	start := time.Now()
	var results []*codetest.Result
	for _, c := range cases {
		rs := runner.Run(ctx, []*codetest.Case{c})
		prog.clear()
		if *format == "text" {
			for _, r := range rs {
				codetest.WriteLine(stdout, r)
			}
		}
		results = append(results, rs...)
	}
	runner.Flush()
	elapsed := time.Since(start)
	switch *format {
	case "junit":
		err = codetest.WriteJUnit(stdout, results, elapsed)
	case "json":
		err = codetest.WriteJSON(stdout, results, elapsed)
	default:
		fmt.Fprintf(stdout, "%s (%s)\n", codetest.Summarize(results), elapsed.Round(time.Millisecond))
	}
	if err != nil {
		fmt.Fprintf(stderr, "spoke test: %v\n", err)
		return 1
	}
	if ctx.Err() != nil || len(results) < len(cases) {
		return 1
	}
	if codetest.Summarize(results).Failed > 0 {
		return 1
	}
	return 0
}

// runtimesOf lists the runtimes the cases use, so that the pool keeps a
// spare worker of those only.
func runtimesOf(cases []*codetest.Case) []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range cases {
		// Case runtimes are canonical (NODE20X or PYTHON39).
		if !seen[c.Runtime] {
			seen[c.Runtime] = true
			out = append(out, c.Runtime)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// progress shows "[3/100] file: case" on a terminal while a case runs.
type progress struct {
	w     io.Writer
	tty   bool
	total int
	done  int
	shown bool
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) start(c *codetest.Case) {
	p.done++
	if !p.tty {
		return
	}
	total := ""
	if p.total > 0 {
		total = fmt.Sprintf("/%d", p.total)
	}
	fmt.Fprintf(p.w, "\r\033[K[%d%s] %s", p.done, total, filepath.Base(c.File)+": "+c.Name)
	p.shown = true
}

func (p *progress) clear() {
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}

// watchLoop runs every case, then reruns the cases of the files that
// change until interrupted.
func watchLoop(ctx context.Context, runner *codetest.Runner, paths []string, stdout, stderr io.Writer, prog *progress) int {
	run := func(files []string) {
		runner.Forget()
		cases, errs := codetest.Load(files, nil)
		for _, e := range errs {
			fmt.Fprintln(stderr, e)
		}
		prog.total, prog.done = len(cases), 0
		start := time.Now()
		var results []*codetest.Result
		for _, c := range cases {
			rs := runner.Run(ctx, []*codetest.Case{c})
			prog.clear()
			for _, r := range rs {
				codetest.WriteLine(stdout, r)
			}
			results = append(results, rs...)
		}
		runner.Flush()
		fmt.Fprintf(stdout, "%s (%s); watching for changes, Ctrl-C to stop\n", codetest.Summarize(results), time.Since(start).Round(time.Millisecond))
	}
	files, err := codetest.Find(paths)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	run(files)
	codetest.Watch(ctx, paths, 300*time.Millisecond, func(changed []string) {
		fmt.Fprintf(stdout, "\nchanged: %d case file(s)\n", len(changed))
		run(changed)
	})
	return 0
}
