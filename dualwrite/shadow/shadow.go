// Package shadow is dualwrite's shadow mode: the legacy write is the only one that
// matters, and its events are mirrored to a target afterwards, asynchronously, by a
// bounded queue and a few workers. A mirror never fails the legacy write and never slows
// it beyond a map update under a mutex; a mirror that fails (queue full, target error,
// timeout, commit outcome unknown) is recorded in <prefix>shadow_failures for
// reconciliation (the comparator reports them).
//
// Order: a unit reserves its place in its aggregates' queues before the legacy commit
// and releases it after; events are delivered in reservation order per aggregate, and a
// later unit of an aggregate waits for an earlier one to resolve. When the legacy
// transactions of one aggregate lock a common row, reservation order is their commit
// order (within one process).
//
// Crashes: what is queued in memory when the process dies is lost, and not recorded; the
// comparator finds it. Use the outbox or mirror mode when every event must arrive.
package shadow

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/strangler/strangler/dualwrite/event"
	"github.com/strangler/strangler/migrations"
)

// Target receives shadowed events; Apply must be idempotent on the event ids.
type Target interface {
	Name() string
	Apply(ctx context.Context, evs []event.Event) error
}

// Failure reasons.
const (
	ReasonQueueFull     = "queue_full"     // the queue was full when the unit reserved its place
	ReasonTimeout       = "timeout"        // the target did not accept the events within Timeout
	ReasonTargetError   = "target_error"   // the target refused or failed until Timeout
	ReasonCommitUnknown = "commit_unknown" // the legacy commit failed with an unknown outcome: maybe committed
	ReasonShutdown      = "shutdown"       // the writer closed before the event was delivered
)

// FailuresTable returns the failures table's name for a table prefix.
func FailuresTable(prefix string) string { return prefix + "shadow_failures" }

// Config configures shadow mode.
type Config struct {
	// DB holds the failures table (the legacy database, or any with the migrations).
	DB          *sql.DB
	TablePrefix string
	Target      Target
	// QueueSize bounds the events held in memory (reserved, queued or being delivered);
	// beyond it a unit's events are recorded as failures instead. Default 10,000. The
	// failures waiting to be written are bounded apart, at twice this (at least 1,024);
	// beyond that they are logged at error level and counted as lost.
	QueueSize int
	// Workers deliver in parallel, each owning a share of the aggregates; default 4.
	Workers int
	// Timeout bounds the delivery of one batch, retries included; default 2 s.
	Timeout time.Duration
	// Batch is the most events one Apply carries; default 100.
	Batch int
	// BatchWait is how long a worker waits for more events to fill a batch before it
	// sends; default 20 ms, negative for none. Fewer, fuller requests cost the target
	// (and this process) less; shadow events are not waited for.
	BatchWait time.Duration
	Logger    *slog.Logger
	Metrics   *Metrics
}

// Outcome is what became of the legacy transaction.
type Outcome int

const (
	Committed    Outcome = iota
	NotCommitted         // rolled back: nothing to mirror
	Unknown              // the commit failed, maybe committed: recorded for reconciliation
)

// Shadow mirrors committed units asynchronously. It is safe for concurrent use.
type Shadow struct {
	cfg   Config
	log   *slog.Logger
	m     *Metrics
	table string

	mu          sync.Mutex
	aggs        map[string]*aggState
	outstanding int
	closed      bool // no more reservations
	stopped     bool // workers gone: resolved events are recorded, not queued
	drained     chan struct{}

	queues   []chan *slot
	failMu   sync.RWMutex // guards sending on failures against its closing
	failShut bool
	failures chan failure
	stop     context.CancelFunc
	stopCtx  context.Context
	workers  sync.WaitGroup
	recorder sync.WaitGroup
}

type aggState struct {
	key           string
	worker        int
	next, deliver uint64
	parked        map[uint64]*slot
	count         int
}

type slot struct {
	ev       event.Event
	agg      *aggState
	ticket   uint64
	rejected bool
	resolved bool
	outcome  Outcome
	cause    error
}

type failure struct {
	ev     event.Event
	reason string
	err    error
	at     time.Time
}

// New starts the workers and the failure recorder.
func New(ctx context.Context, cfg Config) (*Shadow, error) {
	if cfg.DB == nil || cfg.Target == nil {
		return nil, errors.New("shadow: a database (for the failures table) and a target are required")
	}
	if cfg.TablePrefix == "" {
		cfg.TablePrefix = migrations.DefaultPrefix
	}
	if err := migrations.ValidatePrefix(cfg.TablePrefix); err != nil {
		return nil, fmt.Errorf("shadow: %w", err)
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 10000
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 100
	}
	if cfg.BatchWait == 0 {
		cfg.BatchWait = 20 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = DiscardMetrics()
	}
	s := &Shadow{cfg: cfg, m: cfg.Metrics, table: FailuresTable(cfg.TablePrefix), aggs: map[string]*aggState{},
		failures: make(chan failure, max(2*cfg.QueueSize, 1024))}
	s.log = cfg.Logger.With("mode", "shadow", "target", cfg.Target.Name())
	if _, err := cfg.DB.ExecContext(ctx, "SELECT 1 FROM `"+s.table+"` LIMIT 0"); err != nil {
		return nil, fmt.Errorf("shadow failures table %s: %w (create it with `strangler migrate up --table-prefix %s`)", s.table, err, cfg.TablePrefix)
	}
	s.stopCtx, s.stop = context.WithCancel(context.Background())
	for i := 0; i < cfg.Workers; i++ {
		q := make(chan *slot, cfg.QueueSize)
		s.queues = append(s.queues, q)
		s.workers.Add(1)
		go s.work(q)
	}
	s.recorder.Add(1)
	go s.record()
	return s, nil
}

// Reservation is a unit's place in its aggregates' queues, held from before the legacy
// commit until Resolve.
type Reservation struct {
	s     *Shadow
	slots []*slot
	done  bool
}

// Reserve takes places for evs (normalized). It never blocks on the target: when the
// queue is full the events are marked to be recorded as failures if the unit commits.
func (s *Shadow) Reserve(evs []event.Event) *Reservation {
	r := &Reservation{s: s, slots: make([]*slot, len(evs))}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range evs {
		sl := &slot{ev: evs[i]}
		r.slots[i] = sl
		if s.closed || s.outstanding >= s.cfg.QueueSize {
			sl.rejected = true
			continue
		}
		key := evs[i].PartitionKey()
		st := s.aggs[key]
		if st == nil {
			st = &aggState{key: key, worker: workerOf(key, len(s.queues)), parked: map[uint64]*slot{}}
			s.aggs[key] = st
		}
		sl.agg, sl.ticket = st, st.next
		st.next++
		st.count++
		st.parked[sl.ticket] = sl
		s.outstanding++
	}
	s.m.QueueDepth.Set(float64(s.outstanding))
	return r
}

func workerOf(key string, n int) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return int(h.Sum32() % uint32(n))
}

// Resolve releases the reservation once the legacy transaction ended: committed events
// go to their workers in order, the others are dropped (NotCommitted) or recorded
// (Unknown; and queue-full events of a committed unit).
func (r *Reservation) Resolve(outcome Outcome, cause error) {
	if r == nil || r.done {
		return
	}
	r.done = true
	s := r.s
	now := time.Now()
	var fails []failure
	s.mu.Lock()
	for _, sl := range r.slots {
		if sl.rejected {
			switch {
			case outcome == Committed && s.closed:
				fails = append(fails, failure{ev: sl.ev, reason: ReasonShutdown, err: errors.New("the writer was closed"), at: now})
			case outcome == Committed:
				fails = append(fails, failure{ev: sl.ev, reason: ReasonQueueFull, err: fmt.Errorf("the shadow queue held %d events (QueueSize)", s.cfg.QueueSize), at: now})
			case outcome == Unknown:
				fails = append(fails, failure{ev: sl.ev, reason: ReasonCommitUnknown, err: cause, at: now})
			}
			continue
		}
		sl.resolved, sl.outcome, sl.cause = true, outcome, cause
		fails = s.advance(sl.agg, fails, now)
	}
	s.m.QueueDepth.Set(float64(s.outstanding))
	s.mu.Unlock()
	for _, f := range fails {
		s.fail(f)
	}
}

// advance hands the aggregate's resolved head slots to its worker, in ticket order.
// Called with mu held.
func (s *Shadow) advance(st *aggState, fails []failure, now time.Time) []failure {
	for {
		sl := st.parked[st.deliver]
		if sl == nil || !sl.resolved {
			return fails
		}
		delete(st.parked, st.deliver)
		st.deliver++
		switch {
		case sl.outcome == Committed && !s.stopped:
			s.m.Queued.Inc()
			s.queues[st.worker] <- sl // never blocks: each queue holds QueueSize and outstanding <= QueueSize
			continue
		case sl.outcome == Committed:
			fails = append(fails, failure{ev: sl.ev, reason: ReasonShutdown, err: errors.New("the writer was closed before the event was delivered"), at: now})
		case sl.outcome == Unknown:
			fails = append(fails, failure{ev: sl.ev, reason: ReasonCommitUnknown, err: sl.cause, at: now})
		}
		s.release(sl)
	}
}

// release forgets a slot that left the queue. Called with mu held.
func (s *Shadow) release(sl *slot) {
	s.outstanding--
	sl.agg.count--
	if sl.agg.count == 0 && s.aggs[sl.agg.key] == sl.agg {
		delete(s.aggs, sl.agg.key)
	}
	if s.outstanding == 0 && s.drained != nil {
		close(s.drained)
		s.drained = nil
	}
}

// work delivers one worker's events, batching what is queued.
func (s *Shadow) work(q chan *slot) {
	defer s.workers.Done()
	batch := make([]*slot, 0, s.cfg.Batch)
	for first := range q {
		batch = append(batch[:0], first)
		var wait <-chan time.Time
		var timer *time.Timer
		if s.cfg.BatchWait > 0 {
			timer = time.NewTimer(s.cfg.BatchWait)
			wait = timer.C
		}
	more:
		for len(batch) < s.cfg.Batch {
			select {
			case sl, ok := <-q:
				if !ok {
					break more
				}
				batch = append(batch, sl)
				continue
			default:
			}
			if wait == nil {
				break more
			}
			select {
			case sl, ok := <-q:
				if !ok {
					break more
				}
				batch = append(batch, sl)
			case <-wait:
				break more
			case <-s.stopCtx.Done():
				break more
			}
		}
		if timer != nil {
			timer.Stop()
		}
		s.deliver(batch)
	}
}

func (s *Shadow) deliver(batch []*slot) {
	evs := make([]event.Event, len(batch))
	for i, sl := range batch {
		evs[i] = sl.ev
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(s.stopCtx, s.cfg.Timeout)
	err := s.cfg.Target.Apply(ctx, evs)
	for delay := 20 * time.Millisecond; err != nil && ctx.Err() == nil; delay = min(2*delay, 500*time.Millisecond) {
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
		case <-t.C:
			err = s.cfg.Target.Apply(ctx, evs)
		}
		t.Stop()
	}
	timedOut := ctx.Err() != nil
	cancel()
	s.m.DeliverySeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		reason := ReasonTargetError
		switch {
		case s.stopCtx.Err() != nil:
			reason = ReasonShutdown
		case timedOut:
			reason = ReasonTimeout
		}
		now := time.Now()
		for _, e := range evs {
			s.fail(failure{ev: e, reason: reason, err: err, at: now})
		}
	} else {
		s.m.Delivered.Add(float64(len(evs)))
	}
	s.mu.Lock()
	for _, sl := range batch {
		s.release(sl)
	}
	s.m.QueueDepth.Set(float64(s.outstanding))
	s.mu.Unlock()
}

// fail hands a failure to the recorder, or counts it lost when the recorder is full.
func (s *Shadow) fail(f failure) {
	s.m.Failed.WithLabelValues(f.reason).Inc()
	s.failMu.RLock()
	defer s.failMu.RUnlock()
	if s.failShut {
		s.m.Lost.Inc()
		s.log.Error("shadow failure not recorded: the writer is closed", "event", f.ev.ID, "aggregate_type", f.ev.AggregateType, "aggregate_id", f.ev.AggregateID, "reason", f.reason, "error", f.err)
		return
	}
	select {
	case s.failures <- f:
	default:
		s.m.Lost.Inc()
		s.log.Error("shadow failure not recorded: the failure queue is full", "event", f.ev.ID, "aggregate_type", f.ev.AggregateType, "aggregate_id", f.ev.AggregateID, "reason", f.reason, "error", f.err)
	}
}

// record writes failures to the failures table, in batches.
func (s *Shadow) record() {
	defer s.recorder.Done()
	batch := make([]failure, 0, 100)
	for f := range s.failures {
		batch = append(batch[:0], f)
	more:
		for len(batch) < 100 {
			select {
			case g, ok := <-s.failures:
				if !ok {
					break more
				}
				batch = append(batch, g)
			default:
				break more
			}
		}
		s.write(batch)
	}
}

func (s *Shadow) write(batch []failure) {
	var b strings.Builder
	b.WriteString("INSERT INTO `" + s.table + "` (`event_id`, `event_type`, `aggregate_type`, `aggregate_id`, `event`, `target`, `reason`, `error`, `occurred_at`, `failed_at`) VALUES ")
	args := make([]any, 0, 10*len(batch))
	for i, f := range batch {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
		data, err := event.Marshal(&f.ev, nil)
		if err != nil {
			data = []byte(`null`)
		}
		var msg any
		if f.err != nil {
			msg = truncate(f.err.Error(), 4000)
		}
		args = append(args, f.ev.ID, f.ev.Type, f.ev.AggregateType, f.ev.AggregateID, string(data), s.cfg.Target.Name(), f.reason, msg,
			f.ev.OccurredAt.UTC().Format("2006-01-02 15:04:05.999999"), f.at.UTC().Format("2006-01-02 15:04:05.999999"))
	}
	var err error
	for attempt, delay := 0, 100*time.Millisecond; attempt < 5; attempt, delay = attempt+1, 2*delay {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err = s.cfg.DB.ExecContext(ctx, b.String(), args...)
		cancel()
		if err == nil {
			s.m.Recorded.Add(float64(len(batch)))
			return
		}
		time.Sleep(delay)
	}
	s.m.Lost.Add(float64(len(batch)))
	for _, f := range batch {
		s.log.Error("shadow failure not recorded: the failures table cannot be written", "event", f.ev.ID, "aggregate_type", f.ev.AggregateType,
			"aggregate_id", f.ev.AggregateID, "reason", f.reason, "error", f.err, "write_error", err)
	}
}

// Close stops taking reservations, waits (until ctx ends) for what is held to be
// delivered, records what was not as failures (reason shutdown) and stops.
func (s *Shadow) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	var wait chan struct{}
	if s.outstanding > 0 {
		wait = make(chan struct{})
		s.drained = wait
	}
	s.mu.Unlock()
	var err error
	if wait != nil {
		select {
		case <-wait:
		case <-ctx.Done():
			err = fmt.Errorf("shadow: closed with events still held: they are recorded as failures: %w", ctx.Err())
		}
	}
	s.stop() // deliveries in progress end, their events recorded as failures
	s.mu.Lock()
	s.stopped = true
	for _, q := range s.queues {
		close(q)
	}
	s.mu.Unlock()
	s.workers.Wait()
	s.failMu.Lock()
	s.failShut = true
	close(s.failures)
	s.failMu.Unlock()
	s.recorder.Wait()
	return err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
