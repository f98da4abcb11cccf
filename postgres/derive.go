package postgres

import (
	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/crmrules"
)

// derive checks a write against the rules that span several properties
// and adds the values Spoke maintains because of it; crmrules.Derive has
// the rules. props are the values the write sets (for an update, only
// those that change); cur is the record as it is, nil for a new record.
//
// It is called from writer.update (on the changed values) and from
// writer.create before a record is inserted; the account's owners and pipelines are read
// (both cached) only when the write sets an owner, a pipeline or a stage.
func (w *writer) derive(cur *spoke.Record, props map[string]string) error {
	return crmrules.Derive(&crmrules.Write{
		Type: w.t,
		Defs: w.defs,
		Now:  w.now,
		Owners: func() ([]*spoke.Owner, error) {
			return w.db.liveOwners(w.ctx, w.account)
		},
		Pipelines: func() ([]*spoke.Pipeline, error) {
			return w.db.livePipelines(w.ctx, w.account, w.t)
		},
	}, cur, props)
}
