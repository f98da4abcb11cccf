package spoke

import "testing"

func TestV3AssociationTypeNames(t *testing.T) {
	t.Parallel()
	contacts, _ := LookupObjectType("contacts")
	companies, _ := LookupObjectType("companies")
	types := append(HubSpotAssociationTypes("contacts", "companies"),
		AssociationType{Category: CategoryUser, TypeID: 136, Label: "Franchise owner", Name: "franchise_owner_franchise_location"},
		AssociationType{Category: CategoryUser, TypeID: 30, Label: "Decision  maker!"})
	for _, c := range []struct {
		in     string
		wantID int
	}{
		{"contact_to_company", 1}, {"CONTACT_TO_COMPANY", 1}, {"contact_to_company_unlabeled", 279}, {"279", 279}, {" 1 ", 1},
		{"franchise_owner_franchise_location", 136}, {"136", 136}, {"decision_maker", 30},
	} {
		got, err := ResolveV3AssociationType(contacts, companies, c.in, types)
		if err != nil || got.TypeID != c.wantID {
			t.Errorf("resolve %q = %+v, %v; want type %d", c.in, got, err, c.wantID)
		}
	}
	for _, bad := range []string{"deal_to_contact", "3", "", "company_to_contact"} {
		_, err := ResolveV3AssociationType(contacts, companies, bad, types)
		e, ok := err.(*Error)
		if !ok || e.Code != EINVALID || e.SubCategory != "crm.associations.INVALID_ASSOCIATION_TYPE" || e.Context["type"][0] != bad {
			t.Errorf("resolve %q: %v, want INVALID_ASSOCIATION_TYPE", bad, err)
		}
	}
	for label, want := range map[string]string{"Decision maker": "decision_maker", " Toy--tester ": "toy_tester", "Chef": "chef", "Ünïcode Name 2": "ünïcode_name_2", "!!": ""} {
		if got := LabelToName(label); got != want {
			t.Errorf("LabelToName(%q) = %q, want %q", label, got, want)
		}
	}
	// A HubSpot id without a v3 name falls back to from_to_to.
	if got := V3AssociationTypeName(contacts, companies, AssociationType{Category: CategoryHubSpot, TypeID: 99999}); got != "contact_to_company" {
		t.Errorf("fallback name %q", got)
	}
}
