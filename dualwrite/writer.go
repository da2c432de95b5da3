// Package dualwrite mirrors the monolith's writes to the new world during the parallel
// run of a strangler-fig migration, so that the events the new services see match the
// legacy commits exactly: no event for a write that did not commit, no committed write
// without its event, and one aggregate's events in commit order.
//
// The legacy write runs in a transaction; the events it returns are mirrored according
// to the mode:
//
//   - ModeOutbox (default, recommended): the events are inserted into an outbox table in
//     the same transaction, and reach the stream through the CDC daemon (`strangler cdc
//     run --outbox`) or `strangler outbox relay`. At least once, in order, stable ids.
//   - ModeMirror: the events are sent to a target (Kinesis, the new service over HTTP)
//     inside the transaction, which commits only if that succeeded; a failed or unknown
//     commit is compensated. A journal makes every crash recoverable.
//   - ModeShadow: the legacy write alone matters; events are sent afterwards,
//     asynchronously and bounded, and failures are recorded for reconciliation.
//
// docs/dual-writes.md says which to choose, what happens at each crash point, and how
// to wrap a write path.
package dualwrite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/strangler/strangler/dualwrite/event"
	"github.com/strangler/strangler/dualwrite/mirror"
	"github.com/strangler/strangler/dualwrite/outbox"
	"github.com/strangler/strangler/dualwrite/shadow"
	"github.com/strangler/strangler/migrations"
)

// Event is one fact a legacy write produced (see event.Event).
type Event = event.Event

// Target receives events in mirror and shadow modes: target.Kinesis, target.HTTP, or
// your own (see mirror.Target for the contract).
type Target = mirror.Target

// Mode says how events are mirrored.
type Mode string

const (
	ModeOutbox Mode = "outbox"
	ModeMirror Mode = "mirror"
	ModeShadow Mode = "shadow"
)

// Errors Do and Finish return (wrapped: test with errors.Is).
var (
	// ErrNotCommitted: the legacy write did not commit; a mirrored event was compensated.
	ErrNotCommitted = mirror.ErrNotCommitted
	// ErrCompensationPending: the legacy write did not commit and compensating failed;
	// recovery retries it.
	ErrCompensationPending = mirror.ErrCompensationPending
	// ErrOutcomeUnknown: the commit failed and whether it committed could not be told;
	// recovery settles it (finishes or compensates).
	ErrOutcomeUnknown = mirror.ErrOutcomeUnknown
)

// Points the test hook is called at, besides mirror.Point*.
const (
	PointBeforeCommit = "before-commit" // everything is prepared; before COMMIT (Do only)
	PointAfterCommit  = "after-commit"  // COMMIT succeeded; before the mode settles the unit (Do only)
)

// Config configures a Writer. Only Target is required, in mirror and shadow modes.
type Config struct {
	// Mode: ModeOutbox (default), ModeMirror or ModeShadow.
	Mode Mode
	// TablePrefix of the toolkit's tables (outbox, journal, failures); default
	// "strangler_". The tables must be in the legacy database (`strangler migrate up`).
	TablePrefix string

	// Delivery (outbox mode): outbox.DeliveryRelay (default) leaves rows for `strangler
	// outbox relay`; outbox.DeliveryCDC deletes them in the same transaction for the CDC
	// daemon's outbox router.
	Delivery outbox.Delivery

	// Target (mirror and shadow modes) receives the events.
	Target Target
	// MirrorTimeout bounds the target call inside the transaction; default 5 s.
	MirrorTimeout time.Duration
	// CompensationTimeout bounds an inline compensation; default 10 s.
	CompensationTimeout time.Duration
	// JournalDB (mirror mode) is an optional pool, on the same database, for the journal
	// writes made beside the legacy transaction. Without it they use the writer's pool:
	// each unit in flight then holds two of its connections, so keep its MaxOpenConns
	// above twice the number of concurrent writes (or 0, unlimited).
	JournalDB *sql.DB

	// Shadow mode: queue bound (events in memory; default 10,000), workers (default 4),
	// delivery timeout per batch (default 2 s), and how long a worker waits to fill a
	// batch (default 20 ms; negative for none).
	ShadowQueueSize int
	ShadowWorkers   int
	ShadowTimeout   time.Duration
	ShadowBatchWait time.Duration

	// LockAggregates locks a row per aggregate in the transaction and numbers the
	// aggregate's events (Event.Sequence, gap-free, in commit order). Turn it on when
	// write paths can produce events of one aggregate without locking a common legacy
	// row; one more statement per aggregate and transaction.
	LockAggregates bool
	// DeadlockRetries re-runs Do's function this many times when the database chose the
	// transaction as a deadlock victim (MySQL error 1213) and nothing reached a target.
	// The function must then be safe to run again. Default 0.
	DeadlockRetries int
	// TxOptions for the transactions Do begins.
	TxOptions *sql.TxOptions

	Logger *slog.Logger
	// Registerer gets the mode's metrics (strangler_mirror_*, strangler_shadow_*); nil
	// keeps them unregistered.
	Registerer prometheus.Registerer
	// TestHook is for tests only: it is called at the named points (PointBeforeCommit,
	// mirror.PointPublished...); a test pauses there to kill the process, or returns an
	// error to inject a failure. Never set it in production.
	TestHook func(ctx context.Context, point string) error
}

// Writer wraps the monolith's writes. It is safe for concurrent use.
type Writer struct {
	db  *sql.DB
	cfg Config
	log *slog.Logger

	inserter *outbox.Inserter
	mir      *mirror.Mirror
	mirM     *mirror.Metrics
	sh       *shadow.Shadow
	seq      *sequencer
}

// TxFunc is the legacy write: it runs in tx and returns the events to mirror. An error
// rolls the transaction back and nothing is mirrored.
type TxFunc func(ctx context.Context, tx *sql.Tx) ([]Event, error)

// New checks the configuration and the tables it needs in db, the legacy database.
func New(ctx context.Context, db *sql.DB, cfg Config) (*Writer, error) {
	if db == nil {
		return nil, errors.New("dualwrite: a *sql.DB (the legacy database) is required")
	}
	if cfg.Mode == "" {
		cfg.Mode = ModeOutbox
	}
	if cfg.TablePrefix == "" {
		cfg.TablePrefix = migrations.DefaultPrefix
	}
	if err := migrations.ValidatePrefix(cfg.TablePrefix); err != nil {
		return nil, fmt.Errorf("dualwrite: %w", err)
	}
	if cfg.DeadlockRetries < 0 {
		return nil, fmt.Errorf("dualwrite: DeadlockRetries %d: give 0 or more", cfg.DeadlockRetries)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	w := &Writer{db: db, cfg: cfg, log: cfg.Logger.With("component", "dualwrite", "mode", string(cfg.Mode))}
	var err error
	switch cfg.Mode {
	case ModeOutbox:
		if cfg.Target != nil {
			return nil, errors.New("dualwrite: a Target is for mirror and shadow modes; outbox mode publishes through the relay or the CDC daemon")
		}
		w.inserter, err = outbox.NewInserter(ctx, db, cfg.TablePrefix, cfg.Delivery)
	case ModeMirror:
		if cfg.Target == nil {
			return nil, errors.New("dualwrite: mirror mode needs a Target (target.NewKinesis, target.NewHTTP)")
		}
		w.mirM = mirror.DiscardMetrics()
		if cfg.Registerer != nil {
			w.mirM = mirror.NewMetrics(cfg.Registerer)
		}
		w.mir, err = mirror.New(ctx, mirror.Config{DB: db, JournalDB: cfg.JournalDB, TablePrefix: cfg.TablePrefix, Target: cfg.Target, Timeout: cfg.MirrorTimeout,
			CompensationTimeout: cfg.CompensationTimeout, Hook: cfg.TestHook, Logger: cfg.Logger, Metrics: w.mirM})
	case ModeShadow:
		if cfg.Target == nil {
			return nil, errors.New("dualwrite: shadow mode needs a Target (target.NewKinesis, target.NewHTTP)")
		}
		m := shadow.DiscardMetrics()
		if cfg.Registerer != nil {
			m = shadow.NewMetrics(cfg.Registerer)
		}
		w.sh, err = shadow.New(ctx, shadow.Config{DB: db, TablePrefix: cfg.TablePrefix, Target: cfg.Target, QueueSize: cfg.ShadowQueueSize,
			Workers: cfg.ShadowWorkers, Timeout: cfg.ShadowTimeout, BatchWait: cfg.ShadowBatchWait, Logger: cfg.Logger, Metrics: m})
	default:
		return nil, fmt.Errorf("dualwrite: mode %q: use %q, %q or %q", cfg.Mode, ModeOutbox, ModeMirror, ModeShadow)
	}
	if err != nil {
		return nil, fmt.Errorf("dualwrite: %w", err)
	}
	if cfg.LockAggregates {
		if w.seq, err = newSequencer(ctx, db, cfg.TablePrefix); err != nil {
			return nil, fmt.Errorf("dualwrite: %w", err)
		}
	}
	return w, nil
}

func (w *Writer) hook(ctx context.Context, point string) error {
	if w.cfg.TestHook == nil {
		return nil
	}
	return w.cfg.TestHook(ctx, point)
}

// Do runs fn in a new transaction and mirrors the events it returns. It returns nil when
// the legacy write committed and its events are mirrored (outbox: written with it;
// mirror: applied to the target; shadow: handed to the queue), fn's error when fn failed
// (nothing mirrored), or an error wrapping ErrNotCommitted, ErrCompensationPending or
// ErrOutcomeUnknown. Event IDs and times left empty are filled in place.
func (w *Writer) Do(ctx context.Context, fn TxFunc) error {
	for attempt := 0; ; attempt++ {
		retryable, err := w.do(ctx, fn)
		if err == nil || !retryable || attempt >= w.cfg.DeadlockRetries || !isDeadlock(err) || ctx.Err() != nil {
			return err
		}
		w.log.Debug("deadlock victim; running the unit again", "attempt", attempt+1, "error", err)
	}
}

func (w *Writer) do(ctx context.Context, fn TxFunc) (retryable bool, err error) {
	tx, err := w.db.BeginTx(ctx, w.cfg.TxOptions)
	if err != nil {
		return false, fmt.Errorf("dualwrite: begin: %w", err)
	}
	evs, err := fn(ctx, tx)
	if err != nil {
		_ = tx.Rollback()
		return true, err
	}
	u, err := w.enlist(ctx, tx, tx, evs)
	if err != nil {
		_ = tx.Rollback()
		return !u.reached(), u.finish(ctx, mirror.NotCommitted, err)
	}
	if err := w.hook(ctx, PointBeforeCommit); err != nil {
		_ = tx.Rollback()
		return false, u.finish(ctx, mirror.NotCommitted, err)
	}
	if err := tx.Commit(); err != nil {
		return false, u.finish(ctx, mirror.Unknown, fmt.Errorf("dualwrite: commit: %w", err))
	}
	if err := w.hook(ctx, PointAfterCommit); err != nil {
		return false, err
	}
	return false, u.finish(ctx, mirror.Committed, nil)
}

// Tx is the transaction Enlist writes in: *sql.Tx, or an ORM's connection pool.
type Tx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Enlist mirrors evs from a transaction the application opened itself (an ORM's *sql.Tx,
// see docs/dual-writes.md for gorm): call it inside the transaction, after the legacy
// write, then commit as usual and call Finish with the commit's error. The Unit is never
// nil, even with an error, and Finish must be called in every case.
func (w *Writer) Enlist(ctx context.Context, tx Tx, evs ...Event) (*Unit, error) {
	return w.enlist(ctx, tx, nil, evs)
}

func (w *Writer) enlist(ctx context.Context, tx Tx, own *sql.Tx, evs []Event) (*Unit, error) {
	u := &Unit{w: w}
	if len(evs) == 0 {
		return u, nil
	}
	now := time.Now()
	for i := range evs {
		if err := evs[i].Normalize(now); err != nil {
			return u, fmt.Errorf("dualwrite: %w", err)
		}
		if evs[i].Compensates != "" {
			return u, fmt.Errorf("dualwrite: event %s sets Compensates: compensating events are made by the writer, not returned by the legacy write", evs[i].ID)
		}
	}
	if w.seq != nil {
		if err := w.seq.assign(ctx, tx, evs); err != nil {
			return u, fmt.Errorf("dualwrite: %w", err)
		}
	}
	if own == nil {
		// An application's *sql.Tx, usually of the writer's pool: prepared statements
		// are tried (with a fallback when it belongs to another pool).
		own, _ = tx.(*sql.Tx)
	}
	switch w.cfg.Mode {
	case ModeOutbox:
		if own != nil {
			return u, w.inserter.InsertTx(ctx, own, evs)
		}
		return u, w.inserter.Insert(ctx, tx, evs)
	case ModeMirror:
		var err error
		u.mu, err = w.mir.Prepare(ctx, tx, evs)
		return u, err
	default:
		u.res = w.sh.Reserve(evs)
		return u, nil
	}
}

// Unit is a transaction's mirrored events, between Enlist and Finish.
type Unit struct {
	w        *Writer
	mu       *mirror.Unit
	res      *shadow.Reservation
	finished bool
}

// reached reports whether the unit's events may have reached a target.
func (u *Unit) reached() bool { return u.mu.MayHaveApplied() }

// Finish settles the unit once the application's transaction ended; txErr is the error
// of its commit (nil: committed), or of the transaction when it was rolled back. In
// mirror mode an error is settled exactly by reading the unit's journal entry (it was
// written in the transaction); it returns nil when the transaction in fact committed,
// else an error wrapping ErrNotCommitted (compensated) or one of the pending errors.
// Outbox mode returns txErr: its events committed or rolled back with the transaction.
func (u *Unit) Finish(ctx context.Context, txErr error) error {
	if txErr == nil {
		return u.finish(ctx, mirror.Committed, nil)
	}
	outcome := mirror.Unknown
	if u.res != nil && !connectionLost(txErr) {
		// Shadow mode cannot read a journal: an error that is not a lost connection is
		// taken as a rollback.
		outcome = mirror.NotCommitted
	}
	return u.finish(ctx, outcome, txErr)
}

func (u *Unit) finish(ctx context.Context, outcome mirror.Outcome, cause error) error {
	if u.finished {
		return errors.Join(errors.New("dualwrite: unit finished twice"), cause)
	}
	u.finished = true
	switch {
	case u.mu != nil:
		return u.mu.Finish(ctx, outcome, cause)
	case u.res != nil:
		so := shadow.Committed
		switch outcome {
		case mirror.NotCommitted:
			so = shadow.NotCommitted
		case mirror.Unknown:
			so = shadow.Unknown
		}
		u.res.Resolve(so, cause)
	}
	return cause
}

// RunRecovery resolves mirror mode's pending journal entries until ctx ends (see
// mirror.Recoverer); run it in one or more processes (entries are locked while
// resolved). `strangler dualwrite recover` does the same from the command line.
func (w *Writer) RunRecovery(ctx context.Context, cfg mirror.RecoveryConfig) error {
	if w.cfg.Mode != ModeMirror {
		return fmt.Errorf("dualwrite: recovery is for mirror mode; this writer is in %s mode", w.cfg.Mode)
	}
	cfg.DB, cfg.TablePrefix, cfg.Target = w.db, w.cfg.TablePrefix, w.cfg.Target
	if cfg.Logger == nil {
		cfg.Logger = w.cfg.Logger
	}
	if cfg.Metrics == nil {
		cfg.Metrics = w.mirM
	}
	r, err := mirror.NewRecoverer(ctx, cfg)
	if err != nil {
		return err
	}
	return r.Run(ctx)
}

// Close waits (until ctx ends) for shadow mode's queue to drain and releases the
// writer's prepared statements. The target and the database are the caller's to close.
func (w *Writer) Close(ctx context.Context) error {
	var errs []error
	if w.sh != nil {
		errs = append(errs, w.sh.Close(ctx))
	}
	if w.inserter != nil {
		errs = append(errs, w.inserter.Close())
	}
	if w.mir != nil {
		errs = append(errs, w.mir.Close())
	}
	if w.seq != nil {
		errs = append(errs, w.seq.close())
	}
	return errors.Join(errs...)
}

func isDeadlock(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1213
}

// connectionLost reports an error that leaves a commit's outcome unknown.
func connectionLost(err error) bool {
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn)
}
