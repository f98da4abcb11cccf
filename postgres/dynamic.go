package postgres

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/spokehq/spoke"
)

// dynCache caches the account data that property definitions, derived
// values and object types depend on: live owners, teams, live pipelines
// and live custom object schemas. It is dropped with the property
// definitions (forgetDefinitions): by this process after its own change,
// and by every other process on the property notification the change
// sends inside its transaction (changedDynamic).
type dynCache struct {
	mu        sync.Mutex
	gen       uint64 // counts forgets, so a load that raced one is not cached
	owners    map[int64][]*spoke.Owner
	teams     map[int64][]*spoke.Team
	pipelines map[propKey][]*spoke.Pipeline
	schemas   map[int64][]*spoke.ObjectSchema
}

// cached returns the cached value of key from m, or loads and caches it.
func cached[K comparable, V any](c *dynCache, m *map[K]V, key K, load func() (V, error)) (V, error) {
	c.mu.Lock()
	if v, ok := (*m)[key]; ok {
		c.mu.Unlock()
		return v, nil
	}
	gen := c.gen
	c.mu.Unlock()
	v, err := load()
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	if c.gen == gen {
		if *m == nil {
			*m = map[K]V{}
		}
		(*m)[key] = v
	}
	c.mu.Unlock()
	return v, nil
}

// forget drops everything cached.
func (c *dynCache) forget() {
	c.mu.Lock()
	c.owners, c.teams, c.pipelines, c.schemas = nil, nil, nil, nil
	c.gen++
	c.mu.Unlock()
}

// changedDynamic tells every process, inside tx, that owners, teams,
// pipelines or schemas changed: their caches and the property definitions
// whose options come from them are dropped when tx commits.
func changedDynamic(ctx context.Context, tx pgx.Tx) error {
	if err := notifyProps(ctx, tx); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	return nil
}

// liveOwners returns the account's live owners by id; the slice is shared.
func (db *DB) liveOwners(ctx context.Context, account int64) ([]*spoke.Owner, error) {
	return cached(&db.dyn, &db.dyn.owners, account, func() ([]*spoke.Owner, error) {
		owners, _, err := db.ListOwners(ctx, account, spoke.OwnerListOptions{Limit: -1})
		return owners, err
	})
}

// teams returns the account's teams by id; the slice is shared.
func (db *DB) teams(ctx context.Context, account int64) ([]*spoke.Team, error) {
	return cached(&db.dyn, &db.dyn.teams, account, func() ([]*spoke.Team, error) {
		return db.ListTeams(ctx, account)
	})
}

// livePipelines returns the live pipelines of t in display order; the
// slice is shared.
func (db *DB) livePipelines(ctx context.Context, account int64, t spoke.ObjectType) ([]*spoke.Pipeline, error) {
	return cached(&db.dyn, &db.dyn.pipelines, propKey{account, t.Name}, func() ([]*spoke.Pipeline, error) {
		all, err := loadPipelines(ctx, db.pool, account, t)
		if err != nil {
			return nil, err
		}
		live := all[:0]
		for _, p := range all {
			if !p.Archived {
				live = append(live, p)
			}
		}
		return live, nil
	})
}

// fillOptions sets the options of the HubSpot-defined properties whose
// options are the account's data (spoke.Property.OptionsFrom): owners,
// teams, pipelines and their stages, as on SQLite.
func (db *DB) fillOptions(ctx context.Context, account int64, t spoke.ObjectType, defs map[string]*spoke.Property) error {
	for name, p := range defs {
		if p.OptionsFrom == "" || !p.HubspotDefined {
			continue
		}
		var opts []spoke.Option
		switch p.OptionsFrom {
		case spoke.OptionsOwners:
			owners, err := db.liveOwners(ctx, account)
			if err != nil {
				return err
			}
			for i, o := range owners {
				opts = append(opts, spoke.Option{Label: o.Name(), Value: strconv.FormatInt(o.ID, 10), DisplayOrder: i})
			}
		case spoke.OptionsTeams:
			teams, err := db.teams(ctx, account)
			if err != nil {
				return err
			}
			for i, tm := range teams {
				opts = append(opts, spoke.Option{Label: tm.Name, Value: strconv.FormatInt(tm.ID, 10), DisplayOrder: i})
			}
		case spoke.OptionsPipelines, spoke.OptionsPipelineStages:
			pipes, err := db.livePipelines(ctx, account, t)
			if err != nil {
				return err
			}
			for _, pl := range pipes {
				if p.OptionsFrom == spoke.OptionsPipelines {
					opts = append(opts, spoke.Option{Label: pl.Label, Value: pl.ID, DisplayOrder: len(opts)})
					continue
				}
				for _, s := range pl.Stages {
					opts = append(opts, spoke.Option{Label: s.Label, Value: s.ID, DisplayOrder: len(opts)})
				}
			}
		default:
			return fmt.Errorf("property %s: unknown options source %q", name, p.OptionsFrom)
		}
		cp := *p
		cp.Options = opts
		defs[name] = &cp
	}
	return nil
}

// nextID hands out the next id of a sequence (owners, users, teams,
// pipelines).
func nextID(ctx context.Context, tx pgx.Tx, name string) (int64, error) {
	var id int64
	if err := tx.QueryRow(ctx, `SELECT nextval($1::regclass)`, name+"_id_seq").Scan(&id); err != nil {
		return 0, fmt.Errorf("next %s id: %w", name, err)
	}
	return id, nil
}
