package spoke

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// Pipeline is a pipeline of deals or tickets: the stages its records move
// through.
type Pipeline struct {
	ObjectType   string
	ID           string
	Label        string
	DisplayOrder int
	// Stages are the pipeline's live stages in display order.
	Stages     []*PipelineStage
	CreatedAt  time.Time
	UpdatedAt  time.Time
	Archived   bool
	ArchivedAt time.Time
}

// Stage returns the live stage with the given id, or nil.
func (p *Pipeline) Stage(id string) *PipelineStage {
	for _, s := range p.Stages {
		if s.ID == id {
			return s
		}
	}
	return nil
}

// PipelineStage is one stage of a pipeline. Metadata holds HubSpot's
// per-type stage settings as strings: probability and isClosed for deals,
// ticketState (OPEN or CLOSED) for tickets.
type PipelineStage struct {
	ID           string
	Label        string
	DisplayOrder int
	Metadata     map[string]string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	Archived     bool
	ArchivedAt   time.Time
}

// Stage metadata keys and ticket states, as HubSpot names them.
const (
	MetaProbability = "probability"
	MetaIsClosed    = "isClosed"
	MetaTicketState = "ticketState"
	TicketOpen      = "OPEN"
	TicketClosed    = "CLOSED"
)

// Probability returns a deal stage's probability of closing, from 0 to 1.
func (s *PipelineStage) Probability() (float64, bool) {
	f, err := strconv.ParseFloat(s.Metadata[MetaProbability], 64)
	return f, err == nil
}

// IsClosed reports whether records in the stage are closed: a deal stage
// marked isClosed, or a ticket stage in the CLOSED state.
func (s *PipelineStage) IsClosed() bool {
	return s.Metadata[MetaIsClosed] == "true" || s.Metadata[MetaTicketState] == TicketClosed
}

// IsClosedWon reports whether the stage is a closed deal stage with
// probability 1 (HubSpot's "closed won").
func (s *PipelineStage) IsClosedWon() bool {
	p, ok := s.Probability()
	return ok && p == 1 && s.IsClosed()
}

// PipelineInput creates or replaces a pipeline.
type PipelineInput struct {
	// ID is the id to give a new pipeline; empty generates one.
	ID           string
	Label        string
	DisplayOrder int
	Stages       []PipelineStageInput
}

// PipelineStageInput creates or replaces a stage.
type PipelineStageInput struct {
	// ID is the id to give a new stage; empty generates one.
	ID           string
	Label        string
	DisplayOrder int
	Metadata     map[string]string
}

// PipelineUpdate holds the fields of a pipeline that a PATCH changes.
type PipelineUpdate struct {
	Label        *string
	DisplayOrder *int
	// Archived may only be false: it restores an archived pipeline.
	Archived *bool
}

// PipelineStageUpdate holds the fields of a stage that a PATCH changes.
type PipelineStageUpdate struct {
	Label        *string
	DisplayOrder *int
	// Metadata, when not nil, is merged over the stage's metadata.
	Metadata map[string]string
	Archived *bool
}

// PipelineService manages the pipelines of deals and tickets. Every
// account starts with HubSpot's default pipeline of each type
// (DefaultPipelines).
type PipelineService interface {
	// ListPipelines returns the live pipelines of objectType in display
	// order. EINVALID for a type without pipelines.
	ListPipelines(ctx context.Context, account int64, objectType string) ([]*Pipeline, error)
	// GetPipeline returns a live pipeline or ENOTFOUND.
	GetPipeline(ctx context.Context, account int64, objectType, id string) (*Pipeline, error)
	// CreatePipeline adds a pipeline with its stages. EINVALID for a bad
	// input, ECONFLICT for a taken id or label.
	CreatePipeline(ctx context.Context, account int64, objectType string, in PipelineInput) (*Pipeline, error)
	// ReplacePipeline replaces a pipeline's label, order and stages;
	// stages not in the input are archived. With validateReferences, it
	// fails (EINVALID) if live records are in a stage it would remove.
	ReplacePipeline(ctx context.Context, account int64, objectType, id string, in PipelineInput, validateReferences bool) (*Pipeline, error)
	// UpdatePipeline changes a pipeline's label or order, or restores it.
	UpdatePipeline(ctx context.Context, account int64, objectType, id string, upd PipelineUpdate) (*Pipeline, error)
	// DeletePipeline archives a pipeline. It refuses (EINVALID) to delete
	// the last pipeline and, with validateReferences, one that live
	// records are in.
	DeletePipeline(ctx context.Context, account int64, objectType, id string, validateReferences bool) error
	// CreateStage adds a stage to a pipeline.
	CreateStage(ctx context.Context, account int64, objectType, pipelineID string, in PipelineStageInput) (*PipelineStage, error)
	// ReplaceStage replaces a stage's label, order and metadata.
	ReplaceStage(ctx context.Context, account int64, objectType, pipelineID, stageID string, in PipelineStageInput) (*PipelineStage, error)
	// UpdateStage changes some fields of a stage.
	UpdateStage(ctx context.Context, account int64, objectType, pipelineID, stageID string, upd PipelineStageUpdate) (*PipelineStage, error)
	// DeleteStage archives a stage. It refuses (EINVALID) to delete a
	// pipeline's last stage and, with validateReferences, a stage live
	// records are in.
	DeleteStage(ctx context.Context, account int64, objectType, pipelineID, stageID string, validateReferences bool) error
}

// PipelineProperties names the properties that hold a record's pipeline
// and stage for t, and reports whether t has pipelines at all.
func PipelineProperties(t ObjectType) (pipeline, stage string, ok bool) {
	switch t.Name {
	case "deals":
		return "pipeline", "dealstage", true
	case "tickets":
		return "hs_pipeline", "hs_pipeline_stage", true
	}
	return "", "", false
}

// DefaultPipelines returns HubSpot's default pipelines of t, which every
// account has until it changes them: deals' "Sales Pipeline" (id default)
// with its seven stages and their probabilities, tickets' "Support
// Pipeline" (id 0) with stages 1 to 4. Their createdAt is the epoch, as
// HubSpot reports it for default pipelines.
func DefaultPipelines(t ObjectType) []*Pipeline {
	deal := func(id, label string, order int, probability string) *PipelineStage {
		closed := probability == "0.0" || probability == "1.0"
		return &PipelineStage{ID: id, Label: label, DisplayOrder: order,
			Metadata: map[string]string{MetaIsClosed: strconv.FormatBool(closed), MetaProbability: probability}}
	}
	ticket := func(id, label string, order int, state string) *PipelineStage {
		return &PipelineStage{ID: id, Label: label, DisplayOrder: order, Metadata: map[string]string{MetaTicketState: state}}
	}
	epoch := time.UnixMilli(0).UTC()
	var p *Pipeline
	switch t.Name {
	case "deals":
		p = &Pipeline{ID: "default", Label: "Sales Pipeline", Stages: []*PipelineStage{
			deal("appointmentscheduled", "Appointment Scheduled", 0, "0.2"),
			deal("qualifiedtobuy", "Qualified To Buy", 1, "0.4"),
			deal("presentationscheduled", "Presentation Scheduled", 2, "0.6"),
			deal("decisionmakerboughtin", "Decision Maker Bought-In", 3, "0.8"),
			deal("contractsent", "Contract Sent", 4, "0.9"),
			deal("closedwon", "Closed Won", 5, "1.0"),
			deal("closedlost", "Closed Lost", 6, "0.0"),
		}}
	case "tickets":
		p = &Pipeline{ID: "0", Label: "Support Pipeline", Stages: []*PipelineStage{
			ticket("1", "New", 0, TicketOpen),
			ticket("2", "Waiting on contact", 1, TicketOpen),
			ticket("3", "Waiting on us", 2, TicketOpen),
			ticket("4", "Closed", 3, TicketClosed),
		}}
	default:
		return nil
	}
	p.ObjectType, p.CreatedAt, p.UpdatedAt = t.Name, epoch, epoch
	for _, s := range p.Stages {
		s.CreatedAt, s.UpdatedAt = epoch, epoch
	}
	return []*Pipeline{p}
}

// PipelineTypeFor resolves an object type that has pipelines, or returns
// EINVALID.
func PipelineTypeFor(s string) (ObjectType, error) {
	t, err := ObjectTypeFor(s)
	if err != nil {
		return t, err
	}
	if _, _, ok := PipelineProperties(t); !ok {
		return t, Invalidf("Object type %s has no pipelines; use deals or tickets.", t.Name)
	}
	return t, nil
}

// NormalizeStageMetadata checks a stage's metadata for t and returns it in
// canonical form. Deal stages need a probability from 0.0 to 1.0; isClosed
// defaults to true at 0.0 (closed lost) and 1.0 (closed won), as HubSpot
// defines those. Ticket stages take an optional ticketState, OPEN or
// CLOSED, which defaults to OPEN.
func NormalizeStageMetadata(t ObjectType, meta map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(meta)+1)
	for k, v := range meta {
		out[k] = strings.TrimSpace(v)
	}
	switch t.Name {
	case "deals":
		v, ok := out[MetaProbability]
		f, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil || f < 0 || f > 1 {
			return nil, Invalidf("Deal stages need metadata.probability, a number from 0.0 to 1.0 (0.0 is closed lost, 1.0 closed won); got %q.", v)
		}
		out[MetaProbability] = strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(out[MetaProbability], ".") {
			out[MetaProbability] += ".0" // HubSpot writes 1.0, not 1
		}
		switch c := strings.ToLower(out[MetaIsClosed]); c {
		case "":
			out[MetaIsClosed] = strconv.FormatBool(f == 0 || f == 1)
		case "true", "false":
			out[MetaIsClosed] = c
		default:
			return nil, Invalidf("metadata.isClosed must be true or false; got %q.", out[MetaIsClosed])
		}
	case "tickets":
		switch s := strings.ToUpper(out[MetaTicketState]); s {
		case "":
			out[MetaTicketState] = TicketOpen
		case TicketOpen, TicketClosed:
			out[MetaTicketState] = s
		default:
			return nil, Invalidf("metadata.ticketState must be OPEN or CLOSED; got %q.", out[MetaTicketState])
		}
	}
	return out, nil
}
