package shadow

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the proxy's Prometheus metrics (one set per proxy, registered on the given
// registry; no global state).
type Metrics struct {
	Requests         *prometheus.CounterVec
	Mirrored         prometheus.Counter
	Dropped          prometheus.Counter
	Compared         *prometheus.CounterVec
	LegacySeconds    prometheus.Histogram
	CandidateSeconds prometheus.Histogram
}

// NewMetrics creates and registers the metrics.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "strangler_shadow_requests_total",
			Help: "Requests proxied to the legacy service."}, []string{"method"}),
		Mirrored: prometheus.NewCounter(prometheus.CounterOpts{Name: "strangler_shadow_mirrored_total",
			Help: "Requests queued for the candidate."}),
		Dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "strangler_shadow_dropped_total",
			Help: "Sampled requests not mirrored because the mirror queue was full."}),
		Compared: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "strangler_shadow_comparisons_total",
			Help: "Mirrored requests by endpoint and result: match, mismatch or candidate_error."}, []string{"endpoint", "result"}),
		LegacySeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "strangler_shadow_legacy_seconds",
			Help: "Time to serve a request through the proxy (legacy call included).", Buckets: prometheus.DefBuckets}),
		CandidateSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "strangler_shadow_candidate_seconds",
			Help: "Candidate response time.", Buckets: prometheus.DefBuckets}),
	}
	reg.MustRegister(m.Requests, m.Mirrored, m.Dropped, m.Compared, m.LegacySeconds, m.CandidateSeconds)
	return m
}
