package spoke

// SourceCalculated is the history source of values HubSpot computes, such
// as the association counts and a contact's primary company.
const SourceCalculated = "CALCULATED"

// PropAssociatedCompanyID is a contact's primary company: the company it
// is associated with by the "Primary" type (contact to company, id 1).
const PropAssociatedCompanyID = "associatedcompanyid"

// AssociationCount is a HubSpot-defined property that counts a record's
// live associated records of another object type.
type AssociationCount struct {
	Property string
	ToType   string
}

// AssociationCounts lists the counted properties of an object type, from
// the catalogue's spokeCounts (for example companies'
// num_associated_contacts).
func AssociationCounts(objectType string) []AssociationCount {
	return associationCounts[objectType]
}

// HasAssociatedValues reports whether records of the type have values
// that follow their associations: counts, or a contact's primary company.
func HasAssociatedValues(objectType string) bool {
	return len(associationCounts[objectType]) > 0 || objectType == "contacts"
}

// PrimaryCompanyTypeIDs are HubSpot's "Primary" company association types
// by the type of the record whose one primary company they name: contact
// to company 1, deal to company 5, ticket to company 26. The reverse types
// (2, 6, 25) name the same link from the company.
var PrimaryCompanyTypeIDs = map[string]int{"contacts": 1, "deals": 5, "tickets": 26}

var associationCounts = func() map[string][]AssociationCount {
	out := map[string][]AssociationCount{}
	for name, c := range catalogs {
		for _, p := range c.Properties {
			if p.CountsAssociated != "" {
				out[name] = append(out[name], AssociationCount{Property: p.Name, ToType: p.CountsAssociated})
			}
		}
	}
	return out
}()
