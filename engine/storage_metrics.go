package engine

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/spokehq/spoke"
)

// storageCollector exports a store's storage figures. Reading them scans
// the database file, so a scrape reuses figures younger than maxAge.
type storageCollector struct {
	src    spoke.StorageReporter
	maxAge time.Duration

	mu   sync.Mutex
	last *spoke.StorageStats
	at   time.Time

	file, wal, free, rows, bytes, pruned, oldest *prometheus.Desc
}

// RegisterStorageMetrics registers with reg the database's size, rows and
// bytes per table, rows pruned by retention and the age of the oldest
// execution kept, read from src at most once per maxAge (default 30 s).
func RegisterStorageMetrics(reg prometheus.Registerer, src spoke.StorageReporter, maxAge time.Duration) {
	if maxAge <= 0 {
		maxAge = 30 * time.Second
	}
	c := &storageCollector{src: src, maxAge: maxAge,
		file:   prometheus.NewDesc("spoke_db_file_bytes", "Size of the database file.", nil, nil),
		wal:    prometheus.NewDesc("spoke_db_wal_bytes", "Size of the database's write-ahead log.", nil, nil),
		free:   prometheus.NewDesc("spoke_db_free_bytes", "Free pages in the database file, not yet given back.", nil, nil),
		rows:   prometheus.NewDesc("spoke_db_table_rows", "Rows per table.", []string{"table"}, nil),
		bytes:  prometheus.NewDesc("spoke_db_table_bytes", "Bytes per table, its indexes included.", []string{"table"}, nil),
		pruned: prometheus.NewDesc("spoke_db_rows_pruned_total", "Rows deleted by retention, per table.", []string{"table"}, nil),
		oldest: prometheus.NewDesc("spoke_oldest_execution_age_seconds", "Age of the oldest execution log kept (0 if none).", nil, nil),
	}
	reg.MustRegister(c)
}

// Describe implements prometheus.Collector.
func (c *storageCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.file, c.wal, c.free, c.rows, c.bytes, c.pruned, c.oldest} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *storageCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.stats()
	if st == nil {
		return
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	gauge(c.file, float64(st.FileBytes))
	gauge(c.wal, float64(st.WALBytes))
	gauge(c.free, float64(st.FreeBytes))
	for _, t := range st.Tables {
		gauge(c.rows, float64(t.Rows), t.Name)
		gauge(c.bytes, float64(t.Bytes+t.IndexBytes), t.Name)
	}
	for name, n := range st.Pruned {
		ch <- prometheus.MustNewConstMetric(c.pruned, prometheus.CounterValue, float64(n), name)
	}
	var age float64
	if !st.OldestExecution.IsZero() {
		age = time.Since(st.OldestExecution).Seconds()
	}
	gauge(c.oldest, age)
}

func (c *storageCollector) stats() *spoke.StorageStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last != nil && time.Since(c.at) < c.maxAge {
		return c.last
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := c.src.StorageStats(ctx)
	if err != nil {
		return c.last // the previous figures rather than none
	}
	c.last, c.at = st, time.Now()
	return st
}
