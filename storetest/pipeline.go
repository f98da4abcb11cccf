package storetest

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spokehq/spoke"
)

func init() {
	register(
		test{"DefaultPipelines", testDefaultPipelines},
		test{"PipelineCRUD", testPipelineCRUD},
		test{"StageDerivedValues", testStageDerivedValues},
	)
}

// Every account has HubSpot's default deal and ticket pipelines, and the
// stage properties' options are their stages.
func testDefaultPipelines(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	deals, err := db.ListPipelines(ctx, acct, "deals")
	if err != nil || len(deals) != 1 || deals[0].ID != "default" || len(deals[0].Stages) != 7 {
		t.Fatalf("deal pipelines: %+v %v", deals, err)
	}
	want := map[string]string{"appointmentscheduled": "0.2", "qualifiedtobuy": "0.4", "presentationscheduled": "0.6",
		"decisionmakerboughtin": "0.8", "contractsent": "0.9", "closedwon": "1.0", "closedlost": "0.0"}
	for _, s := range deals[0].Stages {
		if s.Metadata[spoke.MetaProbability] != want[s.ID] || s.IsClosed() != (s.ID == "closedwon" || s.ID == "closedlost") {
			t.Errorf("stage %s: %v", s.ID, s.Metadata)
		}
	}
	tickets, err := db.ListPipelines(ctx, acct, "0-5")
	if err != nil || len(tickets) != 1 || tickets[0].ID != "0" || len(tickets[0].Stages) != 4 || !tickets[0].Stage("4").IsClosed() || tickets[0].Stage("1").IsClosed() {
		t.Fatalf("ticket pipelines: %+v %v", tickets, err)
	}
	if _, err := db.ListPipelines(ctx, acct, "contacts"); code(err) != spoke.EINVALID {
		t.Errorf("contacts have no pipelines: %v", err)
	}
	p, err := db.GetProperty(ctx, acct, "deals", "dealstage")
	if err != nil || len(p.Options) != 7 || p.Options[5].Value != "closedwon" || p.Options[5].Label != "Closed Won" {
		t.Errorf("dealstage options: %+v %v", p, err)
	}
}

// Pipelines CRUD: create with generated ids, 409 on a taken label, stage
// CRUD, PUT replacing stages, deletes with and without reference checks,
// never the last pipeline or stage; the properties' options follow.
func testPipelineCRUD(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	in := spoke.PipelineInput{Label: "Renewals", DisplayOrder: 1, Stages: []spoke.PipelineStageInput{
		{Label: "Open", DisplayOrder: 0, Metadata: map[string]string{"probability": "0.5"}},
		{Label: "Won", DisplayOrder: 1, Metadata: map[string]string{"probability": "1"}},
	}}
	p, err := db.CreatePipeline(ctx, acct, "deals", in)
	if err != nil {
		t.Fatal(err)
	}
	if p.ID == "" || len(p.Stages) != 2 || p.Stages[1].Metadata["probability"] != "1.0" || p.Stages[1].Metadata["isClosed"] != "true" || p.Stages[0].Metadata["isClosed"] != "false" {
		t.Fatalf("created %+v %+v", p, p.Stages)
	}
	if _, err := db.CreatePipeline(ctx, acct, "deals", in); code(err) != spoke.ECONFLICT {
		t.Errorf("same label: %v", err)
	}
	bad := spoke.PipelineInput{Label: "No probability", Stages: []spoke.PipelineStageInput{{Label: "S"}}}
	if _, err := db.CreatePipeline(ctx, acct, "deals", bad); code(err) != spoke.EINVALID || !strings.Contains(spoke.ErrorMessage(err), "probability") {
		t.Errorf("deal stage without probability: %v", err)
	}
	if _, err := db.CreatePipeline(ctx, acct, "deals", spoke.PipelineInput{Label: "Empty"}); code(err) != spoke.EINVALID {
		t.Errorf("pipeline without stages: %v", err)
	}
	list, _ := db.ListPipelines(ctx, acct, "deals")
	if len(list) != 2 || list[0].ID != "default" || list[1].ID != p.ID {
		t.Fatalf("list: %+v", list)
	}
	opts, _ := db.GetProperty(ctx, acct, "deals", "pipeline")
	if len(opts.Options) != 2 || opts.Options[1].Value != p.ID || opts.Options[1].Label != "Renewals" {
		t.Errorf("pipeline options: %+v", opts.Options)
	}

	st, err := db.CreateStage(ctx, acct, "deals", p.ID, spoke.PipelineStageInput{Label: "Lost", DisplayOrder: 2, Metadata: map[string]string{"probability": "0.0"}})
	if err != nil || st.Metadata["isClosed"] != "true" {
		t.Fatalf("create stage: %+v %v", st, err)
	}
	if _, err := db.CreateStage(ctx, acct, "deals", p.ID, spoke.PipelineStageInput{Label: "lost", Metadata: map[string]string{"probability": "0.1"}}); code(err) != spoke.ECONFLICT {
		t.Errorf("duplicate stage label: %v", err)
	}
	label := "Negotiation"
	st2, err := db.UpdateStage(ctx, acct, "deals", p.ID, p.Stages[0].ID, spoke.PipelineStageUpdate{Label: &label, Metadata: map[string]string{"probability": "0.7"}})
	if err != nil || st2.Label != label || st2.Metadata["probability"] != "0.7" {
		t.Errorf("update stage: %+v %v", st2, err)
	}

	// A deal in the new pipeline's first stage blocks validated deletes.
	deal := create(t, db, acct, "deals", props("dealname", "R", "pipeline", p.ID, "dealstage", p.Stages[0].ID))
	if err := db.DeleteStage(ctx, acct, "deals", p.ID, p.Stages[0].ID, true); code(err) != spoke.EINVALID {
		t.Errorf("validated delete of a used stage: %v", err)
	}
	if err := db.DeletePipeline(ctx, acct, "deals", p.ID, true); code(err) != spoke.EINVALID {
		t.Errorf("validated delete of a used pipeline: %v", err)
	}
	if err := db.DeleteStage(ctx, acct, "deals", p.ID, st.ID, true); err != nil {
		t.Errorf("validated delete of an unused stage: %v", err)
	}
	// PUT keeps the stages it names by id and archives the others.
	rep, err := db.ReplacePipeline(ctx, acct, "deals", p.ID, spoke.PipelineInput{Label: "Renewals 2", Stages: []spoke.PipelineStageInput{
		{ID: p.Stages[0].ID, Label: "Negotiation", Metadata: map[string]string{"probability": "0.6"}},
		{Label: "Signed", DisplayOrder: 1, Metadata: map[string]string{"probability": "1.0"}},
	}}, false)
	if err != nil || len(rep.Stages) != 2 || rep.Stages[0].ID != p.Stages[0].ID || rep.Stages[1].ID == p.Stages[1].ID {
		t.Fatalf("replace: %+v %v", rep, err)
	}
	got, _ := db.GetPipeline(ctx, acct, "deals", p.ID)
	if got.Label != "Renewals 2" || got.Stage(p.Stages[1].ID) != nil || len(got.Stages) != 2 {
		t.Errorf("after replace: %+v", got)
	}
	// Unvalidated delete archives even a used pipeline; its deal keeps
	// its values.
	if err := db.DeletePipeline(ctx, acct, "deals", p.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := db.GetPipeline(ctx, acct, "deals", p.ID); code(err) != spoke.ENOTFOUND {
		t.Errorf("archived pipeline read: %v", err)
	}
	if d := get(t, db, acct, "deals", strconv.FormatInt(deal.ID, 10), spoke.ReadOptions{}); d.Properties["pipeline"] != p.ID {
		t.Errorf("deal after its pipeline was deleted: %v", d.Properties)
	}
	restore := false
	if r, err := db.UpdatePipeline(ctx, acct, "deals", p.ID, spoke.PipelineUpdate{Archived: &restore}); err != nil || r.Archived {
		t.Errorf("restore: %+v %v", r, err)
	}
	if err := db.DeletePipeline(ctx, acct, "deals", p.ID, false); err != nil {
		t.Fatal(err)
	}
	if err := db.DeletePipeline(ctx, acct, "deals", "default", false); code(err) != spoke.EINVALID {
		t.Errorf("delete the last pipeline: %v", err)
	}
	// The default pipeline can be changed like any other.
	if _, err := db.UpdateStage(ctx, acct, "tickets", "0", "2", spoke.PipelineStageUpdate{Label: &label}); err != nil {
		t.Errorf("change a default stage: %v", err)
	}
	tk, _ := db.GetPipeline(ctx, acct, "tickets", "0")
	if tk.Stage("2").Label != label || tk.Stage("2").Metadata["ticketState"] != "OPEN" || len(tk.Stages) != 4 || !tk.CreatedAt.Equal(time.UnixMilli(0)) {
		t.Errorf("ticket pipeline after change: %+v", tk)
	}
}

// A stage must be in the record's pipeline (the default one when the
// record has none); entering a stage computes the deal's probability and
// closed flags and close date, a ticket's close date and time to close.
func testStageDerivedValues(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	p, err := db.CreatePipeline(ctx, acct, "deals", spoke.PipelineInput{Label: "Other", Stages: []spoke.PipelineStageInput{
		{Label: "Start", Metadata: map[string]string{"probability": "0.1"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	d := create(t, db, acct, "deals", props("dealname", "D", "dealstage", "qualifiedtobuy"))
	if d.Properties["pipeline"] != "default" || d.Properties["hs_deal_stage_probability"] != "0.4" || d.Properties["hs_is_closed"] != "false" || d.Properties["closedate"] != "" {
		t.Fatalf("created: %v", d.Properties)
	}
	res, err := db.WriteRecords(ctx, acct, "deals", spoke.WriteCreate, []spoke.RecordInput{{Properties: props("dealname", "X", "dealstage", p.Stages[0].ID)}}, apiSrc)
	if err != nil {
		t.Fatal(err)
	}
	if e := res[0].Err; e == nil || e.Code != spoke.EINVALID || !strings.Contains(e.Message, `"name":"dealstage"`) || !strings.Contains(e.Message, "pipeline default") {
		t.Fatalf("stage of another pipeline: %+v", e)
	}
	id := strconv.FormatInt(d.ID, 10)
	res, _ = db.WriteRecords(ctx, acct, "deals", spoke.WriteUpdate, []spoke.RecordInput{{ID: id, Properties: props("pipeline", p.ID)}}, apiSrc)
	if res[0].Err == nil {
		t.Errorf("moving to a pipeline without the deal's stage was accepted")
	}
	moved := mustWrite(t, db, acct, "deals", spoke.WriteUpdate, spoke.RecordInput{ID: id, Properties: props("pipeline", p.ID, "dealstage", p.Stages[0].ID)})[0].Record
	if moved.Properties["hs_deal_stage_probability"] != "0.1" {
		t.Errorf("moved: %v", moved.Properties)
	}
	won := mustWrite(t, db, acct, "deals", spoke.WriteUpdate, spoke.RecordInput{ID: id, Properties: props("pipeline", "default", "dealstage", "closedwon")})[0].Record
	now := spoke.FormatTime(won.UpdatedAt)
	if won.Properties["hs_is_closed"] != "true" || won.Properties["hs_is_closed_won"] != "true" || won.Properties["closedate"] != now || won.Properties["hs_closed_won_date"] != now || won.Properties["hs_deal_stage_probability"] != "1" {
		t.Errorf("closed won: %v", won.Properties)
	}
	// A deal with a close date keeps it when it closes.
	d2 := create(t, db, acct, "deals", props("dealname", "E", "closedate", "2030-01-01T00:00:00Z", "dealstage", "closedlost"))
	if d2.Properties["closedate"] != "2030-01-01T00:00:00.000Z" || d2.Properties["hs_is_closed_won"] != "false" || d2.Properties["hs_is_closed"] != "true" {
		t.Errorf("closed lost: %v", d2.Properties)
	}
	// The computed values are read-only to writers.
	res, _ = db.WriteRecords(ctx, acct, "deals", spoke.WriteUpdate, []spoke.RecordInput{{ID: id, Properties: props("hs_is_closed", "false")}}, apiSrc)
	if res[0].Err == nil || !strings.Contains(res[0].Err.Message, "READ_ONLY_VALUE") {
		t.Errorf("hs_is_closed written: %+v", res[0].Err)
	}

	tk := create(t, db, acct, "tickets", props("subject", "T", "hs_pipeline_stage", "1"))
	if tk.Properties["hs_pipeline"] != "0" || tk.Properties["closed_date"] != "" {
		t.Fatalf("ticket: %v", tk.Properties)
	}
	db.SetNow(func() time.Time { return tk.CreatedAt.Add(90 * time.Second) })
	closed := mustWrite(t, db, acct, "tickets", spoke.WriteUpdate, spoke.RecordInput{ID: strconv.FormatInt(tk.ID, 10), Properties: props("hs_pipeline_stage", "4")})[0].Record
	if closed.Properties["closed_date"] != spoke.FormatTime(closed.UpdatedAt) || closed.Properties["time_to_close"] != "90000" {
		t.Errorf("closed ticket: %v", closed.Properties)
	}
	h := get(t, db, acct, "tickets", strconv.FormatInt(tk.ID, 10), spoke.ReadOptions{WithHistory: []string{"time_to_close"}}).History["time_to_close"]
	if len(h) != 1 || h[0].Value != "90000" {
		t.Errorf("time_to_close history: %+v", h)
	}
}
