package sqlite

import (
	"math"
	"strconv"
	"time"

	"github.com/spokehq/spoke"
)

// derive adds to a write the values Spoke maintains because of it, as
// HubSpot does: a record entering lifecycle stage X gets
// hs_lifecyclestage_X_date set to the write's time. props are the values
// the write sets (for an update, only those that change); cur are the
// record's current values, nil for a new record. The derived values are
// part of the write, so they land in the record, its history row and its
// triggers like the others.
//
// It is called from writer.update (on the changed values) and from
// recordBatch.write before a record is created; it must stay cheap, as every
// write goes through it.
func (w *writer) derive(cur, props map[string]string) {
	if w.t.Name == "line_items" {
		deriveLineItem(cur, props)
	}
	stage, ok := props[spoke.PropLifecycleStage]
	if !ok || stage == "" || cur[spoke.PropLifecycleStage] == stage {
		return
	}
	name := spoke.LifecycleStageDateProperty(stage)
	if p := w.defs[name]; p == nil || !p.HubspotDefined {
		return // a stage without a HubSpot-defined date property
	}
	props[name] = spoke.FormatTime(time.UnixMilli(w.now))
}

// lineItemInputs are the line item properties its totals are computed
// from.
var lineItemInputs = []string{"quantity", "price", "discount", "hs_discount_percentage"}

// deriveLineItem sets a line item's calculated totals when a write
// changes what they are computed from, as HubSpot computes them: the
// total discount is the unit discount (or hs_discount_percentage of the
// unit price) times the quantity, and amount is quantity times unit price
// minus the total discount. Without a quantity and a price both are
// cleared.
func deriveLineItem(cur, props map[string]string) {
	touched := false
	for _, n := range lineItemInputs {
		if _, ok := props[n]; ok {
			touched = true
		}
	}
	if !touched {
		return
	}
	num := func(name string) (float64, bool) {
		v, ok := props[name]
		if !ok {
			v = cur[name]
		}
		if v == "" {
			return 0, false
		}
		f, err := strconv.ParseFloat(v, 64)
		return f, err == nil
	}
	set := func(name, v string) {
		if cur[name] != v {
			props[name] = v
		}
	}
	qty, okQ := num("quantity")
	price, okP := num("price")
	if !okQ || !okP {
		set("amount", "")
		set("hs_total_discount", "")
		return
	}
	unit, ok := num("discount")
	if !ok {
		pct, _ := num("hs_discount_percentage")
		unit = price * pct / 100
	}
	total := unit * qty
	set("hs_total_discount", formatAmount(total))
	set("amount", formatAmount(qty*price-total))
}

// formatAmount formats a computed amount without binary floating-point
// noise (3 × 10.1 is 30.3, not 30.299999999999997).
func formatAmount(v float64) string {
	return strconv.FormatFloat(math.Round(v*1e6)/1e6, 'f', -1, 64)
}
