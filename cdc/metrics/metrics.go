// Package metrics holds the CDC daemon's Prometheus metrics. One Metrics is made per
// daemon with its own registry (no global state); stages receive it and update what they
// own.
package metrics

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the daemon's instruments, all named strangler_cdc_*.
type Metrics struct {
	Events           *prometheus.CounterVec // events emitted, by db, table, op
	SinkRecords      prometheus.Counter     // records acknowledged by the sink
	SinkBytes        prometheus.Counter     // bytes of acknowledged records
	SinkLatency      prometheus.Histogram   // duration of one sink request (PutRecords, a file's fsync)
	SinkRetries      *prometheus.CounterVec // records sent again, by reason
	SinkThrottles    prometheus.Counter     // throttling answers from the sink
	SinkRateLimit    prometheus.Gauge       // records/s the adaptive limiter allows (0: unlimited)
	SinkInFlight     prometheus.Gauge       // records handed to the sink and not yet acknowledged
	DeadLetters      *prometheus.CounterVec // records written to the dead-letter file, by db, table
	SourceLagSeconds prometheus.Gauge       // now minus commit time of the last event read
	SourceLagBytes   prometheus.Gauge       // binlog bytes between the checkpoint and the source head
	Reconnects       prometheus.Counter     // reconnections to the source
	DDL              *prometheus.CounterVec // DDL statements applied to the schema history, by db
	CheckpointSaves  prometheus.Counter     // checkpoints written
	CheckpointTime   prometheus.Gauge       // unix time of the last checkpoint written
	Transactions     prometheus.Counter     // transactions read from the binlog
	Info             *prometheus.GaugeVec   // 1, labelled with version and flavor

	lastSave atomic.Int64 // unix nanoseconds of the last checkpoint written, for the age gauge
}

// CheckpointSaved records that a checkpoint was written at t.
func (m *Metrics) CheckpointSaved(t time.Time) {
	m.CheckpointSaves.Inc()
	m.CheckpointTime.Set(float64(t.UnixNano()) / 1e9)
	m.lastSave.Store(t.UnixNano())
}

// New creates the metrics and registers them with reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "strangler_cdc_events_total", Help: "Row change events emitted, by database, table and op (c, u, d).",
		}, []string{"db", "table", "op"}),
		SinkRecords: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "strangler_cdc_sink_records_total", Help: "Records acknowledged by the sink.",
		}),
		SinkBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "strangler_cdc_sink_bytes_total", Help: "Bytes of records acknowledged by the sink (data plus partition key).",
		}),
		SinkLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "strangler_cdc_sink_request_seconds", Help: "Duration of one sink request (a PutRecords call, a file write).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}),
		SinkRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "strangler_cdc_sink_retries_total", Help: "Records sent again, by reason (throttled, failed_entry, transient).",
		}, []string{"reason"}),
		SinkThrottles: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "strangler_cdc_sink_throttles_total", Help: "Throttling answers from the sink (ProvisionedThroughputExceeded, KMSThrottling), per request or entry.",
		}),
		SinkRateLimit: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "strangler_cdc_sink_rate_limit_records_per_second", Help: "Send rate the adaptive limiter currently allows; 0 when unlimited.",
		}),
		SinkInFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "strangler_cdc_sink_in_flight_records", Help: "Records handed to the sink and not yet acknowledged.",
		}),
		DeadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "strangler_cdc_dead_letters_total", Help: "Records written to the dead-letter file instead of the sink (--oversize skip), by database and table.",
		}, []string{"db", "table"}),
		SourceLagSeconds: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "strangler_cdc_source_lag_seconds", Help: "Seconds between now and the commit time of the last event read; 0 when caught up.",
		}),
		SourceLagBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "strangler_cdc_source_lag_bytes", Help: "Binlog bytes between the checkpoint and the source's head.",
		}),
		Reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "strangler_cdc_source_reconnects_total", Help: "Reconnections to the source after a dropped connection or a restart.",
		}),
		DDL: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "strangler_cdc_ddl_total", Help: "DDL statements applied to the schema history, by database.",
		}, []string{"db"}),
		CheckpointSaves: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "strangler_cdc_checkpoint_saves_total", Help: "Checkpoints written.",
		}),
		CheckpointTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "strangler_cdc_checkpoint_timestamp_seconds", Help: "Unix time the last checkpoint was written; checkpoint age is time() minus this.",
		}),
		Transactions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "strangler_cdc_transactions_total", Help: "Transactions read from the binlog.",
		}),
		Info: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "strangler_cdc_info", Help: "Always 1; labels say which build and source flavor run.",
		}, []string{"version", "flavor"}),
	}
	age := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "strangler_cdc_checkpoint_age_seconds", Help: "Seconds since the last checkpoint was written; -1 before the first.",
	}, func() float64 {
		last := m.lastSave.Load()
		if last == 0 {
			return -1
		}
		return time.Since(time.Unix(0, last)).Seconds()
	})
	reg.MustRegister(age)
	for _, reason := range []string{"throttled", "failed_entry", "transient"} {
		m.SinkRetries.WithLabelValues(reason) // shown at 0 before the first retry
	}
	reg.MustRegister(m.Events, m.SinkRecords, m.SinkBytes, m.SinkLatency, m.SinkRetries, m.SinkThrottles,
		m.SinkRateLimit, m.SinkInFlight, m.DeadLetters, m.SourceLagSeconds, m.SourceLagBytes, m.Reconnects,
		m.DDL, m.CheckpointSaves, m.CheckpointTime, m.Transactions, m.Info)
	return m
}

// Discard returns metrics registered nowhere, for tests and tools that do not serve them.
func Discard() *Metrics { return New(prometheus.NewRegistry()) }
