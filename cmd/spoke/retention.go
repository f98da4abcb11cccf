package main

import (
	"flag"
	"os"
	"strconv"

	"github.com/spokehq/spoke"
)

// retentionOpts are the retention flags of `spoke serve` and `spoke
// worker`: the retention of accounts that set none through the API. On
// PostgreSQL every process should have the same (SPOKE_RETENTION_*): the
// API answers with its own, and the pruner prunes with the one of the
// process whose turn it is.
type retentionOpts struct{ days, failedDays, maxPerFlow *int }

// retentionFlags declares the flags, whose defaults come from
// SPOKE_RETENTION_DAYS, SPOKE_RETENTION_FAILED_DAYS and
// SPOKE_RETENTION_MAX_EXECUTIONS when set, else spoke.DefaultRetention.
func retentionFlags(fs *flag.FlagSet) *retentionOpts {
	env := func(name string, def int) int {
		if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
			return v
		}
		return def
	}
	d := spoke.DefaultRetention
	return &retentionOpts{
		days: fs.Int("retention-days", env("SPOKE_RETENTION_DAYS", d.Days),
			"days finished enrollments and execution logs are kept (env SPOKE_RETENTION_DAYS)"),
		failedDays: fs.Int("retention-failed-days", env("SPOKE_RETENTION_FAILED_DAYS", d.FailedDays),
			"days failed enrollments and failed executions are kept (env SPOKE_RETENTION_FAILED_DAYS)"),
		maxPerFlow: fs.Int("retention-max-executions", env("SPOKE_RETENTION_MAX_EXECUTIONS", d.MaxExecutionsPerFlow),
			"most executions kept per flow, 0 for no cap (env SPOKE_RETENTION_MAX_EXECUTIONS)"),
	}
}

func (o *retentionOpts) retention() spoke.Retention {
	return spoke.Retention{Days: *o.days, FailedDays: *o.failedDays, MaxExecutionsPerFlow: *o.maxPerFlow}
}
