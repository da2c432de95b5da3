package mirror

import "github.com/prometheus/client_golang/prometheus"

// Metrics are mirror mode's instruments (the writer's units and the recovery loop), all
// named strangler_mirror_*. One is made per component with the registry it is served from.
type Metrics struct {
	Units           *prometheus.CounterVec // units finished, by outcome (committed, not_committed, unknown)
	ApplySeconds    prometheus.Histogram   // duration of the target's Apply during a unit
	Compensations   *prometheus.CounterVec // compensation attempts, by result (ok, failed)
	Recovered       *prometheus.CounterVec // journal entries resolved by recovery, by action (finished, compensated)
	RecoveryErrors  prometheus.Counter     // recovery passes or entries that failed (retried later)
	Pending         prometheus.Gauge       // journal entries pending or compensating, at the last recovery pass
	OldestPendingAt prometheus.Gauge       // age in seconds of the oldest such entry; 0 when none
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Units: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "strangler_mirror_units_total", Help: "Mirrored units finished, by outcome of the legacy commit (committed, not_committed, unknown).",
		}, []string{"outcome"}),
		ApplySeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "strangler_mirror_apply_seconds", Help: "Duration of the target's Apply inside a unit.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		Compensations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "strangler_mirror_compensations_total", Help: "Compensation attempts, by result (ok, failed).",
		}, []string{"result"}),
		Recovered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "strangler_mirror_recovered_total", Help: "Journal entries resolved by recovery, by action (finished, compensated).",
		}, []string{"action"}),
		RecoveryErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "strangler_mirror_recovery_errors_total", Help: "Recovery passes or entries that failed; retried with backoff.",
		}),
		Pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "strangler_mirror_pending_units", Help: "Journal entries pending or compensating at the last recovery pass.",
		}),
		OldestPendingAt: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "strangler_mirror_oldest_pending_seconds", Help: "Age of the oldest pending or compensating journal entry; 0 when none.",
		}),
	}
	reg.MustRegister(m.Units, m.ApplySeconds, m.Compensations, m.Recovered, m.RecoveryErrors, m.Pending, m.OldestPendingAt)
	return m
}

// DiscardMetrics returns metrics registered nowhere.
func DiscardMetrics() *Metrics { return NewMetrics(prometheus.NewRegistry()) }
