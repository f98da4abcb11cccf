package crmrules

import (
	"fmt"
	"strings"

	"github.com/spokehq/spoke"
)

// SchemaNotFound is the 404 for an object type of the account that no
// schema matches.
func SchemaNotFound(account int64, objectType string) error {
	return &spoke.Error{Code: spoke.ENOTFOUND, Category: "OBJECT_NOT_FOUND",
		Message: fmt.Sprintf("Unable to find object type %s. Name a custom object by its objectTypeId (2-…), fullyQualifiedName (p%d_{name}) or p_{name}.", objectType, account)}
}

// UpdateSchema applies an update to the schema s in place and refuses
// one that leaves it without labels. The caller checks the named
// properties with CheckSchemaProperties.
func UpdateSchema(s *spoke.ObjectSchema, upd spoke.SchemaUpdate) error {
	setS := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	setL := func(dst *[]string, v *[]string) {
		if v != nil {
			*dst = *v
		}
	}
	setS(&s.SingularLabel, upd.SingularLabel)
	setS(&s.PluralLabel, upd.PluralLabel)
	setS(&s.Description, upd.Description)
	setS(&s.PrimaryDisplayProperty, upd.PrimaryDisplayProperty)
	setL(&s.SecondaryDisplayProperties, upd.SecondaryDisplayProperties)
	setL(&s.RequiredProperties, upd.RequiredProperties)
	setL(&s.SearchableProperties, upd.SearchableProperties)
	if s.SingularLabel == "" || s.PluralLabel == "" {
		return spoke.Invalidf("Invalid object schema: labels.singular and labels.plural cannot be empty.")
	}
	return nil
}

// CheckSchemaProperties refuses a schema whose display, required or
// searchable properties are not properties of its type: built-in ones or
// custom, the type's custom properties. A property must be created before
// it is made required, searchable or displayed.
func CheckSchemaProperties(s *spoke.ObjectSchema, custom []*spoke.Property) error {
	t := s.ObjectType()
	defs := map[string]bool{}
	for _, p := range spoke.BuiltinProperties(t) {
		defs[p.Name] = true
	}
	for _, p := range custom {
		defs[p.Name] = true
	}
	var bad []string
	check := func(field string, list []string) {
		for _, n := range list {
			if !defs[n] {
				bad = append(bad, fmt.Sprintf("%s names %q, which is not a property of %s", field, n, t.ID))
			}
		}
	}
	if s.PrimaryDisplayProperty != "" {
		check("primaryDisplayProperty", []string{s.PrimaryDisplayProperty})
	}
	check("secondaryDisplayProperties", s.SecondaryDisplayProperties)
	check("requiredProperties", s.RequiredProperties)
	check("searchableProperties", s.SearchableProperties)
	if len(bad) > 0 {
		return spoke.Invalidf("Invalid object schema: %s.", strings.Join(bad, "; "))
	}
	return nil
}
