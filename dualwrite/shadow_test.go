package dualwrite_test

import (
	"context"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/dualwrite"
	"github.com/strangler/strangler/dualwrite/shadow"
	"github.com/strangler/strangler/dualwrite/target"
)

// TestShadowToKinesis: concurrent shadowed writes (some failing) reach the stream after
// the fact: exactly the committed ones, each aggregate's in commit order, no failure
// recorded. With Aggregate they arrive packed into aggregated records (fewer records than
// events), and every event lies in the hash range of the shard it was read from (what the
// Kinesis Client Library checks when it takes a record apart), each aggregate on one shard.
func TestShadowToKinesis(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		aggregate bool
		shards    int
	}{{"records", false, 2}, {"aggregated records", true, 3}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t).withStream(tc.shards)
			tgt := f.kinesisTargetWith(target.KinesisOptions{Client: f.kc, Aggregate: tc.aggregate})
			// A timeout no loaded machine reaches: this test is about order and exactness.
			w := f.writer(dualwrite.Config{Mode: dualwrite.ModeShadow, Target: tgt, ShadowWorkers: 3, ShadowTimeout: time.Minute})
			writeConcurrently(t, w, 6, 12, 5, func(i int) bool { return i%6 == 5 })
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			require.NoError(t, w.Close(ctx), "Close drains the queue")
			committed := f.committed()
			require.Len(t, committed, 6*10)
			evs, recs := f.readAllRecords()
			v := checkStream(t, committed, evs)
			require.Empty(t, v.compensated)
			require.Zero(t, f.count("SELECT COUNT(*) FROM "+prefix+"shadow_failures"))
			if !tc.aggregate {
				require.Len(t, recs, len(evs), "a record per event")
				return
			}
			require.Less(t, len(recs), len(evs), "events were packed")
			requireOnTheirShards(t, f, evs)
		})
	}
}

// requireOnTheirShards checks that each aggregated event's explicit hash key lies in the
// range of the shard it was read from, and that each aggregate stayed on one shard.
func requireOnTheirShards(t *testing.T, f *fixture, evs []streamed) {
	t.Helper()
	shards, err := f.kc.ListShards(context.Background(), &kinesis.ListShardsInput{StreamName: aws.String(f.stream)})
	require.NoError(t, err)
	ranges := map[string][2]*big.Int{}
	for _, s := range shards.Shards {
		lo, _ := new(big.Int).SetString(aws.ToString(s.HashKeyRange.StartingHashKey), 10)
		hi, _ := new(big.Int).SetString(aws.ToString(s.HashKeyRange.EndingHashKey), 10)
		ranges[aws.ToString(s.ShardId)] = [2]*big.Int{lo, hi}
	}
	shardOf := map[string]string{}
	for _, e := range evs {
		require.NotEmpty(t, e.ehk, "event %s was not aggregated", e.ev.ID)
		h, ok := new(big.Int).SetString(e.ehk, 10)
		require.True(t, ok, e.ehk)
		r := ranges[e.shard]
		require.True(t, h.Cmp(r[0]) >= 0 && h.Cmp(r[1]) <= 0, "event %s: hash key %s outside shard %s", e.ev.ID, e.ehk, e.shard)
		if s, seen := shardOf[e.pk]; seen {
			require.Equal(t, s, e.shard, "aggregate %s on two shards", e.pk)
		}
		shardOf[e.pk] = e.shard
	}
}

// TestShadowTargetDownNeverFailsTheWrite: with the new service hanging, every legacy
// write still commits and returns at once; the failed mirrors are recorded with enough to
// reconcile them, and ReadFailures/MarkResolved serve the comparator.
func TestShadowTargetDownNeverFailsTheWrite(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); hang.Close() })
	tgt, err := target.NewHTTP(target.HTTPOptions{URL: hang.URL})
	require.NoError(t, err)
	w := f.writer(dualwrite.Config{Mode: dualwrite.ModeShadow, Target: tgt, ShadowTimeout: 3 * time.Second, ShadowQueueSize: 4, ShadowWorkers: 1})
	ctx := context.Background()
	var slowest time.Duration
	for i := 0; i < 10; i++ {
		start := time.Now()
		require.NoError(t, w.Do(ctx, writeItem(fmt.Sprintf("w%d", i), "a", false)))
		slowest = max(slowest, time.Since(start))
	}
	// The target hangs until the 3 s timeout: a write that waited for it would take that
	// long at least, which a plain legacy write does not take even on a loaded machine.
	require.Less(t, slowest, 3*time.Second, "a shadow write waited for the target")
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	require.NoError(t, w.Close(cctx))
	require.Len(t, f.committed(), 10)

	fails, err := shadow.ReadFailures(ctx, f.db.DB, prefix, 0, true, 100)
	require.NoError(t, err)
	require.Len(t, fails, 10, "every committed write's mirror failed and is recorded")
	reasons := map[string]int{}
	byID := map[string]bool{}
	for _, fl := range fails {
		reasons[fl.Reason]++
		byID[fl.Event.ID] = true
		require.Equal(t, "item", fl.Event.AggregateType)
		require.Equal(t, "a", fl.Event.AggregateID)
		require.JSONEq(t, fmt.Sprintf(`{"n":%d}`, map[string]int{"w0": 1, "w1": 2, "w2": 3, "w3": 4, "w4": 5, "w5": 6, "w6": 7, "w7": 8, "w8": 9, "w9": 10}[fl.Event.ID]), string(fl.Event.Payload))
		require.Equal(t, tgt.Name(), fl.Target)
		require.False(t, fl.FailedAt.IsZero())
	}
	require.Len(t, byID, 10)
	require.Positive(t, reasons[shadow.ReasonTimeout], "the hanging target timed out: %v", reasons)
	require.Positive(t, reasons[shadow.ReasonQueueFull], "a queue of 4 overflowed: %v", reasons)

	require.NoError(t, shadow.MarkResolved(ctx, f.db.DB, prefix, fails[0].ID, fails[1].ID))
	left, err := shadow.ReadFailures(ctx, f.db.DB, prefix, 0, true, 100)
	require.NoError(t, err)
	require.Len(t, left, 8)
}

// TestShadowUnknownCommitIsRecorded: a commit whose outcome is unknown is not mirrored
// but recorded for reconciliation; a rolled-back unit leaves nothing.
func TestShadowUnknownCommitIsRecorded(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	svc := startNewService(t)
	tgt, err := target.NewHTTP(target.HTTPOptions{URL: svc.url()})
	require.NoError(t, err)
	w := f.writer(dualwrite.Config{Mode: dualwrite.ModeShadow, Target: tgt})
	ctx := context.Background()
	for _, tc := range []struct {
		id    string
		txErr error
	}{{"lost", fmt.Errorf("commit: %w", errInvalidConn())}, {"rolled-back", fmt.Errorf("rolled back")}, {"kept", nil}} {
		tx, err := f.db.DB.BeginTx(ctx, nil)
		require.NoError(t, err)
		u, err := w.Enlist(ctx, tx, dualwrite.Event{ID: tc.id, Type: "T", AggregateType: "item", AggregateID: "x", Payload: []byte(`{}`)})
		require.NoError(t, err)
		require.NoError(t, tx.Rollback())
		require.ErrorIs(t, u.Finish(ctx, tc.txErr), tc.txErr)
	}
	require.NoError(t, w.Close(ctx))
	applied, _ := svc.snapshot()
	require.Equal(t, []string{"kept"}, applied)
	fails, err := shadow.ReadFailures(ctx, f.db.DB, prefix, 0, false, 10)
	require.NoError(t, err)
	require.Len(t, fails, 1)
	require.Equal(t, "lost", fails[0].Event.ID)
	require.Equal(t, shadow.ReasonCommitUnknown, fails[0].Reason)
}

// batchRecorder is a target that notes the size and time of every batch it is given.
type batchRecorder struct {
	mu    sync.Mutex
	sizes []int
	at    []time.Time
}

func (r *batchRecorder) Name() string { return "recorder" }
func (r *batchRecorder) Apply(_ context.Context, evs []dualwrite.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sizes, r.at = append(r.sizes, len(evs)), append(r.at, time.Now())
	return nil
}
func (r *batchRecorder) Compensate(context.Context, []dualwrite.Event) error { return nil }
func (r *batchRecorder) batches() ([]int, []time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.sizes), slices.Clone(r.at)
}

// TestShadowBatching: a worker waits ShadowBatchWait to fill a batch, and sends at once
// when a full batch (100 events) is queued instead of sleeping through the wait.
func TestShadowBatching(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	const wait = 3 * time.Second
	commit := func(w *dualwrite.Writer, n int) time.Time {
		tx, err := f.db.DB.BeginTx(ctx, nil)
		require.NoError(t, err)
		evs := make([]dualwrite.Event, n)
		for i := range evs {
			evs[i] = dualwrite.Event{Type: "T", AggregateType: "item", AggregateID: fmt.Sprint(i % 7), Payload: []byte(`{}`)}
		}
		u, err := w.Enlist(ctx, tx, evs...)
		require.NoError(t, err)
		require.NoError(t, tx.Commit())
		require.NoError(t, u.Finish(ctx, nil))
		return time.Now()
	}

	t.Run("a few events wait for the batch", func(t *testing.T) {
		rec := &batchRecorder{}
		w := f.writer(dualwrite.Config{Mode: dualwrite.ModeShadow, Target: rec, ShadowWorkers: 1, ShadowBatchWait: wait})
		start := time.Now()
		for range 3 {
			commit(w, 1)
		}
		waitFor(t, 2*wait, "the batch", func() bool { s, _ := rec.batches(); return len(s) > 0 })
		sizes, at := rec.batches()
		require.Equal(t, []int{3}, sizes, "three writes within the wait go in one batch")
		require.GreaterOrEqual(t, at[0].Sub(start), wait, "sent before the wait was over")
		require.NoError(t, w.Close(ctx))
	})

	t.Run("a full batch goes at once", func(t *testing.T) {
		rec := &batchRecorder{}
		w := f.writer(dualwrite.Config{Mode: dualwrite.ModeShadow, Target: rec, ShadowWorkers: 1, ShadowBatchWait: wait})
		// One write at a time: the worker is already waiting when the 100th event comes.
		var hundredth time.Time
		for i := range 150 {
			if at := commit(w, 1); i == 99 {
				hundredth = at
			}
		}
		waitFor(t, 2*wait, "the first batch", func() bool { s, _ := rec.batches(); return len(s) > 0 })
		sizes, at := rec.batches()
		require.Equal(t, 100, sizes[0], "a full batch")
		require.Less(t, at[0].Sub(hundredth), wait/2, "a full batch waited for BatchWait")
		total := func() (n int) {
			s, _ := rec.batches()
			for _, k := range s {
				n += k
			}
			return n
		}
		waitFor(t, 4*wait, "the rest", func() bool { return total() == 150 })
		require.NoError(t, w.Close(ctx))
	})
}
