package checkpoint

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/cdc/binlog"
)

// memStore is a Store in memory, for the checkpointer's own logic (stores are tested
// against real files and a real MariaDB in store_test.go).
type memStore struct {
	mu    sync.Mutex
	saved []*Checkpoint
}

func (s *memStore) Load(context.Context) (*Checkpoint, error) { return s.last(), nil }
func (s *memStore) Save(_ context.Context, cp *Checkpoint) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := *cp
	s.saved = append(s.saved, &c)
	return nil
}
func (s *memStore) Delete(context.Context) error { return nil }
func (s *memStore) String() string               { return "memory" }
func (s *memStore) Close() error                 { return nil }
func (s *memStore) last() *Checkpoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.saved) == 0 {
		return nil
	}
	return s.saved[len(s.saved)-1]
}

func resumeAt(pos uint32, skip int64) binlog.Resume {
	return binlog.Resume{Position: binlog.Position{File: "binlog.000001", Pos: pos}, Skip: skip}
}

func TestCheckpointAdvancesOnlyOverAcknowledgedPrefix(t *testing.T) {
	st := &memStore{}
	start := &Checkpoint{Resume: resumeAt(4, 0)}
	c := New(st, start, Options{})
	for i := uint64(1); i <= 5; i++ {
		c.Track(i, resumeAt(100, int64(i)), nil, time.Unix(int64(i), 0))
	}
	steps := []struct {
		ack      uint64
		wantSkip int64 // skip of the reached resume; -1: still the start
	}{
		{3, -1}, // 1 and 2 are not delivered: nothing moves
		{1, 1},
		{5, 1},
		{2, 3}, // 1, 2, 3 delivered
		{4, 5},
	}
	for _, s := range steps {
		c.Ack(s.ack)
		got := c.Reached()
		if s.wantSkip < 0 {
			require.Equal(t, start.Resume, got.Resume, "after ack %d", s.ack)
			continue
		}
		require.Equal(t, s.wantSkip, got.Resume.Skip, "after ack %d", s.ack)
	}
	require.Equal(t, 0, c.Pending())
	require.NoError(t, c.Save(context.Background()))
	require.Equal(t, int64(5), st.last().Resume.Skip)
	require.Equal(t, time.Unix(5, 0), st.last().EventTime)
}

func TestCheckpointSavesOnlyWhenMoved(t *testing.T) {
	st := &memStore{}
	c := New(st, &Checkpoint{Resume: resumeAt(4, 0)}, Options{Version: "test", Source: SourceID{Flavor: "mariadb", ServerID: 1}})
	ctx := context.Background()
	require.NoError(t, c.Save(ctx))
	require.Len(t, st.saved, 1, "the start point is saved once")
	require.NoError(t, c.Save(ctx))
	require.Len(t, st.saved, 1, "nothing moved, nothing written")
	c.Track(1, resumeAt(200, 0), nil, time.Time{})
	require.NoError(t, c.Save(ctx))
	require.Len(t, st.saved, 1, "tracked but not acknowledged: nothing written")
	c.Ack(1)
	require.NoError(t, c.Save(ctx))
	require.Len(t, st.saved, 2)
	require.Equal(t, uint32(200), st.last().Resume.Pos)
	require.Equal(t, "test", st.last().Version)
	require.Equal(t, uint32(1), st.last().Source.ServerID)
	require.False(t, st.last().SavedAt.IsZero())
}

func TestCheckpointManyPendingOutOfOrder(t *testing.T) {
	// More items than the initial ring holds, acknowledged in reverse from many
	// goroutines: the result must be the last item, whatever the interleaving.
	c := New(&memStore{}, nil, Options{})
	const n = 5000
	for i := uint64(1); i <= n; i++ {
		c.Track(i, resumeAt(uint32(i), 0), nil, time.Time{})
	}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := uint64(n - w); i >= 1 && i <= n; i -= 8 {
				c.Ack(i)
			}
		}(w)
	}
	wg.Wait()
	require.Equal(t, 0, c.Pending())
	require.Equal(t, uint32(n), c.Reached().Resume.Pos)
}

func TestCheckpointRejectsMisuse(t *testing.T) {
	c := New(&memStore{}, nil, Options{})
	c.Track(1, resumeAt(1, 0), nil, time.Time{})
	require.Panics(t, func() { c.Track(3, resumeAt(3, 0), nil, time.Time{}) }, "gap in sequence")
	require.Panics(t, func() { c.Ack(2) }, "ack of an item never tracked")
	c.Ack(1)
	require.Panics(t, func() { c.Ack(1) }, "second ack of a delivered item")
}

func TestRunSavesOnEveryAdvanceWithZeroInterval(t *testing.T) {
	st := &memStore{}
	c := New(st, nil, Options{Interval: 0})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	c.Track(1, resumeAt(10, 0), nil, time.Time{})
	c.Ack(1)
	require.Eventually(t, func() bool { l := st.last(); return l != nil && l.Resume.Pos == 10 }, 5*time.Second, 5*time.Millisecond)
	c.Track(2, resumeAt(20, 0), nil, time.Time{})
	c.Ack(2)
	require.Eventually(t, func() bool { return st.last().Resume.Pos == 20 }, 5*time.Second, 5*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
}
