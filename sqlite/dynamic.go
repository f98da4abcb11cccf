package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"sync"

	"github.com/spokehq/spoke"
)

// dynCache caches the account data that property definitions and derived
// values depend on: live owners, teams and live pipelines. Owner and
// pipeline writes forget an account's entries (forgetDynamic).
type dynCache struct {
	mu        sync.Mutex
	gen       uint64 // counts forgets, so a load that raced one is not cached
	owners    map[int64][]*spoke.Owner
	teams     map[int64][]*spoke.Team
	pipelines map[propKey][]*spoke.Pipeline
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
		all, err := loadPipelines(ctx, db.read, account, t)
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

// forgetDynamic drops the cached owners, teams and pipelines of an account
// and every property definition of it (their options come from those).
func (db *DB) forgetDynamic(account int64) {
	db.dyn.mu.Lock()
	delete(db.dyn.owners, account)
	delete(db.dyn.teams, account)
	for k := range db.dyn.pipelines {
		if k.account == account {
			delete(db.dyn.pipelines, k)
		}
	}
	db.dyn.gen++
	db.dyn.mu.Unlock()
	db.mu.Lock()
	for k := range db.props {
		if k.account == account {
			delete(db.props, k)
		}
	}
	db.propGen++
	db.mu.Unlock()
}

// fillOptions sets the options of the HubSpot-defined properties whose
// options are the account's data (spoke.Property.OptionsFrom): owners,
// teams, pipelines and their stages. It is the one hook of definitions
// for them, so validation, the properties API and flows all see the
// account's current values.
func (db *DB) fillOptions(ctx context.Context, account int64, t spoke.ObjectType, defs map[string]*propertyDef) error {
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

// nextID hands out the next id of a sequence of id_sequences.
func nextID(ctx context.Context, tx *sql.Tx, name string) (int64, error) {
	var id int64
	if err := tx.QueryRowContext(ctx, `UPDATE id_sequences SET next = next + 1 WHERE name = ? RETURNING next - 1`, name).Scan(&id); err != nil {
		return 0, fmt.Errorf("next %s id: %w", name, err)
	}
	return id, nil
}
