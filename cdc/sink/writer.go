package sink

import (
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
// acknowledged once written, and for a file once fsynced: a crash loses nothing that was
// acknowledged. Writing and fsyncing happen in Run, off the pipeline's path: Put fills
// one buffer while Run writes out the previous ones, in order.
type WriterSink struct {
	name   string
	w      io.Writer
	file   *os.File // non-nil for file sinks: fsynced before acknowledging
	acker  Acker
	m      *metrics.Metrics
	linger time.Duration

	mu     sync.Mutex
	cur    *batch   // being filled by Put
	queue  []*batch // full buffers waiting for Run, in order
	closed bool
	err    error

	// Run's own: records written but not yet fsynced, and their bytes.
	pending  [][]uint64
	unsynced int

	free  chan []byte   // buffers written out, for newBatch to fill again
	wake  chan struct{} // tells Run a buffer is queued
	slots chan struct{} // bounds the queued buffers: Put waits when Run is behind
	done  chan struct{} // closed when Run has stopped
}

// batch is a buffer of lines and the sequence numbers of their records (not the
// records: their data is copied, and holding them would keep it alive for the GC).
type batch struct {
	buf  []byte
	seqs []uint64
}

const (
	writerFlushBytes = 1 << 20
	writerQueued     = 4
	writerSyncBytes  = 8 << 20 // written between fsyncs at full speed (else the linger's tick)
)

// NewWriterSink returns a sink writing to w. A buffer is written out when it holds a
// megabyte, or after linger.
func NewWriterSink(name string, w io.Writer, acker Acker, m *metrics.Metrics, linger time.Duration) *WriterSink {
	if linger <= 0 {
		linger = 50 * time.Millisecond
	}
	s := &WriterSink{name: name, w: w, acker: acker, m: m, linger: linger, free: make(chan []byte, writerQueued+1),
		wake: make(chan struct{}, 1), slots: make(chan struct{}, writerQueued), done: make(chan struct{})}
	s.cur = s.newBatch()
	return s
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

// newBatch starts a buffer, reusing one already written out when there is one.
func (s *WriterSink) newBatch() *batch {
	select {
	case buf := <-s.free:
		return &batch{buf: buf[:0]}
	default:
		return &batch{buf: make([]byte, 0, writerFlushBytes+64<<10)}
	}
}

func (s *WriterSink) Put(ctx context.Context, r *Record) error {
	return s.PutData(ctx, r.Seq, r.Data)
}

// PutData copies data into the sink's buffer.
func (s *WriterSink) PutData(ctx context.Context, seq uint64, data []byte) error {
	s.mu.Lock()
	if s.err != nil {
		err := s.err
		s.mu.Unlock()
		return err
	}
	b := s.cur
	b.buf = append(b.buf, data...)
	b.buf = append(b.buf, '\n')
	b.seqs = append(b.seqs, seq)
	if len(b.buf) < writerFlushBytes {
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	// A full buffer waits for a slot (Run releases one per queued buffer written): Put
	// blocks while Run is that far behind. Put has one caller, so nothing is appended
	// meanwhile.
	select {
	case s.slots <- struct{}{}:
	case <-s.done:
		return s.stopErr()
	case <-ctx.Done():
		return ctx.Err()
	}
	s.mu.Lock()
	queued := s.cur == b // else Run took it while it lingered
	if queued {
		// Queued under the lock, so the order of buffers is the order of records.
		s.queue = append(s.queue, b)
		s.cur = s.newBatch()
	}
	s.mu.Unlock()
	if !queued {
		<-s.slots
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

func (s *WriterSink) stopErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	return fmt.Errorf("%s: stopped", s.name)
}

// take removes the queued buffers and, when all is true, the partly filled one too.
func (s *WriterSink) take(all bool) (queued []*batch, partial *batch, closed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	queued, s.queue = s.queue, nil
	if all && len(s.cur.seqs) > 0 {
		partial, s.cur = s.cur, s.newBatch()
	}
	return queued, partial, s.closed
}

// write writes out buffers in order. Their records are acknowledged once the file is
// fsynced (at once for a plain writer): sync fsyncs when writerSyncBytes were written
// since the last fsync, or when forced (the linger elapsed, the sink is closing). One
// fsync then covers many buffers (group commit): the pipeline running ahead of the disk
// makes fsyncs fewer, not the pipeline slower, and an fsync per megabyte would cost more
// CPU than the writes themselves.
func (s *WriterSink) write(bs ...*batch) error {
	for _, b := range bs {
		if _, err := s.w.Write(b.buf); err != nil {
			return fmt.Errorf("write to %s: %w", s.name, err)
		}
		s.m.SinkBytes.Add(float64(len(b.buf)))
		s.unsynced += len(b.buf)
		// Only the sequence numbers wait for the fsync; the data is in the file.
		s.pending = append(s.pending, b.seqs)
		select {
		case s.free <- b.buf:
		default:
		}
	}
	return nil
}

// sync fsyncs what was written and acknowledges its records, if enough was written
// since the last fsync or force is set.
func (s *WriterSink) sync(force bool) error {
	if len(s.pending) == 0 || (!force && s.unsynced < writerSyncBytes) {
		return nil
	}
	start := time.Now()
	if s.file != nil {
		if err := s.file.Sync(); err != nil {
			return fmt.Errorf("write to %s: fsync: %w", s.name, err)
		}
	}
	s.m.SinkLatency.Observe(time.Since(start).Seconds())
	ba, batched := s.acker.(BatchAcker)
	for _, seqs := range s.pending {
		if batched {
			ba.AckAll(seqs)
		} else {
			for _, seq := range seqs {
				s.acker.Ack(seq)
			}
		}
		s.m.SinkRecords.Add(float64(len(seqs)))
	}
	s.pending, s.unsynced = s.pending[:0], 0
	return nil
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

func (s *WriterSink) Run(ctx context.Context) (err error) {
	defer func() {
		s.mu.Lock()
		if s.err == nil && err != nil {
			s.err = err
		}
		s.mu.Unlock()
		close(s.done)
		if s.file != nil {
			_ = s.file.Close()
		}
	}()
	t := time.NewTicker(s.linger)
	defer t.Stop()
	for {
		lingered := false
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.wake:
		case <-t.C:
			lingered = true
		}
		s.mu.Lock()
		closing := s.closed
		s.mu.Unlock()
		queued, partial, closed := s.take(lingered || closing)
		all := queued
		if partial != nil {
			all = append(all, partial)
		}
		if err := s.write(all...); err != nil {
			return err
		}
		// Written buffers leave the queue: Put may fill more while the fsync runs.
		for range queued {
			<-s.slots
		}
		if err := s.sync(lingered || closing || s.file == nil); err != nil {
			return err
		}
		if closed && closing {
			// Everything Put before Close is written: Close comes after the last Put.
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
	return s.PutData(ctx, r.Seq, r.Data)
}

// PutData acknowledges the record at once.
func (s *DiscardSink) PutData(ctx context.Context, seq uint64, data []byte) error {
	s.acker.Ack(seq)
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
