package spoke

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ObjectSchema is an account's custom object type (HubSpot's
// /crm/v3/schemas). Its object type id is "2-<ID>"; ids are never reused,
// so records of a deleted schema can never be mistaken for a new one's.
type ObjectSchema struct {
	ID        int64
	AccountID int64
	// Name is the schema's internal name ("cars"): letters, digits and
	// underscores, starting with a letter. It cannot change.
	Name                       string
	SingularLabel, PluralLabel string
	Description                string
	PrimaryDisplayProperty     string
	SecondaryDisplayProperties []string
	RequiredProperties         []string
	SearchableProperties       []string
	// Associations are the object types the custom object associates with.
	Associations []SchemaAssociation
	CreatedAt    time.Time
	UpdatedAt    time.Time
	Archived     bool
	ArchivedAt   time.Time
}

// SchemaAssociation is an association definition between a custom object
// and another object type. Its ID is the USER_DEFINED association type id
// its records are linked with (the unlabelled default of the pair).
type SchemaAssociation struct {
	ID               int
	FromObjectTypeID string
	ToObjectTypeID   string
	Name             string
	CreatedAt        time.Time
}

// ObjectTypeID returns the schema's object type id, "2-<ID>".
func (s *ObjectSchema) ObjectTypeID() string { return "2-" + strconv.FormatInt(s.ID, 10) }

// FullyQualifiedName returns p{portalId}_{name}.
func (s *ObjectSchema) FullyQualifiedName() string {
	return "p" + strconv.FormatInt(s.AccountID, 10) + "_" + s.Name
}

// ObjectType returns the object type of the schema's records. Its Name is
// the object type id, the key its records and properties are stored
// under.
func (s *ObjectSchema) ObjectType() ObjectType {
	id := s.ObjectTypeID()
	defaults := []string{PropCreateDate, "hs_lastmodifieddate", PropObjectID}
	if s.PrimaryDisplayProperty != "" {
		defaults = append([]string{s.PrimaryDisplayProperty}, defaults...)
	}
	return ObjectType{ID: id, Name: id, Singular: s.Name, LastModifiedProperty: "hs_lastmodifieddate",
		DefaultProperties: defaults, EventName: id, Custom: true, Mergeable: true, FullyQualifiedName: s.FullyQualifiedName(),
		ReadScopes: []string{"crm.objects.custom.read"}, WriteScopes: []string{"crm.objects.custom.write"},
		SchemaReadScopes:   []string{"crm.schemas.custom.read", "crm.objects.custom.read"},
		SchemaWriteScopes:  []string{"crm.schemas.custom.write"},
		RequiredProperties: s.RequiredProperties}
}

// Matches reports whether s names the schema as HubSpot allows: its object
// type id, its fully qualified name, or the short-hand p_{name}. The base
// name alone is refused, as HubSpot has done since 2025.
func (s *ObjectSchema) Matches(name string) bool {
	return name == s.ObjectTypeID() || strings.EqualFold(name, s.FullyQualifiedName()) || strings.EqualFold(name, "p_"+s.Name)
}

// SchemaInput is ObjectSchemaEgg: a schema to create with its properties.
type SchemaInput struct {
	Name                       string
	SingularLabel, PluralLabel string
	Description                string
	PrimaryDisplayProperty     string
	SecondaryDisplayProperties []string
	RequiredProperties         []string
	SearchableProperties       []string
	// AssociatedObjects names the object types to associate with:
	// standard ones by name ("CONTACT") or id, custom ones by id.
	AssociatedObjects []string
	Properties        []*Property
}

// SchemaUpdate holds the fields of a schema a PATCH changes; nil fields
// stay as they are.
type SchemaUpdate struct {
	SingularLabel, PluralLabel *string
	Description                *string
	PrimaryDisplayProperty     *string
	SecondaryDisplayProperties *[]string
	RequiredProperties         *[]string
	SearchableProperties       *[]string
}

// schemaName is the form HubSpot requires of a custom object's name.
var schemaName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,99}$`)

// Validate checks a schema to create, as HubSpot does: a name of letters,
// digits and underscores starting with a letter, both labels, valid
// properties, and display, required and searchable properties among them.
func (in *SchemaInput) Validate() error {
	var bad []string
	if !schemaName.MatchString(in.Name) {
		bad = append(bad, fmt.Sprintf("name %q must be letters, digits and underscores, starting with a letter", in.Name))
	}
	if in.SingularLabel == "" || in.PluralLabel == "" {
		bad = append(bad, "labels.singular and labels.plural are required")
	}
	names := map[string]bool{}
	for i, p := range in.Properties {
		if p.Type == "" {
			p.Type = TypeString
		}
		if p.FieldType == "" && p.Type == TypeString {
			p.FieldType = "text"
		}
		if p.GroupName == "" {
			p.GroupName = "placeholder" // replaced by the type's own group
		}
		if err := p.Validate(); err != nil {
			bad = append(bad, fmt.Sprintf("properties[%d]: %s", i, strings.TrimPrefix(err.Error(), "Invalid property definition: ")))
		}
		if names[p.Name] {
			bad = append(bad, fmt.Sprintf("properties[%d]: %s is defined twice", i, p.Name))
		}
		names[p.Name] = true
	}
	check := func(field string, list []string) {
		for _, n := range list {
			if !names[n] {
				bad = append(bad, fmt.Sprintf("%s names %q, which is not one of the schema's properties", field, n))
			}
		}
	}
	if in.PrimaryDisplayProperty != "" {
		check("primaryDisplayProperty", []string{in.PrimaryDisplayProperty})
	}
	check("secondaryDisplayProperties", in.SecondaryDisplayProperties)
	check("requiredProperties", in.RequiredProperties)
	check("searchableProperties", in.SearchableProperties)
	if len(bad) > 0 {
		return &Error{Code: EINVALID, Category: "VALIDATION_ERROR", Message: "Invalid object schema: " + strings.Join(bad, "; ") + "."}
	}
	return nil
}

// SchemaService manages an account's custom object schemas. It also
// resolves object type names (ObjectTypeService), since custom object
// types are the account's.
type SchemaService interface {
	ObjectTypeService
	// ListSchemas returns the account's live (or archived) schemas in id
	// order.
	ListSchemas(ctx context.Context, account int64, archived bool) ([]*ObjectSchema, error)
	// GetSchema returns the schema named by objectType (see
	// ObjectSchema.Matches), or ENOTFOUND.
	GetSchema(ctx context.Context, account int64, objectType string) (*ObjectSchema, error)
	// CreateSchema validates and stores a schema with its properties and
	// associations. ECONFLICT if the account has a schema of that name,
	// live or archived (until it is purged).
	CreateSchema(ctx context.Context, account int64, in SchemaInput) (*ObjectSchema, error)
	// UpdateSchema changes labels, description and the property lists;
	// EINVALID for a property the schema does not have.
	UpdateSchema(ctx context.Context, account int64, objectType string, upd SchemaUpdate) (*ObjectSchema, error)
	// DeleteSchema archives a schema (purge false) or deletes an archived
	// one for good with its properties and association definitions (purge
	// true). Either is refused (EINVALID) while live records of the type
	// exist, as HubSpot refuses.
	DeleteSchema(ctx context.Context, account int64, objectType string, purge bool) error
	// CreateSchemaAssociation defines an association between the schema's
	// type and another type.
	CreateSchemaAssociation(ctx context.Context, account int64, objectType, toObjectType, name string) (SchemaAssociation, error)
	// DeleteSchemaAssociation removes an association definition and the
	// associations of its type.
	DeleteSchemaAssociation(ctx context.Context, account int64, objectType string, id int) error
}
