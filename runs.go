package spoke

import (
	"context"
	"time"
)

// FlowStats counts a flow's enrollments by status and its recent
// executions, for the web UI's workflow list and live progress.
type FlowStats struct {
	FlowID                     string
	Enrolled                   int64
	Active, Completed, Failed  int64
	LastRun                    time.Time // zero if no action ever ran
	RecentRuns, RecentFailures int64     // executions since the query's time, and how many failed
}

// FailureRate is the share of recent executions that failed, 0 when none
// ran.
func (s *FlowStats) FailureRate() float64 {
	if s.RecentRuns == 0 {
		return 0
	}
	return float64(s.RecentFailures) / float64(s.RecentRuns)
}

// DayRuns counts the executions of one UTC day and how many failed.
type DayRuns struct {
	Day        time.Time
	Executions int64
	Failures   int64
}

// RunQuery filters and pages enrollments or executions newest first:
// rows with ids below Before (0: from the newest), at most Limit.
type RunQuery struct {
	Status   string
	ActionID string // executions only
	ObjectID int64
	Before   int64
	Limit    int
}

// RunStore answers the read-only questions of the web UI about runs that
// the automation v4 API has no call for. Every query is paged or bounded
// by an index, so it stays fast with hundreds of thousands of rows.
type RunStore interface {
	// FlowStats returns the stats of the given flows, counting executions
	// started at or after since as recent.
	FlowStats(ctx context.Context, account int64, flowIDs []string, since time.Time) (map[string]*FlowStats, error)
	// RecentEnrollments pages through a flow's enrollments newest first,
	// and says whether older ones follow.
	RecentEnrollments(ctx context.Context, account int64, flowID string, q RunQuery) ([]*Enrollment, bool, error)
	// RecentExecutions pages through a flow's executions newest first.
	RecentExecutions(ctx context.Context, account int64, flowID string, q RunQuery) ([]*Execution, bool, error)
	// GetExecution returns one execution, or ENOTFOUND.
	GetExecution(ctx context.Context, account int64, id int64) (*Execution, error)
	// RecordEnrollments returns the newest enrollments of a record in any
	// flow, at most limit.
	RecordEnrollments(ctx context.Context, account int64, objectType string, objectID int64, limit int) ([]*Enrollment, error)
	// DailyRuns counts executions per UTC day from since's day to today;
	// days without executions are absent.
	DailyRuns(ctx context.Context, account int64, since time.Time) ([]DayRuns, error)
}
