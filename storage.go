package spoke

import (
	"context"
	"log/slog"
	"time"
)

// Retention says how long an account's run history is kept. Finished
// enrollments (COMPLETED, CANCELLED, UNENROLLED) and execution logs are
// deleted Days after they finished or ran; FAILED enrollments and failed
// executions FailedDays after. Active and held enrollments are never
// deleted, nor property history (docs/store.md, "Retention").
type Retention struct {
	Days       int `json:"days"`
	FailedDays int `json:"failedDays"`
	// MaxExecutionsPerFlow caps the executions kept per flow, the oldest
	// going first; 0 means no cap.
	MaxExecutionsPerFlow int `json:"maxExecutionsPerFlow"`
}

// DefaultRetention is the retention of an account that set none, unless
// the server is started with other defaults.
var DefaultRetention = Retention{Days: 30, FailedDays: 90}

// Validate returns EINVALID if r cannot be applied.
func (r Retention) Validate() error {
	switch {
	case r.Days < 1 || r.Days > 36500:
		return Invalidf("days must be between 1 and 36500, got %d.", r.Days)
	case r.FailedDays < 1 || r.FailedDays > 36500:
		return Invalidf("failedDays must be between 1 and 36500, got %d.", r.FailedDays)
	case r.MaxExecutionsPerFlow < 0:
		return Invalidf("maxExecutionsPerFlow must be 0 (no cap) or more, got %d.", r.MaxExecutionsPerFlow)
	}
	return nil
}

// RetentionService reads and sets accounts' retention.
type RetentionService interface {
	// Retention returns the account's retention: its own settings, or the
	// server's defaults.
	Retention(ctx context.Context, account int64) (Retention, error)
	// SetRetention sets the account's retention; EINVALID if r is not
	// valid.
	SetRetention(ctx context.Context, account int64, r Retention) (Retention, error)
}

// TableStats is one table's rows and the bytes of its pages and of its
// indexes' pages.
type TableStats struct {
	Name       string
	Rows       int64
	Bytes      int64
	IndexBytes int64
}

// StorageStats describes the data a store keeps.
type StorageStats struct {
	FileBytes int64 // the database file
	WALBytes  int64 // its write-ahead log
	FreeBytes int64 // pages of the file that hold nothing (given back by vacuum)
	Tables    []TableStats
	// Pruned counts the rows retention has deleted, by table, since the
	// database was created.
	Pruned map[string]int64
	// OldestExecution is when the oldest execution kept ran; zero if none.
	OldestExecution time.Time
}

// StorageReporter reports a store's storage.
type StorageReporter interface {
	StorageStats(ctx context.Context) (*StorageStats, error)
}

// PruneConfig paces a store's background pruning.
type PruneConfig struct {
	// Every is the time between pruning cycles (default a minute).
	Every time.Duration
	// Batch is the most rows one transaction deletes (default 500).
	Batch int
	// Duty is the share of time the pruner may spend deleting: after a
	// batch that took d it sleeps d*(1-Duty)/Duty. The default is 0.05
	// on SQLite, where it is the share of the single writer's time it
	// takes, and 0.5 on PostgreSQL, where there is no single writer.
	Duty float64
}

// WithDefaults returns c with its zero fields set to their defaults.
func (c PruneConfig) WithDefaults() PruneConfig {
	if c.Every <= 0 {
		c.Every = time.Minute
	}
	if c.Batch <= 0 {
		c.Batch = 500
	}
	if c.Duty <= 0 || c.Duty > 1 {
		c.Duty = 0.05
	}
	return c
}

// RunCycles calls cycle every c.Every until ctx ends, the first time at
// once; a failed cycle is logged and tried again at the next. It is the
// loop of every store's RunPruner.
func (c PruneConfig) RunCycles(ctx context.Context, logger *slog.Logger, cycle func(context.Context) error) {
	t := time.NewTicker(c.Every)
	defer t.Stop()
	for {
		if err := cycle(ctx); err != nil && ctx.Err() == nil {
			logger.Warn("pruning failed; trying again next cycle", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Pruner is a store that deletes the run history its accounts' retention
// makes due (docs/store.md, "Retention").
type Pruner interface {
	RetentionService
	// SetRetentionDefaults sets the retention of accounts that set none
	// (the server's flags); EINVALID if r is not valid.
	SetRetentionDefaults(r Retention) error
	// HoldRetention keeps every run of a flow from pruning until
	// ReleaseRetention with the same reason.
	HoldRetention(ctx context.Context, flowID, reason string) error
	// ReleaseRetention ends a hold of HoldRetention.
	ReleaseRetention(ctx context.Context, flowID, reason string) error
	// PruneCycle deletes everything due now, in batches paced by cfg, and
	// returns the rows deleted.
	PruneCycle(ctx context.Context, cfg PruneConfig) (int, error)
	// RunPruner runs a PruneCycle every cfg.Every until ctx ends.
	RunPruner(ctx context.Context, cfg PruneConfig)
}
