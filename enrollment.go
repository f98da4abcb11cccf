package spoke

import (
	"context"
	"encoding/json"
	"time"
)

// Enrollment statuses.
const (
	EnrollmentActive    = "ACTIVE"    // running or waiting to run its current action
	EnrollmentCompleted = "COMPLETED" // reached the end of its path
	EnrollmentFailed    = "FAILED"    // stopped at an action that failed
	// EnrollmentUnenrolled: taken out of the flow before the end of its
	// path because the record met the flow's goal, or stopped meeting its
	// enrollment criteria with unEnrollObjectsNotMeetingCriteria on.
	EnrollmentUnenrolled = "UNENROLLED"
)

// Reasons an active enrollment waits.
const (
	WaitNone      = ""
	WaitDelay     = "DELAY"      // a delay action
	WaitRetry     = "RETRY"      // a rate-limited failure, retried later
	WaitQuota     = "QUOTA"      // the monthly custom code quota is used up
	WaitRateLimit = "RATE_LIMIT" // the action's configured rate limit
	// WaitTimeWindow: outside the flow's timeWindows, or on one of its
	// blockedDates.
	WaitTimeWindow = "TIME_WINDOW"
)

// Enrollment is one record going through one flow.
type Enrollment struct {
	ID         int64
	AccountID  int64
	FlowID     string
	RevisionID string
	ObjectType string // plural name
	ObjectID   int64
	Status     string
	// CurrentAction is the action to run next ("" once finished).
	CurrentAction string
	// Outputs holds the outputs of the custom code actions run so far, by
	// action id, for FIELD_DATA values.
	Outputs map[string]map[string]string
	// RunAt is when the current action may run.
	RunAt      time.Time
	WaitReason string
	// Attempt counts tries of the current action (1 on the first).
	Attempt int
	// FirstFailureAt is when the current action first failed with a
	// retryable error; retries stop 3 days after it.
	FirstFailureAt time.Time
	// Error is the classified error that failed the enrollment.
	Error       *ActionError
	CreatedAt   time.Time
	UpdatedAt   time.Time
	CompletedAt time.Time
}

// ActionError is a classified failure of an action.
type ActionError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	Stack   string `json:"stack,omitempty"`
}

// Execution is the log of one run of one action of an enrollment.
type Execution struct {
	ID           int64
	EnrollmentID int64
	AccountID    int64
	FlowID       string
	ObjectID     int64
	ActionID     string
	ActionType   string
	Attempt      int
	Status       string // SUCCESS, ERROR, or WAITING for a delay
	StartedAt    time.Time
	DurationMs   float64
	MemoryBytes  int64
	Inputs       map[string]any
	Outputs      map[string]any
	Logs         string
	Error        *ActionError
	Runtime      string
}

// Step is the outcome of running one or more consecutive actions of an
// enrollment: the enrollment's new state (its checkpoint), the property
// writes the actions made to the enrolled record, and their execution
// logs. A store commits a step whole, so the writes and the checkpoint
// never part.
type Step struct {
	Enrollment *Enrollment
	// Record is the enrolled record as the step read it. The store writes
	// Writes over it if the record has not changed since, and over a fresh
	// read otherwise.
	Record     *Record
	Writes     map[string]string
	Executions []*Execution
	// Writers are the indexes in Executions of the actions whose writes
	// Writes merges: if the store refuses the write, they all fail.
	Writers []int
	// CodeExecutions counts the custom code runs of the step, which count
	// against the monthly quota.
	CodeExecutions int
	// Effects are the step's writes besides the record's properties
	// (records created, static list memberships), applied in its commit.
	Effects []StepEffect
}

// Lease is a runner's hold on the enrollments it claimed. Ownership is the
// token, not the time: a lease that ended may be claimed by another runner,
// which stamps its own token, and from then on the first runner's commit
// of those enrollments is refused.
type Lease struct {
	// Token identifies one claim; it is unique among a store's claims.
	Token int64
	// Until is when the lease ends unless it is renewed.
	Until time.Time
	// Holder names the engine that holds the lease, for stores that keep
	// its quota reservations (QuotaReserver): Commit counts the steps'
	// code runs against that holder's reservation. 0 for other stores.
	Holder int64
}

// EnrollResult says what an enrollment request did with each record.
type EnrollResult struct {
	Enrolled []int64
	// Skipped maps a record id to why it was not enrolled.
	Skipped map[int64]string
}

// RecordChange describes a record write, for triggers.
type RecordChange struct {
	AccountID  int64
	ObjectType string
	RecordID   int64
	// Before is nil for a new record.
	Before map[string]string
	After  map[string]string
	Source WriteSource
	// CreatedAt is the record's creation time, UpdatedAt its update time
	// after the write and BeforeUpdatedAt before it (zero for a new
	// record): criteria on createdate and lastmodifieddate read them.
	CreatedAt, UpdatedAt, BeforeUpdatedAt time.Time
	// Event, when set, is what happened besides the values (Before and
	// After are then the same).
	Event *RecordEvent
	// List, when set, is a static list the record joined or left (Before
	// and After are then the same): LIST_BASED criteria that test list
	// membership are evaluated with the list's membership before and
	// after the change. A change with List set and After nil asks, before
	// any record is read, whether some flow's criteria test list
	// membership at all: any trigger in the answer means yes (none is an
	// enrollment).
	List *ListChange
}

// ListChange is a record joining or leaving a static list.
type ListChange struct {
	ListID string
	// Added is true when the record joined the list, false when it left.
	Added bool
}

// EnrollmentTrigger names a flow a changed record must enroll in.
type EnrollmentTrigger struct {
	FlowID     string
	RevisionID string
	ReEnroll   bool
	// Staged says the flow has a rollout: the enrollment is HELD while
	// the rollout holds.
	Staged bool
	// Event is the enrolling event's properties as JSON, for
	// ENROLLMENT_EVENT_PROPERTY values (nil for list-based criteria).
	Event json.RawMessage
}

// Usage is an account's custom code executions in a month.
type Usage struct {
	Period     string // YYYY-MM
	Executions int64
	// Limit is the monthly limit; -1 means unlimited.
	Limit int64
}

// EngineStore keeps enrollments, execution logs and quotas.
type EngineStore interface {
	// Enroll enrolls records in a flow revision, skipping those that are
	// enrolled already (or ever, unless reEnroll) with a reason.
	Enroll(ctx context.Context, account int64, f *Flow, objectType string, ids []int64, reEnroll bool) (*EnrollResult, error)
	// EnrollKnown is Enroll for ids just read as live records of
	// objectType; it skips checking that each exists.
	EnrollKnown(ctx context.Context, account int64, f *Flow, objectType string, ids []int64, reEnroll bool) (*EnrollResult, error)
	// Claim leases up to limit active enrollments due at now and not
	// leased (or whose lease ended before now) to lease: each claimed row
	// carries lease.Token until lease.Until. A crash leaves them to be
	// claimed again once the lease ends.
	Claim(ctx context.Context, now time.Time, limit int, lease Lease) ([]*Enrollment, error)
	// RenewLease extends to lease.Until the lease of those of ids that
	// still carry lease.Token and are still leased.
	RenewLease(ctx context.Context, lease Lease, ids []int64) error
	// ReleaseLease makes those of ids that still carry lease.Token
	// claimable at once, for a round that is given up.
	ReleaseLease(ctx context.Context, lease Lease, ids []int64) error
	// Commit applies steps atomically: record writes (with history source
	// AUTOMATION_PLATFORM, the flow id and the enrollment id), enrollment
	// checkpoints, execution logs and quota usage. It writes only the
	// steps whose enrollment still carries lease.Token; the others were
	// claimed by another runner after the lease ended, and Commit drops
	// them and returns their enrollment ids. A step whose enrollment runs
	// on at once keeps the lease until lease.Until; the others give it up.
	// A store that is a QuotaReserver also takes the committed steps' code
	// runs off lease.Holder's reservation, in the same transaction.
	Commit(ctx context.Context, lease Lease, steps []*Step) (lost []int64, err error)
	// ReleaseLeases makes every leased enrollment, and every revert job
	// (RevertStore), claimable at once; a single process calls it on
	// start.
	ReleaseLeases(ctx context.Context) error
	// RetryEnrollment makes a FAILED enrollment of flow f ACTIVE again at
	// the action it failed at, on f's revision, due at now. ENOTFOUND if
	// the flow has no such enrollment, ECONFLICT if it has not failed,
	// EINVALID if f no longer has the action.
	RetryEnrollment(ctx context.Context, account int64, f *Flow, id int64, now time.Time) (*Enrollment, error)
	// ListEnrollments pages through a flow's enrollments in id order.
	ListEnrollments(ctx context.Context, account int64, flowID string, after int64, limit int) ([]*Enrollment, bool, error)
	// ListExecutions pages through a flow's execution logs.
	ListExecutions(ctx context.Context, account int64, flowID string, q ExecutionQuery) ([]*Execution, bool, error)
	// Usage returns the account's usage in a period.
	Usage(ctx context.Context, account int64, period string) (*Usage, error)
	// SetCodeLimit sets the monthly custom code limit (-1: unlimited) and
	// wakes enrollments waiting on the quota.
	SetCodeLimit(ctx context.Context, account int64, limit int64) error
	// WakeQuotaWaiters makes enrollments waiting on the quota runnable.
	WakeQuotaWaiters(ctx context.Context, account int64, now time.Time) error
	// QueueDepth counts active enrollments that are due and not leased.
	QueueDepth(ctx context.Context, now time.Time) (int, error)
}

// ExecutionQuery filters execution logs.
type ExecutionQuery struct {
	ObjectID int64
	ActionID string
	Status   string
	After    int64
	Limit    int
}

// Period returns the quota period of t: its month in UTC, as YYYY-MM.
func Period(t time.Time) string { return t.UTC().Format("2006-01") }

// DefaultCodeLimit is the default monthly limit of custom code executions
// per account.
const DefaultCodeLimit = 100000

// SecretService stores encrypted secrets for custom code.
type SecretService interface {
	PutSecret(ctx context.Context, account int64, name, value string) (*Secret, error)
	ListSecrets(ctx context.Context, account int64) ([]*Secret, error)
	DeleteSecret(ctx context.Context, account int64, name string) error
	// SecretValues returns the values of the named secrets; ENOTFOUND
	// names a missing one.
	SecretValues(ctx context.Context, account int64, names []string) (map[string]string, error)
	// SecretSize returns the length in bytes of a secret's value, and
	// whether the secret exists.
	SecretSize(ctx context.Context, account int64, name string) (int, bool, error)
}

// Secret is a named secret; its value is never returned by the API.
type Secret struct {
	Name      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TestResult is the answer of a test run of one action: the same fields as
// `spoke run` prints, plus the writes the action would make (or made).
type TestResult struct {
	Status       string            `json:"status"`
	OutputFields map[string]any    `json:"outputFields"`
	Logs         string            `json:"logs"`
	Error        *ActionError      `json:"error,omitempty"`
	DurationMs   float64           `json:"durationMs"`
	MemoryBytes  int64             `json:"memoryBytes"`
	Runtime      *TestRuntime      `json:"runtime,omitempty"`
	Writes       map[string]string `json:"writes"`
	NextActionID string            `json:"nextActionId,omitempty"`
	DryRun       bool              `json:"dryRun"`
}

// TestRuntime names the runtime that ran a test.
type TestRuntime struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}
