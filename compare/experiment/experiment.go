// Package experiment compares a legacy code path (the control) with its replacement (the
// candidate) in production, in the spirit of GitHub's Scientist: Run always returns the
// control's result; the candidate runs on a sampled share of calls, concurrently with the
// control or after it, bounded by a timeout, with its errors and panics contained, and
// every comparison is published.
//
// Its defaults cannot silently do nothing (scientist #80): every call is sampled unless
// told otherwise, and without a publisher mismatches are logged with slog; Stats says how
// many calls ran the candidate, so an experiment that never runs shows.
package experiment

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Mode says when the candidate runs.
type Mode int

const (
	// Concurrent starts the candidate with the control. Run returns as soon as the control
	// is done; the comparison happens when the candidate ends (or times out).
	Concurrent Mode = iota
	// AfterControl starts the candidate once the control is done, for code paths that must
	// not overlap (the candidate reads what the control wrote).
	AfterControl
)

// Observation is what one code path did.
type Observation[T any] struct {
	Value    T
	Err      error
	Panic    any // the candidate panicked with this value (Err describes it)
	Duration time.Duration
	TimedOut bool
}

// Result is one comparison.
type Result[T any] struct {
	Name      string
	Control   Observation[T]
	Candidate Observation[T]
	Matched   bool // equal by the comparison function
	Ignored   bool // different, but an ignore rule accepted the difference
}

// Mismatched reports a difference no ignore rule accepted.
func (r Result[T]) Mismatched() bool { return !r.Matched && !r.Ignored }

// Publisher receives every comparison (matches too: the parity rate needs them).
type Publisher[T any] interface {
	Publish(ctx context.Context, r Result[T])
}

// PublisherFunc adapts a function.
type PublisherFunc[T any] func(ctx context.Context, r Result[T])

// Publish calls f.
func (f PublisherFunc[T]) Publish(ctx context.Context, r Result[T]) { f(ctx, r) }

// Stats counts what an experiment did.
type Stats struct {
	Calls      int64 // Run calls
	Ran        int64 // candidate runs
	Skipped    int64 // not sampled
	Busy       int64 // sampled but not run: too many candidates already running
	Matched    int64
	Ignored    int64
	Mismatched int64
	Errors     int64 // candidate errors, panics or timeouts
}

// Experiment compares two code paths returning T.
type Experiment[T any] struct {
	name      string
	control   func(context.Context) (T, error)
	candidate func(context.Context) (T, error)
	compare   func(control, candidate Observation[T]) bool
	ignore    []func(control, candidate Observation[T]) bool
	percent   float64
	timeout   time.Duration
	mode      Mode
	wait      bool
	maxBusy   int64
	pub       Publisher[T]

	busy  atomic.Int64
	wg    sync.WaitGroup
	stats struct {
		sync.Mutex
		Stats
	}
}

// Option configures an experiment.
type Option[T any] func(*Experiment[T]) error

// WithCompare sets how values are compared (default: reflect.DeepEqual of the values, and
// errors equal when both are nil or have the same message).
func WithCompare[T any](f func(control, candidate T) bool) Option[T] {
	return func(e *Experiment[T]) error {
		if f == nil {
			return errors.New("WithCompare: nil function")
		}
		e.compare = func(a, b Observation[T]) bool { return sameErr(a.Err, b.Err) && (a.Err != nil || f(a.Value, b.Value)) }
		return nil
	}
}

// WithIgnore adds a rule accepting some differences (known bugs, fields still to migrate).
func WithIgnore[T any](f func(control, candidate Observation[T]) bool) Option[T] {
	return func(e *Experiment[T]) error {
		if f == nil {
			return errors.New("WithIgnore: nil function")
		}
		e.ignore = append(e.ignore, f)
		return nil
	}
}

// WithPercent samples this percent of calls (0 to 100; default 100).
func WithPercent[T any](p float64) Option[T] {
	return func(e *Experiment[T]) error {
		if p < 0 || p > 100 {
			return fmt.Errorf("WithPercent(%v): use 0 to 100", p)
		}
		e.percent = p
		return nil
	}
}

// WithTimeout bounds the candidate (default 1 s).
func WithTimeout[T any](d time.Duration) Option[T] {
	return func(e *Experiment[T]) error {
		if d <= 0 {
			return fmt.Errorf("WithTimeout(%v): give a positive duration", d)
		}
		e.timeout = d
		return nil
	}
}

// WithMode chooses Concurrent (default) or AfterControl.
func WithMode[T any](m Mode) Option[T] {
	return func(e *Experiment[T]) error { e.mode = m; return nil }
}

// WithWait makes Run wait for the candidate and the publisher before returning (batch jobs
// and tests; on a request path it adds the candidate's time to the latency).
func WithWait[T any]() Option[T] {
	return func(e *Experiment[T]) error { e.wait = true; return nil }
}

// WithMaxInFlight caps candidates running at once (default 64); beyond it calls are not
// sampled and counted as Busy, so a slow candidate cannot pile up goroutines.
func WithMaxInFlight[T any](n int) Option[T] {
	return func(e *Experiment[T]) error {
		if n < 1 {
			return fmt.Errorf("WithMaxInFlight(%d): give at least 1", n)
		}
		e.maxBusy = int64(n)
		return nil
	}
}

// WithPublisher sets where results go (default: mismatches and candidate errors logged
// with slog.Default()).
func WithPublisher[T any](p Publisher[T]) Option[T] {
	return func(e *Experiment[T]) error {
		if p == nil {
			return errors.New("WithPublisher: nil publisher")
		}
		e.pub = p
		return nil
	}
}

// New builds an experiment. Both code paths are required.
func New[T any](name string, control, candidate func(context.Context) (T, error), opts ...Option[T]) (*Experiment[T], error) {
	if name == "" {
		return nil, errors.New("experiment: give it a name (results are grouped by it)")
	}
	if control == nil || candidate == nil {
		return nil, fmt.Errorf("experiment %s: both the control and the candidate are required", name)
	}
	e := &Experiment[T]{name: name, control: control, candidate: candidate, percent: 100, timeout: time.Second, maxBusy: 64}
	e.compare = func(a, b Observation[T]) bool {
		return sameErr(a.Err, b.Err) && (a.Err != nil || reflect.DeepEqual(a.Value, b.Value))
	}
	e.pub = LogPublisher[T](slog.Default())
	for _, o := range opts {
		if err := o(e); err != nil {
			return nil, fmt.Errorf("experiment %s: %w", name, err)
		}
	}
	return e, nil
}

func sameErr(a, b error) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Error() == b.Error()
}

// Name returns the experiment's name.
func (e *Experiment[T]) Name() string { return e.name }

// Stats returns the counters so far.
func (e *Experiment[T]) Stats() Stats {
	e.stats.Lock()
	defer e.stats.Unlock()
	return e.stats.Stats
}

// Wait blocks until every candidate started so far has been compared and published.
func (e *Experiment[T]) Wait() { e.wg.Wait() }

// Run runs the control and returns its result; the candidate runs as configured. A panic
// in the control propagates as it would without the experiment.
func (e *Experiment[T]) Run(ctx context.Context) (T, error) {
	e.count(func(s *Stats) { s.Calls++ })
	if !e.sampled() {
		e.count(func(s *Stats) { s.Skipped++ })
		return e.control(ctx)
	}
	if e.busy.Add(1) > e.maxBusy {
		e.busy.Add(-1)
		e.count(func(s *Stats) { s.Busy++ })
		return e.control(ctx)
	}
	e.wg.Add(1)
	// The candidate outlives the request: its context keeps values but not cancellation.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.timeout)
	candDone := make(chan Observation[T], 1)
	start := func() { go func() { candDone <- e.observe(cctx, e.candidate) }() }
	if e.mode == Concurrent {
		start()
	}
	t0 := time.Now()
	returned := false
	defer func() {
		if !returned { // the control panicked: release what the candidate held, then let it go on
			cancel()
			e.busy.Add(-1)
			e.wg.Done()
		}
	}()
	value, err := e.control(ctx)
	returned = true
	control := Observation[T]{Value: value, Err: err, Duration: time.Since(t0)}
	if e.mode == AfterControl {
		start()
	}
	finish := func() {
		defer e.wg.Done()
		defer e.busy.Add(-1)
		defer cancel()
		cand := <-candDone
		e.publish(ctx, control, cand)
	}
	if e.wait {
		finish()
	} else {
		go finish()
	}
	return value, err
}

func (e *Experiment[T]) sampled() bool {
	switch {
	case e.percent >= 100:
		return true
	case e.percent <= 0:
		return false
	}
	return rand.Float64()*100 < e.percent
}

// observe runs a code path, containing its panics and bounding it by ctx's deadline.
func (e *Experiment[T]) observe(ctx context.Context, f func(context.Context) (T, error)) (o Observation[T]) {
	t0 := time.Now()
	done := make(chan Observation[T], 1)
	go func() {
		var r Observation[T]
		defer func() {
			if p := recover(); p != nil {
				r.Panic = p
				r.Err = fmt.Errorf("candidate panicked: %v\n%s", p, debug.Stack())
			}
			done <- r
		}()
		r.Value, r.Err = f(ctx)
	}()
	select {
	case o = <-done:
	case <-ctx.Done():
		o.Err = fmt.Errorf("candidate timed out: %w", ctx.Err())
		o.TimedOut = true
	}
	o.Duration = time.Since(t0)
	return o
}

func (e *Experiment[T]) publish(ctx context.Context, control, cand Observation[T]) {
	r := Result[T]{Name: e.name, Control: control, Candidate: cand}
	failed := cand.Panic != nil || cand.TimedOut || (cand.Err != nil && control.Err == nil)
	if !failed {
		r.Matched = e.safeCompare(control, cand)
	}
	if !r.Matched {
		for _, ig := range e.ignore {
			if ig(control, cand) {
				r.Ignored = true
				break
			}
		}
	}
	e.count(func(s *Stats) {
		s.Ran++
		switch {
		case r.Matched:
			s.Matched++
		case r.Ignored:
			s.Ignored++
		default:
			s.Mismatched++
		}
		if failed {
			s.Errors++
		}
	})
	func() {
		defer func() { _ = recover() }() // a broken publisher must not take the caller down
		e.pub.Publish(context.WithoutCancel(ctx), r)
	}()
}

func (e *Experiment[T]) safeCompare(a, b Observation[T]) (eq bool) {
	defer func() {
		if recover() != nil {
			eq = false
		}
	}()
	return e.compare(a, b)
}

func (e *Experiment[T]) count(f func(*Stats)) {
	e.stats.Lock()
	f(&e.stats.Stats)
	e.stats.Unlock()
}

// LogPublisher logs mismatches (warn) and candidate errors (warn) with l; matches at debug.
func LogPublisher[T any](l *slog.Logger) Publisher[T] {
	return PublisherFunc[T](func(ctx context.Context, r Result[T]) {
		switch {
		case r.Matched:
			l.DebugContext(ctx, "experiment matched", "experiment", r.Name, "candidate_duration", r.Candidate.Duration)
		case r.Ignored:
			l.DebugContext(ctx, "experiment mismatch ignored", "experiment", r.Name)
		default:
			l.WarnContext(ctx, "experiment mismatch", "experiment", r.Name, "control", fmt.Sprintf("%+v", r.Control.Value),
				"candidate", fmt.Sprintf("%+v", r.Candidate.Value), "control_err", r.Control.Err, "candidate_err", r.Candidate.Err)
		}
	})
}
