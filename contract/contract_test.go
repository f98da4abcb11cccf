// Package contract holds the contract suite: Node tests that drive a real
// `spoke serve` with the official @hubspot/api-client (pinned in
// package-lock.json). TestContract builds and starts the server and runs
// them; see docs/contract-tests.md.
package contract

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spokehq/spoke/internal/pgtest"
)

// TestMain stops the PostgreSQL server the suite's PostgreSQL run starts.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const (
	startTimeout = 30 * time.Second
	stopTimeout  = 10 * time.Second
	nodeTimeout  = 5 * time.Minute
	// fileTimeout bounds each test file (node --test-timeout); each test
	// inside has its own 20 s limit (support/spoke.js), so a request the
	// server never answers fails, by name, the test that made it.
	fileTimeout = 2 * time.Minute
)

// sysProcAttr returns the attributes for the server process; on Linux it
// asks for SIGKILL if this test process dies, so no server is left behind.
var sysProcAttr = func() *syscall.SysProcAttr { return nil }

// prepareNode adjusts the node command before it starts (see
// contract_linux_test.go).
var prepareNode = func(cmd *exec.Cmd) {}

func TestContract(t *testing.T) {
	if testing.Short() {
		t.Skip("contract suite skipped in -short mode")
	}

	here, err := os.Getwd() // go test runs in the package directory: <repo>/contract
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(here)

	if _, err := os.Stat(filepath.Join(here, "node_modules", "@hubspot", "api-client", "package.json")); err != nil {
		t.Fatalf("contract/node_modules is missing (%v): run `npm ci --prefix contract` first (make test does this)", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not on PATH (Node 20 or later is needed for the contract suite): %v", err)
	}

	// Build the server.
	bin := filepath.Join(t.TempDir(), "spoke")
	build := exec.Command(goTool(), "build", "-o", bin, "./cmd/spoke")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/spoke: %v\n%s", err, out)
	}

	// The same suite runs against each store: SQLite in the data
	// directory, and PostgreSQL (a throwaway server of pgtest's).
	t.Run("sqlite", func(t *testing.T) { runSuite(t, root, node, bin, nil) })
	t.Run("postgres", func(t *testing.T) {
		runSuite(t, root, node, bin, []string{"SPOKE_DATABASE_URL=" + pgtest.Database(t), "SPOKE_SECRET_KEY=contract-" + randHex(t, 16)})
	})
}

// runSuite starts `spoke serve` with env added to its environment (and
// to `spoke token create`'s), runs the Node suite against it, and stops it.
func runSuite(t *testing.T, root, node, bin string, storeEnv []string) {
	// Start the server.
	tmp := t.TempDir()
	addr := freeAddr(t)
	data := t.TempDir()
	token := "contract-" + randHex(t, 16)
	logPath := filepath.Join(tmp, "spoke.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()

	srv := exec.Command(bin, "serve", "--addr", addr, "--data", data)
	srv.Dir = tmp
	srv.Env = append(os.Environ(), "SPOKE_ADMIN_TOKEN="+token, "SPOKE_LINT_NODE_MODULES="+filepath.Join(root, "lint", "node_modules"))
	srv.Env = append(srv.Env, storeEnv...)
	srv.Stdout = logFile
	srv.Stderr = logFile
	srv.SysProcAttr = sysProcAttr()
	if err := srv.Start(); err != nil {
		t.Fatalf("start spoke serve: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait() }()

	stopped := false
	defer func() {
		if !stopped {
			_ = srv.Process.Kill()
			<-exited
		}
		if t.Failed() {
			dumpLog(t, logPath)
		}
	}()

	if err := waitReady(addr, exited); err != nil {
		t.Fatalf("spoke serve --addr %s did not come up: %v", addr, err)
	}
	if storeEnv != nil {
		// The server says which database it serves: make sure the run is
		// on PostgreSQL, not SQLite in the data directory.
		deadline := time.Now().Add(startTimeout)
		for b, _ := os.ReadFile(logPath); !strings.Contains(string(b), `data="postgres://`); b, _ = os.ReadFile(logPath) {
			if time.Now().After(deadline) {
				t.Fatalf("spoke serve does not say it serves PostgreSQL")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	t.Logf("spoke serve is listening on %s (data %s)", addr, data)

	env := append(os.Environ(),
		"SPOKE_URL=http://"+addr,
		"SPOKE_TOKEN="+token,
		"NODE_NO_WARNINGS=1",
	)
	if ro := readOnlyToken(t, bin, data, storeEnv); ro != "" {
		env = append(env, "SPOKE_READONLY_TOKEN="+ro)
	}

	// Run the Node suite.
	ctx, cancel := context.WithTimeout(context.Background(), nodeTimeout)
	defer cancel()
	suite := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec",
		fmt.Sprintf("--test-timeout=%d", fileTimeout.Milliseconds()), "contract/")
	suite.Dir = root
	suite.Env = env
	suite.WaitDelay = 5 * time.Second
	prepareNode(suite)
	pr, pw := io.Pipe()
	suite.Stdout = pw
	suite.Stderr = pw
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
		for sc.Scan() {
			t.Log(sc.Text())
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	runErr := suite.Run()
	pw.Close()
	wg.Wait()
	if ctx.Err() != nil {
		t.Errorf("node --test contract/ timed out after %s", nodeTimeout)
	} else if runErr != nil {
		t.Errorf("node --test contract/ failed: %v (see the failing tests above)", runErr)
	}

	// Stop the server: SIGTERM, then it must exit cleanly within stopTimeout.
	if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Errorf("spoke serve exited with %v after SIGTERM, want a clean exit (status 0)", err)
		}
	case <-time.After(stopTimeout):
		t.Errorf("spoke serve did not exit within %s of SIGTERM; sending SIGQUIT for a goroutine dump (in the log below)", stopTimeout)
		_ = srv.Process.Signal(syscall.SIGQUIT)
		select {
		case <-exited:
			stopped = true
		case <-time.After(5 * time.Second):
		}
	}
}

// goTool returns the go command: the one `go test` put first on PATH
// (its GOROOT's bin), or the one in $GOROOT.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(os.Getenv("GOROOT"), "bin", "go")
}

// freeAddr returns a 127.0.0.1 address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func randHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// waitReady waits until addr accepts TCP connections, the server exits, or
// startTimeout passes.
func waitReady(addr string, exited <-chan error) error {
	deadline := time.Now().Add(startTimeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case werr := <-exited:
			return fmt.Errorf("the server exited before listening: %v", werr)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer within %s: %w", startTimeout, err)
		}
	}
}

// readOnlyToken makes a token with only crm.objects.contacts.read through
// `spoke token create`, for the 403 MISSING_SCOPES test. It returns "" (and
// that test is skipped) if the command is not available or fails.
func readOnlyToken(t *testing.T, bin, data string, storeEnv []string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "token", "create", "--data", data, "--scopes", "crm.objects.contacts.read")
	cmd.Env = append(os.Environ(), storeEnv...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) || ctx.Err() != nil {
			t.Logf("spoke token create failed (%v: %s); the scopes test will be skipped", err, strings.TrimSpace(stderr.String()))
		}
		return ""
	}
	fields := strings.Fields(string(out))
	if len(fields) == 0 {
		t.Logf("spoke token create printed nothing; the scopes test will be skipped")
		return ""
	}
	return fields[len(fields)-1]
}

// dumpLog writes the tail of the server log to the test log.
func dumpLog(t *testing.T, path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 400 {
		lines = lines[len(lines)-400:]
	}
	t.Logf("---- last %d lines of the spoke serve log ----", len(lines))
	for _, l := range lines {
		t.Log("spoke: " + l)
	}
}
