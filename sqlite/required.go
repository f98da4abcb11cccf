package sqlite

import (
	"fmt"

	"github.com/spokehq/spoke"
)

// checkRequired refuses a new record that lacks a property its type
// requires on create (hs_timestamp on engagements, a custom object's
// requiredProperties, ...) or, for leads, an association: HubSpot's leads
// "must be associated with an existing contact". Whether the association's
// target is a contact is checked with the association itself.
func checkRequired(t spoke.ObjectType, props map[string]string, assocs []spoke.AssociationInput) *spoke.Error {
	var bad []*spoke.ValueError
	for _, name := range t.RequiredProperties {
		if props[name] == "" {
			bad = append(bad, &spoke.ValueError{Name: name, Error: "REQUIRED_FIELD", Message: fmt.Sprintf("%s is required: set it when you create the record.", name)})
		}
	}
	if len(bad) > 0 {
		return ValidationError(bad)
	}
	if t.RequiredAssociation != "" && len(assocs) == 0 {
		return spoke.Invalidf("A %s must be associated with an existing %s when it is created: add associations to the request.", t.Singular, t.RequiredAssociation)
	}
	return nil
}
