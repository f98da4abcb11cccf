package sqlite

import (
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
