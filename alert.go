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
}
