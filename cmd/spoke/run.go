package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spokehq/spoke/sandbox"
)

func init() { commands["run"] = runCommand }

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

const runUsage = `Usage: spoke run FILE [flags]

Runs a custom code action file once in the sandbox, as a workflow would, and
prints one JSON object: {"status", "outputFields", "logs", "error",
"durationMs", "memoryBytes", "runtime"}. Exits 0 on SUCCESS, 1 on ERROR and
2 on bad usage.

Flags:
`

// runCommand implements "spoke run".
func runCommand(ctx context.Context, args []string) int {
	return runMain(ctx, args, os.Stdout, os.Stderr)
}

func runMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, runUsage)
		fs.PrintDefaults()
	}
	var inputs, secrets, allow multiFlag
	runtimeName := fs.String("runtime", "", "NODE20X, NODE16X, NODE24X or PYTHON39 (default: from the file extension)")
	fs.Var(&inputs, "input", "an input field NAME=VALUE (repeatable)")
	fs.Var(&secrets, "secret", "a secret NAME=VALUE, visible as an environment variable (repeatable)")
	objectType := fs.String("object-type", "CONTACT", "the enrolled object's type")
	objectID := fs.Int64("object-id", 1, "the enrolled object's ID")
	portalID := fs.Int64("portal-id", 1, "the portal (account) ID")
	timeout := fs.Duration("timeout", sandbox.DefaultTimeout, "wall-clock limit")
	memory := fs.Int("memory", sandbox.DefaultMemoryMB, "memory limit in MB")
	fs.Var(&allow, "allow-host", "allow egress to HOST:PORT even if it is a private address (repeatable)")
	apiURL := fs.String("api-url", envOr("SPOKE_API_URL", "http://127.0.0.1:8080"), "Spoke's API URL: where HTTPS to api.hubapi.com and api.hubspot.com goes from the sandbox")
	verbose := fs.Bool("v", false, "log sandbox events to stderr")

	// Accept flags before and after FILE.
	var file string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		if file != "" {
			fmt.Fprintf(stderr, "spoke run: more than one FILE (%q and %q)\n", file, fs.Arg(0))
			return 2
		}
		file = fs.Arg(0)
		rest = fs.Args()[1:]
	}
	if file == "" {
		fs.Usage()
		return 2
	}
	code, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintf(stderr, "spoke run: %v\n", err)
		return 2
	}
	rt := *runtimeName
	if rt == "" {
		rt = sandbox.RuntimeForFile(file)
		if rt == "" {
			fmt.Fprintf(stderr, "spoke run: cannot tell the runtime of %s from its extension; pass --runtime\n", file)
			return 2
		}
	}
	if _, err := sandbox.ParseRuntime(rt); err != nil {
		fmt.Fprintf(stderr, "spoke run: %v\n", err)
		return 2
	}
	fields := map[string]any{}
	for _, kv := range inputs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			fmt.Fprintf(stderr, "spoke run: --input %q: want NAME=VALUE\n", kv)
			return 2
		}
		fields[k] = v
	}
	sec := map[string]string{}
	for _, kv := range secrets {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			fmt.Fprintf(stderr, "spoke run: --secret %q: want NAME=VALUE\n", kv)
			return 2
		}
		sec[k] = v
	}
	if *timeout <= 0 || *memory <= 0 {
		fmt.Fprintln(stderr, "spoke run: --timeout and --memory must be positive")
		return 2
	}

	level := slog.LevelError
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	pool, err := sandbox.NewPool(sandbox.Config{
		APIURL:          *apiURL,
		AllowHosts:      allow,
		SpareWorkers:    -1,
		MaxWorkers:      1,
		MaxMemoryMB:     *memory,
		DefaultMemoryMB: *memory,
		Logger:          logger,
	})
	if err != nil {
		fmt.Fprintf(stderr, "spoke run: %v\n", err)
		return 1
	}
	defer pool.Close()
	res, err := pool.Invoke(ctx, sandbox.Invocation{
		Runtime: rt,
		Code:    string(code),
		Version: "local:" + file,
		Event: sandbox.Event{
			PortalID:           *portalID,
			ActionDefinitionID: 1,
			ObjectType:         *objectType,
			ObjectID:           *objectID,
			InputFields:        fields,
			CallbackID:         "ap-local-" + strconv.FormatInt(time.Now().UnixNano(), 36),
		},
		Secrets:  sec,
		Timeout:  *timeout,
		MemoryMB: *memory,
	})
	if err != nil {
		fmt.Fprintf(stderr, "spoke run: %v\n", err)
		return 1
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(res); err != nil {
		fmt.Fprintf(stderr, "spoke run: %v\n", err)
		return 1
	}
	if res.Status != sandbox.StatusSuccess {
		return 1
	}
	return 0
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
