package spoke

import (
	"context"
	"time"
)

// AlertSettings is an account's alert webhook: events (a rollout halted, a
// flow failing, the quota running out) are POSTed to URL as JSON.
type AlertSettings struct {
	AccountID int64
	URL       string
	// FailureRate is the share of failed executions among a flow's last
	// FailureWindow executions above which an alert is sent.
	FailureRate   float64
	FailureWindow int
	UpdatedAt     time.Time
}

// Default alert thresholds.
const (
	DefaultAlertFailureRate   = 0.2
	DefaultAlertFailureWindow = 50
)

// AlertCheck is what the alert checks of an account remember from one
// check to the next, in the store, so that whichever engine process checks
// next goes on from there: each execution is looked at once, and an alert
// is sent once.
type AlertCheck struct {
	// LastExecution is the largest execution id the last check saw.
	LastExecution int64
	// Failing are the flows that were over their failure threshold when
	// last seen: an alert is sent when a flow joins them.
	Failing []string
}

// AlertStore keeps alert settings and what was announced.
type AlertStore interface {
	// AlertSettings returns an account's settings, or ENOTFOUND.
	AlertSettings(ctx context.Context, account int64) (*AlertSettings, error)
	// PutAlertSettings stores an account's settings.
	PutAlertSettings(ctx context.Context, s *AlertSettings) error
	// AllAlertSettings returns every account's settings.
	AllAlertSettings(ctx context.Context) ([]*AlertSettings, error)
	// MarkQuotaLevel records that the quota level (80, 100) of period was
	// announced; it reports false if that level or a higher one already
	// was.
	MarkQuotaLevel(ctx context.Context, account int64, period string, level int) (bool, error)
	// FlowsExecutedSince returns the flows of an account with executions
	// whose id is above after, and the largest such id.
	FlowsExecutedSince(ctx context.Context, account, after int64) ([]string, int64, error)
	// RecentFailures counts the failed ones among a flow's last n
	// executions, and how many there were.
	RecentFailures(ctx context.Context, account int64, flowID string, n int) (failed, total int, err error)
	// ClaimAlertCheck takes the account's next alert check for lease
	// (until lease.Until) and returns what the last check saved; it
	// reports false, and takes nothing, while another lease on the check
	// has not ended or when the last check was saved less than every
	// before now.
	ClaimAlertCheck(ctx context.Context, account int64, lease Lease, now time.Time, every time.Duration) (*AlertCheck, bool, error)
	// SaveAlertCheck stores what a check saw and ends its lease, if lease
	// still holds the check; it reports false, and stores nothing, when
	// the lease ended and another caller took the check.
	SaveAlertCheck(ctx context.Context, account int64, lease Lease, c *AlertCheck, now time.Time) (bool, error)
}
