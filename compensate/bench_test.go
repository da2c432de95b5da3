package compensate_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/compensate"
	"github.com/strangler/strangler/compensate/internal/sagatest"
)

func benchOptions(instance string) compensate.Options {
	return compensate.Options{TablePrefix: sagatest.Prefix, Instance: instance, PollInterval: 10 * time.Millisecond,
		Backoff: compensate.Backoff{Initial: time.Millisecond, Max: 10 * time.Millisecond}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// BenchmarkStartOrderSaga runs the 3-step order saga inline, one after another: the
// cost of a saga's journal writes (a transaction per attempt start and outcome).
func BenchmarkStartOrderSaga(b *testing.B) {
	db := sagatest.Database(b)
	e, err := compensate.New(db.DB, benchOptions("bench"))
	require.NoError(b, err)
	require.NoError(b, e.Register(sagatest.OrderSaga("place-order", db.DB, nil)))
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		g, err := e.Start(ctx, "place-order", sagatest.Order{ID: fmt.Sprint(i), SKU: "s", Qty: 1, Amount: 1})
		if err != nil || g.State != compensate.Completed {
			b.Fatalf("saga %d: %v %s", i, err, g.State)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sagas/s")
}

// BenchmarkRecoveryLoops enqueues b.N sagas (a third of them compensated) and lets two
// engines' recovery loops, 16 sagas at a time each, drive them all.
func BenchmarkRecoveryLoops(b *testing.B) {
	db := sagatest.Database(b)
	faults := sagatest.Faults{sagatest.FaultKey(sagatest.Ship, compensate.OpAction): func(_ context.Context, c *compensate.Call) error {
		var o sagatest.Order
		_ = c.Input(&o)
		if o.Qty%3 == 0 {
			return compensate.Failf("no")
		}
		return nil
	}}
	var engines []*compensate.Engine
	for i := 0; i < 2; i++ {
		e, err := compensate.New(db.DB, benchOptions(fmt.Sprint("bench-", i)))
		require.NoError(b, err)
		require.NoError(b, e.Register(sagatest.OrderSaga("place-order", db.DB, faults)))
		engines = append(engines, e)
	}
	ctx := context.Background()
	ids := make([]string, b.N)
	for i := range ids {
		id, err := engines[0].Enqueue(ctx, "place-order", sagatest.Order{ID: fmt.Sprint(i), SKU: "s", Qty: i + 1, Amount: 1})
		require.NoError(b, err)
		ids[i] = id
	}
	b.ResetTimer()
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, len(engines))
	for _, e := range engines {
		go func() { done <- e.Run(runCtx) }()
	}
	for _, id := range ids {
		if _, err := engines[0].Wait(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cancel()
	for range engines {
		require.NoError(b, <-done)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sagas/s")
}
