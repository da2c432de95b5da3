package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/compensate"
	"github.com/strangler/strangler/compensate/journal"
	"github.com/strangler/strangler/compensate/metrics"
	"github.com/strangler/strangler/internal/testenv"
	"github.com/strangler/strangler/migrations"
)

const sagaPrefix = "cli_"

type transfer struct {
	ID string `json:"id"`
}

// transferSaga debits then credits; the credit always fails for good, and the debit's
// compensation fails until fixed is set.
func transferSaga(fixed *atomic.Bool) *compensate.Definition {
	ok := func(context.Context, *compensate.Call) error { return nil }
	return compensate.Define("transfer",
		compensate.Step("debit", ok, func(context.Context, *compensate.Call) error {
			if !fixed.Load() {
				return errors.New("ledger service down")
			}
			return nil
		}),
		compensate.Step("credit", func(context.Context, *compensate.Call) error { return compensate.Failf("account closed") }, nil),
	)
}

// runCompensate executes `strangler compensate ARGS...` and returns its output.
func runCompensate(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newCompensateCommand(&globals{})
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := cmd.ExecuteContext(ctx)
	return out.String(), err
}

// A saga whose compensation never succeeds is stuck: the CLI lists and shows it, and
// retry re-arms it; once the cause is fixed the engine compensates it.
func TestCompensateCommandsOnAStuckSaga(t *testing.T) {
	t.Parallel()
	db := testenv.NewMySQLDatabase(t)
	mig, err := migrations.New(db.DB, sagaPrefix)
	require.NoError(t, err)
	_, err = mig.Up(context.Background())
	require.NoError(t, err)
	var fixed atomic.Bool
	m := metrics.New(prometheus.NewRegistry())
	e, err := compensate.New(db.DB, compensate.Options{TablePrefix: sagaPrefix, CompensationAttempts: 3, PollInterval: 20 * time.Millisecond,
		Backoff: compensate.Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond}, Metrics: m, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	require.NoError(t, e.Register(transferSaga(&fixed)))
	stuck, err := e.Start(context.Background(), "transfer", transfer{ID: "t1"})
	require.NoError(t, err)
	require.Equal(t, compensate.Stuck, stuck.State)
	done, err := e.Start(context.Background(), "transfer", transfer{ID: "t2"})
	require.NoError(t, err)
	require.Equal(t, compensate.Stuck, done.State)
	fixed.Store(true)
	ok, err := e.Start(context.Background(), "transfer", transfer{ID: "t3"})
	require.NoError(t, err)
	require.Equal(t, compensate.Compensated, ok.State)
	fixed.Store(false)
	require.NoError(t, e.RefreshMetrics(context.Background()))
	require.Equal(t, 2.0, testutil.ToFloat64(m.Stuck.WithLabelValues("transfer")), "the stuck gauge counts them")

	common := []string{"--db", db.Addr, "--table-prefix", sagaPrefix}
	out, err := runCompensate(t, append([]string{"list", "--stuck"}, common...)...)
	require.NoError(t, err)
	require.Contains(t, out, "ID")
	require.Contains(t, out, stuck.ID)
	require.Contains(t, out, done.ID)
	require.NotContains(t, out, ok.ID)
	require.Contains(t, out, "debit")
	require.Contains(t, out, "compensation of step debit failed 3 time(s)")

	out, err = runCompensate(t, append([]string{"list", "--state", "compensated", "--output", "json"}, common...)...)
	require.NoError(t, err)
	var listed []journal.Saga
	require.NoError(t, json.Unmarshal([]byte(out), &listed))
	require.Len(t, listed, 1)
	require.Equal(t, ok.ID, listed[0].ID)
	require.Equal(t, journal.Compensated, listed[0].State)

	out, err = runCompensate(t, append([]string{"show", stuck.ID}, common...)...)
	require.NoError(t, err)
	require.Regexp(t, `(?m)^State:\s+stuck$`, out)
	for _, want := range []string{"ledger service down", "account closed", "compensating", `{"id":"t1"}`, "ATTEMPT"} {
		require.Contains(t, out, want)
	}
	out, err = runCompensate(t, append([]string{"show", stuck.ID, "--output", "json"}, common...)...)
	require.NoError(t, err)
	var g struct {
		journal.Saga
		Input transfer `json:"input"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &g))
	require.Equal(t, "t1", g.Input.ID)
	require.Len(t, g.Steps, 2)
	require.Len(t, g.Attempts, 2+3)

	fixed.Store(true)
	out, err = runCompensate(t, append([]string{"retry", stuck.ID}, common...)...)
	require.NoError(t, err)
	require.Contains(t, out, "re-armed")
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- e.Run(ctx) }()
	wctx, wcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer wcancel()
	g2, err := e.Wait(wctx, stuck.ID)
	cancel()
	require.NoError(t, <-ran)
	require.NoError(t, err)
	require.Equal(t, compensate.Compensated, g2.State)

	out, err = runCompensate(t, append([]string{"list", "--stuck", "--output", "json"}, common...)...)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal([]byte(out), &listed))
	require.Len(t, listed, 1, "the other one is still stuck: retry is per saga")
	require.Equal(t, done.ID, listed[0].ID)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"retry", stuck.ID}, "it is compensated; only stuck sagas are retried"},
		{[]string{"retry", "nope"}, "saga not found"},
		{[]string{"show"}, "needs one saga id"},
		{[]string{"list", "--state", "lost"}, "use running, compensating, completed, compensated, stuck"},
		{[]string{"list", "--output", "yaml"}, "use text or json"},
		{[]string{"purge"}, "--older-than"},
	} {
		_, err := runCompensate(t, append(tc.args, common...)...)
		require.ErrorContains(t, err, tc.want, "%v", tc.args)
	}
	_, err = runCompensate(t, "list")
	require.ErrorContains(t, err, "--db is required")

	out, err = runCompensate(t, append([]string{"purge", "--older-than", "1h"}, common...)...)
	require.NoError(t, err)
	require.Contains(t, out, "Purged 0 saga(s)")
}
