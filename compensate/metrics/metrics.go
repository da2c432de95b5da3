// Package metrics holds the saga engine's Prometheus metrics. One Metrics is made per
// engine with the registry the application serves (no global state); the engine updates
// what it owns.
package metrics

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the engine's instruments, all named strangler_saga_*. Label "saga" is a
// saga definition's name, "step" a step's name: both bounded by the code that defines them.
type Metrics struct {
	Sagas           *prometheus.GaugeVec     // sagas stored, by saga and state (read from the database)
	Stuck           *prometheus.GaugeVec     // stuck sagas, by saga (read from the database)
	Started         *prometheus.CounterVec   // sagas started by this instance, by saga
	Finished        *prometheus.CounterVec   // sagas this instance finished, by saga and state
	Attempts        *prometheus.CounterVec   // action attempts, by saga, step and outcome
	Compensations   *prometheus.CounterVec   // compensation attempts, by saga, step and outcome
	StepSeconds     *prometheus.HistogramVec // duration of one attempt, by saga, step and op
	Replies         *prometheus.CounterVec   // command replies read, by result (recorded, ignored)
	LeasesLost      prometheus.Counter       // sagas whose lease another instance took while this one ran them
	RecoveryClaimed prometheus.Counter       // sagas the recovery loop claimed
}

// New creates the metrics and registers them with reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Sagas: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "strangler_saga_sagas", Help: "Sagas in the journal, by saga name and state (running, compensating, completed, compensated, stuck).",
		}, []string{"saga", "state"}),
		Stuck: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "strangler_saga_stuck", Help: "Sagas whose compensation gave up and wait for `strangler compensate retry`, by saga name.",
		}, []string{"saga"}),
		Started: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "strangler_saga_started_total", Help: "Sagas started by this instance, by saga name.",
		}, []string{"saga"}),
		Finished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "strangler_saga_finished_total", Help: "Sagas this instance brought to an end state (completed, compensated, stuck), by saga name and state.",
		}, []string{"saga", "state"}),
		Attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "strangler_saga_action_attempts_total", Help: "Action attempts, by saga, step and outcome (ok, failed, error, timeout, lost).",
		}, []string{"saga", "step", "outcome"}),
		Compensations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "strangler_saga_compensation_attempts_total", Help: "Compensation attempts, by saga, step and outcome (ok, noop, failed, error, timeout, lost).",
		}, []string{"saga", "step", "outcome"}),
		StepSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "strangler_saga_step_seconds", Help: "Duration of one attempt of an action or compensation, until its outcome is known, by saga, step and op.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 18),
		}, []string{"saga", "step", "op"}),
		Replies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "strangler_saga_replies_total", Help: "Command replies read from the reply stream, by result (recorded, ignored: stale, duplicate or not ours).",
		}, []string{"result"}),
		LeasesLost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "strangler_saga_leases_lost_total", Help: "Sagas whose lease expired and was taken by another instance while this one ran them.",
		}),
		RecoveryClaimed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "strangler_saga_recovery_claims_total", Help: "Sagas claimed by the recovery loop (due retries, parked commands, crashed instances' sagas).",
		}),
	}
	reg.MustRegister(m.Sagas, m.Stuck, m.Started, m.Finished, m.Attempts, m.Compensations, m.StepSeconds,
		m.Replies, m.LeasesLost, m.RecoveryClaimed)
	return m
}

// Discard returns metrics registered nowhere.
func Discard() *Metrics { return New(prometheus.NewRegistry()) }
