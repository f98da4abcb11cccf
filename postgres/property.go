package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/spokehq/spoke/crmrules"
	"sort"

	"github.com/jackc/pgx/v5"

	"github.com/spokehq/spoke"
)

// Definitions implements spoke.PropertyService.
func (db *DB) Definitions(ctx context.Context, account int64, objectType string) (map[string]*spoke.Property, error) {
	t, err := db.ObjectType(ctx, account, objectType)
	if err != nil {
		return nil, err
	}
	return db.definitions(ctx, account, t)
}

// ListProperties implements spoke.PropertyService.
func (db *DB) ListProperties(ctx context.Context, account int64, objectType string, archived bool) ([]*spoke.Property, error) {
	t, err := db.ObjectType(ctx, account, objectType)
	if err != nil {
		return nil, err
	}
	if archived {
		return db.customProperties(ctx, db.pool, account, t.Name, true)
	}
	defs, err := db.definitions(ctx, account, t)
	if err != nil {
		return nil, err
	}
	out := make([]*spoke.Property, 0, len(defs))
	for _, p := range defs {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// GetProperty implements spoke.PropertyService.
func (db *DB) GetProperty(ctx context.Context, account int64, objectType, name string) (*spoke.Property, error) {
	t, err := db.ObjectType(ctx, account, objectType)
	if err != nil {
		return nil, err
	}
	defs, err := db.definitions(ctx, account, t)
	if err != nil {
		return nil, err
	}
	if p, ok := defs[name]; ok {
		return p, nil
	}
	return nil, &spoke.Error{Code: spoke.ENOTFOUND, Category: "OBJECT_NOT_FOUND",
		Message: fmt.Sprintf("Unable to find property %s on object type %s.", name, t.Name),
		Context: map[string][]string{"name": {name}}}
}

// CreateProperty implements spoke.PropertyService.
func (db *DB) CreateProperty(ctx context.Context, account int64, p *spoke.Property) (*spoke.Property, error) {
	t, err := db.ObjectType(ctx, account, p.ObjectType)
	if err != nil {
		return nil, err
	}
	p.ObjectType = t.Name
	if err := p.Validate(); err != nil {
		return nil, err
	}
	for _, b := range spoke.BuiltinProperties(t) {
		if b.Name == p.Name || t.IsComputedProperty(p.Name) {
			return nil, spoke.Errorf(spoke.ECONFLICT, "A property named '%s' already exists.", p.Name)
		}
	}
	now := db.Now()
	p.CreatedAt, p.UpdatedAt, p.HubspotDefined, p.Archived = now, now, false, false
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		if err := db.checkGroup(ctx, tx, account, t, p.GroupName); err != nil {
			return err
		}
		var archived bool
		err := tx.QueryRow(ctx, `SELECT archived FROM properties WHERE account_id = $1 AND object_type = $2 AND name = $3`, account, t.Name, p.Name).Scan(&archived)
		switch {
		case err == nil && !archived:
			return spoke.Errorf(spoke.ECONFLICT, "A property named '%s' already exists.", p.Name)
		case err == nil && archived:
			return spoke.Errorf(spoke.ECONFLICT, "A property named '%s' was archived; choose another name.", p.Name)
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		def, _ := json.Marshal(p)
		if _, err := tx.Exec(ctx, `INSERT INTO properties (account_id, object_type, name, definition) VALUES ($1, $2, $3, $4)`, account, t.Name, p.Name, def); err != nil {
			return err
		}
		return notifyProps(ctx, tx)
	})
	if err != nil {
		return nil, err
	}
	db.forgetDefinitions()
	// Its value index, if it has one, is built after the commit.
	db.wantValueIndex(t.Name, p)
	return p, nil
}

func (db *DB) checkGroup(ctx context.Context, q querier, account int64, t spoke.ObjectType, group string) error {
	if spoke.IsBuiltinGroup(t, group) {
		return nil
	}
	var n int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM property_groups WHERE account_id = $1 AND object_type = $2 AND name = $3 AND NOT archived`, account, t.Name, group).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return spoke.Invalidf("Property group '%s' does not exist on %s; create it first or use %s.", group, t.Name, spoke.BuiltinGroupName(t))
	}
	return nil
}

// UpdateProperty implements spoke.PropertyService.
func (db *DB) UpdateProperty(ctx context.Context, account int64, objectType, name string, upd spoke.PropertyUpdate) (*spoke.Property, error) {
	cur, err := db.GetProperty(ctx, account, objectType, name)
	if err != nil {
		return nil, err
	}
	if cur.HubspotDefined {
		return nil, spoke.Invalidf("Property '%s' is HubSpot-defined and cannot be changed.", name)
	}
	p := *cur
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&p.Label, upd.Label)
	set(&p.Type, upd.Type)
	set(&p.FieldType, upd.FieldType)
	set(&p.GroupName, upd.GroupName)
	set(&p.Description, upd.Description)
	if upd.Options != nil {
		p.Options = *upd.Options
	}
	if upd.DisplayOrder != nil {
		p.DisplayOrder = *upd.DisplayOrder
	}
	if upd.Hidden != nil {
		p.Hidden = *upd.Hidden
	}
	if upd.FormField != nil {
		p.FormField = *upd.FormField
	}
	if upd.Type != nil && upd.FieldType == nil {
		p.FieldType = ""
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	p.UpdatedAt = db.Now()
	t, _ := db.ObjectType(ctx, account, p.ObjectType)
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		if err := db.checkGroup(ctx, tx, account, t, p.GroupName); err != nil {
			return err
		}
		def, _ := json.Marshal(&p)
		if _, err := tx.Exec(ctx, `UPDATE properties SET definition = $1 WHERE account_id = $2 AND object_type = $3 AND name = $4`, def, account, t.Name, name); err != nil {
			return err
		}
		return notifyProps(ctx, tx)
	})
	if err != nil {
		return nil, err
	}
	db.forgetDefinitions()
	db.wantValueIndex(t.Name, &p)
	return &p, nil
}

// ArchiveProperty implements spoke.PropertyService.
func (db *DB) ArchiveProperty(ctx context.Context, account int64, objectType, name string) error {
	cur, err := db.GetProperty(ctx, account, objectType, name)
	if err != nil {
		return err
	}
	if cur.HubspotDefined {
		return spoke.Invalidf("Property '%s' is HubSpot-defined and cannot be archived.", name)
	}
	p := *cur
	p.Archived, p.ArchivedAt, p.UpdatedAt = true, db.Now(), db.Now()
	def, _ := json.Marshal(&p)
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE properties SET archived = true, definition = $1 WHERE account_id = $2 AND object_type = $3 AND name = $4`, def, account, p.ObjectType, name); err != nil {
			return err
		}
		return notifyProps(ctx, tx)
	})
	db.forgetDefinitions()
	return err
}

// ListPropertyGroups implements spoke.PropertyService.
func (db *DB) ListPropertyGroups(ctx context.Context, account int64, objectType string) ([]*spoke.PropertyGroup, error) {
	t, err := db.ObjectType(ctx, account, objectType)
	if err != nil {
		return nil, err
	}
	out := spoke.BuiltinGroups(t)
	rows, err := db.pool.Query(ctx, `SELECT name, label, display_order FROM property_groups WHERE account_id = $1 AND object_type = $2 AND NOT archived ORDER BY name`, account, t.Name)
	if err != nil {
		return nil, fmt.Errorf("list property groups: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		g := &spoke.PropertyGroup{ObjectType: t.Name}
		if err := rows.Scan(&g.Name, &g.Label, &g.DisplayOrder); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// GetPropertyGroup implements spoke.PropertyService.
func (db *DB) GetPropertyGroup(ctx context.Context, account int64, objectType, name string) (*spoke.PropertyGroup, error) {
	groups, err := db.ListPropertyGroups(ctx, account, objectType)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		if g.Name == name {
			return g, nil
		}
	}
	return nil, spoke.NotFoundf("Unable to find property group %s on object type %s.", name, objectType)
}

// CreatePropertyGroup implements spoke.PropertyService.
func (db *DB) CreatePropertyGroup(ctx context.Context, account int64, g *spoke.PropertyGroup) (*spoke.PropertyGroup, error) {
	t, err := db.ObjectType(ctx, account, g.ObjectType)
	if err != nil {
		return nil, err
	}
	g.ObjectType = t.Name
	if g.Name == "" || g.Label == "" {
		return nil, spoke.Invalidf("A property group needs a name and a label.")
	}
	if spoke.IsBuiltinGroup(t, g.Name) {
		return nil, spoke.Errorf(spoke.ECONFLICT, "A property group named '%s' already exists.", g.Name)
	}
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		var archived bool
		err := tx.QueryRow(ctx, `SELECT archived FROM property_groups WHERE account_id = $1 AND object_type = $2 AND name = $3`, account, t.Name, g.Name).Scan(&archived)
		if err == nil && !archived {
			return spoke.Errorf(spoke.ECONFLICT, "A property group named '%s' already exists.", g.Name)
		}
		_, err = tx.Exec(ctx, `INSERT INTO property_groups (account_id, object_type, name, label, display_order) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (account_id, object_type, name) DO UPDATE SET label = excluded.label, display_order = excluded.display_order, archived = false`,
			account, t.Name, g.Name, g.Label, g.DisplayOrder)
		return err
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// UpdatePropertyGroup implements spoke.PropertyService.
func (db *DB) UpdatePropertyGroup(ctx context.Context, account int64, objectType, name string, upd spoke.PropertyGroupUpdate) (*spoke.PropertyGroup, error) {
	g, err := db.GetPropertyGroup(ctx, account, objectType, name)
	if err != nil {
		return nil, err
	}
	t, _ := db.ObjectType(ctx, account, objectType)
	if spoke.IsBuiltinGroup(t, name) {
		return nil, spoke.Invalidf("Property group '%s' is HubSpot-defined and cannot be changed.", name)
	}
	if upd.Label != nil {
		g.Label = *upd.Label
	}
	if upd.DisplayOrder != nil {
		g.DisplayOrder = *upd.DisplayOrder
	}
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE property_groups SET label = $1, display_order = $2 WHERE account_id = $3 AND object_type = $4 AND name = $5`,
			g.Label, g.DisplayOrder, account, t.Name, name)
		return err
	})
	return g, err
}

// ArchivePropertyGroup implements spoke.PropertyService.
func (db *DB) ArchivePropertyGroup(ctx context.Context, account int64, objectType, name string) error {
	if _, err := db.GetPropertyGroup(ctx, account, objectType, name); err != nil {
		return err
	}
	t, _ := db.ObjectType(ctx, account, objectType)
	if spoke.IsBuiltinGroup(t, name) {
		return spoke.Invalidf("Property group '%s' is HubSpot-defined and cannot be archived.", name)
	}
	return db.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE property_groups SET archived = true WHERE account_id = $1 AND object_type = $2 AND name = $3`, account, t.Name, name)
		return err
	})
}

// PropertyExists implements flow.Checker.
func (db *DB) PropertyExists(ctx context.Context, account int64, objectType, name string) (bool, error) {
	return crmrules.PropertyExists(ctx, db, account, objectType, name)
}
