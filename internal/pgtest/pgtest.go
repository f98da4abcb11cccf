// Package pgtest gives tests a PostgreSQL database of their own.
//
// A test package calls Main from its TestMain; the first test that asks for a
// database starts a throwaway server (Debian's postgresql binaries: initdb and
// pg_ctl into a temporary directory, listening only on a Unix socket there),
// and Main stops it and removes the directory when the tests are done. Each
// call to Database creates a fresh database on that server and drops it when
// the test ends, so tests can run in parallel without seeing each other's
// rows. SPOKE_TEST_DATABASE_URL points the tests at an existing server
// instead; databases are still created and dropped on it per test.
//
// Missing binaries fail the test with a message saying how to install them:
// nothing is skipped silently.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the variable that points the tests at an existing server.
const EnvURL = "SPOKE_TEST_DATABASE_URL"

// binDirs are where Debian's postgresql package puts the server binaries,
// newest first; PATH is tried before them.
var binDirs = []string{"/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin"}

var (
	mu      sync.Mutex
	server  *Server
	started error
	dbSeq   atomic.Int64
)

// Main runs a test package's tests and stops the server they started, if
// any. Call it from TestMain: os.Exit(pgtest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	mu.Lock()
	defer mu.Unlock()
	if server != nil {
		if err := server.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
		server = nil
	}
	return code
}

// Database creates an empty database for t and returns its URL; it is
// dropped when t ends.
func Database(t testing.TB) string {
	t.Helper()
	admin := adminURL(t)
	name := fmt.Sprintf("spoke_test_%d_%d", os.Getpid(), dbSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("pgtest: connect to %s: %v", admin, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return withDatabase(admin, name)
}

// adminURL returns the URL of the server's postgres database, starting the
// throwaway server on first use unless SPOKE_TEST_DATABASE_URL is set.
func adminURL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv(EnvURL); u != "" {
		return u
	}
	mu.Lock()
	defer mu.Unlock()
	if server == nil && started == nil {
		server, started = Start(os.TempDir())
	}
	if started != nil {
		t.Fatalf("pgtest: %v", started)
	}
	return server.URL("postgres")
}

// withDatabase returns u with its database replaced by name.
func withDatabase(u, name string) string {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "postgres" && p.Scheme != "postgresql") {
		// A keyword/value connection string.
		return u + " dbname=" + name
	}
	p.Path = "/" + name
	return p.String()
}

// Server is a PostgreSQL server started by Start.
type Server struct {
	// Dir holds the cluster (Dir/data) and the socket.
	Dir  string
	bin  string
	user *user.User
	// settings are extra `name=value` server settings, applied after the
	// defaults (so they override them).
	settings []string
}

// Start creates a cluster in a new directory under parent and starts a
// server on a Unix socket in that directory, with no TCP listener. As root
// it runs the server as the postgres user, which PostgreSQL requires.
func Start(parent string) (*Server, error) { return StartWith(parent) }

// StartWith is Start with extra server settings (`name=value`, as for
// postgres -c, without spaces), which override the defaults: benchmarks
// ask for durable writes and more memory than tests need.
func StartWith(parent string, settings ...string) (*Server, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(parent, "spoke-pg-")
	if err != nil {
		return nil, fmt.Errorf("create the server directory: %w", err)
	}
	s := &Server{Dir: dir, bin: bin, settings: settings}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("root cannot run PostgreSQL and there is no postgres user (install Debian's postgresql package: make setup): %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("hand the server directory to postgres: %w", err)
		}
		s.user = u
	}
	if out, err := s.run("initdb", "-D", s.dataDir(), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	if err := s.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// Start starts the server of an existing cluster (after Halt).
func (s *Server) Start() error {
	// Small settings: the tests share two cores with other work, and fsync
	// buys nothing for a throwaway cluster.
	opts := "-k " + s.Dir + " -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=32MB -c max_connections=200"
	for _, set := range s.settings {
		opts += " -c " + set
	}
	if out, err := s.run("pg_ctl", "-D", s.dataDir(), "-l", filepath.Join(s.Dir, "log"), "-w", "-t", "60", "-o", opts, "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.Dir, "log"))
		return fmt.Errorf("pg_ctl start: %v: %s\n%s", err, out, log)
	}
	return nil
}

// Stop stops the server and removes its directory.
func (s *Server) Stop() error {
	out, err := s.run("pg_ctl", "-D", s.dataDir(), "-m", "immediate", "-w", "stop")
	if rmErr := os.RemoveAll(s.Dir); err == nil && rmErr != nil {
		return fmt.Errorf("remove %s: %w", s.Dir, rmErr)
	}
	if err != nil {
		return fmt.Errorf("pg_ctl stop: %v: %s", err, out)
	}
	return nil
}

// Halt stops the server (fast mode: sessions are cut off) and keeps its
// cluster, so Start brings it back with its data, for tests of what
// clients do while it is down.
func (s *Server) Halt() error {
	if out, err := s.run("pg_ctl", "-D", s.dataDir(), "-m", "fast", "-w", "stop"); err != nil {
		return fmt.Errorf("pg_ctl stop: %v: %s", err, out)
	}
	return nil
}

// Restart halts the server, waits down and starts it again.
func (s *Server) Restart(down time.Duration) error {
	if err := s.Halt(); err != nil {
		return err
	}
	time.Sleep(down)
	return s.Start()
}

// URL returns the URL of database name on the server.
func (s *Server) URL(name string) string {
	return "postgres://postgres@/" + name + "?host=" + url.QueryEscape(s.Dir) + "&sslmode=disable"
}

func (s *Server) dataDir() string { return filepath.Join(s.Dir, "data") }

// run runs one of the server's binaries, as the postgres user when needed.
func (s *Server) run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	if s.user != nil {
		uid, _ := strconv.ParseUint(s.user.Uid, 10, 32)
		gid, _ := strconv.ParseUint(s.user.Gid, 10, 32)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		cmd.Env = append(os.Environ(), "HOME="+s.user.HomeDir, "USER=postgres", "LOGNAME=postgres")
	}
	cmd.Dir = s.Dir
	return cmd.CombinedOutput()
}

// findBin returns the directory holding initdb, pg_ctl and postgres.
func findBin() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			return dir, nil
		}
	}
	for _, d := range binDirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found: install Debian's postgresql package with `make setup` (apt-get install postgresql), or set " + EnvURL + " to an existing server's URL")
}

// Available reports whether a server can be had (binaries found or a URL
// given), for commands that offer PostgreSQL only when it is.
func Available() bool {
	if os.Getenv(EnvURL) != "" {
		return true
	}
	_, err := findBin()
	return err == nil
}
