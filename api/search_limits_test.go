package api

import (
	"fmt"
	"strings"
	"testing"
)

// filterGroups builds a filterGroups JSON array of groups of n filters.
func filterGroups(sizes ...int) string {
	var groups []string
	for _, n := range sizes {
		var fs []string
		for range n {
			fs = append(fs, `{"propertyName":"amount","operator":"GTE","value":"0"}`)
		}
		groups = append(groups, `{"filters":[`+strings.Join(fs, ",")+`]}`)
	}
	return `[` + strings.Join(groups, ",") + `]`
}

func TestSearchLimits(t *testing.T) {
	t.Parallel()
	e := setup(t)
	expect(t, e.do("POST", "/crm/v3/objects/deals", `{"properties":{"dealname":"d","amount":"5"}}`), 201, "")
	search := func(body string) resp { return e.do("POST", "/crm/v3/objects/deals/search", body) }

	// At the limits: 5 groups, 6 filters in a group, 18 in all.
	expect(t, search(`{"filterGroups":`+filterGroups(6, 6, 6)+`}`), 200, "", `"total":1`)
	expect(t, search(`{"filterGroups":`+filterGroups(1, 1, 1, 1, 1)+`}`), 200, "", `"total":1`)
	expect(t, search(`{"after":9999}`), 200, "", `"total":1`)

	// Over them: HubSpot's 400.
	expect(t, search(`{"filterGroups":`+filterGroups(1, 1, 1, 1, 1, 1)+`}`), 400, "VALIDATION_ERROR", "at most 5 filterGroups", `"filterGroups":["6"]`)
	expect(t, search(`{"filterGroups":`+filterGroups(2, 7)+`}`), 400, "VALIDATION_ERROR", "filterGroups[1]: 7", "at most 6 filters")
	expect(t, search(`{"filterGroups":`+filterGroups(6, 6, 6, 1)+`}`), 400, "VALIDATION_ERROR", "Too many filters: 19", "at most 18 filters in total")
	for _, after := range []string{`10000`, `"10000"`, `123456`} {
		expect(t, search(`{"after":`+after+`}`), 400, "VALIDATION_ERROR", "limited to the first 10000", `"after":["`+strings.Trim(after, `"`)+`"]`)
	}
}

func TestSearchSortShapes(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for _, n := range []int{30, 10, 20} {
		expect(t, e.do("POST", "/crm/v3/objects/deals", fmt.Sprintf(`{"properties":{"dealname":"d%d","amount":"%d"}}`, n, n)), 201, "")
	}
	amounts := func(r resp) string {
		var out []string
		for _, x := range r.json(t)["results"].([]any) {
			out = append(out, x.(map[string]any)["properties"].(map[string]any)["amount"].(string))
		}
		return strings.Join(out, ",")
	}
	for sorts, want := range map[string]string{
		// The client types sorts as strings, so callers send objects
		// serialized with JSON.stringify.
		`["{\"propertyName\":\"amount\",\"direction\":\"DESCENDING\"}"]`: "30,20,10",
		`[" {\"propertyName\":\"amount\",\"direction\":\"ASCENDING\"}"]`: "10,20,30",
		`["{\"propertyName\":\"amount\"}"]`:                              "10,20,30",
		`[{"propertyName":"amount","direction":"DESCENDING"}]`:           "30,20,10",
		`["-amount"]`: "30,20,10",
		`["amount"]`:  "10,20,30",
	} {
		r := e.do("POST", "/crm/v3/objects/deals/search", `{"properties":["amount"],"sorts":`+sorts+`}`)
		expect(t, r, 200, "")
		if got := amounts(r); got != want {
			t.Errorf("sorts %s: %s, want %s", sorts, got, want)
		}
	}
	expect(t, e.do("POST", "/crm/v3/objects/deals/search", `{"sorts":["{\"propertyName\":\"amount\",\"direction\":\"SIDEWAYS\"}"]}`), 400, "VALIDATION_ERROR", "SIDEWAYS")
	expect(t, e.do("POST", "/crm/v3/objects/deals/search", `{"sorts":["{not json"]}`), 400, "VALIDATION_ERROR", "sorts")
}
