package sink

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/strangler/strangler/cdc/metrics"
)

// WriterSink writes one JSON event per line to a writer (stdout) or a file. Records are
// acknowledged once flushed, and for a file once fsynced: a crash loses nothing that was
// acknowledged.
type WriterSink struct {
	name   string
	w      *bufio.Writer
	file   *os.File // non-nil for file sinks: fsynced before acknowledging
	acker  Acker
	m      *metrics.Metrics
	linger time.Duration

	mu      sync.Mutex
	pending []*Record // written to w, not yet flushed
	bytes   int
	closed  bool
	err     error
	wake    chan struct{}
	done    chan struct{}
}

const writerFlushBytes = 1 << 20

// NewWriterSink returns a sink writing to w. Flushes happen every linger, and whenever a
// megabyte is buffered.
func NewWriterSink(name string, w io.Writer, acker Acker, m *metrics.Metrics, linger time.Duration) *WriterSink {
	if linger <= 0 {
		linger = 50 * time.Millisecond
	}
	return &WriterSink{name: name, w: bufio.NewWriterSize(w, writerFlushBytes+64<<10), acker: acker, m: m, linger: linger, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// NewFileSink returns a sink appending to the file at path (created with its directory).
func NewFileSink(path string, acker Acker, m *metrics.Metrics, linger time.Duration) (*WriterSink, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("file sink %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("file sink %s: %w", path, err)
	}
	s := NewWriterSink("file:"+path, f, acker, m, linger)
	s.file = f
	return s, nil
}

func (s *WriterSink) Put(ctx context.Context, r *Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if _, err := s.w.Write(r.Data); err != nil {
		s.err = fmt.Errorf("write to %s: %w", s.name, err)
		return s.err
	}
	if err := s.w.WriteByte('\n'); err != nil {
		s.err = fmt.Errorf("write to %s: %w", s.name, err)
		return s.err
	}
	s.pending = append(s.pending, r)
	s.bytes += len(r.Data) + 1
	if s.bytes >= writerFlushBytes {
		s.flushLocked()
	}
	return s.err
}

func (s *WriterSink) flushLocked() {
	if len(s.pending) == 0 || s.err != nil {
		return
	}
	start := time.Now()
	err := s.w.Flush()
	if err == nil && s.file != nil {
		err = s.file.Sync()
	}
	if err != nil {
		s.err = fmt.Errorf("flush %s: %w", s.name, err)
		return
	}
	s.m.SinkLatency.Observe(time.Since(start).Seconds())
	for _, r := range s.pending {
		s.acker.Ack(r.Seq)
	}
	s.m.SinkRecords.Add(float64(len(s.pending)))
	s.m.SinkBytes.Add(float64(s.bytes))
	clear(s.pending)
	s.pending = s.pending[:0]
	s.bytes = 0
}

func (s *WriterSink) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *WriterSink) Run(ctx context.Context) error {
	t := time.NewTicker(s.linger)
	defer t.Stop()
	defer func() {
		if s.file != nil {
			_ = s.file.Close()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		case <-s.wake:
		}
		s.mu.Lock()
		s.flushLocked()
		closed, err := s.closed, s.err
		s.mu.Unlock()
		if err != nil {
			return err
		}
		if closed {
			return nil
		}
	}
}

// DiscardSink drops records and acknowledges them at once: for measuring the source side.
type DiscardSink struct {
	acker Acker
	m     *metrics.Metrics
	close chan struct{}
	once  sync.Once
}

// NewDiscardSink returns a sink that keeps nothing.
func NewDiscardSink(acker Acker, m *metrics.Metrics) *DiscardSink {
	return &DiscardSink{acker: acker, m: m, close: make(chan struct{})}
}

func (s *DiscardSink) Put(ctx context.Context, r *Record) error {
	s.acker.Ack(r.Seq)
	s.m.SinkRecords.Inc()
	return nil
}

func (s *DiscardSink) Close() { s.once.Do(func() { close(s.close) }) }

func (s *DiscardSink) Run(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-s.close:
		return nil
	}
}
