package sink

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/cdc/metrics"
)

type acks struct {
	mu   sync.Mutex
	seqs []uint64
}

func (a *acks) Ack(seq uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seqs = append(a.seqs, seq)
}

func (a *acks) got() []uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]uint64(nil), a.seqs...)
}

func TestFileSinkAcknowledgesWhatIsOnDisk(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out", "events.jsonl")
	a := &acks{}
	s, err := NewFileSink(path, a, metrics.Discard(), 10*time.Millisecond)
	require.NoError(t, err)
	ctx := context.Background()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	for i := uint64(1); i <= 100; i++ {
		require.NoError(t, s.Put(ctx, &Record{Seq: i, Data: []byte(`{"n":` + string(rune('0'+i%10)) + `}`)}))
	}
	s.Close()
	require.NoError(t, <-done)
	require.Len(t, a.got(), 100)
	for i, seq := range a.got() {
		require.Equal(t, uint64(i+1), seq, "acknowledged in order")
	}
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
	}
	require.Equal(t, 100, n, "one line per record")
}

func TestFileSinkAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.jsonl")
	require.NoError(t, os.WriteFile(path, []byte("{\"old\":1}\n"), 0o644))
	a := &acks{}
	s, err := NewFileSink(path, a, metrics.Discard(), time.Millisecond)
	require.NoError(t, err)
	go func() { _ = s.Run(context.Background()) }()
	require.NoError(t, s.Put(context.Background(), &Record{Seq: 1, Data: []byte(`{"new":1}`)}))
	s.Close()
	require.Eventually(t, func() bool { return len(a.got()) == 1 }, 5*time.Second, time.Millisecond)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "{\"old\":1}\n{\"new\":1}\n", string(b))
}

func TestDiscardSink(t *testing.T) {
	a := &acks{}
	s := NewDiscardSink(a, metrics.Discard())
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	require.NoError(t, s.Put(context.Background(), &Record{Seq: 7}))
	s.Close()
	require.NoError(t, <-done)
	require.Equal(t, []uint64{7}, a.got())
}

// TestFileSinkKeepsOrderAcrossBuffers writes several megabytes, so that full buffers are
// handed to Run while it also writes out lingering partial ones: lines and
// acknowledgements must stay in record order.
func TestFileSinkKeepsOrderAcrossBuffers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.jsonl")
	a := &acks{}
	s, err := NewFileSink(path, a, metrics.Discard(), time.Millisecond)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	pad := strings.Repeat("x", 900)
	const n = 5000 // about 4.5 MiB
	for i := 1; i <= n; i++ {
		require.NoError(t, s.Put(context.Background(), &Record{Seq: uint64(i), Data: []byte(fmt.Sprintf(`{"n":%d,"pad":"%s"}`, i, pad))}))
		if i%700 == 0 {
			time.Sleep(2 * time.Millisecond) // let a linger flush take a partial buffer
		}
	}
	s.Close()
	require.NoError(t, <-done)
	got := a.got()
	require.Len(t, got, n)
	for i, seq := range got {
		require.Equal(t, uint64(i+1), seq)
	}
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 4096), 4096)
	i := 0
	for sc.Scan() {
		i++
		require.True(t, strings.HasPrefix(sc.Text(), fmt.Sprintf(`{"n":%d,`, i)), "line %d", i)
	}
	require.Equal(t, n, i)
}

// A file sink fed faster than the disk fsyncs once per writerSyncBytes written, not once
// per buffer, and still acknowledges every record, in order, only once it is on disk.
func TestFileSinkGroupsFsyncs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.jsonl")
	a := &acks{}
	m := metrics.Discard()
	// A linger far longer than the test: only the bytes written and Close force fsyncs.
	s, err := NewFileSink(path, a, m, time.Hour)
	require.NoError(t, err)
	ctx := context.Background()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	line := []byte(`{"payload":"` + strings.Repeat("x", 1000) + `"}`)
	const records = 40_000 // about 40 MB: 40 buffers of 1 MB
	for i := uint64(1); i <= records; i++ {
		require.NoError(t, s.Put(ctx, &Record{Seq: i, Data: line}))
	}
	s.Close()
	require.NoError(t, <-done)

	got := a.got()
	require.Len(t, got, records)
	for i, seq := range got {
		require.Equal(t, uint64(i+1), seq, "acknowledged in order")
	}
	var h dto.Metric
	require.NoError(t, m.SinkLatency.Write(&h))
	fsyncs := h.GetHistogram().GetSampleCount()
	require.GreaterOrEqual(t, fsyncs, uint64(2), "fsyncs happen while writing, not only at the end")
	require.LessOrEqual(t, fsyncs, uint64(records*len(line)/writerSyncBytes+2), "one fsync per %d bytes written", writerSyncBytes)
	info, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, int64(records*(len(line)+1)), info.Size())
}
