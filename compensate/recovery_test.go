package compensate_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/compensate"
	"github.com/strangler/strangler/compensate/internal/sagatest"
	"github.com/strangler/strangler/compensate/journal"
	"github.com/strangler/strangler/compensate/metrics"
)

// Two recovery loops race for the same sagas: every saga ends as it should, and no
// attempt of an action or compensation runs twice.
func TestRecoveryLoopsRace(t *testing.T) {
	t.Parallel()
	db := sagatest.Database(t)
	slow := func(ctx context.Context, c *compensate.Call) error {
		time.Sleep(time.Duration(1+len(c.SagaID)%3) * time.Millisecond)
		return nil
	}
	faults := sagatest.Faults{
		sagatest.FaultKey(sagatest.Reserve, compensate.OpAction): slow,
		sagatest.FaultKey(sagatest.Pay, compensate.OpAction):     slow,
		sagatest.FaultKey(sagatest.Ship, compensate.OpAction): func(ctx context.Context, c *compensate.Call) error {
			var o sagatest.Order
			if err := c.Input(&o); err != nil {
				return err
			}
			if o.Qty%3 == 0 {
				return compensate.Failf("cannot ship %s", o.ID)
			}
			return slow(ctx, c)
		},
		sagatest.FaultKey(sagatest.Pay, compensate.OpCompensation): func(ctx context.Context, c *compensate.Call) error {
			if c.Attempt == 1 {
				return errors.New("refund service busy")
			}
			return slow(ctx, c)
		},
	}
	regs := []*metrics.Metrics{metrics.New(prometheus.NewRegistry()), metrics.New(prometheus.NewRegistry())}
	var engines []*compensate.Engine
	for i, m := range regs {
		engines = append(engines, newEngine(t, db.DB, compensate.Options{Instance: fmt.Sprintf("racer-%d", i), Concurrency: 4, Metrics: m,
			Lease: 5 * time.Second, PollInterval: 5 * time.Millisecond}, sagatest.OrderSaga("place-order", db.DB, faults)))
	}
	const n = 30
	ids := make([]string, n)
	for i := range ids {
		o := sagatest.Order{ID: fmt.Sprintf("o%d", i), SKU: "sku", Qty: i + 1, Amount: 100}
		id, err := engines[i%2].Enqueue(context.Background(), "place-order", o)
		require.NoError(t, err)
		ids[i] = id
	}
	for _, e := range engines {
		runEngine(t, e)
	}
	for i, id := range ids {
		g := wait(t, engines[0], id)
		oid := fmt.Sprintf("o%d", i)
		if (i+1)%3 == 0 {
			require.Equal(t, compensate.Compensated, g.State, oid)
			sagatest.RequireUndone(t, db.DB, oid)
			require.Len(t, g.Attempts, 3+3, "%s: 3 actions, 2 refunds, 1 release", oid)
		} else {
			require.Equal(t, compensate.Completed, g.State, oid)
			sagatest.RequireCompleted(t, db.DB, oid)
			require.Len(t, g.Attempts, 3, oid)
		}
		sagatest.RequireNoDoubleExecution(t, db.DB, g)
		require.Len(t, sagatest.Calls(t, db.DB, id), len(g.Attempts), "%s: one call per recorded attempt", oid)
	}
	claimed := testutil.ToFloat64(regs[0].RecoveryClaimed) + testutil.ToFloat64(regs[1].RecoveryClaimed)
	require.GreaterOrEqual(t, claimed, float64(n), "every enqueued saga was claimed by a recovery loop")
}

// Fencing: an instance whose lease was taken while its action ran records nothing; the
// instance that takes over waits for the attempt's deadline, counts it lost and retries.
func TestLeaseLostMidAttemptIsFenced(t *testing.T) {
	t.Parallel()
	db := sagatest.Database(t)
	entered := make(chan struct{})
	var cancelled = make(chan bool, 1)
	faults := sagatest.Faults{sagatest.FaultKey(sagatest.Pay, compensate.OpAction): func(ctx context.Context, c *compensate.Call) error {
		if c.Attempt > 1 {
			return nil
		}
		close(entered)
		select {
		case <-ctx.Done():
			cancelled <- true
			return ctx.Err()
		case <-time.After(20 * time.Second):
			cancelled <- false
			return nil
		}
	}}
	mA := metrics.New(prometheus.NewRegistry())
	def := func() *compensate.Definition {
		return sagatest.OrderSaga("place-order", db.DB, faults, compensate.Timeout(2*time.Second))
	}
	a := newEngine(t, db.DB, compensate.Options{Instance: "a", Lease: 300 * time.Millisecond, Metrics: mA}, def())
	type result struct {
		g   compensate.Saga
		err error
	}
	res := make(chan result, 1)
	go func() {
		g, err := a.Start(context.Background(), "place-order", order("o1"))
		res <- result{g, err}
	}()
	<-entered
	var id string
	require.NoError(t, db.DB.QueryRow("SELECT id FROM "+sagatest.Prefix+"sagas").Scan(&id))
	_, err := db.DB.Exec("UPDATE "+sagatest.Prefix+"sagas SET lease_owner = 'thief', lease_until = UTC_TIMESTAMP(6) + INTERVAL 1 HOUR WHERE id = ?", id)
	require.NoError(t, err)
	r := <-res
	require.NoError(t, r.err)
	require.True(t, <-cancelled, "losing the lease cancels the running attempt's context")
	require.Equal(t, compensate.Running, r.g.State)
	require.Equal(t, "thief", r.g.LeaseOwner, "the fenced instance gives back nothing it no longer holds")
	require.Equal(t, 1.0, testutil.ToFloat64(mA.LeasesLost))
	g, err := a.Get(context.Background(), id)
	require.NoError(t, err)
	require.True(t, g.Attempts[1].FinishedAt.IsZero(), "the fenced instance recorded no outcome")

	// The thief goes away; another instance resumes.
	_, err = db.DB.Exec("UPDATE "+sagatest.Prefix+"sagas SET lease_owner = NULL, lease_until = NULL WHERE id = ?", id)
	require.NoError(t, err)
	b := newEngine(t, db.DB, compensate.Options{Instance: "b"}, def())
	runEngine(t, b)
	g = wait(t, b, id)
	require.Equal(t, compensate.Completed, g.State)
	require.Equal(t, []string{"reserve-inventory/action/1:ok", "process-payment/action/1:lost", "process-payment/action/2:ok", "ship/action/1:ok"}, attemptsOf(g))
	require.Equal(t, "a", g.Attempts[1].Owner[:1])
	require.Equal(t, "b", g.Attempts[2].Owner[:1])
	require.GreaterOrEqual(t, g.Attempts[2].StartedAt.Sub(g.Attempts[1].StartedAt), 2*time.Second, "the lost attempt's deadline passed first")
	sagatest.RequireCompleted(t, db.DB, "o1")
	sagatest.RequireNoDoubleExecution(t, db.DB, g)
}

// TxStep: business writes commit with the step's state. An action that rolled back
// left nothing behind, so its compensation is a no-op decided by the barrier (null
// compensation), and the compensation function is never called.
func TestTxStepNullCompensation(t *testing.T) {
	t.Parallel()
	db := sagatest.Database(t)
	var refundCalls, chargeCalls int
	reserve := func(ctx context.Context, tx *sql.Tx, c *compensate.Call) error {
		var o sagatest.Order
		if err := c.Input(&o); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO shop_reservations (order_id, sku, qty) VALUES (?, ?, ?)", o.ID, o.SKU, o.Qty)
		return err
	}
	release := func(ctx context.Context, tx *sql.Tx, c *compensate.Call) error {
		var o sagatest.Order
		if err := c.Input(&o); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "UPDATE shop_reservations SET released = 1 WHERE order_id = ?", o.ID)
		return err
	}
	charge := func(ctx context.Context, tx *sql.Tx, c *compensate.Call) error {
		chargeCalls++
		var o sagatest.Order
		if err := c.Input(&o); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO shop_payments (order_id, payment_id, amount) VALUES (?, ?, ?)", o.ID, "p", o.Amount); err != nil {
			return err
		}
		return errors.New("lost the connection to the bank") // rolled back: the insert vanishes
	}
	refund := func(ctx context.Context, tx *sql.Tx, c *compensate.Call) error {
		refundCalls++
		return nil
	}
	def := compensate.Define("tx-order",
		compensate.TxStep(sagatest.Reserve, reserve, release),
		compensate.TxStep(sagatest.Pay, charge, refund, compensate.Attempts(2)),
	)
	e := newEngine(t, db.DB, compensate.Options{}, def)
	g, err := e.Start(context.Background(), "tx-order", order("o1"))
	require.NoError(t, err)
	require.Equal(t, compensate.Compensated, g.State)
	g = wait(t, e, g.ID)
	require.Equal(t, []string{"compensated", "skipped"}, stepStates(g))
	require.Equal(t, []string{
		"reserve-inventory/action/1:ok",
		"process-payment/action/1:error", "process-payment/action/2:error",
		"process-payment/compensation/1:noop",
		"reserve-inventory/compensation/1:ok",
	}, attemptsOf(g))
	require.Equal(t, 2, chargeCalls)
	require.Equal(t, 0, refundCalls, "a compensation whose action never committed is not called")
	require.Equal(t, sagatest.Effects{Reserved: true, Released: true}, sagatest.ReadEffects(t, db.DB, "o1"))

	// The barrier now refuses a late action for that step (hanging).
	b, err := compensate.NewBarrier(db.DB, sagatest.Prefix)
	require.NoError(t, err)
	tx, err := db.DB.Begin()
	require.NoError(t, err)
	defer tx.Rollback() //nolint:errcheck
	d, err := b.Enter(context.Background(), tx, compensate.Command{SagaID: g.ID, Step: sagatest.Pay, Op: compensate.OpAction})
	require.NoError(t, err)
	require.Equal(t, compensate.SkipHanging, d)
}

// Sagas started by one engine version and resumed by an engine whose definition changed
// are not driven with the wrong steps.
func TestChangedDefinitionIsNotDriven(t *testing.T) {
	t.Parallel()
	db := sagatest.Database(t)
	old := newEngine(t, db.DB, compensate.Options{}, sagatest.OrderSaga("place-order", db.DB, nil))
	id, err := old.Enqueue(context.Background(), "place-order", order("o1"))
	require.NoError(t, err)
	steps := sagatest.OrderSaga("x", db.DB, nil).Steps()
	changed := newEngine(t, db.DB, compensate.Options{}, compensate.Define("place-order", steps[0], steps[2], steps[1]))
	runEngine(t, changed)
	require.Eventually(t, func() bool {
		g, err := changed.Get(context.Background(), id)
		return err == nil && g.NextRunAt.Sub(g.CreatedAt) > 30*time.Second
	}, 10*time.Second, 20*time.Millisecond, "the saga is put off, not run")
	g, err := changed.Get(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, compensate.Running, g.State)
	require.Empty(t, g.Attempts)
}

func TestJournalStatesAreValid(t *testing.T) {
	for _, s := range journal.States {
		require.True(t, s.Valid())
	}
	require.False(t, journal.SagaState("lost").Valid())
}
