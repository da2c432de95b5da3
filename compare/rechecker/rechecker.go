// Package rechecker checks rows found different again after a delay, because on live
// data the new side lags the old by the CDC delay: a row that converges was a change in
// flight, and only a row still different after every check is a mismatch.
package rechecker

import (
	"context"
	"sync"
	"time"

	"github.com/strangler/strangler/compare/differ"
	"github.com/strangler/strangler/compare/source"
)

// Options tune the rechecks.
type Options struct {
	After      time.Duration // wait before each check again
	Times      int           // checks again before a difference is final (0: none)
	MaxPending int           // rows waiting for a check before Submit blocks (bounds memory)
}

// Done receives a batch's outcome: the rows still different after every check, and how
// many converged.
type Done func(tag int64, final []differ.Finding, inFlight int64)

// Fetcher reads rows by key on both sides and returns those that differ.
type Fetcher func(ctx context.Context, srcKeys, tgtKeys []source.Key) ([]differ.Finding, error)

// Rechecker queues batches of findings and checks them again when they are due.
type Rechecker struct {
	opts  Options
	fetch Fetcher
	done  Done

	mu      sync.Mutex
	cond    *sync.Cond
	queue   []*batch
	pending int
	closed  bool
	err     error
}

type batch struct {
	tag      int64
	due      time.Time
	attempts int
	findings []differ.Finding
	inFlight int64
}

// New returns a rechecker; run it with Run.
func New(opts Options, fetch Fetcher, done Done) *Rechecker {
	if opts.MaxPending <= 0 {
		opts.MaxPending = 100000
	}
	r := &Rechecker{opts: opts, fetch: fetch, done: done}
	r.cond = sync.NewCond(&r.mu)
	return r
}

// Submit queues the findings of one chunk (tag); with no findings or no rechecks the
// outcome is reported at once. It blocks while too many rows wait.
func (r *Rechecker) Submit(ctx context.Context, tag int64, fs []differ.Finding) error {
	if len(fs) == 0 || r.opts.Times <= 0 {
		r.done(tag, fs, 0)
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.pending >= r.opts.MaxPending && r.err == nil && ctx.Err() == nil && len(r.queue) > 0 {
		r.cond.Wait()
	}
	if r.err != nil {
		return r.err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	r.queue = append(r.queue, &batch{tag: tag, due: time.Now().Add(r.opts.After), findings: fs})
	r.pending += len(fs)
	r.cond.Broadcast()
	return nil
}

// Close says no more batches come; Run returns once the queue is empty.
func (r *Rechecker) Close() {
	r.mu.Lock()
	r.closed = true
	r.cond.Broadcast()
	r.mu.Unlock()
}

// Run checks batches as they fall due until Close and an empty queue, or an error.
func (r *Rechecker) Run(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		r.mu.Lock()
		r.cond.Broadcast()
		r.mu.Unlock()
	})
	defer stop()
	for {
		r.mu.Lock()
		for len(r.queue) == 0 && !r.closed && ctx.Err() == nil {
			r.cond.Wait()
		}
		if ctx.Err() != nil {
			r.fail(ctx.Err())
			r.mu.Unlock()
			return ctx.Err()
		}
		if len(r.queue) == 0 && r.closed {
			r.mu.Unlock()
			return nil
		}
		b := r.queue[0]
		r.queue = r.queue[1:]
		r.mu.Unlock()

		if wait := time.Until(b.due); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				r.mu.Lock()
				r.fail(ctx.Err())
				r.mu.Unlock()
				return ctx.Err()
			}
		}
		before := len(b.findings)
		if err := r.check(ctx, b); err != nil {
			r.mu.Lock()
			r.fail(err)
			r.mu.Unlock()
			return err
		}
		r.mu.Lock()
		r.pending -= before - len(b.findings)
		if len(b.findings) > 0 && b.attempts < r.opts.Times {
			b.due = time.Now().Add(r.opts.After)
			r.queue = append(r.queue, b)
			r.mu.Unlock()
			continue
		}
		r.pending -= len(b.findings)
		r.cond.Broadcast()
		r.mu.Unlock()
		r.done(b.tag, b.findings, b.inFlight)
	}
}

func (r *Rechecker) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.cond.Broadcast()
}

// check fetches the batch's rows again: those now equal converged.
func (r *Rechecker) check(ctx context.Context, b *batch) error {
	b.attempts++
	var srcKeys, tgtKeys []source.Key
	for _, f := range b.findings {
		srcKeys = append(srcKeys, f.Key)
		tgtKeys = append(tgtKeys, f.Key)
	}
	now, err := r.fetch(ctx, srcKeys, tgtKeys)
	if err != nil {
		return err
	}
	b.inFlight += int64(len(b.findings) - len(now))
	// The latest state of each row is what a report shows.
	b.findings = now
	return nil
}
