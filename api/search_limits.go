package api

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spokehq/spoke"
)

// HubSpot's CRM search limits ("Search the CRM" guide, Limitations): at
// most five filterGroups, six filters in a group and 18 filters in all,
// and no paging past the 10,000th result ("Attempting to page beyond
// 10,000 will result in a 400 error"). The store takes more; the API
// answers as HubSpot does so that code tested here does not fail there.
const (
	MaxSearchFilterGroups = 5
	MaxSearchGroupFilters = 6
	MaxSearchFilters      = 18
	MaxSearchResults      = 10000
)

// checkSearchLimits refuses a search that HubSpot would refuse for its
// size, with a 400 VALIDATION_ERROR naming the limit.
func checkSearchLimits(in *searchInput, after int) error {
	if n := len(in.FilterGroups); n > MaxSearchFilterGroups {
		return limitError("filterGroups", n, "Too many filter groups: %d. A search can have at most %d filterGroups.", n, MaxSearchFilterGroups)
	}
	total := 0
	for i, g := range in.FilterGroups {
		total += len(g.Filters)
		if len(g.Filters) > MaxSearchGroupFilters {
			return limitError("filters", len(g.Filters), "Too many filters in filterGroups[%d]: %d. A filter group can have at most %d filters.", i, len(g.Filters), MaxSearchGroupFilters)
		}
	}
	if total > MaxSearchFilters {
		return limitError("filters", total, "Too many filters: %d in all filterGroups. A search can have at most %d filters in total.", total, MaxSearchFilters)
	}
	if after >= MaxSearchResults {
		return limitError("after", after, "Search results are limited to the first %d; after must be less than %d, got %d. Narrow the search with a filter (for example hs_object_id GT the last id seen) instead of paging further.",
			MaxSearchResults, MaxSearchResults, after)
	}
	return nil
}

// limitError is the 400 VALIDATION_ERROR of a search over a limit, with
// the offending count in the context.
func limitError(field string, got int, format string, args ...any) *spoke.Error {
	return &spoke.Error{Code: spoke.EINVALID, Category: "VALIDATION_ERROR", Message: fmt.Sprintf(format, args...),
		Context: map[string][]string{field: {strconv.Itoa(got)}}}
}

// sortFromString reads one string of sorts: "prop" (ascending), "-prop"
// (descending), or a JSON object {propertyName, direction} written as a
// string, as callers of @hubspot/api-client do because the client types
// sorts as strings: sorts: [JSON.stringify({propertyName, direction})].
func sortFromString(s string) (spoke.Sort, error) {
	if t := strings.TrimSpace(s); strings.HasPrefix(t, "{") {
		var obj sortInput
		if err := obj.UnmarshalJSON([]byte(t)); err != nil {
			return spoke.Sort{}, err
		}
		return obj.Sort, nil
	}
	name, desc := strings.CutPrefix(s, "-")
	return spoke.Sort{PropertyName: name, Descending: desc}, nil
}
