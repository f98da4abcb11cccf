package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/jackc/pgx/v5"
	"strconv"
	"strings"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/crmrules"
)

// ObjectType implements spoke.ObjectTypeService: a standard type by name or
// id without touching the database, else one of the account's live custom
// objects by object type id, fully qualified name or p_{name}.
func (db *DB) ObjectType(ctx context.Context, account int64, s string) (spoke.ObjectType, error) {
	if t, ok := spoke.LookupObjectType(s); ok {
		return t, nil
	}
	sc, err := db.findSchema(ctx, account, s)
	if err != nil {
		return spoke.ObjectType{}, err
	}
	if sc == nil {
		return spoke.ObjectType{}, spoke.UnknownObjectType(s)
	}
	return sc.ObjectType(), nil
}

// findSchema returns the account's live schema that s names, or nil.
func (db *DB) findSchema(ctx context.Context, account int64, s string) (*spoke.ObjectSchema, error) {
	schemas, err := db.liveSchemas(ctx, account)
	if err != nil {
		return nil, err
	}
	for _, sc := range schemas {
		if sc.Matches(s) {
			return sc, nil
		}
	}
	return nil, nil
}

// liveSchemas returns the account's live schemas, cached with the
// property definitions until a schema of the account changes (in any
// process: the change notifies). The result is shared: callers must not
// modify it.
func (db *DB) liveSchemas(ctx context.Context, account int64) ([]*spoke.ObjectSchema, error) {
	return cached(&db.dyn, &db.dyn.schemas, account, func() ([]*spoke.ObjectSchema, error) {
		return db.loadSchemas(ctx, db.pool, account, false)
	})
}

// schemaDefinition is the JSON of object_schemas.definition.
type schemaDefinition struct {
	SingularLabel              string   `json:"singular"`
	PluralLabel                string   `json:"plural"`
	Description                string   `json:"description,omitempty"`
	PrimaryDisplayProperty     string   `json:"primaryDisplayProperty,omitempty"`
	SecondaryDisplayProperties []string `json:"secondaryDisplayProperties,omitempty"`
	RequiredProperties         []string `json:"requiredProperties,omitempty"`
	SearchableProperties       []string `json:"searchableProperties,omitempty"`
}

func definitionOf(s *spoke.ObjectSchema) []byte {
	b, _ := json.Marshal(schemaDefinition{SingularLabel: s.SingularLabel, PluralLabel: s.PluralLabel, Description: s.Description,
		PrimaryDisplayProperty: s.PrimaryDisplayProperty, SecondaryDisplayProperties: s.SecondaryDisplayProperties,
		RequiredProperties: s.RequiredProperties, SearchableProperties: s.SearchableProperties})
	return b
}

// loadSchemas reads the account's live or archived schemas, with their
// association definitions, in id order.
func (db *DB) loadSchemas(ctx context.Context, q querier, account int64, archived bool) ([]*spoke.ObjectSchema, error) {
	rows, err := q.Query(ctx, `SELECT id, name, definition, created_at, updated_at, archived, archived_at FROM object_schemas
		WHERE account_id = $1 AND archived = $2 ORDER BY id`, account, archived)
	if err != nil {
		return nil, fmt.Errorf("load object schemas: %w", err)
	}
	var out []*spoke.ObjectSchema
	byType := map[string]*spoke.ObjectSchema{}
	for rows.Next() {
		s := &spoke.ObjectSchema{AccountID: account}
		var def []byte
		var created, updated int64
		var archivedAt *int64
		if err := rows.Scan(&s.ID, &s.Name, &def, &created, &updated, &s.Archived, &archivedAt); err != nil {
			rows.Close()
			return nil, err
		}
		var d schemaDefinition
		if err := json.Unmarshal(def, &d); err != nil {
			rows.Close()
			return nil, fmt.Errorf("decode object schema %d: %w", s.ID, err)
		}
		s.SingularLabel, s.PluralLabel, s.Description = d.SingularLabel, d.PluralLabel, d.Description
		s.PrimaryDisplayProperty, s.SecondaryDisplayProperties = d.PrimaryDisplayProperty, d.SecondaryDisplayProperties
		s.RequiredProperties, s.SearchableProperties = d.RequiredProperties, d.SearchableProperties
		s.CreatedAt, s.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
		if archivedAt != nil {
			s.ArchivedAt = time.UnixMilli(*archivedAt).UTC()
		}
		out = append(out, s)
		byType[s.ObjectTypeID()] = s
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return out, nil
	}
	// Association definitions are the unlabelled USER_DEFINED types
	// between a schema's type and another.
	arows, err := q.Query(ctx, `SELECT type_id, from_type, to_type, name FROM association_labels
		WHERE account_id = $1 AND label = '' AND (from_type LIKE '2-%' OR to_type LIKE '2-%') ORDER BY type_id`, account)
	if err != nil {
		return nil, fmt.Errorf("load schema associations: %w", err)
	}
	defer arows.Close()
	for arows.Next() {
		var a spoke.SchemaAssociation
		if err := arows.Scan(&a.ID, &a.FromObjectTypeID, &a.ToObjectTypeID, &a.Name); err != nil {
			return nil, err
		}
		a.FromObjectTypeID, a.ToObjectTypeID = typeIDOf(a.FromObjectTypeID), typeIDOf(a.ToObjectTypeID)
		if s := byType[a.FromObjectTypeID]; s != nil {
			s.Associations = append(s.Associations, a)
		} else if s := byType[a.ToObjectTypeID]; s != nil {
			// Seen from the other side, as HubSpot lists a custom
			// object's associations from itself.
			a.FromObjectTypeID, a.ToObjectTypeID = a.ToObjectTypeID, a.FromObjectTypeID
			s.Associations = append(s.Associations, a)
		}
	}
	return out, arows.Err()
}

// typeIDOf returns the object type id of a stored type name.
func typeIDOf(name string) string {
	if t, ok := spoke.LookupObjectType(name); ok {
		return t.ID
	}
	return name
}

// ListSchemas implements spoke.SchemaService.
func (db *DB) ListSchemas(ctx context.Context, account int64, archived bool) ([]*spoke.ObjectSchema, error) {
	return db.loadSchemas(ctx, db.pool, account, archived)
}

// GetSchema implements spoke.SchemaService.
func (db *DB) GetSchema(ctx context.Context, account int64, objectType string) (*spoke.ObjectSchema, error) {
	return db.getSchema(ctx, db.pool, account, objectType, false)
}

// getSchema finds a live schema (or an archived one, with archived) by
// object type id, fully qualified name or p_{name}; ENOTFOUND otherwise.
func (db *DB) getSchema(ctx context.Context, q querier, account int64, objectType string, archived bool) (*spoke.ObjectSchema, error) {
	all, err := db.loadSchemas(ctx, q, account, archived)
	if err != nil {
		return nil, err
	}
	for _, s := range all {
		if s.Matches(objectType) {
			return s, nil
		}
	}
	return nil, crmrules.SchemaNotFound(account, objectType)
}

// associationTarget resolves a type named in associatedObjects or an
// association definition: a standard type by name ("CONTACT") or id, a
// custom one by object type id.
func (db *DB) associationTarget(ctx context.Context, q querier, account int64, name string, self *spoke.ObjectSchema) (spoke.ObjectType, error) {
	if self != nil && (name == self.ObjectTypeID() || self.Matches(name)) {
		return self.ObjectType(), nil
	}
	if t, ok := spoke.LookupObjectType(name); ok {
		return t, nil
	}
	others, err := db.loadSchemas(ctx, q, account, false)
	if err != nil {
		return spoke.ObjectType{}, err
	}
	for _, s := range others {
		if s.Matches(name) {
			return s.ObjectType(), nil
		}
	}
	return spoke.ObjectType{}, spoke.Invalidf("Unable to associate with object type %s: use a standard object's name or id, or a custom object's objectTypeId.", name)
}

// engagementTypes are the activities HubSpot associates every custom
// object with.
var engagementTypes = []string{"emails", "meetings", "notes", "tasks", "calls"}

// CreateSchema implements spoke.SchemaService.
func (db *DB) CreateSchema(ctx context.Context, account int64, in spoke.SchemaInput) (*spoke.ObjectSchema, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	now := db.Now()
	s := &spoke.ObjectSchema{AccountID: account, Name: in.Name, SingularLabel: in.SingularLabel, PluralLabel: in.PluralLabel,
		Description: in.Description, PrimaryDisplayProperty: in.PrimaryDisplayProperty, SecondaryDisplayProperties: in.SecondaryDisplayProperties,
		RequiredProperties: in.RequiredProperties, SearchableProperties: in.SearchableProperties, CreatedAt: now, UpdatedAt: now}
	err := db.schemaChange(ctx, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM object_schemas WHERE account_id = $1 AND lower(name) = lower($2)`, account, in.Name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return spoke.Errorf(spoke.ECONFLICT, "An object type named '%s' already exists in this account (an archived one keeps its name until it is deleted with archived=true).", in.Name)
		}
		if err := tx.QueryRow(ctx, `INSERT INTO object_schemas (account_id, name, definition, created_at, updated_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			account, in.Name, definitionOf(s), now.UnixMilli(), now.UnixMilli()).Scan(&s.ID); err != nil {
			return fmt.Errorf("insert object schema: %w", err)
		}
		t := s.ObjectType()
		for _, p := range in.Properties {
			cp := *p
			cp.ObjectType, cp.GroupName, cp.HubspotDefined, cp.CreatedAt, cp.UpdatedAt = t.Name, spoke.BuiltinGroupName(t), false, now, now
			if t.IsComputedProperty(cp.Name) || cp.Name == spoke.PropMergedObjectIDs {
				return spoke.Invalidf("Invalid object schema: property %s is HubSpot-defined on every object.", cp.Name)
			}
			def, _ := json.Marshal(&cp)
			if _, err := tx.Exec(ctx, `INSERT INTO properties (account_id, object_type, name, definition) VALUES ($1, $2, $3, $4)`, account, t.Name, cp.Name, def); err != nil {
				return fmt.Errorf("create property %s: %w", cp.Name, err)
			}
		}
		targets := append([]string{}, engagementTypes...)
		targets = append(targets, in.AssociatedObjects...)
		seen := map[string]bool{}
		for _, name := range targets {
			to, err := db.associationTarget(ctx, tx, account, name, s)
			if err != nil {
				return err
			}
			if seen[to.Name] {
				continue
			}
			seen[to.Name] = true
			if _, err := defineAssociation(ctx, tx, account, t, to, ""); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The value indexes of its number and date properties are built after
	// the commit, in the background.
	t := s.ObjectType()
	for _, p := range in.Properties {
		db.wantValueIndex(t.Name, p)
	}
	return db.GetSchema(ctx, account, s.ObjectTypeID())
}

// defineAssociation stores an association definition between a custom
// type and another: an unlabelled USER_DEFINED type, which is the pair's
// default association type.
func defineAssociation(ctx context.Context, tx pgx.Tx, account int64, from, to spoke.ObjectType, name string) (spoke.SchemaAssociation, error) {
	if name == "" {
		name = strings.ToLower(from.Singular + "_to_" + to.Singular)
	}
	if !labelName.MatchString(name) {
		return spoke.SchemaAssociation{}, spoke.Invalidf("Association name %q must be lower-case letters, digits and underscores, starting with a letter.", name)
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM association_labels WHERE account_id = $1 AND label = '' AND ((from_type = $2 AND to_type = $3) OR (from_type = $4 AND to_type = $5))`,
		account, from.Name, to.Name, to.Name, from.Name).Scan(&n); err != nil {
		return spoke.SchemaAssociation{}, err
	}
	if n > 0 {
		return spoke.SchemaAssociation{}, spoke.Errorf(spoke.ECONFLICT, "An association between %s and %s is already defined.", from.ID, to.ID)
	}
	a := spoke.SchemaAssociation{FromObjectTypeID: from.ID, ToObjectTypeID: to.ID, Name: name}
	if err := tx.QueryRow(ctx, `INSERT INTO association_labels (account_id, from_type, to_type, name, label) VALUES ($1, $2, $3, $4, '') RETURNING type_id`,
		account, from.Name, to.Name, name).Scan(&a.ID); err != nil {
		return a, fmt.Errorf("define association %s: %w", name, err)
	}
	return a, nil
}

// UpdateSchema implements spoke.SchemaService.
func (db *DB) UpdateSchema(ctx context.Context, account int64, objectType string, upd spoke.SchemaUpdate) (*spoke.ObjectSchema, error) {
	var out *spoke.ObjectSchema
	err := db.schemaChange(ctx, func(tx pgx.Tx) error {
		s, err := db.getSchema(ctx, tx, account, objectType, false)
		if err != nil {
			return err
		}
		if err := crmrules.UpdateSchema(s, upd); err != nil {
			return err
		}
		custom, err := db.customProperties(ctx, tx, account, s.ObjectType().Name, false)
		if err != nil {
			return err
		}
		if err := crmrules.CheckSchemaProperties(s, custom); err != nil {
			return err
		}
		now := db.Now()
		if _, err := tx.Exec(ctx, `UPDATE object_schemas SET definition = $1, updated_at = $2 WHERE id = $3`, definitionOf(s), now.UnixMilli(), s.ID); err != nil {
			return fmt.Errorf("update object schema: %w", err)
		}
		s.UpdatedAt = now
		out = s
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteSchema implements spoke.SchemaService.
func (db *DB) DeleteSchema(ctx context.Context, account int64, objectType string, purge bool) error {
	err := db.schemaChange(ctx, func(tx pgx.Tx) error {
		s, err := db.getSchema(ctx, tx, account, objectType, purge)
		if err != nil {
			return err
		}
		t := s.ObjectType()
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM records WHERE account_id = $1 AND object_type = $2 AND NOT archived`, account, t.Name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return spoke.Invalidf("Object type %s still has %d record(s); a custom object can only be deleted after all its records are deleted.", t.ID, n)
		}
		if !purge {
			now := db.nowMs()
			_, err := tx.Exec(ctx, `UPDATE object_schemas SET archived = true, archived_at = $1, updated_at = $2 WHERE id = $3`, now, now, s.ID)
			return err
		}
		// A purge frees the name: the schema, its properties, groups,
		// association definitions and labels, and its archived records with
		// their history and associations go.
		records := `SELECT id FROM records WHERE account_id = $1 AND object_type = $2`
		for _, st := range []struct {
			q    string
			args []any
		}{
			{`DELETE FROM associations WHERE account_id = $1 AND (to_type = $2 OR from_id IN (` + records + `))`, []any{account, t.Name}},
			{`DELETE FROM property_history WHERE record_id IN (` + records + `)`, []any{account, t.Name}},
			{`DELETE FROM records WHERE account_id = $1 AND object_type = $2`, []any{account, t.Name}},
			{`DELETE FROM properties WHERE account_id = $1 AND object_type = $2`, []any{account, t.Name}},
			{`DELETE FROM property_groups WHERE account_id = $1 AND object_type = $2`, []any{account, t.Name}},
			{`DELETE FROM association_labels WHERE account_id = $1 AND (from_type = $2 OR to_type = $3)`, []any{account, t.Name, t.Name}},
			{`DELETE FROM object_schemas WHERE account_id = $1 AND id = $2`, []any{account, s.ID}},
		} {
			if _, err := tx.Exec(ctx, st.q, st.args...); err != nil {
				return fmt.Errorf("purge object schema %s: %w", t.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return nil
}

// CreateSchemaAssociation implements spoke.SchemaService.
func (db *DB) CreateSchemaAssociation(ctx context.Context, account int64, objectType, toObjectType, name string) (spoke.SchemaAssociation, error) {
	var a spoke.SchemaAssociation
	err := db.schemaChange(ctx, func(tx pgx.Tx) error {
		s, err := db.getSchema(ctx, tx, account, objectType, false)
		if err != nil {
			return err
		}
		to, err := db.associationTarget(ctx, tx, account, toObjectType, s)
		if err != nil {
			return err
		}
		a, err = defineAssociation(ctx, tx, account, s.ObjectType(), to, name)
		a.CreatedAt = db.Now()
		return err
	})
	if err != nil {
		return a, err
	}
	return a, nil
}

// DeleteSchemaAssociation implements spoke.SchemaService.
func (db *DB) DeleteSchemaAssociation(ctx context.Context, account int64, objectType string, id int) error {
	err := db.schemaChange(ctx, func(tx pgx.Tx) error {
		s, err := db.getSchema(ctx, tx, account, objectType, false)
		if err != nil {
			return err
		}
		t := s.ObjectType()
		tag, err := tx.Exec(ctx, `DELETE FROM association_labels WHERE account_id = $1 AND type_id = $2 AND label = '' AND (from_type = $3 OR to_type = $4)`, account, id, t.Name, t.Name)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return spoke.NotFoundf("No association %s on object type %s.", strconv.Itoa(id), t.ID)
		}
		_, err = tx.Exec(ctx, `DELETE FROM associations WHERE account_id = $1 AND category = $2 AND type_id = $3`, account, spoke.CategoryUser, id)
		return err
	})
	if err != nil {
		return err
	}
	return nil
}

// schemaChange runs fn in a write transaction that tells every process
// its object types changed, and forgets this process's cached schemas and
// definitions after it ends.
func (db *DB) schemaChange(ctx context.Context, fn func(tx pgx.Tx) error) error {
	defer db.forgetDefinitions()
	return db.inTx(ctx, func(tx pgx.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return changedDynamic(ctx, tx)
	})
}
