package spoke

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// RevertRequest asks to put back what a flow wrote between Since and
// Until (inclusive): for every record and property, the value before the
// flow's first write in the window.
type RevertRequest struct {
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
	// RevisionID, when set, limits the revert to writes made by
	// enrollments on that revision.
	RevisionID string `json:"revisionId,omitempty"`
	// Properties, when set, limits the revert to these properties.
	Properties []string `json:"properties,omitempty"`
	// RevertID, when set, reverts what that revert job wrote instead of
	// what the flow wrote.
	RevertID int64 `json:"revertId,omitempty"`
	// ObjectType is the flow's object type (plural name).
	ObjectType string `json:"objectType"`
	DryRun     bool   `json:"dryRun"`
}

// RevertChange is one property value a revert puts back.
type RevertChange struct {
	ObjectID int64  `json:"objectId"`
	Property string `json:"property"`
	Current  string `json:"current"`
	Restored string `json:"restored"`
}

// RevertConflict is a property a revert leaves alone: since the flow's
// last write in the window, something else wrote it (or the record cannot
// be written any more).
type RevertConflict struct {
	ObjectID int64  `json:"objectId"`
	Property string `json:"property,omitempty"`
	// FlowValue is the flow's last write; Current the value now.
	FlowValue string `json:"flowValue"`
	Current   string `json:"current"`
	// ChangedBy is the source of the write that changed it since
	// ("CRM_UI", "API:12", ...), or why the record cannot be written.
	ChangedBy string `json:"changedBy"`
}

// RevertSample holds the first changes and conflicts of a revert.
type RevertSample struct {
	Changes   []RevertChange   `json:"changes"`
	Conflicts []RevertConflict `json:"conflicts"`
}

// MaxRevertSample is how many changes and conflicts a sample keeps.
const MaxRevertSample = 50

// Add adds a chunk's changes and conflicts to the sample, up to
// MaxRevertSample of each.
func (s *RevertSample) Add(changes []RevertChange, conflicts []RevertConflict) {
	for _, c := range changes {
		if len(s.Changes) >= MaxRevertSample {
			break
		}
		s.Changes = append(s.Changes, c)
	}
	for _, c := range conflicts {
		if len(s.Conflicts) >= MaxRevertSample {
			break
		}
		s.Conflicts = append(s.Conflicts, c)
	}
}

// Revert job statuses.
const (
	RevertRunning  = "RUNNING"
	RevertComplete = "COMPLETE"
	RevertFailed   = "FAILED"
)

// RevertJob is a revert in progress or done. Records with ids up to
// Cursor are done; the counters add up what was done so far.
type RevertJob struct {
	ID        int64
	AccountID int64
	FlowID    string
	Request   RevertRequest
	Status    string
	Cursor    int64
	Total     int64 // records the revert covers
	Processed int64 // records done so far
	Records   int64 // records changed
	Reverted  int64 // property values put back
	Conflicts int64
	Sample    RevertSample
	Error     string
	CreatedAt time.Time
	UpdatedAt time.Time
	// Lease is the claim of the engine running the job (ClaimRevertJob):
	// the store writes the job's records and progress only while the job
	// still carries Lease.Token. Zero for a job not claimed.
	Lease Lease
}

// ErrRevertLost is matched (errors.Is) by the errors RevertLost returns.
var ErrRevertLost = errors.New("revert job lease lost")

// RevertLost is the error of a write to a revert job whose lease was
// taken over by another engine (it ended, the job was claimed again): the
// write is not made. It is an ECONFLICT that matches ErrRevertLost.
func RevertLost(id int64) error {
	return fmt.Errorf("%w: %w", ErrRevertLost, Errorf(ECONFLICT, "Revert %d is run by another engine now; this engine's lease on it ended.", id))
}

// SourceID is the history source id of the writes the job reverts: the
// flow's id, or the source id of the revert it reverts.
func (j *RevertJob) SourceID() string {
	if j.Request.RevertID > 0 {
		return RevertSourceID(j.Request.RevertID, j.FlowID)
	}
	return j.FlowID
}

// RevertSourceID is the property history source id (with source type
// AUTOMATION_PLATFORM) of the writes of revert job id of a flow.
func RevertSourceID(id int64, flowID string) string {
	return "revert:" + formatID(id) + ":flow:" + flowID
}

// RevertedFlow returns the flow whose writes a revert's source id undid,
// or "" if sourceID is not a revert's.
func RevertedFlow(sourceID string) string {
	if !strings.HasPrefix(sourceID, "revert:") {
		return ""
	}
	_, flow, ok := strings.Cut(sourceID, ":flow:")
	if !ok {
		return ""
	}
	return flow
}

// RevertChunk is what reverting a chunk of records did (or, in a dry
// run, would do).
type RevertChunk struct {
	Records   int64
	Changes   []RevertChange
	Conflicts []RevertConflict
}

// RevertStore finds and reverts a flow's writes from property history.
type RevertStore interface {
	// CreateRevertJob stores a new RUNNING job and sets its ID.
	CreateRevertJob(ctx context.Context, j *RevertJob) error
	// GetRevertJob returns a flow's revert job, or ENOTFOUND.
	GetRevertJob(ctx context.Context, account int64, flowID string, id int64) (*RevertJob, error)
	// ClaimRevertJob leases to lease the oldest RUNNING job that is not
	// leased, or whose lease ended before now, and returns it with Lease
	// set; nil when there is none. Engines in any process claim jobs this
	// way, so a job runs in one engine at a time, and a job whose engine
	// died is taken over once its lease ends. EngineStore.ReleaseLeases
	// ends every job's lease too.
	ClaimRevertJob(ctx context.Context, lease Lease, now time.Time) (*RevertJob, error)
	// RenewRevertLease moves the end of job id's lease to lease.Until if
	// the job still carries lease.Token (a time already past gives the
	// job up, for another engine to claim at once); RevertLost if not.
	RenewRevertLease(ctx context.Context, id int64, lease Lease) error
	// RevertTargets returns, in id order, the records above the job's
	// cursor that the writes it reverts touched.
	RevertTargets(ctx context.Context, j *RevertJob) ([]int64, error)
	// RevertRecords plans the revert of records ids and, when apply is
	// set, writes it with the job's source, moving the job's cursor to the
	// last id and adding to its counters and sample in the same
	// transaction. Applying, it writes nothing and returns RevertLost
	// unless the job still carries j.Lease.Token.
	RevertRecords(ctx context.Context, j *RevertJob, ids []int64, apply bool) (*RevertChunk, error)
	// FinishRevertJob sets a job's final status (and error) and ends its
	// lease; RevertLost unless the job still carries j.Lease.Token.
	FinishRevertJob(ctx context.Context, j *RevertJob, status, errMsg string) error
	// SetRevertTotal records how many records the job covers; RevertLost
	// unless the job still carries j.Lease.Token.
	SetRevertTotal(ctx context.Context, j *RevertJob, total int64) error
}
