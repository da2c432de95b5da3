package compensate_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/compensate"
	"github.com/strangler/strangler/compensate/internal/sagatest"
	"github.com/strangler/strangler/compensate/journal"
	"github.com/strangler/strangler/compensate/metrics"
	"github.com/strangler/strangler/internal/testenv"
)

func TestOrderSagaCompletes(t *testing.T) {
	t.Parallel()
	db := sagatest.Database(t)
	e := newEngine(t, db.DB, compensate.Options{}, sagatest.OrderSaga("place-order", db.DB, nil))
	g, err := e.Start(context.Background(), "place-order", order("o1"))
	require.NoError(t, err)
	require.Equal(t, compensate.Completed, g.State)
	require.False(t, g.FinishedAt.IsZero())

	g = wait(t, e, g.ID)
	require.Equal(t, []string{"done", "done", "done"}, stepStates(g))
	require.Equal(t, []string{"reserve-inventory/action/1:ok", "process-payment/action/1:ok", "ship/action/1:ok"}, attemptsOf(g))
	require.JSONEq(t, `{"id":"pay-o1"}`, string(g.Steps[1].Output), "the payment step's output is kept for its compensation")
	sagatest.RequireCompleted(t, db.DB, "o1")
	sagatest.RequireNoDoubleExecution(t, db.DB, g)
	require.Empty(t, g.LeaseOwner, "an ended saga holds no lease")
}

// A definitive failure at each step: the steps before it are compensated, last first; the
// failing step is not (it changed nothing); the steps after it never run.
func TestDefinitiveFailureAtEachStep(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		step  string
		steps []string
		calls []sagatest.Call
	}{
		{sagatest.Reserve, []string{"failed", "pending", "pending"}, []sagatest.Call{
			{Step: sagatest.Reserve, Op: compensate.OpAction, Attempt: 1},
		}},
		{sagatest.Pay, []string{"compensated", "failed", "pending"}, []sagatest.Call{
			{Step: sagatest.Reserve, Op: compensate.OpAction, Attempt: 1},
			{Step: sagatest.Pay, Op: compensate.OpAction, Attempt: 1},
			{Step: sagatest.Reserve, Op: compensate.OpCompensation, Attempt: 1},
		}},
		{sagatest.Ship, []string{"compensated", "compensated", "failed"}, []sagatest.Call{
			{Step: sagatest.Reserve, Op: compensate.OpAction, Attempt: 1},
			{Step: sagatest.Pay, Op: compensate.OpAction, Attempt: 1},
			{Step: sagatest.Ship, Op: compensate.OpAction, Attempt: 1},
			{Step: sagatest.Pay, Op: compensate.OpCompensation, Attempt: 1},
			{Step: sagatest.Reserve, Op: compensate.OpCompensation, Attempt: 1},
		}},
	} {
		t.Run(tc.step, func(t *testing.T) {
			t.Parallel()
			db := sagatest.Database(t)
			faults := sagatest.Faults{sagatest.FaultKey(tc.step, compensate.OpAction): func(context.Context, *compensate.Call) error {
				return compensate.Failf("%s refused", tc.step)
			}}
			e := newEngine(t, db.DB, compensate.Options{}, sagatest.OrderSaga("place-order", db.DB, faults))
			g, err := e.Start(context.Background(), "place-order", order("o1"))
			require.NoError(t, err)
			require.Equal(t, compensate.Compensated, g.State)
			require.Contains(t, g.Error, "step "+tc.step+" failed: "+tc.step+" refused")
			g = wait(t, e, g.ID)
			require.Equal(t, tc.steps, stepStates(g))
			require.Equal(t, tc.calls, sagatest.Calls(t, db.DB, g.ID))
			sagatest.RequireUndone(t, db.DB, "o1")
			sagatest.RequireNoDoubleExecution(t, db.DB, g)
		})
	}
}

// Errors that may go away are retried with backoff; the saga completes.
func TestTransientErrorsAreRetried(t *testing.T) {
	t.Parallel()
	db := sagatest.Database(t)
	faults := sagatest.Faults{sagatest.FaultKey(sagatest.Pay, compensate.OpAction): func(_ context.Context, c *compensate.Call) error {
		if c.Attempt <= 2 {
			return errors.New("payment gateway unavailable")
		}
		return nil
	}}
	backoff := compensate.Backoff{Initial: 40 * time.Millisecond, Max: time.Second, Jitter: 0.5}
	e := newEngine(t, db.DB, compensate.Options{Backoff: backoff}, sagatest.OrderSaga("place-order", db.DB, faults))
	g, err := e.Start(context.Background(), "place-order", order("o1"))
	require.NoError(t, err)
	require.Equal(t, compensate.Completed, g.State)
	g = wait(t, e, g.ID)
	require.Equal(t, []string{
		"reserve-inventory/action/1:ok",
		"process-payment/action/1:error", "process-payment/action/2:error", "process-payment/action/3:ok",
		"ship/action/1:ok",
	}, attemptsOf(g))
	// Backoff: retry n waits at least Initial·2^(n-1)·(1-Jitter).
	pay := g.Attempts[1:4]
	require.GreaterOrEqual(t, pay[1].StartedAt.Sub(pay[0].StartedAt), 20*time.Millisecond)
	require.GreaterOrEqual(t, pay[2].StartedAt.Sub(pay[1].StartedAt), 40*time.Millisecond)
	sagatest.RequireCompleted(t, db.DB, "o1")
}

// An action whose attempts run out has an unknown effect: it is compensated too.
func TestExhaustedActionIsCompensatedToo(t *testing.T) {
	t.Parallel()
	db := sagatest.Database(t)
	faults := sagatest.Faults{sagatest.FaultKey(sagatest.Pay, compensate.OpAction): func(context.Context, *compensate.Call) error {
		return errors.New("payment gateway unavailable")
	}}
	def := compensate.Define("place-order",
		sagatest.OrderSaga("x", db.DB, faults).Steps()[0],
		sagatest.OrderSaga("x", db.DB, faults, compensate.Attempts(2)).Steps()[1],
		sagatest.OrderSaga("x", db.DB, faults).Steps()[2],
	)
	e := newEngine(t, db.DB, compensate.Options{}, def)
	g, err := e.Start(context.Background(), "place-order", order("o1"))
	require.NoError(t, err)
	require.Equal(t, compensate.Compensated, g.State)
	require.Contains(t, g.Error, "2 attempt(s) failed, its effect is unknown")
	g = wait(t, e, g.ID)
	require.Equal(t, []string{"compensated", "compensated", "pending"}, stepStates(g))
	require.Equal(t, []string{
		"reserve-inventory/action/1:ok",
		"process-payment/action/1:error", "process-payment/action/2:error",
		"process-payment/compensation/1:ok",
		"reserve-inventory/compensation/1:ok",
	}, attemptsOf(g))
	sagatest.RequireUndone(t, db.DB, "o1")
}

// Step timeouts: a function honouring its context and one ignoring it are both given up
// at the timeout; their effect is unknown, so the step is compensated.
func TestStepTimeouts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		hang func(ctx context.Context, release <-chan struct{}) error
	}{
		{"honours context", func(ctx context.Context, _ <-chan struct{}) error { <-ctx.Done(); return ctx.Err() }},
		{"ignores context", func(_ context.Context, release <-chan struct{}) error { <-release; return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := sagatest.Database(t)
			release := make(chan struct{})
			t.Cleanup(func() { close(release) })
			faults := sagatest.Faults{sagatest.FaultKey(sagatest.Pay, compensate.OpAction): func(ctx context.Context, _ *compensate.Call) error {
				return tc.hang(ctx, release)
			}}
			steps := sagatest.OrderSaga("x", db.DB, faults).Steps()
			def := compensate.Define("place-order", steps[0],
				sagatest.OrderSaga("x", db.DB, faults, compensate.Timeout(150*time.Millisecond), compensate.CompensationTimeout(10*time.Second), compensate.Attempts(2)).Steps()[1], steps[2])
			e := newEngine(t, db.DB, compensate.Options{}, def)
			began := time.Now()
			g, err := e.Start(context.Background(), "place-order", order("o1"))
			require.NoError(t, err)
			require.Equal(t, compensate.Compensated, g.State)
			require.GreaterOrEqual(t, time.Since(began), 300*time.Millisecond, "two attempts of 150 ms")
			g = wait(t, e, g.ID)
			require.Equal(t, []string{
				"reserve-inventory/action/1:ok",
				"process-payment/action/1:timeout", "process-payment/action/2:timeout",
				"process-payment/compensation/1:ok",
				"reserve-inventory/compensation/1:ok",
			}, attemptsOf(g))
			require.Contains(t, g.Attempts[1].Error, "attempt timed out after 150ms")
			sagatest.RequireUndone(t, db.DB, "o1")
		})
	}
}

// A compensation failing five times then succeeding: retried with growing waits until
// it succeeds, never given up.
func TestCompensationFailsFiveTimesThenSucceeds(t *testing.T) {
	t.Parallel()
	db := sagatest.Database(t)
	faults := sagatest.Faults{
		sagatest.FaultKey(sagatest.Ship, compensate.OpAction): func(context.Context, *compensate.Call) error {
			return compensate.Failf("address unknown")
		},
		sagatest.FaultKey(sagatest.Pay, compensate.OpCompensation): func(_ context.Context, c *compensate.Call) error {
			if c.Attempt <= 5 {
				return errors.New("refund service down")
			}
			return nil
		},
	}
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	backoff := compensate.Backoff{Initial: 10 * time.Millisecond, Max: 80 * time.Millisecond, Jitter: 0.5}
	e := newEngine(t, db.DB, compensate.Options{Backoff: backoff, CompensationAttempts: 6, Metrics: m}, sagatest.OrderSaga("place-order", db.DB, faults))
	g, err := e.Start(context.Background(), "place-order", order("o1"))
	require.NoError(t, err)
	require.Equal(t, compensate.Compensated, g.State)
	g = wait(t, e, g.ID)
	var refunds []compensate.Attempt
	for _, a := range g.Attempts {
		if a.Step == sagatest.Pay && a.Op == compensate.OpCompensation {
			refunds = append(refunds, a)
		}
	}
	require.Len(t, refunds, 6)
	for i, a := range refunds {
		want := journal.OutcomeError
		if i == 5 {
			want = journal.OutcomeOK
		}
		require.Equal(t, want, a.Outcome, "refund attempt %d", a.Attempt)
		if i > 0 {
			// Exponential backoff with jitter 0.5: at least half of 10 ms·2^(i-1), capped at 80 ms.
			minWait := time.Duration(min(10<<(i-1), 80)) * time.Millisecond / 2
			require.GreaterOrEqual(t, a.StartedAt.Sub(refunds[i-1].StartedAt), minWait, "wait before refund attempt %d", a.Attempt)
		}
	}
	require.Equal(t, 5.0, testutil.ToFloat64(m.Compensations.WithLabelValues("place-order", sagatest.Pay, "error")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.Compensations.WithLabelValues("place-order", sagatest.Pay, "ok")))
	require.Zero(t, testutil.ToFloat64(m.LeasesLost), "an instance ending its own saga has not lost its lease")
	require.Equal(t, 1.0, testutil.ToFloat64(m.Finished.WithLabelValues("place-order", "compensated")))
	sagatest.RequireUndone(t, db.DB, "o1")
	sagatest.RequireNoDoubleExecution(t, db.DB, g)
}

// A compensation that never succeeds: the saga is stuck (not dropped), counted in the
// gauge and listed; after the cause is fixed, Retry re-arms it and it is compensated.
func TestCompensationNeverSucceedsIsStuckThenRetried(t *testing.T) {
	t.Parallel()
	db := sagatest.Database(t)
	var fixed atomic.Bool
	faults := sagatest.Faults{
		sagatest.FaultKey(sagatest.Ship, compensate.OpAction): func(context.Context, *compensate.Call) error {
			return compensate.Failf("address unknown")
		},
		sagatest.FaultKey(sagatest.Pay, compensate.OpCompensation): func(context.Context, *compensate.Call) error {
			if !fixed.Load() {
				return errors.New("refund service down")
			}
			return nil
		},
	}
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	e := newEngine(t, db.DB, compensate.Options{CompensationAttempts: 4, Metrics: m}, sagatest.OrderSaga("place-order", db.DB, faults))
	g, err := e.Start(context.Background(), "place-order", order("o1"))
	require.NoError(t, err)
	require.Equal(t, compensate.Stuck, g.State)
	require.Contains(t, g.Error, "compensation of step process-payment failed 4 time(s), last: refund service down")
	require.Contains(t, g.Error, "strangler compensate retry "+g.ID)
	require.Equal(t, []string{"done", "compensating", "failed"}, stepStates(g), "the reservation is not released before the refund succeeds")
	require.Empty(t, g.LeaseOwner)

	require.NoError(t, e.RefreshMetrics(context.Background()))
	require.Equal(t, 1.0, testutil.ToFloat64(m.Stuck.WithLabelValues("place-order")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.Sagas.WithLabelValues("place-order", "stuck")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.Finished.WithLabelValues("place-order", "stuck")))
	stuck, err := e.List(context.Background(), journal.Filter{States: []compensate.State{compensate.Stuck}})
	require.NoError(t, err)
	require.Len(t, stuck, 1)
	require.Equal(t, g.ID, stuck[0].ID)
	require.Equal(t, sagatest.Pay, stuck[0].StepName)

	// A running recovery loop leaves a stuck saga alone...
	runEngine(t, e)
	time.Sleep(100 * time.Millisecond)
	g = wait(t, e, g.ID)
	require.Equal(t, compensate.Stuck, g.State)
	require.Equal(t, 4, g.Steps[1].CompAttempts)

	// ...until it is re-armed.
	require.Error(t, e.Retry(context.Background(), "no-such-saga"))
	fixed.Store(true)
	require.NoError(t, e.Retry(context.Background(), g.ID))
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		g, err := e.Get(context.Background(), g.ID)
		require.NoError(c, err)
		require.Equal(c, compensate.Compensated, g.State)
	}, 30*time.Second, 20*time.Millisecond)
	g = wait(t, e, g.ID)
	require.Equal(t, 1, g.Retries)
	require.Equal(t, 5, g.Steps[1].CompAttempts)
	require.Equal(t, []string{"compensated", "compensated", "failed"}, stepStates(g))
	sagatest.RequireUndone(t, db.DB, "o1")
	require.ErrorContains(t, e.Retry(context.Background(), g.ID), "it is compensated; only stuck sagas are retried")
	require.NoError(t, e.RefreshMetrics(context.Background()))
	require.Equal(t, 0.0, testutil.ToFloat64(m.Stuck.WithLabelValues("place-order")))
}

// Fail from a compensation: retrying cannot help, the saga is stuck at once.
func TestCompensationFailIsStuckAtOnce(t *testing.T) {
	t.Parallel()
	db := sagatest.Database(t)
	faults := sagatest.Faults{
		sagatest.FaultKey(sagatest.Ship, compensate.OpAction): func(context.Context, *compensate.Call) error { return compensate.Failf("no") },
		sagatest.FaultKey(sagatest.Pay, compensate.OpCompensation): func(context.Context, *compensate.Call) error {
			return compensate.Failf("card account closed")
		},
	}
	e := newEngine(t, db.DB, compensate.Options{}, sagatest.OrderSaga("place-order", db.DB, faults))
	g, err := e.Start(context.Background(), "place-order", order("o1"))
	require.NoError(t, err)
	require.Equal(t, compensate.Stuck, g.State)
	require.Contains(t, g.Error, "compensation of step process-payment failed for good: card account closed")
	g = wait(t, e, g.ID)
	require.Equal(t, 1, g.Steps[1].CompAttempts)
}

// A cancelled caller (an HTTP request gone) does not skip compensations (temporal
// sdk-java #305): Start returns, the saga stays in the journal, the recovery loop
// finishes compensating it.
func TestCancelledCallerDoesNotSkipCompensation(t *testing.T) {
	t.Parallel()
	db := sagatest.Database(t)
	ctx, cancel := context.WithCancel(context.Background())
	faults := sagatest.Faults{sagatest.FaultKey(sagatest.Ship, compensate.OpAction): func(fctx context.Context, _ *compensate.Call) error {
		cancel() // the caller goes away while the step runs...
		if fctx.Err() != nil {
			return errors.New("the step's context was cancelled with the caller's")
		}
		return compensate.Failf("address unknown") // ...and the step fails for good
	}}
	e := newEngine(t, db.DB, compensate.Options{}, sagatest.OrderSaga("place-order", db.DB, faults))
	g, err := e.Start(ctx, "place-order", order("o1"))
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, compensate.Compensating, g.State, "Start stops between attempts and leaves the saga to Run")
	require.Empty(t, g.LeaseOwner, "and gives its lease back")
	require.Equal(t, "failed", string(g.Steps[2].State), "the step ran under the engine's context, not the cancelled one")

	runEngine(t, e)
	g = wait(t, e, g.ID)
	require.Equal(t, compensate.Compensated, g.State)
	sagatest.RequireUndone(t, db.DB, "o1")
}

func TestStartErrors(t *testing.T) {
	t.Parallel()
	db := sagatest.Database(t)
	e := newEngine(t, db.DB, compensate.Options{}, sagatest.OrderSaga("place-order", db.DB, nil))
	_, err := e.Start(context.Background(), "nope", nil)
	require.ErrorIs(t, err, compensate.ErrUnknownSaga)
	_, err = e.Start(context.Background(), "place-order", func() {})
	require.ErrorContains(t, err, "encode input")
	_, err = e.Get(context.Background(), "missing")
	require.ErrorIs(t, err, journal.ErrNotFound)

	// Without the tables, Run says how to create them.
	bare := newEngineNoTables(t)
	require.ErrorContains(t, bare.Run(context.Background()), "strangler migrate up")
}

func newEngineNoTables(t *testing.T) *compensate.Engine {
	db := testenv.NewMySQLDatabase(t)
	e, err := compensate.New(db.DB, fast(t, compensate.Options{}))
	require.NoError(t, err)
	return e
}
