package compensate

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"os"
	"time"

	"github.com/strangler/strangler/compensate/metrics"
	"github.com/strangler/strangler/migrations"
)

const defaultPrefix = migrations.DefaultPrefix

// Options configure an Engine. The zero value works, for sagas of local steps.
type Options struct {
	// TablePrefix starts the journal's table names; default "strangler_".
	TablePrefix string
	// Instance names this engine in leases and attempt records; default host:pid:random.
	// Give every instance sharing a database its own.
	Instance string
	// Commands carries CommandStep commands and their replies (kinesisbus.New); needed
	// only by sagas with command steps.
	Commands Commander

	// StepTimeout bounds each attempt of an action or compensation, unless the step says
	// otherwise (Timeout); default 30 s.
	StepTimeout time.Duration
	// ActionAttempts is how many times an action failing with a non-definitive error is
	// tried (Attempts overrides it per step); default 3.
	ActionAttempts int
	// CompensationAttempts is how many times a compensation is tried before the saga is
	// marked stuck; default 20 (over an hour with the default backoff).
	CompensationAttempts int
	// Backoff paces the retries of actions and compensations.
	Backoff Backoff

	// Lease is how long a claim on a saga lasts without renewal; the running instance
	// renews it every Lease/3. Another instance takes over a saga whose lease expired
	// (its instance died). Default 30 s.
	Lease time.Duration
	// PollInterval is how often Run looks for due sagas (retries, replies, sagas of dead
	// instances); default 1 s.
	PollInterval time.Duration
	// MaxInlineWait: a saga due again within this (a short backoff, a reply expected soon)
	// is waited for while keeping its lease; a longer wait parks it (lease released,
	// next_run_at persisted). Default 5 s.
	MaxInlineWait time.Duration
	// Concurrency is how many sagas Run drives at once; default 16.
	Concurrency int
	// MetricsInterval is how often Run reads saga counts for the gauges; default 15 s.
	MetricsInterval time.Duration
	// Retention, when set, makes Run delete sagas that completed or were compensated
	// longer ago than this (stuck sagas are never deleted).
	Retention time.Duration

	// Logger receives the engine's logs; default slog.Default().
	Logger *slog.Logger
	// Metrics receives the engine's metrics; default metrics registered nowhere.
	Metrics *metrics.Metrics
	// OnEvent, when set, is called synchronously as attempts start, return and finish,
	// and as sagas end: for tracing and for tests that stop the process at a given point.
	OnEvent func(Event)
}

// Backoff is exponential backoff with jitter: the n-th retry waits Initial·Multiplier^(n-1),
// at most Max, minus a random share up to Jitter of it (so that retries of many sagas
// spread out instead of hammering a recovering service together).
type Backoff struct {
	Initial    time.Duration // default 1 s
	Max        time.Duration // default 5 min
	Multiplier float64       // default 2
	Jitter     float64       // 0 to 1; default 0.2
}

// Delay returns the wait before retry n (1 for the first retry).
func (b Backoff) Delay(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	d := float64(b.Initial) * math.Pow(b.Multiplier, float64(n-1))
	if d > float64(b.Max) || math.IsInf(d, 0) || math.IsNaN(d) {
		d = float64(b.Max)
	}
	d -= d * b.Jitter * mrand.Float64()
	return time.Duration(d)
}

func (o Options) withDefaults() (Options, error) {
	if o.TablePrefix == "" {
		o.TablePrefix = defaultPrefix
	}
	if o.Instance == "" {
		host, _ := os.Hostname()
		if len(host) > 32 {
			host = host[:32]
		}
		b := make([]byte, 3)
		_, _ = rand.Read(b)
		o.Instance = fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b))
	}
	if len(o.Instance) > 48 {
		return o, fmt.Errorf("compensate: Options.Instance %q is over 48 bytes: shorten it (it goes in 64-byte lease columns)", o.Instance)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.StepTimeout, 30*time.Second)
	def(&o.Lease, 30*time.Second)
	def(&o.PollInterval, time.Second)
	def(&o.MaxInlineWait, 5*time.Second)
	def(&o.MetricsInterval, 15*time.Second)
	def(&o.Backoff.Initial, time.Second)
	def(&o.Backoff.Max, 5*time.Minute)
	if o.Backoff.Multiplier == 0 {
		o.Backoff.Multiplier = 2
	}
	if o.Backoff.Jitter == 0 {
		o.Backoff.Jitter = 0.2
	}
	if o.ActionAttempts == 0 {
		o.ActionAttempts = 3
	}
	if o.CompensationAttempts == 0 {
		o.CompensationAttempts = 20
	}
	if o.Concurrency == 0 {
		o.Concurrency = 16
	}
	switch {
	case o.StepTimeout < 0, o.Lease < 0, o.PollInterval < 0, o.MaxInlineWait < 0, o.MetricsInterval < 0, o.Retention < 0,
		o.Backoff.Initial < 0, o.Backoff.Max < 0:
		return o, fmt.Errorf("compensate: negative duration in Options")
	case o.ActionAttempts < 0, o.CompensationAttempts < 0, o.Concurrency < 0:
		return o, fmt.Errorf("compensate: negative count in Options")
	case o.Backoff.Multiplier < 1:
		return o, fmt.Errorf("compensate: Backoff.Multiplier %g: use 1 or more", o.Backoff.Multiplier)
	case o.Backoff.Jitter < 0 || o.Backoff.Jitter > 1:
		return o, fmt.Errorf("compensate: Backoff.Jitter %g: use 0 to 1", o.Backoff.Jitter)
	case o.Lease < 3*time.Millisecond:
		return o, fmt.Errorf("compensate: Lease %s is too short to renew", o.Lease)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Metrics == nil {
		o.Metrics = metrics.Discard()
	}
	return o, nil
}

// EventKind says what an Event reports.
type EventKind string

const (
	// AttemptStarted: the attempt is recorded and about to run (for a command: to be sent).
	AttemptStarted EventKind = "attempt-started"
	// AttemptReturned: the function returned or the command was sent; the outcome is not
	// recorded yet.
	AttemptReturned EventKind = "attempt-returned"
	// AttemptFinished: the attempt's outcome and the step's new state are recorded.
	AttemptFinished EventKind = "attempt-finished"
	// SagaEnded: the saga completed, was compensated, or got stuck.
	SagaEnded EventKind = "saga-ended"
)

// Event is a point in a saga's life, given to Options.OnEvent.
type Event struct {
	Kind    EventKind
	SagaID  string
	Saga    string
	Step    string // empty for SagaEnded
	Op      Op
	Attempt int
	Outcome Outcome // AttemptFinished: how the attempt ended
	State   State   // SagaEnded: the end state
}
