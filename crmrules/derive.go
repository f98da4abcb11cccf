// Package crmrules holds the CRM rules both store drivers apply the same
// way and that need no SQL: the values a write derives (lifecycle dates,
// owner assignment, pipeline stage values, line item totals) and the
// checks that go with them. The drivers pass in what they read from their
// databases through function values.
package crmrules

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/spokehq/spoke"
)

// Write is one record write as Derive sees it, with the reads it may need
// supplied by the driver.
type Write struct {
	// Type is the record's object type.
	Type spoke.ObjectType
	// Defs are the object type's property definitions, keyed by name.
	Defs map[string]*spoke.Property
	// Now is the write's time, epoch ms.
	Now int64
	// Owners returns the account's live owners; it is called only when
	// the write assigns an owner.
	Owners func() ([]*spoke.Owner, error)
	// Pipelines returns the type's live pipelines; it is called only when
	// the write sets a pipeline or a stage.
	Pipelines func() ([]*spoke.Pipeline, error)
}

// Derive checks a write against the rules that span several properties
// and adds the values Spoke maintains because of it, as HubSpot does:
//
//   - a line item gets its amount and total discount from its quantity,
//     price and discount;
//   - a record entering lifecycle stage X gets hs_lifecyclestage_X_date;
//   - a record assigned an owner gets hubspot_owner_assigneddate and, unless
//     the write sets one, the owner's primary team as hubspot_team_id;
//   - a deal or ticket stage must be a stage of the record's pipeline (a
//     record without one is put in the default pipeline), and entering a
//     stage sets the values computed from it (deal probability, closed and
//     closed-won flags, close dates, tickets' time to close).
//
// props are the values the write sets (for an update, only those that
// change); cur is the record as it is, nil for a new record. The derived
// values are part of the write, so they land in the record, its history
// row and its triggers like the others. An *spoke.Error is the input's
// own failure; any other error fails the whole call.
//
// The drivers call it on every write (on an update's changed values, and
// before a record is created); it must stay cheap: it calls w.Owners or
// w.Pipelines (both cached by the drivers) only when the write sets an
// owner, a pipeline or a stage.
func Derive(w *Write, cur *spoke.Record, props map[string]string) error {
	d := derivation{w: w, props: props, now: spoke.FormatTime(time.UnixMilli(w.Now))}
	if cur != nil {
		d.cur, d.created = cur.Properties, cur.CreatedAt.UnixMilli()
	} else {
		d.created = w.Now
	}
	if w.Type.Name == "line_items" {
		deriveLineItem(d.cur, props)
	}
	d.lifecycle()
	if err := d.owner(); err != nil {
		return err
	}
	return d.pipeline()
}

// derivation is one write being derived from.
type derivation struct {
	w       *Write
	cur     map[string]string // nil for a new record
	props   map[string]string
	now     string // the write's time, formatted
	created int64  // the record's creation, epoch ms
}

// value returns the value the record will have: the write's, else the
// current one.
func (d *derivation) value(name string) string {
	if v, ok := d.props[name]; ok {
		return v
	}
	return d.cur[name]
}

// set adds a derived value to the write if the type has the
// HubSpot-defined property and the value changes.
func (d *derivation) set(name, v string) {
	if p := d.w.Defs[name]; p == nil || !p.HubspotDefined {
		return
	}
	if old, ok := d.cur[name]; ok && old == v {
		return
	}
	d.props[name] = v
}

func (d *derivation) lifecycle() {
	stage, ok := d.props[spoke.PropLifecycleStage]
	if !ok || stage == "" || d.cur[spoke.PropLifecycleStage] == stage {
		return
	}
	d.set(spoke.LifecycleStageDateProperty(stage), d.now)
}

func (d *derivation) owner() error {
	owner, ok := d.props[spoke.PropOwnerID]
	if !ok || owner == "" || d.cur[spoke.PropOwnerID] == owner {
		return nil
	}
	d.set(spoke.PropOwnerAssignedDate, d.now)
	if _, set := d.props[spoke.PropTeamID]; set || d.w.Defs[spoke.PropTeamID] == nil {
		return nil
	}
	owners, err := d.w.Owners()
	if err != nil {
		return err
	}
	for _, o := range owners {
		if strconv.FormatInt(o.ID, 10) == owner {
			if t := o.PrimaryTeam(); t != nil {
				d.set(spoke.PropTeamID, strconv.FormatInt(t.ID, 10))
			}
		}
	}
	return nil
}

func (d *derivation) pipeline() error {
	pipeProp, stageProp, ok := spoke.PipelineProperties(d.w.Type)
	if !ok {
		return nil
	}
	_, stageSet := d.props[stageProp]
	_, pipeSet := d.props[pipeProp]
	stage := d.value(stageProp)
	if (!stageSet && !pipeSet) || stage == "" {
		return nil
	}
	live, err := d.w.Pipelines()
	if err != nil {
		return err
	}
	pipe := d.value(pipeProp)
	if pipe == "" {
		if p := defaultPipeline(d.w.Type, live); p != nil {
			pipe = p.ID
			d.props[pipeProp] = pipe
		}
	}
	var pl *spoke.Pipeline
	for _, p := range live {
		if p.ID == pipe {
			pl = p
		}
	}
	if pl == nil || pl.Stage(stage) == nil {
		return spoke.InvalidPropertyValues([]*spoke.ValueError{stageError(stageProp, stage, pipe, pl)})
	}
	if !stageSet || d.cur[stageProp] == stage {
		return nil // the pipeline changed around the same stage
	}
	s := pl.Stage(stage)
	closed := s.IsClosed()
	switch d.w.Type.Name {
	case "deals":
		if p, ok := s.Probability(); ok {
			d.set("hs_deal_stage_probability", strconv.FormatFloat(p, 'f', -1, 64))
		}
		d.set("hs_is_closed", strconv.FormatBool(closed))
		d.set("hs_is_closed_won", strconv.FormatBool(s.IsClosedWon()))
		if closed && d.value("closedate") == "" {
			d.set("closedate", d.now)
		}
		if s.IsClosedWon() {
			d.set("hs_closed_won_date", d.now)
		}
	case "tickets":
		if !closed {
			return nil
		}
		closedAt := d.value("closed_date")
		if closedAt == "" {
			closedAt = d.now
			d.set("closed_date", closedAt)
		}
		d.set("hs_last_closed_date", d.now)
		if t, ok := spoke.ParseTime(closedAt); ok && t.UnixMilli() >= d.created {
			d.set("time_to_close", strconv.FormatInt(t.UnixMilli()-d.created, 10))
		}
	}
	return nil
}

// stageError is the 400 for a stage that is not in the record's pipeline,
// in HubSpot's INVALID_OPTION shape, listing the pipeline's stages.
func stageError(stageProp, stage, pipe string, pl *spoke.Pipeline) *spoke.ValueError {
	if pl == nil {
		return &spoke.ValueError{Name: stageProp, Error: "INVALID_OPTION",
			Message: fmt.Sprintf("%s cannot be set: pipeline %s does not exist", strconv.Quote(stage), pipe)}
	}
	ids := make([]string, len(pl.Stages))
	for i, s := range pl.Stages {
		ids[i] = s.ID
	}
	return &spoke.ValueError{Name: stageProp, Error: "INVALID_OPTION",
		Message: fmt.Sprintf("%s is not a valid stage of pipeline %s; allowed stages: [%s]", strconv.Quote(stage), pipe, strings.Join(ids, ", "))}
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

// defaultPipeline is the pipeline a record without one is in: HubSpot's
// default pipeline while it is live, else the first in display order.
func defaultPipeline(t spoke.ObjectType, live []*spoke.Pipeline) *spoke.Pipeline {
	for _, p := range live {
		if p.ID == spoke.DefaultPipelines(t)[0].ID {
			return p
		}
	}
	if len(live) > 0 {
		return live[0]
	}
	return nil
}
