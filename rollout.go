package spoke

import (
	"context"
	"time"
)

// More enrollment statuses: a staged rollout holds enrollments beyond its
// current stage, and aborting it cancels them.
const (
	// EnrollmentHeld waits for its flow's rollout to reach a stage that
	// takes it; the engine never claims it and it uses no quota.
	EnrollmentHeld = "HELD"
	// EnrollmentCancelled ended without running: its rollout was aborted.
	EnrollmentCancelled = "CANCELLED"
)

// RolloutConfig is a flow's staged rollout (a Spoke extension of the flow
// document: "rollout": {"stages": [1, 10, 100], "maxFailureRate": 0.05,
// "approval": "auto"}). Stage i lets Stages[i] enrollments run; after the
// last listed stage every enrollment runs.
type RolloutConfig struct {
	Stages         []int   `json:"stages"`
	MaxFailureRate float64 `json:"maxFailureRate"`
	// Approval is RolloutAuto (the next stage opens once a stage passes)
	// or RolloutManual (it waits for an advance).
	Approval string `json:"approval"`
}

// Rollout approval modes.
const (
	RolloutAuto   = "auto"
	RolloutManual = "manual"
)

// Rollout states.
const (
	RolloutRunning          = "RUNNING"           // the current stage runs
	RolloutAwaitingApproval = "AWAITING_APPROVAL" // a stage passed; manual approval opens the next
	RolloutHalted           = "HALTED"            // a stage failed more than maxFailureRate
	RolloutComplete         = "COMPLETE"          // past the last stage: every enrollment runs
	RolloutAborted          = "ABORTED"           // aborted: held enrollments were cancelled
)

// RolloutHolds reports whether a rollout in this state holds new
// enrollments.
func RolloutHolds(state string) bool {
	return state == RolloutRunning || state == RolloutAwaitingApproval || state == RolloutHalted
}

// Rollout is the state of a flow's current staged rollout.
type Rollout struct {
	ID         int64
	AccountID  int64
	FlowID     string
	RevisionID string
	Config     RolloutConfig
	// Stage is the index of the current stage in Config.Stages;
	// len(Config.Stages) is the final "all" stage.
	Stage          int
	State          string
	StartedAt      time.Time
	StageStartedAt time.Time
	UpdatedAt      time.Time
}

// StageSize returns how many enrollments the current stage runs, or -1
// for all of them.
func (r *Rollout) StageSize() int {
	if r.Stage < len(r.Config.Stages) {
		return r.Config.Stages[r.Stage]
	}
	return -1
}

// StageCounts counts the enrollments of one rollout stage by outcome.
type StageCounts struct {
	Total     int // released into the stage
	Running   int // ACTIVE
	Completed int
	Failed    int
	Held      int // of the whole flow, waiting for a later stage
}

// Finished is how many of the stage's enrollments have ended.
func (c StageCounts) Finished() int { return c.Completed + c.Failed }

// RolloutStore keeps rollouts and moves enrollments between HELD and
// ACTIVE.
type RolloutStore interface {
	// ActiveRollouts returns the rollouts that hold enrollments
	// (RolloutHolds), of every account.
	ActiveRollouts(ctx context.Context) ([]*Rollout, error)
	// CurrentRollout returns a flow's latest rollout, or ENOTFOUND.
	CurrentRollout(ctx context.Context, account int64, flowID string) (*Rollout, error)
	// StageCounts counts the current stage's enrollments and the flow's
	// held ones.
	StageCounts(ctx context.Context, r *Rollout) (StageCounts, error)
	// ReleaseHeld makes up to n (all if n < 0) of the flow's held
	// enrollments ACTIVE on the rollout's revision, due at now, as members
	// of the current stage, oldest first. It returns how many it released.
	// It checks r against the stored rollout in the same transaction:
	// nothing is released unless the rollout still runs stage r.Stage, and
	// never more than the stage has room for, so controllers in several
	// processes acting on the same figures release the stage's size once.
	ReleaseHeld(ctx context.Context, r *Rollout, n int, now time.Time) (int, error)
	// SetRolloutState moves the rollout to a stage and state if it is
	// still in state from at stage r.Stage (a compare-and-set: ECONFLICT
	// otherwise, so of several processes acting on the same reading only
	// one moves it); RolloutAborted also cancels the held enrollments,
	// RolloutComplete releases them.
	SetRolloutState(ctx context.Context, r *Rollout, from string, stage int, state string, now time.Time) error
	// StageFailures returns up to limit failed executions of the current
	// stage's enrollments, newest first.
	StageFailures(ctx context.Context, r *Rollout, limit int) ([]*Execution, error)
}

// FlowRevision describes one saved revision of a flow.
type FlowRevision struct {
	FlowID     string
	RevisionID string
	Author     string
	Message    string
	CreatedAt  time.Time
	IsEnabled  bool
	Actions    int
}

// SaveInfo says who saves a flow revision and why.
type SaveInfo struct {
	Author  string
	Message string
}

// Preflight is the cost of a bulk enrollment before it starts.
type Preflight struct {
	// Enrolled and Skipped are what the enrollment would do.
	Result *EnrollResult
	// CodeExecutionsPerRecord is the most custom code actions one
	// enrollment runs (the flow's costliest path).
	CodeExecutionsPerRecord int
	// CodeExecutions is Enrolled × CodeExecutionsPerRecord, the worst case.
	CodeExecutions int64
	Usage          *Usage
	// Remaining is the month's quota left (-1: unlimited).
	Remaining int64
	// Exceeds says the worst case is more than Remaining; the quota then
	// runs out after RunsOutAfter records, and the rest wait until
	// ResetsAt, the start of next month (UTC).
	Exceeds      bool
	RunsOutAfter int64
	ResetsAt     time.Time
}

// RolloutReport is a flow's current rollout with its stage's counts and
// failing executions.
type RolloutReport struct {
	Rollout  *Rollout
	Counts   StageCounts
	Failures []*Execution
}
