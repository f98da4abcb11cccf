package spoke

// Search limits, the same on every store. HubSpot documents up to 200
// results a page and 5-6 groups of 6 filters; Spoke is more generous with
// filters.
const (
	MaxSearchLimit   = 200
	MaxFilterGroups  = 25
	MaxGroupFilters  = 25
	MaxSearchQuery   = 3000
	MaxFilterValues  = 1000  // values of one IN or NOT_IN filter
	MaxFilterArgs    = 10000 // values of all filters; SQLite binds at most 32766
	MaxSorts         = 10    // HubSpot takes one; SQLite allows some hundreds of ORDER BY terms
	DefaultPageLimit = 10
)
