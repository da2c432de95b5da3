package experiment_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/compare/experiment"
	"github.com/strangler/strangler/compare/tally"
)

type collect struct {
	mu sync.Mutex
	rs []experiment.Result[int]
}

func (c *collect) Publish(_ context.Context, r experiment.Result[int]) {
	c.mu.Lock()
	c.rs = append(c.rs, r)
	c.mu.Unlock()
}

func (c *collect) all() []experiment.Result[int] {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]experiment.Result[int](nil), c.rs...)
}

func val(v int, err error) func(context.Context) (int, error) {
	return func(context.Context) (int, error) { return v, err }
}

func TestReturnsControlAndPublishesComparison(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		candidate func(context.Context) (int, error)
		opts      []experiment.Option[int]
		matched   bool
		ignored   bool
		candErr   bool
		panicked  bool
		timedOut  bool
	}{
		{name: "equal", candidate: val(42, nil), matched: true},
		{name: "different", candidate: val(41, nil)},
		{name: "candidate error", candidate: val(0, errors.New("db down")), candErr: true},
		{name: "candidate panic", candidate: func(context.Context) (int, error) { panic("boom") }, candErr: true, panicked: true},
		{name: "candidate too slow", candidate: func(ctx context.Context) (int, error) {
			<-ctx.Done()
			time.Sleep(10 * time.Millisecond)
			return 42, nil
		}, opts: []experiment.Option[int]{experiment.WithTimeout[int](50 * time.Millisecond)}, candErr: true, timedOut: true},
		{name: "custom compare", candidate: val(43, nil), opts: []experiment.Option[int]{
			experiment.WithCompare(func(a, b int) bool { return a/10 == b/10 })}, matched: true},
		{name: "ignored", candidate: val(0, nil), opts: []experiment.Option[int]{
			experiment.WithIgnore(func(c, k experiment.Observation[int]) bool { return k.Value == 0 })}, ignored: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pub := &collect{}
			opts := append([]experiment.Option[int]{experiment.WithPublisher[int](pub)}, tc.opts...)
			e, err := experiment.New("orders.total", val(42, nil), tc.candidate, opts...)
			require.NoError(t, err)
			got, err := e.Run(context.Background())
			require.NoError(t, err)
			require.Equal(t, 42, got, "Run returns the control's result")
			e.Wait()
			rs := pub.all()
			require.Len(t, rs, 1)
			r := rs[0]
			require.Equal(t, tc.matched, r.Matched)
			require.Equal(t, tc.ignored, r.Ignored)
			require.Equal(t, tc.candErr, r.Candidate.Err != nil)
			require.Equal(t, tc.panicked, r.Candidate.Panic != nil)
			require.Equal(t, tc.timedOut, r.Candidate.TimedOut)
			st := e.Stats()
			require.Equal(t, int64(1), st.Ran)
			require.Equal(t, !tc.matched && !tc.ignored, st.Mismatched == 1)
		})
	}
}

// Scientist #80: an experiment built with defaults runs the candidate and reports.
func TestDefaultsRunTheCandidate(t *testing.T) {
	t.Parallel()
	ran := make(chan struct{}, 10)
	e, err := experiment.New("defaults", val(1, nil), func(context.Context) (int, error) { ran <- struct{}{}; return 2, nil })
	require.NoError(t, err)
	for i := 0; i < 5; i++ {
		_, _ = e.Run(context.Background())
	}
	e.Wait()
	require.Len(t, ran, 5, "100% sampled by default")
	require.Equal(t, int64(5), e.Stats().Mismatched)

	_, err = experiment.New[int]("", val(1, nil), val(1, nil))
	require.Error(t, err)
	_, err = experiment.New[int]("x", val(1, nil), nil)
	require.ErrorContains(t, err, "candidate are required")
	_, err = experiment.New("x", val(1, nil), val(1, nil), experiment.WithPercent[int](150))
	require.Error(t, err)
}

func TestSamplingModesAndTally(t *testing.T) {
	t.Parallel()
	tl := tally.New(5)
	var order []string
	var mu sync.Mutex
	note := func(s string) { mu.Lock(); order = append(order, s); mu.Unlock() }
	e, err := experiment.New("sequential",
		func(context.Context) (int, error) { note("control"); return 1, nil },
		func(context.Context) (int, error) { note("candidate"); return 2, nil },
		experiment.WithMode[int](experiment.AfterControl), experiment.WithWait[int](), experiment.WithPublisher(experiment.TallyPublisher[int](tl)))
	require.NoError(t, err)
	_, _ = e.Run(context.Background())
	require.Equal(t, []string{"control", "candidate"}, order, "after the control, and Run waited")
	eps := tl.Snapshot()
	require.Len(t, eps, 1)
	require.Equal(t, "experiment:sequential", eps[0].Endpoint)
	require.Equal(t, int64(1), eps[0].Mismatches)
	require.Equal(t, "value", eps[0].Fields[0].Field)

	none, err := experiment.New("never", val(1, nil), func(context.Context) (int, error) { t.Error("not sampled"); return 0, nil },
		experiment.WithPercent[int](0))
	require.NoError(t, err)
	_, _ = none.Run(context.Background())
	require.Equal(t, experiment.Stats{Calls: 1, Skipped: 1}, none.Stats())

	// The control's errors come back as they are; a control panic propagates.
	boom, err := experiment.New("err", val(0, errors.New("legacy failed")), val(0, errors.New("legacy failed")), experiment.WithWait[int]())
	require.NoError(t, err)
	_, err = boom.Run(context.Background())
	require.EqualError(t, err, "legacy failed")
	require.Equal(t, int64(1), boom.Stats().Matched, "same error on both sides matches")
	p, err := experiment.New("panic", func(context.Context) (int, error) { panic("legacy bug") }, val(1, nil))
	require.NoError(t, err)
	require.PanicsWithValue(t, "legacy bug", func() { _, _ = p.Run(context.Background()) })
	p.Wait()
}
