package shadow

import "github.com/prometheus/client_golang/prometheus"

// Metrics are shadow mode's instruments, all named strangler_shadow_*. One is made per
// writer with the registry it is served from.
type Metrics struct {
	Queued          prometheus.Counter     // committed events handed to a worker
	Delivered       prometheus.Counter     // events the target accepted
	Failed          *prometheus.CounterVec // events not mirrored, by reason
	Recorded        prometheus.Counter     // failures written to the failures table
	Lost            prometheus.Counter     // failures that could not be recorded (logged instead)
	QueueDepth      prometheus.Gauge       // events held: reserved, queued or being delivered
	DeliverySeconds prometheus.Histogram   // duration of one batch's delivery, retries included
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Queued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "strangler_shadow_queued_total", Help: "Committed events handed to a shadow worker.",
		}),
		Delivered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "strangler_shadow_delivered_total", Help: "Shadowed events the target accepted.",
		}),
		Failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "strangler_shadow_failed_total", Help: "Events not mirrored, by reason (queue_full, timeout, target_error, commit_unknown, shutdown).",
		}, []string{"reason"}),
		Recorded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "strangler_shadow_failures_recorded_total", Help: "Failures written to the shadow failures table.",
		}),
		Lost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "strangler_shadow_failures_lost_total", Help: "Failures that could not be recorded (queue full or table unwritable); each is logged at error level.",
		}),
		QueueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "strangler_shadow_queue_depth", Help: "Events held in memory: reserved, queued or being delivered.",
		}),
		DeliverySeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "strangler_shadow_delivery_seconds", Help: "Duration of one batch's delivery to the target, retries included.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
	}
	reg.MustRegister(m.Queued, m.Delivered, m.Failed, m.Recorded, m.Lost, m.QueueDepth, m.DeliverySeconds)
	return m
}

// DiscardMetrics returns metrics registered nowhere.
func DiscardMetrics() *Metrics { return NewMetrics(prometheus.NewRegistry()) }
