package spoke

import "testing"

// The default association types of the engagement, commerce and lead
// types are HubSpot's documented ids, both directions, and each
// direction's reverse is the other.
func TestHubSpotAssociationTypeIDs(t *testing.T) {
	for _, c := range []struct {
		from, to string
		id       int
	}{
		{"notes", "contacts", 202}, {"contacts", "notes", 201}, {"tasks", "contacts", 204}, {"contacts", "tasks", 203},
		{"calls", "contacts", 194}, {"emails", "contacts", 198}, {"meetings", "contacts", 200},
		{"notes", "companies", 190}, {"notes", "deals", 214}, {"notes", "tickets", 228},
		{"tasks", "deals", 216}, {"calls", "tickets", 220}, {"meetings", "deals", 212}, {"emails", "companies", 186},
		{"line_items", "deals", 20}, {"deals", "line_items", 19}, {"quotes", "deals", 64}, {"deals", "quotes", 63},
		{"line_items", "quotes", 68}, {"quotes", "line_items", 67}, {"quotes", "contacts", 69}, {"tasks", "quotes", 218},
		{"leads", "contacts", 608}, {"contacts", "leads", 609}, {"leads", "deals", 1037}, {"deals", "leads", 1038},
		// Unchanged pairs of the original four types.
		{"contacts", "companies", 279}, {"deals", "contacts", 3},
	} {
		id, ok := DefaultAssociationTypeID(c.from, c.to)
		if !ok || id != c.id {
			t.Errorf("%s to %s: %d %v, want %d", c.from, c.to, id, ok, c.id)
		}
		rev, _ := DefaultAssociationTypeID(c.to, c.from)
		if PairedAssociationTypeID(id) != rev || PairedAssociationTypeID(rev) != id {
			t.Errorf("%s to %s: %d pairs with %d, want %d", c.from, c.to, id, PairedAssociationTypeID(id), rev)
		}
		if !ValidAssociationType(c.from, c.to, AssociationType{Category: CategoryHubSpot, TypeID: c.id}) {
			t.Errorf("%s to %s: %d is not valid", c.from, c.to, c.id)
		}
	}
	if ValidAssociationType("notes", "contacts", AssociationType{Category: CategoryHubSpot, TypeID: 201}) {
		t.Error("201 (contact to note) is valid from notes to contacts")
	}
	if _, ok := DefaultAssociationTypeID("products", "deals"); ok {
		t.Error("products have no documented association to deals")
	}
	if got := HubSpotAssociationTypes("leads", "deals"); len(got) != 2 || got[1].TypeID != 582 || got[1].Label != "Primary" {
		t.Errorf("leads to deals: %+v", got)
	}
	if PairedAssociationTypeID(582) != 583 {
		t.Error("582 pairs with 583")
	}
}
