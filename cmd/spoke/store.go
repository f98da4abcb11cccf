package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/api"
	"github.com/spokehq/spoke/engine"
	"github.com/spokehq/spoke/flow"
	"github.com/spokehq/spoke/internal/secretkey"
	"github.com/spokehq/spoke/postgres"
	"github.com/spokehq/spoke/sqlite"
)

// EnvDatabaseURL names the variable that selects a PostgreSQL database
// when --database is not given.
const EnvDatabaseURL = "SPOKE_DATABASE_URL"

// store is what the commands need of a database, whichever driver
// serves it.
type store interface {
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
	engine.ListMembership
	api.FlowWebhooks
	spoke.AlertStore
	spoke.RevertStore
	spoke.RolloutStore
	spoke.Pruner
	spoke.StorageReporter
	flow.Checker
	StoreToken(ctx context.Context, account int64, name, secret string, scopes []string, admin bool) (*spoke.Token, error)
	CountAdminTokens(ctx context.Context) (int, error)
	SetSecretKey(key []byte) error
	Path() string
	Close() error
}

// openedStore is a store with what differs between the drivers.
type openedStore struct {
	store
	// sqlite is the SQLite store, nil on PostgreSQL: its secret key is
	// kept its own way.
	sqlite *sqlite.DB
	// postgres is the PostgreSQL store, nil on SQLite.
	postgres *postgres.DB
	// shared is set when several processes may use the store at once
	// (PostgreSQL): no process may release another's leases, and every
	// process must share SPOKE_SECRET_KEY.
	shared bool
	// setTrigger installs the engine's trigger and wake-up.
	setTrigger func(trigger func(spoke.RecordChange) []spoke.EnrollmentTrigger, wake func())
	// listen, for a shared store, delivers other processes' wake-ups and
	// flow changes until ctx ends; nil for SQLite.
	listen func(ctx context.Context, onWork, onFlows func())
	// ping checks that a database server answers (EUNAVAILABLE while it
	// does not), for /healthz; nil for SQLite, a file of this process.
	ping func(ctx context.Context) error
}

// databaseURL returns the PostgreSQL URL the flag or SPOKE_DATABASE_URL
// gives, or "" for SQLite.
func databaseURL(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	return os.Getenv(EnvDatabaseURL)
}

// openStore opens PostgreSQL when dbURL is set, else SQLite in dir. Its
// errors are meant for the operator: a URL that is not PostgreSQL's, a
// server that cannot be reached, a schema newer than this binary.
func openStore(ctx context.Context, dbURL, dir string, logger *slog.Logger, opts sqlite.Options) (*openedStore, error) {
	if dbURL == "" {
		db, err := sqlite.OpenWith(ctx, dir, opts)
		if err != nil {
			return nil, err
		}
		db.Logger = logger
		return &openedStore{store: db, sqlite: db,
			setTrigger: func(trigger func(spoke.RecordChange) []spoke.EnrollmentTrigger, wake func()) {
				db.SetTrigger(trigger, wake)
			}}, nil
	}
	if !postgres.IsURL(dbURL) {
		return nil, errors.New("--database (or " + EnvDatabaseURL + ") must be a PostgreSQL URL such as postgres://user:password@host:5432/spoke; leave it empty for SQLite in --data")
	}
	db, err := postgres.Open(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	db.Logger = logger
	return &openedStore{store: db, postgres: db, shared: true,
		setTrigger: func(trigger func(spoke.RecordChange) []spoke.EnrollmentTrigger, wake func()) {
			db.SetTrigger(trigger, wake)
		},
		listen: db.Listen, ping: db.Ping}, nil
}

// useSecretKey sets the key that encrypts secrets. Both stores derive it
// from the operator's key (package secretkey, docs/secrets.md) and refuse
// one that is not the key the database was set up with. SQLite takes keyFile,
// SPOKE_SECRET_KEY or DIR/secret.key; processes sharing a PostgreSQL
// database must all be given the same key, so there it must come from
// keyFile or SPOKE_SECRET_KEY.
func (s *openedStore) useSecretKey(ctx context.Context, dir, keyFile string) error {
	if s.sqlite != nil {
		key, err := secretkey.Load(dir, keyFile)
		if err != nil {
			return err
		}
		return s.sqlite.UseSecretKey(ctx, key)
	}
	key, err := secretkey.LoadShared(keyFile)
	if err != nil {
		return err
	}
	return s.postgres.UseSecretKey(ctx, key)
}

// ensureDir creates the data directory (admin token, CA, secret key).
func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data directory %s: %w", filepath.Clean(dir), err)
	}
	return nil
}
