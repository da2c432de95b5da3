package outbox

import "github.com/prometheus/client_golang/prometheus"

// RelayMetrics are the relay's instruments, all named strangler_outbox_relay_*. One is
// made per relay with the registry it is served from (no global state).
type RelayMetrics struct {
	Published      prometheus.Counter     // events the sink acknowledged
	Deleted        prometheus.Counter     // published rows deleted from the outbox
	Polls          prometheus.Counter     // reads of the outbox
	Errors         *prometheus.CounterVec // failures by stage (poll, delete, lease, sink), each retried
	Leader         prometheus.Gauge       // 1 while this relay holds the lease
	InFlight       prometheus.Gauge       // rows handed to the sink, not yet deleted
	LagSeconds     prometheus.Gauge       // age of the oldest row seen at the last poll; 0 when empty
	PublishSeconds prometheus.Histogram   // time from handing a row to the sink to its acknowledgement
}

// NewRelayMetrics creates the metrics and registers them with reg.
func NewRelayMetrics(reg prometheus.Registerer) *RelayMetrics {
	m := &RelayMetrics{
		Published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "strangler_outbox_relay_published_total", Help: "Outbox events the sink acknowledged.",
		}),
		Deleted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "strangler_outbox_relay_deleted_total", Help: "Published rows deleted from the outbox.",
		}),
		Polls: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "strangler_outbox_relay_polls_total", Help: "Reads of the outbox table.",
		}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "strangler_outbox_relay_errors_total", Help: "Failures by stage (poll, delete, lease, sink); the relay retries them.",
		}, []string{"stage"}),
		Leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "strangler_outbox_relay_leader", Help: "1 while this relay holds the outbox's lease and publishes; 0 on standby.",
		}),
		InFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "strangler_outbox_relay_in_flight", Help: "Rows handed to the sink and not yet deleted.",
		}),
		LagSeconds: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "strangler_outbox_relay_lag_seconds", Help: "Age of the oldest outbox row at the last poll; 0 when the outbox is empty.",
		}),
		PublishSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "strangler_outbox_relay_publish_seconds", Help: "Time from handing a row to the sink to its acknowledgement.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}),
	}
	reg.MustRegister(m.Published, m.Deleted, m.Polls, m.Errors, m.Leader, m.InFlight, m.LagSeconds, m.PublishSeconds)
	return m
}

// DiscardRelayMetrics returns metrics registered nowhere.
func DiscardRelayMetrics() *RelayMetrics { return NewRelayMetrics(prometheus.NewRegistry()) }
