package compensate

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/strangler/strangler/compensate/journal"
)

// Run is the recovery loop: until ctx ends it claims and drives every due saga of the
// registered names (retries whose backoff ran out, sagas woken by a command reply, sagas
// whose instance crashed or was stopped), reads command replies when Options.Commands is
// set, refreshes the saga gauges, and purges old sagas when Options.Retention is set.
//
// Any number of instances can run it against the same database: a saga is driven by the
// instance holding its lease, and every state change checks the lease. When ctx ends,
// Run lets attempts in flight finish (bounded by their timeouts), hands their sagas back
// and returns nil.
func (e *Engine) Run(ctx context.Context) error {
	if err := e.store.Check(ctx); err != nil {
		return fmt.Errorf("compensate: %w", err)
	}
	var wg sync.WaitGroup
	background := func(fn func(context.Context)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(ctx)
		}()
	}
	if e.o.Commands != nil {
		background(e.consumeReplies)
	}
	background(e.refreshMetricsLoop)
	if e.o.Retention > 0 {
		background(e.purgeLoop)
	}
	e.recover(ctx)
	wg.Wait()
	return nil
}

// recover claims due sagas and drives them, at most Concurrency at a time.
func (e *Engine) recover(ctx context.Context) {
	slots := make(chan struct{}, e.o.Concurrency)
	var running sync.WaitGroup
	defer running.Wait()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-e.kick:
		}
		if free := cap(slots) - len(slots); free > 0 {
			ids, err := e.store.Due(ctx, e.names(), free)
			if err != nil && ctx.Err() == nil {
				e.log.Error("recovery loop: find due sagas", "err", err)
			}
			for _, id := range ids {
				owner := e.owner()
				ok, err := e.store.Claim(ctx, id, owner, e.o.Lease)
				if err != nil {
					if ctx.Err() == nil {
						e.log.Error("recovery loop: claim saga", "id", id, "err", err)
					}
					continue
				}
				if !ok {
					continue // another instance was quicker
				}
				e.m.RecoveryClaimed.Inc()
				slots <- struct{}{}
				running.Add(1)
				go func() {
					defer running.Done()
					defer func() { <-slots }()
					e.drive(ctx, id, owner, ctx.Done())
				}()
			}
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(e.o.PollInterval)
	}
}

// consumeReplies reads command replies until ctx ends, starting over after errors.
func (e *Engine) consumeReplies(ctx context.Context) {
	for try := 1; ; try++ {
		err := e.o.Commands.Consume(ctx, e.deliver)
		if ctx.Err() != nil {
			return
		}
		wait := e.o.Backoff.Delay(min(try, 10))
		e.log.Error("reading command replies failed; starting over", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// deliver records a reply on its step; the saga's driver takes it from there.
func (e *Engine) deliver(ctx context.Context, r Reply) error {
	if r.Status != ReplyOK && r.Status != ReplyFailed {
		e.log.Warn("command reply ignored: status is neither ok nor failed", "id", r.ID, "status", r.Status)
		e.m.Replies.WithLabelValues("ignored").Inc()
		return nil
	}
	recorded, err := e.store.RecordReply(ctx, journal.IncomingReply{SagaID: r.SagaID, Step: r.Step, Op: r.Op, Attempt: r.Attempt,
		Status: r.Status, Error: r.Error, Output: r.Output})
	if err != nil {
		return fmt.Errorf("compensate: %w", err)
	}
	if !recorded {
		e.m.Replies.WithLabelValues("ignored").Inc()
		e.log.Debug("command reply ignored: stale, duplicate, or not for a saga waiting for it", "id", r.ID, "attempt", r.Attempt)
		return nil
	}
	e.m.Replies.WithLabelValues("recorded").Inc()
	e.wake()
	return nil
}

func (e *Engine) refreshMetricsLoop(ctx context.Context) {
	t := time.NewTicker(e.o.MetricsInterval)
	defer t.Stop()
	for {
		if err := e.RefreshMetrics(ctx); err != nil && ctx.Err() == nil {
			e.log.Warn("refresh saga metrics", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RefreshMetrics reads how many sagas are in each state into the gauges (Run does it
// every MetricsInterval).
func (e *Engine) RefreshMetrics(ctx context.Context) error {
	counts, err := e.store.Counts(ctx)
	if err != nil {
		return fmt.Errorf("compensate: %w", err)
	}
	e.m.Sagas.Reset()
	e.m.Stuck.Reset()
	for _, n := range e.names() {
		e.m.Stuck.WithLabelValues(n).Set(0)
	}
	for _, c := range counts {
		e.m.Sagas.WithLabelValues(c.Name, string(c.State)).Set(float64(c.N))
		if c.State == Stuck {
			e.m.Stuck.WithLabelValues(c.Name).Set(float64(c.N))
		}
	}
	return nil
}

func (e *Engine) purgeLoop(ctx context.Context) {
	t := time.NewTicker(min(time.Hour, e.o.Retention))
	defer t.Stop()
	for {
		n, err := e.store.Purge(ctx, e.o.Retention)
		switch {
		case err != nil && ctx.Err() == nil:
			e.log.Warn("purge old sagas", "err", err)
		case n > 0:
			e.log.Info("purged old sagas", "count", n, "older_than", e.o.Retention)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
