package spoke

import (
	"context"
	"strconv"
)

// Association categories.
const (
	CategoryHubSpot    = "HUBSPOT_DEFINED"
	CategoryUser       = "USER_DEFINED"
	CategoryIntegrator = "INTEGRATOR_DEFINED"
)

// AssociationType is a typed link label between two object types.
type AssociationType struct {
	Category string
	TypeID   int
	Label    string
	// Name is a user-defined label's internal name in the direction it
	// was defined, when known; associations v3 names types by it.
	Name string
}

// AssociationInput associates a record being written with another record.
type AssociationInput struct {
	ToID  string
	Types []AssociationType
}

// Association is one record linked to another with one or more types.
type Association struct {
	ToID  int64
	Types []AssociationType
}

// AssociationService links records.
type AssociationService interface {
	// Associate links from and to with the given types, in both
	// directions (the reverse with the paired type ids). ENOTFOUND if either
	// record is missing; EINVALID for a type id that does not fit the pair.
	Associate(ctx context.Context, account int64, fromType string, fromID int64, toType string, toID int64, types []AssociationType) ([]AssociationType, error)
	// ListAssociations returns the records of toType linked to the record,
	// ordered by id, after the given id, up to limit, and whether more
	// follow.
	ListAssociations(ctx context.Context, account int64, fromType string, fromID int64, toType string, after int64, limit int) ([]Association, bool, error)
	// RemoveAssociations removes every link between the two records.
	RemoveAssociations(ctx context.Context, account int64, fromType string, fromID int64, toType string, toID int64) error
	// RemoveAssociationTypes removes the given types (labels) of the link
	// between the two records, in both directions, and keeps the others.
	RemoveAssociationTypes(ctx context.Context, account int64, fromType string, fromID int64, toType string, toID int64, types []AssociationType) error

	// AssociationLabels lists the association types from one object type
	// to another: HubSpot's, then the account's labels.
	AssociationLabels(ctx context.Context, account int64, fromType, toType string) ([]AssociationType, error)
	// CreateAssociationLabel defines a USER_DEFINED label from one object
	// type to another; inverseLabel, if set, names the reverse direction.
	CreateAssociationLabel(ctx context.Context, account int64, fromType, toType, name, label, inverseLabel string) (AssociationType, error)
	// UpdateAssociationLabel renames a label, on the associations that
	// carry it too. ENOTFOUND if it is not defined between the types.
	UpdateAssociationLabel(ctx context.Context, account int64, fromType, toType string, typeID int, label, inverseLabel string) error
	// DeleteAssociationLabel removes a label and every association of its
	// type.
	DeleteAssociationLabel(ctx context.Context, account int64, fromType, toType string, typeID int) error
}

// hubspotLabels are the labels of HubSpot-defined types that have one.
var hubspotLabels = map[int]string{1: "Primary", 2: "Primary", 5: "Primary", 6: "Primary", 25: "Primary", 26: "Primary"}

// HubSpotAssociationLabel returns the label of a HubSpot-defined type id,
// or "" for an unlabelled one.
func HubSpotAssociationLabel(typeID int) string { return hubspotLabels[typeID] }

// HubSpotAssociationTypes returns the HubSpot-defined types from one object
// type to another, with their labels.
func HubSpotAssociationTypes(from, to string) []AssociationType {
	var out []AssociationType
	for _, id := range hubspotTypeIDs[[2]string{from, to}] {
		out = append(out, AssociationType{Category: CategoryHubSpot, TypeID: id, Label: hubspotLabels[id]})
	}
	return out
}

// DefaultAssociationTypeID returns HubSpot's default (unlabelled)
// association type id from one object type to another.
func DefaultAssociationTypeID(from, to string) (int, bool) {
	id, ok := defaultTypeIDs[[2]string{from, to}]
	return id, ok
}

// PairedAssociationTypeID returns the type id of the reverse direction of a
// HubSpot-defined type id, or the same id for user-defined labels.
func PairedAssociationTypeID(id int) int {
	if p, ok := pairedTypeIDs[id]; ok {
		return p
	}
	return id
}

// defaultTypeIDs are HubSpot's default association type ids by pair of
// plural object type names.
var defaultTypeIDs = map[[2]string]int{
	{"contacts", "companies"}: 279, {"companies", "contacts"}: 280,
	{"deals", "companies"}: 341, {"companies", "deals"}: 342,
	{"tickets", "companies"}: 339, {"companies", "tickets"}: 340,
	{"deals", "contacts"}: 3, {"contacts", "deals"}: 4,
	{"contacts", "tickets"}: 15, {"tickets", "contacts"}: 16,
	{"deals", "tickets"}: 27, {"tickets", "deals"}: 28,
	{"companies", "companies"}: 13, {"contacts", "contacts"}: 449,
	{"deals", "deals"}: 451, {"tickets", "tickets"}: 452,
}

// pairedTypeIDs maps a HubSpot-defined type id to its reverse direction.
var pairedTypeIDs = map[int]int{
	1: 2, 2: 1, 279: 280, 280: 279, 5: 6, 6: 5, 341: 342, 342: 341,
	26: 25, 25: 26, 339: 340, 340: 339, 3: 4, 4: 3, 15: 16, 16: 15,
	27: 28, 28: 27, 13: 14, 14: 13,
}

// hubspotTypeIDs lists the HubSpot-defined type ids valid for each pair.
var hubspotTypeIDs = map[[2]string][]int{
	{"contacts", "companies"}: {1, 279}, {"companies", "contacts"}: {2, 280},
	{"deals", "companies"}: {5, 341}, {"companies", "deals"}: {6, 342},
	{"tickets", "companies"}: {26, 339}, {"companies", "tickets"}: {25, 340},
	{"deals", "contacts"}: {3}, {"contacts", "deals"}: {4},
	{"contacts", "tickets"}: {15}, {"tickets", "contacts"}: {16},
	{"deals", "tickets"}: {27}, {"tickets", "deals"}: {28},
	{"companies", "companies"}: {13, 14}, {"contacts", "contacts"}: {449},
	{"deals", "deals"}: {451}, {"tickets", "tickets"}: {452},
}

// hubspotPairs are HubSpot's default association type ids between the
// engagement, commerce and lead types and the others, both directions,
// from HubSpot's "association type ID values" tables
// (developers.hubspot.com/docs/api-reference/legacy/crm/associations/
// associate-records/guide): a to b is ab, b to a is ba. Pairs whose
// reverse HubSpot does not document (lead to email 598; lead to primary
// contact 578 and primary company 580) are left out, since Spoke stores
// both directions of every association.
var hubspotPairs = []struct {
	a, b   string
	ab, ba int
}{
	{"contacts", "notes", 201, 202}, {"contacts", "tasks", 203, 204}, {"contacts", "calls", 193, 194},
	{"contacts", "emails", 197, 198}, {"contacts", "meetings", 199, 200},
	{"companies", "notes", 189, 190}, {"companies", "tasks", 191, 192}, {"companies", "calls", 181, 182},
	{"companies", "emails", 185, 186}, {"companies", "meetings", 187, 188},
	{"deals", "notes", 213, 214}, {"deals", "tasks", 215, 216}, {"deals", "calls", 205, 206},
	{"deals", "emails", 209, 210}, {"deals", "meetings", 211, 212},
	{"tickets", "notes", 227, 228}, {"tickets", "tasks", 229, 230}, {"tickets", "calls", 219, 220},
	{"tickets", "emails", 223, 224}, {"tickets", "meetings", 225, 226},
	{"leads", "notes", 854, 855}, {"leads", "tasks", 646, 647}, {"leads", "calls", 596, 597}, {"leads", "meetings", 600, 601},
	{"leads", "contacts", 608, 609}, {"leads", "companies", 610, 611}, {"leads", "deals", 1037, 1038},
	{"deals", "line_items", 19, 20}, {"quotes", "line_items", 67, 68},
	{"quotes", "deals", 64, 63}, {"quotes", "contacts", 69, 70}, {"quotes", "companies", 71, 72}, {"quotes", "tasks", 217, 218},
}

// hubspotLabelledPairs are HubSpot's labelled types between those types
// ("Lead to primary deal" 582, "Primary deal to lead" 583), valid beside
// the pair's default.
var hubspotLabelledPairs = []struct {
	a, b   string
	ab, ba int
	label  string
}{
	{"leads", "deals", 582, 583, "Primary"},
}

func init() {
	for _, p := range hubspotPairs {
		defaultTypeIDs[[2]string{p.a, p.b}], defaultTypeIDs[[2]string{p.b, p.a}] = p.ab, p.ba
		pairedTypeIDs[p.ab], pairedTypeIDs[p.ba] = p.ba, p.ab
		hubspotTypeIDs[[2]string{p.a, p.b}] = append(hubspotTypeIDs[[2]string{p.a, p.b}], p.ab)
		hubspotTypeIDs[[2]string{p.b, p.a}] = append(hubspotTypeIDs[[2]string{p.b, p.a}], p.ba)
	}
	for _, p := range hubspotLabelledPairs {
		pairedTypeIDs[p.ab], pairedTypeIDs[p.ba] = p.ba, p.ab
		hubspotTypeIDs[[2]string{p.a, p.b}] = append(hubspotTypeIDs[[2]string{p.a, p.b}], p.ab)
		hubspotTypeIDs[[2]string{p.b, p.a}] = append(hubspotTypeIDs[[2]string{p.b, p.a}], p.ba)
		hubspotLabels[p.ab], hubspotLabels[p.ba] = p.label, p.label
	}
}

// ValidAssociationType reports whether a HubSpot-defined type id fits the
// pair of object types. User-defined labels are always accepted.
func ValidAssociationType(from, to string, t AssociationType) bool {
	if t.Category != CategoryHubSpot && t.Category != "" {
		return true
	}
	for _, id := range hubspotTypeIDs[[2]string{from, to}] {
		if id == t.TypeID {
			return true
		}
	}
	return false
}

func formatID(id int64) string { return strconv.FormatInt(id, 10) }
