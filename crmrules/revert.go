package crmrules

import (
	"slices"

	"github.com/spokehq/spoke"
)

// HistoryEntry is one property history row as a revert plan reads it.
type HistoryEntry struct {
	ID         int64             // history id
	Record     int64             // record id
	At         int64             // epoch ms
	SourceType string            // source_type
	SourceID   string            // source_id
	Enrollment string            // enrollment_id
	Changes    map[string]string // the values the write set
}

// RevertPlan follows records' history, entry by entry in history order,
// and works out the changes that put back the values from before a revert
// job's writes, and the conflicts.
//
// Read-only properties (the ones Spoke derives from others, such as
// hs_lifecyclestage_*_date) are left out: writing their sources back
// derives them again.
type RevertPlan struct {
	writable     func(name string) bool
	only         map[string]bool // nil: every property
	revs         map[string]bool // nil: every enrollment
	src          string
	since, until int64
	trails       map[int64]map[string]*propTrail
}

// propTrail follows one property of one record through its history.
type propTrail struct {
	cur        string // the value after the entries read so far
	before     string // the value before the first reverted write
	first      int64  // history id of the first reverted write (0: none)
	last       int64  // history id of the last reverted write
	flowValue  string // the value the last reverted write set
	latest     int64  // history id of the latest write
	latestFrom string // its source
}

// NewRevertPlan starts the plan of revert job j on records of type t,
// whose property definitions are defs. revs are the ids of the
// enrollments on the request's revision, nil when it names none.
func NewRevertPlan(j *spoke.RevertJob, t spoke.ObjectType, defs map[string]*spoke.Property, revs map[string]bool) *RevertPlan {
	p := &RevertPlan{
		writable: func(name string) bool {
			d, ok := defs[name]
			return ok && !d.ReadOnlyValue && !t.IsComputedProperty(name)
		},
		revs:   revs,
		src:    j.SourceID(),
		since:  j.Request.Since.UnixMilli(),
		until:  j.Request.Until.UnixMilli(),
		trails: map[int64]map[string]*propTrail{},
	}
	if len(j.Request.Properties) > 0 {
		p.only = map[string]bool{}
		for _, name := range j.Request.Properties {
			p.only[name] = true
		}
	}
	return p
}

// Add reads the next history entry; a record's entries must come in
// history id order.
func (p *RevertPlan) Add(h HistoryEntry) {
	reverted := h.SourceType == spoke.SourceAutomation && h.SourceID == p.src && h.At >= p.since && h.At <= p.until && (p.revs == nil || p.revs[h.Enrollment])
	m := p.trails[h.Record]
	if m == nil {
		m = map[string]*propTrail{}
		p.trails[h.Record] = m
	}
	from := h.SourceType
	if h.SourceID != "" {
		from += ":" + h.SourceID
	}
	for name, v := range h.Changes {
		if (p.only != nil && !p.only[name]) || !p.writable(name) {
			continue
		}
		t := m[name]
		if t == nil {
			t = &propTrail{}
			m[name] = t
		}
		if reverted {
			if t.first == 0 {
				t.first, t.before = h.ID, t.cur
			}
			t.last, t.flowValue = h.ID, v
		}
		t.cur, t.latest, t.latestFrom = v, h.ID, from
	}
}

// Result returns, for records ids, the values to write back by record and
// the chunk's changes and conflicts.
func (p *RevertPlan) Result(ids []int64) (map[int64]map[string]string, *spoke.RevertChunk) {
	writes := map[int64]map[string]string{}
	res := &spoke.RevertChunk{}
	for _, rec := range ids {
		names := make([]string, 0, len(p.trails[rec]))
		for name, t := range p.trails[rec] {
			if t.first != 0 {
				names = append(names, name)
			}
		}
		slices.Sort(names)
		for _, name := range names {
			t := p.trails[rec][name]
			switch {
			case t.latest != t.last:
				res.Conflicts = append(res.Conflicts, spoke.RevertConflict{ObjectID: rec, Property: name, FlowValue: t.flowValue, Current: t.cur, ChangedBy: t.latestFrom})
			case t.before != t.cur:
				if writes[rec] == nil {
					writes[rec] = map[string]string{}
				}
				writes[rec][name] = t.before
				res.Changes = append(res.Changes, spoke.RevertChange{ObjectID: rec, Property: name, Current: t.cur, Restored: t.before})
			}
		}
	}
	res.Records = int64(len(writes))
	return writes, res
}
