package compensate_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/compensate"
	"github.com/strangler/strangler/compensate/internal/sagatest"
	"github.com/strangler/strangler/compensate/metrics"
	"github.com/strangler/strangler/internal/testenv"
)

func TestMain(m *testing.M) {
	testenv.UseLocalAWSEnv()
	os.Exit(m.Run())
}

// logBuffer collects an engine's logs and prints them if the test fails.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func testLogger(t *testing.T) *slog.Logger {
	b := &logBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			b.mu.Lock()
			t.Logf("engine logs:\n%s", b.buf.String())
			b.mu.Unlock()
		}
	})
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// fast are options for tests: millisecond backoffs, short leases and polls.
func fast(t *testing.T, o compensate.Options) compensate.Options {
	o.TablePrefix = sagatest.Prefix
	if o.StepTimeout == 0 {
		o.StepTimeout = 5 * time.Second
	}
	if o.Lease == 0 {
		// Long enough that a heartbeat delayed by a loaded machine never loses a lease;
		// the tests that need expiry set their own.
		o.Lease = 10 * time.Second
	}
	if o.PollInterval == 0 {
		o.PollInterval = 20 * time.Millisecond
	}
	if o.MaxInlineWait == 0 {
		o.MaxInlineWait = 500 * time.Millisecond
	}
	if o.Backoff.Initial == 0 {
		o.Backoff = compensate.Backoff{Initial: 5 * time.Millisecond, Max: 40 * time.Millisecond}
	}
	if o.MetricsInterval == 0 {
		o.MetricsInterval = 50 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = testLogger(t)
	}
	if o.Metrics == nil {
		o.Metrics = metrics.New(prometheus.NewRegistry())
	}
	return o
}

func newEngine(t *testing.T, db *sql.DB, o compensate.Options, defs ...*compensate.Definition) *compensate.Engine {
	t.Helper()
	e, err := compensate.New(db, fast(t, o))
	require.NoError(t, err)
	require.NoError(t, e.Register(defs...))
	return e
}

// runEngine runs e's recovery loop until the test ends.
func runEngine(t *testing.T, e *compensate.Engine) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
}

// wait waits for a saga to end and returns it with its attempts.
func wait(t *testing.T, e *compensate.Engine, id string) compensate.Saga {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err := e.Wait(ctx, id)
	require.NoError(t, err)
	g, err := e.Get(ctx, id)
	require.NoError(t, err)
	return g
}

// stepStates returns the state of every step, in order.
func stepStates(g compensate.Saga) []string {
	var out []string
	for _, s := range g.Steps {
		out = append(out, string(s.State))
	}
	return out
}

// attemptsOf lists "step/op/attempt:outcome" for every attempt, in order.
func attemptsOf(g compensate.Saga) []string {
	var out []string
	for _, a := range g.Attempts {
		out = append(out, fmt.Sprintf("%s/%s/%d:%s", a.Step, a.Op, a.Attempt, a.Outcome))
	}
	return out
}

func order(id string) sagatest.Order {
	return sagatest.Order{ID: id, SKU: "sku-1", Qty: 2, Amount: 4200}
}
