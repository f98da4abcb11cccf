package crmrules

import (
	"strconv"

	"github.com/spokehq/spoke"
)

// Touched collects the records whose associations a transaction changed,
// to recount once at its end: fully, or by the deltas of their counts of
// each associated type.
type Touched map[int64]*Touch

// Touch is what a transaction changed about one record's associations.
type Touch struct {
	Full  bool           // count every associated type anew
	Delta map[string]int // else: change of the count of live records by type
}

// Touch records that record id's associations changed, which asks for
// its associated values to be recomputed (a primary company may have
// changed) without changing its counts, and returns its entry.
func (t Touched) Touch(id int64) *Touch {
	e := t[id]
	if e == nil {
		e = &Touch{}
		t[id] = e
	}
	return e
}

// Add asks for full recounts of the records.
func (t Touched) Add(ids ...int64) {
	for _, id := range ids {
		t.Touch(id).Full = true
	}
}

// Count adds d to record id's count of live associated records of toType.
func (t Touched) Count(id int64, toType string, d int) {
	e := t.Touch(id)
	if e.Delta == nil {
		e.Delta = map[string]int{}
	}
	e.Delta[toType] += d
}

// Linked records that a link between two live records appeared (d = 1)
// or went (d = -1).
func (t Touched) Linked(fromID int64, fromType string, toID int64, toType string, d int) {
	t.Count(fromID, toType, d)
	if toID != fromID {
		t.Count(toID, fromType, d)
	}
}

// AssociatedCounts computes the association counts of record cur, of type
// typ, that touch e changed, into want: by their deltas, or by count (the
// record's live associated records by type, read from the store) when e
// asks for it or a changed count has no value yet.
func AssociatedCounts(want map[string]string, typ string, cur *spoke.Record, e *Touch, count func() (map[string]int64, error)) error {
	counts := spoke.AssociationCounts(typ)
	full := e.Full
	for _, c := range counts {
		if e.Delta[c.ToType] != 0 && cur.Properties[c.Property] == "" {
			full = true
		}
	}
	switch {
	case full && len(counts) > 0:
		n, err := count()
		if err != nil {
			return err
		}
		for _, c := range counts {
			want[c.Property] = strconv.FormatInt(n[c.ToType], 10)
		}
	case !full:
		for _, c := range counts {
			if d := e.Delta[c.ToType]; d != 0 {
				old, _ := strconv.ParseInt(cur.Properties[c.Property], 10, 64)
				want[c.Property] = strconv.FormatInt(max(old+int64(d), 0), 10)
			}
		}
	}
	return nil
}
