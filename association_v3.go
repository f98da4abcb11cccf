package spoke

import (
	"strconv"
	"strings"
	"unicode"
)

// hubspotV3Names are the names associations v3 gives HubSpot-defined
// association type ids ("contact_to_company" is the primary company, type
// 1; the unlabelled link, type 279, is "contact_to_company_unlabeled"), as
// GET /crm/v3/associations/{from}/{to}/types lists them.
var hubspotV3Names = map[int]string{
	1: "contact_to_company", 279: "contact_to_company_unlabeled",
	2: "company_to_contact", 280: "company_to_contact_unlabeled",
	5: "deal_to_company", 341: "deal_to_company_unlabeled",
	6: "company_to_deal", 342: "company_to_deal_unlabeled",
	26: "ticket_to_company", 339: "ticket_to_company_unlabeled",
	25: "company_to_ticket", 340: "company_to_ticket_unlabeled",
	3: "deal_to_contact", 4: "contact_to_deal",
	15: "contact_to_ticket", 16: "ticket_to_contact",
	27: "deal_to_ticket", 28: "ticket_to_deal",
	13: "parent_to_child_company", 14: "child_to_parent_company",
	449: "contact_to_contact", 451: "deal_to_deal", 452: "ticket_to_ticket",
}

// V3AssociationTypeName returns the associations v3 name of an association
// type from one object type to another: HubSpot's name for a
// HubSpot-defined id, the label's internal name for a user-defined label
// (or, if it has none, the label lower-cased with underscores, as HubSpot
// derives names), and from_to_to built from the singular type names
// otherwise.
func V3AssociationTypeName(from, to ObjectType, t AssociationType) string {
	if t.Category == CategoryHubSpot || t.Category == "" {
		if n, ok := hubspotV3Names[t.TypeID]; ok {
			return n
		}
	}
	if t.Name != "" {
		return t.Name
	}
	if t.Label != "" && t.Category != CategoryHubSpot {
		return LabelToName(t.Label)
	}
	return from.Singular + "_to_" + to.Singular
}

// LabelToName derives an internal name from a label as HubSpot does:
// lower case, every run of other characters than letters and digits an
// underscore ("Decision maker" is "decision_maker").
func LabelToName(label string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToLower(strings.TrimSpace(label)) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
			under = false
			continue
		}
		if !under && b.Len() > 0 {
			b.WriteByte('_')
			under = true
		}
	}
	return strings.TrimSuffix(b.String(), "_")
}

// ResolveV3AssociationType finds the association type a v3 path or input
// names between two object types: a v3 name ("contact_to_company",
// case-insensitively) or a numeric type id ("279"), among types, the
// types defined between the pair (AssociationLabels). It returns HubSpot's
// 400 INVALID_ASSOCIATION_TYPE when none matches.
func ResolveV3AssociationType(from, to ObjectType, name string, types []AssociationType) (AssociationType, error) {
	id, err := strconv.Atoi(strings.TrimSpace(name))
	numeric := err == nil
	for _, t := range types {
		if numeric && t.TypeID == id {
			return t, nil
		}
		if !numeric && strings.EqualFold(V3AssociationTypeName(from, to, t), strings.TrimSpace(name)) {
			return t, nil
		}
	}
	return AssociationType{}, InvalidAssociationType(from, to, name)
}

// InvalidAssociationType is HubSpot's error for an association type that
// does not exist between two object types.
func InvalidAssociationType(from, to ObjectType, name string) *Error {
	return &Error{Code: EINVALID, Category: "VALIDATION_ERROR", SubCategory: "crm.associations.INVALID_ASSOCIATION_TYPE",
		Message: name + " is not a valid association type between " + from.Name + " and " + to.Name,
		Context: map[string][]string{"type": {name}, "fromObjectType": {from.Name}, "toObjectType": {to.Name}}}
}
