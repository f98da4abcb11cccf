package engine

import (
	"context"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/spokehq/spoke"
)

// Metrics are the engine's Prometheus metrics.
type Metrics struct {
	Executions *prometheus.CounterVec
	Duration   *prometheus.HistogramVec
	QueueDepth prometheus.GaugeFunc
	// Rollouts counts rollout events (stage_passed, stage_opened, halted,
	// aborted); Alerts counts alerts by type.
	Rollouts *prometheus.CounterVec
	Alerts   *prometheus.CounterVec
}

// NewMetrics registers the engine's metrics with reg. Queue depth is read
// from the store when scraped.
func NewMetrics(reg prometheus.Registerer, store spoke.EngineStore) *Metrics {
	m := &Metrics{
		Executions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spoke_action_executions_total",
			Help: "Workflow action executions by action type, status and runtime.",
		}, []string{"action_type", "status", "runtime"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "spoke_action_duration_seconds",
			Help:    "Duration of workflow action executions.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 20},
		}, []string{"action_type", "runtime"}),
		Rollouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spoke_rollout_events_total",
			Help: "Staged rollout events: stage_passed, stage_opened, halted, aborted.",
		}, []string{"event"}),
		Alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spoke_alerts_total",
			Help: "Alerts raised, by type (ROLLOUT_HALTED, FAILURE_RATE, QUOTA_80_PERCENT, QUOTA_EXHAUSTED).",
		}, []string{"type"}),
	}
	m.QueueDepth = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "spoke_enrollments_due",
		Help: "Active enrollments that are due and not claimed by a runner.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := store.QueueDepth(ctx, time.Now())
		if err != nil {
			return -1
		}
		return float64(n)
	})
	reg.MustRegister(m.Executions, m.Duration, m.QueueDepth, m.Rollouts, m.Alerts)
	return m
}

func runtimeLabel(x *spoke.Execution) string {
	if x.Runtime == "" {
		return "none"
	}
	name, _, _ := strings.Cut(x.Runtime, " ")
	return name
}

func (m *Metrics) observe(x *spoke.Execution) {
	rt := runtimeLabel(x)
	m.Executions.WithLabelValues(x.ActionType, x.Status, rt).Inc()
	m.Duration.WithLabelValues(x.ActionType, rt).Observe(x.DurationMs / 1000)
}
