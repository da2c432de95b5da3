package target

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/strangler/strangler/cdc/metrics"
	"github.com/strangler/strangler/cdc/sink"
	kinesissink "github.com/strangler/strangler/cdc/sink/kinesis"
)

// publisher sends records through the CDC daemon's Kinesis sink (batching, per-key
// order, retries with backoff, adaptive rate) and tells each caller when its records are
// acknowledged. The sink stops for good after an error it cannot retry or after
// MaxRetryTime; the publisher then fails what the sink held and starts a new sink on the
// next call.
type publisher struct {
	api  kinesissink.PutRecordsAPI
	opts kinesissink.Options
	log  *slog.Logger

	putMu sync.Mutex // one Put at a time, so that callers' records enter the sink in order

	mu      sync.Mutex
	cur     *generation
	seq     uint64
	waiters map[uint64]waiter
	closed  bool
	ctx     context.Context
	stop    context.CancelFunc
	gens    sync.WaitGroup
}

type generation struct {
	s    *kinesissink.Sink
	done chan struct{}
	err  error
}

type waiter struct {
	ch  chan error
	gen *generation
}

func newPublisher(api kinesissink.PutRecordsAPI, opts kinesissink.Options, log *slog.Logger) *publisher {
	ctx, stop := context.WithCancel(context.Background())
	return &publisher{api: api, opts: opts, log: log, waiters: map[uint64]waiter{}, ctx: ctx, stop: stop}
}

// Ack is the sink's acknowledgement of one record.
func (p *publisher) Ack(seq uint64) {
	p.mu.Lock()
	w, ok := p.waiters[seq]
	delete(p.waiters, seq)
	p.mu.Unlock()
	if ok {
		w.ch <- nil
	}
}

// current returns the running sink, starting one if there is none. Called with mu held.
func (p *publisher) current() (*generation, error) {
	if p.closed {
		return nil, errors.New("kinesis target: closed")
	}
	if p.cur != nil {
		select {
		case <-p.cur.done:
		default:
			return p.cur, nil
		}
	}
	s, err := kinesissink.New(p.api, p.opts, p, metrics.Discard(), p.log)
	if err != nil {
		return nil, err
	}
	g := &generation{s: s, done: make(chan struct{})}
	p.cur = g
	p.gens.Add(1)
	go func() {
		defer p.gens.Done()
		err := s.Run(p.ctx)
		if err == nil {
			err = errors.New("kinesis target: sink closed")
		}
		p.mu.Lock()
		g.err = err
		close(g.done)
		var failed []waiter
		for seq, w := range p.waiters {
			if w.gen == g {
				failed = append(failed, w)
				delete(p.waiters, seq)
			}
		}
		p.mu.Unlock()
		if len(failed) > 0 && p.ctx.Err() == nil {
			p.log.Warn("kinesis target: the sink stopped; its records are reported failed", "records", len(failed), "error", err)
		}
		for _, w := range failed {
			w.ch <- err
		}
	}()
	return g, nil
}

// publish hands recs to the sink and waits until all are acknowledged, one fails, or ctx
// ends. Records not acknowledged when it returns may still be delivered later.
func (p *publisher) publish(ctx context.Context, recs []*sink.Record) error {
	chans := make([]chan error, 0, len(recs))
	seqs := make([]uint64, 0, len(recs))
	forget := func() {
		p.mu.Lock()
		for _, s := range seqs {
			delete(p.waiters, s)
		}
		p.mu.Unlock()
	}
	p.putMu.Lock()
	for _, r := range recs {
		p.mu.Lock()
		g, err := p.current()
		if err != nil {
			p.mu.Unlock()
			p.putMu.Unlock()
			forget()
			return err
		}
		p.seq++
		r.Seq = p.seq
		ch := make(chan error, 1)
		p.waiters[r.Seq] = waiter{ch: ch, gen: g}
		p.mu.Unlock()
		seqs = append(seqs, r.Seq)
		chans = append(chans, ch)
		if err := g.s.Put(ctx, r); err != nil {
			p.putMu.Unlock()
			forget()
			return fmt.Errorf("kinesis target: %w", err)
		}
	}
	p.putMu.Unlock()
	for _, ch := range chans {
		select {
		case err := <-ch:
			if err != nil {
				forget()
				return fmt.Errorf("kinesis target: %w", err)
			}
		case <-ctx.Done():
			forget()
			return fmt.Errorf("kinesis target: not acknowledged in time: %w", ctx.Err())
		}
	}
	return nil
}

// close delivers what the sink holds, until ctx ends, then stops it.
func (p *publisher) close(ctx context.Context) error {
	p.mu.Lock()
	p.closed = true
	g := p.cur
	p.mu.Unlock()
	var err error
	if g != nil {
		g.s.Close()
		select {
		case <-g.done:
		case <-ctx.Done():
			err = fmt.Errorf("kinesis target: records still held at close: %w", ctx.Err())
		}
	}
	p.stop()
	p.gens.Wait()
	return err
}
