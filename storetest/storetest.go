// Package storetest is the conformance suite of Spoke's stores: one set of
// tests that every driver (sqlite, postgres) must pass unchanged, the way
// River runs one suite over its drivers.
//
// A driver's test calls Run with an Opener that opens a fresh, empty store
// on the clock it is given. The tests reach the store through the spoke
// service interfaces, plus a few driver-independent extras (Store), and
// through SQL for what no interface shows (that a secret is stored only as
// a hash, that an erasure leaves no row behind): both drivers keep the same
// table and column names, and the Backend's QueryRow and Exec take queries with
// ? placeholders.
package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/flow"
)

// Store is what the suite needs of a driver.
type Store interface {
	spoke.RecordService
	spoke.PropertyService
	spoke.AssociationService
	spoke.SchemaService
	spoke.TokenService
	spoke.FlowService
	spoke.EngineStore
	spoke.SecretService
	spoke.OwnerService
	spoke.PipelineService
	spoke.RunStore
	spoke.ListService
	spoke.AlertStore
	spoke.RevertStore
	spoke.RolloutStore
	spoke.Pruner
	spoke.StorageReporter
	flow.Checker

	// StoreToken stores a token whose secret the caller chose (an
	// environment variable's), once: storing it again returns the same.
	StoreToken(ctx context.Context, account int64, name, secret string, scopes []string, admin bool) (*spoke.Token, error)
	// CountAdminTokens counts the admin tokens of every account.
	CountAdminTokens(ctx context.Context) (int, error)
	// History returns every property write of a record, oldest first.
	History(ctx context.Context, recordID int64) ([]spoke.HistoryEntry, error)
	// GetEnrollment returns one enrollment by id, or ENOTFOUND.
	GetEnrollment(ctx context.Context, id int64) (*spoke.Enrollment, error)
	// SetSecretKey sets the key secrets are encrypted with.
	SetSecretKey(key []byte) error
	// EnrollmentEvent returns the event that enrolled a record, or nil.
	EnrollmentEvent(ctx context.Context, enrollmentID int64) (json.RawMessage, error)
	// FlowWebhookToken, FlowWebhookAccount and WebhookReceived serve
	// flows' inbound webhooks.
	FlowWebhookToken(ctx context.Context, account int64, flowID string, rotate bool) (string, error)
	FlowWebhookAccount(ctx context.Context, flowID, token string) (int64, error)
	WebhookReceived(ctx context.Context, account int64, flowID string, recordID int64, body json.RawMessage) (bool, error)
	// InList reports whether a record is a member of a list (the engine's
	// IN_LIST filters).
	InList(ctx context.Context, account int64, listID string, rec *spoke.Record, env flow.Env, depth int) (bool, error)
}

// Backend is a store opened for one test, with raw access to its tables.
type Backend struct {
	Store Store
	// QueryRow runs a query (? placeholders) and scans its one row into
	// dest.
	QueryRow func(ctx context.Context, query string, args []any, dest ...any) error
	// Exec runs a statement (? placeholders).
	Exec func(ctx context.Context, query string, args ...any) error
	// SetTrigger installs the function that evaluates enrollment triggers
	// on every record write and event (the engine's, in production).
	SetTrigger func(trigger func(spoke.RecordChange) []spoke.EnrollmentTrigger)
}

// Gaps maps the names of tests a driver does not pass yet to the reason
// (the feature it lacks). Run skips them with that reason, so a gap is
// written down in the driver's test and shows in every verbose run,
// never skipped silently.
type Gaps map[string]string

// Opener opens a fresh, empty store for t whose clock is now, closed when
// t ends.
type Opener func(t *testing.T, now func() time.Time) Backend

// DB is the store under test as the tests see it: the driver's Store with
// the test's clock and raw table access.
type DB struct {
	Store
	clock atomic.Pointer[func() time.Time]
	back  Backend
}

// Now reads the store's clock. It starts at a fixed instant and advances
// one second on every call, so timestamps are distinct and predictable,
// until a test sets another with SetNow.
func (db *DB) Now() time.Time { return (*db.clock.Load())() }

// SetNow replaces the store's clock.
func (db *DB) SetNow(now func() time.Time) { db.clock.Store(&now) }

// test is one conformance test.
type test struct {
	name string
	run  func(t *testing.T, open Opener)
}

var tests []test

// register adds tests to the suite; each file of the suite registers its
// own in an init function.
func register(ts ...test) { tests = append(tests, ts...) }

// Run runs the whole suite against the stores open opens, each test in
// parallel on a store of its own, except the driver's known gaps.
func Run(t *testing.T, open Opener, gaps Gaps) {
	known := map[string]bool{}
	for _, tc := range tests {
		known[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			if why, ok := gaps[tc.name]; ok {
				t.Skip("not supported by this driver yet: " + why)
			}
			t.Parallel()
			tc.run(t, open)
		})
	}
	for name := range gaps {
		if !known[name] {
			t.Errorf("gap %q names no test of the suite", name)
		}
	}
}

// setup opens a fresh store and returns it with its default account.
func setup(t *testing.T, open Opener) (*DB, int64) {
	t.Helper()
	var tick atomic.Int64
	base := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	now := func() time.Time { return base.Add(time.Duration(tick.Add(1)) * time.Second) }
	db := &DB{}
	db.SetNow(now)
	b := open(t, db.Now)
	db.Store, db.back = b.Store, b
	acct, created, err := db.DefaultAccount(context.Background())
	if err != nil || !created {
		t.Fatalf("DefaultAccount = %d, %v, %v", acct, created, err)
	}
	return db, acct
}

// count runs a counting query on the store's tables.
func (db *DB) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.back.QueryRow(context.Background(), q, args, &n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

var apiSrc = spoke.WriteSource{Type: spoke.SourceAPI, ID: "7"}

// mustWrite writes inputs and fails the test on a call error or any
// per-input error.
func mustWrite(t *testing.T, db *DB, acct int64, objectType string, mode spoke.WriteMode, inputs ...spoke.RecordInput) []spoke.WriteResult {
	t.Helper()
	res, err := db.WriteRecords(context.Background(), acct, objectType, mode, inputs, apiSrc)
	if err != nil {
		t.Fatalf("WriteRecords(%s): %v", objectType, err)
	}
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("WriteRecords(%s) input %d: %v", objectType, i, r.Err)
		}
	}
	return res
}

// create creates one record and returns it.
func create(t *testing.T, db *DB, acct int64, objectType string, props map[string]string) *spoke.Record {
	t.Helper()
	return mustWrite(t, db, acct, objectType, spoke.WriteCreate, spoke.RecordInput{Properties: props})[0].Record
}

func props(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// code returns the spoke error code of err ("" for nil).
func code(err error) string {
	if err == nil {
		return ""
	}
	return spoke.ErrorCode(err)
}

// asErr returns err as *spoke.Error or fails.
func asErr(t *testing.T, err error) *spoke.Error {
	t.Helper()
	var e *spoke.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *spoke.Error", err, err)
	}
	return e
}

// get reads one record by id, or nil.
func get(t *testing.T, db *DB, acct int64, objectType, id string, opts spoke.ReadOptions) *spoke.Record {
	t.Helper()
	recs, err := db.GetRecords(context.Background(), acct, objectType, []string{id}, opts)
	if err != nil {
		t.Fatalf("GetRecords: %v", err)
	}
	return recs[id]
}

// countRecords counts the records of a type, live or archived, in every
// account.
func countRecords(t *testing.T, db *DB, objectType string) int {
	t.Helper()
	return db.count(t, `SELECT count(*) FROM records WHERE object_type = ?`, objectType)
}

// exec runs a statement on the store's tables.
func (db *DB) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if err := db.back.Exec(context.Background(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// hashToken is how both drivers store a token's secret: SHA-256, hex.
func hashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func countRows(t *testing.T, db *DB, table string) int {
	t.Helper()
	return db.count(t, `SELECT count(*) FROM `+table)
}
