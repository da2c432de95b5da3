// Package mirror is dualwrite's synchronous dual write: inside the legacy transaction the
// events are sent to a target (a Kinesis stream, the new service's HTTP endpoint), and
// the transaction commits only if that succeeded. If the commit then fails, or its
// outcome is unknown, the target is compensated.
//
// The journal makes every step recoverable. Before the first call to the target, the
// unit's intent (its events) is inserted and committed on its own connection. The legacy
// transaction then sets legacy_committed = 1 on that row: the row tells whether the
// legacy write committed, and while that transaction is undecided its lock makes anyone
// asking wait. Whoever resolves a unit (the writer after a failed commit, or recovery
// after a crash) locks the row and either finishes the unit (committed: the target
// already has the events, the row is deleted) or claims it for compensation (state
// compensating, after which the unit cannot commit any more: its transaction's update
// requires state pending) and compensates.
package mirror

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/strangler/strangler/dualwrite/event"
	"github.com/strangler/strangler/migrations"
)

// Target receives mirrored events. Both calls must be idempotent on the event ids (a
// unit can be retried or recovered), and compensating events that were never applied
// must succeed (a crash can leave that unknown).
type Target interface {
	// Name identifies the target in the journal; recovery only resolves entries of
	// the target it was given.
	Name() string
	// Apply delivers evs in order. An error for which target.NotApplied is true says
	// nothing was applied; any other error leaves it unknown.
	Apply(ctx context.Context, evs []event.Event) error
	// Compensate undoes evs (applied or not).
	Compensate(ctx context.Context, evs []event.Event) error
}

// Execer runs a statement in the legacy transaction.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Hook is called at named points of a unit's life, for tests: pausing there lets a test
// kill the process at that point; an error injects a failure there. Never set it in
// production.
type Hook func(ctx context.Context, point string) error

// Points the Hook is called at.
const (
	PointJournaled        = "mirror.journaled"         // intent journaled and marked in the transaction; before the target call
	PointPublished        = "mirror.published"         // the target applied the events; before the legacy commit
	PointCommitted        = "mirror.committed"         // the legacy transaction committed; before the journal is updated
	PointCompensating     = "mirror.compensating"      // the unit is claimed for compensation; before the target's Compensate
	PointCompensationSent = "mirror.compensation-sent" // the target compensated; before the journal says so
)

// Errors a unit returns, wrapped with the cause.
var (
	// ErrNotCommitted: the legacy write did not commit; its mirror was compensated (or
	// needed none).
	ErrNotCommitted = errors.New("the legacy write did not commit")
	// ErrCompensationPending: the legacy write did not commit and compensating the
	// target failed; recovery retries it (the journal entry is in state compensating).
	ErrCompensationPending = errors.New("compensation pending: recovery will retry it")
	// ErrOutcomeUnknown: the commit failed in a way that leaves its outcome unknown and
	// the journal could not be read to settle it; recovery will.
	ErrOutcomeUnknown = errors.New("the legacy commit's outcome is unknown: recovery will settle it")
	// errClaimed: recovery claimed the unit before its transaction marked it.
	errClaimed = errors.New("the journal entry was claimed by recovery before the transaction marked it (the unit took longer than the recovery grace period)")
)

// Journal states.
const (
	statePending      = "pending"
	stateCompensating = "compensating"
	stateCompensated  = "compensated"
)

// JournalTable returns the journal's name for a table prefix.
func JournalTable(prefix string) string { return prefix + "mirror_journal" }

// Config configures mirror mode.
type Config struct {
	// DB is the legacy database: the journal lives there, next to the legacy tables,
	// because the legacy transaction updates its row.
	DB *sql.DB
	// JournalDB, when set, is the pool for the journal writes made outside the legacy
	// transaction (same database). A unit holds its transaction's connection while it
	// journals on another one: with DB alone, keep its MaxOpenConns above the number of
	// concurrent units, or a full pool makes them wait on each other until they time out.
	JournalDB   *sql.DB
	TablePrefix string
	Target      Target
	// Timeout bounds the target's Apply inside a unit (the legacy transaction holds its
	// locks meanwhile); default 5 s.
	Timeout time.Duration
	// CompensationTimeout bounds an inline compensation; default 10 s. A compensation
	// that fails or times out is left to recovery.
	CompensationTimeout time.Duration
	// ResolveTimeout bounds the wait for the journal row's lock when the commit outcome
	// is unknown; default 10 s.
	ResolveTimeout time.Duration
	Hook           Hook
	Logger         *slog.Logger
	Metrics        *Metrics
}

// Mirror runs units in mirror mode. It is safe for concurrent use.
type Mirror struct {
	cfg   Config
	log   *slog.Logger
	m     *Metrics
	table string

	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt // prepared hot-path statements, by query
}

// New checks the configuration and that the journal table exists.
func New(ctx context.Context, cfg Config) (*Mirror, error) {
	if cfg.DB == nil || cfg.Target == nil {
		return nil, errors.New("mirror: a database and a target are required")
	}
	if cfg.TablePrefix == "" {
		cfg.TablePrefix = migrations.DefaultPrefix
	}
	if err := migrations.ValidatePrefix(cfg.TablePrefix); err != nil {
		return nil, fmt.Errorf("mirror: %w", err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.CompensationTimeout <= 0 {
		cfg.CompensationTimeout = 10 * time.Second
	}
	if cfg.ResolveTimeout <= 0 {
		cfg.ResolveTimeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = DiscardMetrics()
	}
	if cfg.JournalDB == nil {
		cfg.JournalDB = cfg.DB
	}
	m := &Mirror{cfg: cfg, log: cfg.Logger.With("mode", "mirror", "target", cfg.Target.Name()), m: cfg.Metrics, table: JournalTable(cfg.TablePrefix),
		stmts: map[string]*sql.Stmt{}}
	if _, err := cfg.JournalDB.ExecContext(ctx, "SELECT 1 FROM `"+m.table+"` LIMIT 0"); err != nil {
		return nil, fmt.Errorf("mirror journal %s: %w (create it in the legacy database with `strangler migrate up --table-prefix %s`)", m.table, err, cfg.TablePrefix)
	}
	return m, nil
}

// Outcome is what became of the legacy transaction.
type Outcome int

const (
	Committed    Outcome = iota // the commit succeeded
	NotCommitted                // certainly not committed: rolled back, or never sent COMMIT
	Unknown                     // the commit failed: maybe committed, maybe not
)

// Unit is one legacy transaction's mirrored events between Prepare and Finish.
type Unit struct {
	m         *Mirror
	id        string
	evs       []event.Event
	journaled bool // the journal row exists
	applied   bool // the target may have applied the events
	finished  bool
}

// ID is the unit's journal key.
func (u *Unit) ID() string { return u.id }

// MayHaveApplied reports whether the target may have received the unit's events.
func (u *Unit) MayHaveApplied() bool { return u != nil && u.applied }

func (m *Mirror) hook(ctx context.Context, point string) error {
	if m.cfg.Hook == nil {
		return nil
	}
	return m.cfg.Hook(ctx, point)
}

// Prepare journals the intent, marks it in tx (the legacy transaction) and applies the
// events to the target. The unit it returns, even with an error, must be finished.
func (m *Mirror) Prepare(ctx context.Context, tx Execer, evs []event.Event) (*Unit, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return nil, fmt.Errorf("mirror: unit id: %w", err)
	}
	u := &Unit{m: m, id: id.String(), evs: evs}
	list, err := event.MarshalList(evs)
	if err != nil {
		return u, fmt.Errorf("mirror: %w", err)
	}
	// The intent is committed on its own before any side effect: it survives the legacy
	// transaction's rollback and the process's death.
	if _, err := m.exec(ctx, m.cfg.JournalDB, nil, "INSERT INTO `"+m.table+"` (`unit_id`, `state`, `legacy_committed`, `target`, `events`, `attempts`, `created_at`, `updated_at`, `next_attempt_at`) VALUES (?, ?, 0, ?, ?, 0, NOW(6), NOW(6), NOW(6))",
		u.id, statePending, m.cfg.Target.Name(), string(list)); err != nil {
		return u, fmt.Errorf("mirror: journal unit %s in %s: %w", u.id, m.table, err)
	}
	u.journaled = true
	res, err := m.exec(ctx, m.cfg.DB, tx, "UPDATE `"+m.table+"` SET `legacy_committed` = 1 WHERE `unit_id` = ? AND `state` = ?", u.id, statePending)
	if err != nil {
		return u, fmt.Errorf("mirror: mark unit %s in the legacy transaction: %w", u.id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return u, fmt.Errorf("mirror: unit %s: %w", u.id, errClaimed)
	}
	if err := m.hook(ctx, PointJournaled); err != nil {
		return u, err
	}
	actx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	start := time.Now()
	u.applied = true
	err = m.cfg.Target.Apply(actx, evs)
	cancel()
	m.m.ApplySeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		u.applied = !targetNotApplied(err)
		return u, fmt.Errorf("mirror: %s: %w", m.cfg.Target.Name(), err)
	}
	if err := m.hook(ctx, PointPublished); err != nil {
		return u, err
	}
	return u, nil
}

func targetNotApplied(err error) bool {
	var na interface{ NotApplied() bool }
	return errors.As(err, &na) && na.NotApplied()
}

// Finish settles the unit once the legacy transaction has ended with outcome. cause is
// why it did not commit (nil when committed). It returns nil when the legacy write
// committed (its events are on the target), else an error wrapping ErrNotCommitted
// (compensated, or ErrCompensationPending) or ErrOutcomeUnknown, joined with cause.
func (u *Unit) Finish(ctx context.Context, outcome Outcome, cause error) error {
	if u == nil {
		return cause
	}
	if u.finished {
		return errors.New("mirror: unit finished twice")
	}
	u.finished = true
	m := u.m
	// Settling must not be cut short by the caller's cancellation: an abandoned
	// compensation is exactly what recovery would then have to redo.
	ctx = context.WithoutCancel(ctx)
	if !u.journaled {
		m.m.Units.WithLabelValues("not_committed").Inc()
		return cause
	}
	switch outcome {
	case Committed:
		m.m.Units.WithLabelValues("committed").Inc()
		if err := m.hook(ctx, PointCommitted); err != nil {
			return err
		}
		if err := m.deleteEntry(ctx, u.id, ""); err != nil {
			// Harmless: recovery finds the entry committed and deletes it.
			m.log.Warn("could not delete a finished unit's journal entry; recovery will", "unit", u.id, "error", err)
		}
		return nil
	case NotCommitted:
		m.m.Units.WithLabelValues("not_committed").Inc()
		if !u.applied {
			if err := m.deleteEntry(ctx, u.id, statePending); err != nil {
				m.log.Warn("could not delete an aborted unit's journal entry; recovery will compensate it (a null compensation)", "unit", u.id, "error", err)
			}
			return errors.Join(ErrNotCommitted, cause)
		}
		claimed, err := m.claim(ctx, u.id)
		if err != nil {
			return errors.Join(ErrNotCommitted, ErrCompensationPending, cause, err)
		}
		if !claimed {
			return errors.Join(ErrNotCommitted, ErrCompensationPending, cause)
		}
		return errors.Join(ErrNotCommitted, m.compensate(ctx, u.id, u.evs, 0), cause)
	default:
		return u.resolve(ctx, cause)
	}
}

// resolve settles a unit whose commit outcome is unknown by reading its journal row
// under lock: the lock waits for the legacy transaction to end on the server.
func (u *Unit) resolve(ctx context.Context, cause error) error {
	m := u.m
	rctx, cancel := context.WithTimeout(ctx, m.cfg.ResolveTimeout)
	defer cancel()
	unknown := func(err error) error {
		m.m.Units.WithLabelValues("unknown").Inc()
		m.log.Warn("legacy commit outcome unknown; recovery will settle the unit", "unit", u.id, "cause", cause, "error", err)
		return errors.Join(ErrOutcomeUnknown, cause, err)
	}
	tx, err := m.cfg.JournalDB.BeginTx(rctx, nil)
	if err != nil {
		return unknown(err)
	}
	defer tx.Rollback() //nolint:errcheck
	var state string
	var committed bool
	err = tx.QueryRowContext(rctx, "SELECT `state`, `legacy_committed` FROM `"+m.table+"` WHERE `unit_id` = ? FOR UPDATE", u.id).Scan(&state, &committed)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		// Only a committed unit's entry is deleted: recovery finished it already.
		m.m.Units.WithLabelValues("committed").Inc()
		return nil
	case err != nil:
		return unknown(err)
	case state != statePending:
		m.m.Units.WithLabelValues("not_committed").Inc()
		return errors.Join(ErrNotCommitted, ErrCompensationPending, cause)
	case committed:
		if _, err := tx.ExecContext(rctx, "DELETE FROM `"+m.table+"` WHERE `unit_id` = ?", u.id); err != nil {
			m.log.Warn("could not delete a finished unit's journal entry; recovery will", "unit", u.id, "error", err)
		} else if err := tx.Commit(); err != nil {
			m.log.Warn("could not delete a finished unit's journal entry; recovery will", "unit", u.id, "error", err)
		}
		m.m.Units.WithLabelValues("committed").Inc()
		m.log.Info("the legacy commit reported an error but had committed", "unit", u.id, "cause", cause)
		return nil
	}
	m.m.Units.WithLabelValues("not_committed").Inc()
	if !u.applied {
		// Nothing reached the target (an enlisted transaction failed before the call).
		if _, err := tx.ExecContext(rctx, "DELETE FROM `"+m.table+"` WHERE `unit_id` = ?", u.id); err == nil {
			_ = tx.Commit()
		}
		return errors.Join(ErrNotCommitted, cause)
	}
	if _, err := tx.ExecContext(rctx, "UPDATE `"+m.table+"` SET `state` = ?, `updated_at` = NOW(6) WHERE `unit_id` = ?", stateCompensating, u.id); err != nil {
		return errors.Join(ErrNotCommitted, ErrCompensationPending, cause, err)
	}
	if err := tx.Commit(); err != nil {
		return errors.Join(ErrNotCommitted, ErrCompensationPending, cause, err)
	}
	return errors.Join(ErrNotCommitted, m.compensate(ctx, u.id, u.evs, 0), cause)
}

// claim moves a pending entry whose transaction is known not to have committed to
// compensating. false: someone else (recovery) claimed it.
func (m *Mirror) claim(ctx context.Context, id string) (bool, error) {
	res, err := m.cfg.JournalDB.ExecContext(ctx, "UPDATE `"+m.table+"` SET `state` = ?, `updated_at` = NOW(6) WHERE `unit_id` = ? AND `state` = ? AND `legacy_committed` = 0",
		stateCompensating, id, statePending)
	if err != nil {
		return false, fmt.Errorf("mirror: claim unit %s for compensation: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// compensate undoes a claimed unit on the target and records the result: compensated,
// or a later attempt (attempts+1, backoff) for recovery. nil when compensated.
func (m *Mirror) compensate(ctx context.Context, id string, evs []event.Event, attempts int) error {
	if err := m.hook(ctx, PointCompensating); err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, m.cfg.CompensationTimeout)
	err := m.cfg.Target.Compensate(cctx, evs)
	cancel()
	if err != nil {
		m.m.Compensations.WithLabelValues("failed").Inc()
		delay := backoff(attempts)
		if _, uerr := m.cfg.JournalDB.ExecContext(ctx, "UPDATE `"+m.table+"` SET `attempts` = `attempts` + 1, `last_error` = ?, `updated_at` = NOW(6), `next_attempt_at` = NOW(6) + INTERVAL ? MICROSECOND WHERE `unit_id` = ?",
			truncate(err.Error(), 4000), delay.Microseconds(), id); uerr != nil {
			m.log.Warn("could not record a failed compensation", "unit", id, "error", uerr)
		}
		m.log.Warn("compensation failed; recovery will retry it", "unit", id, "attempt", attempts+1, "retry_in", delay, "error", err)
		return fmt.Errorf("%w: unit %s: %w", ErrCompensationPending, id, err)
	}
	m.m.Compensations.WithLabelValues("ok").Inc()
	if err := m.hook(ctx, PointCompensationSent); err != nil {
		return err
	}
	if _, err := m.cfg.JournalDB.ExecContext(ctx, "UPDATE `"+m.table+"` SET `state` = ?, `updated_at` = NOW(6), `last_error` = NULL WHERE `unit_id` = ? AND `state` = ?",
		stateCompensated, id, stateCompensating); err != nil {
		// The target is compensated; recovery will compensate again (idempotent) and record it.
		m.log.Warn("compensated, but could not record it; recovery will redo it", "unit", id, "error", err)
	}
	return nil
}

func (m *Mirror) deleteEntry(ctx context.Context, id, state string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	q, args := "DELETE FROM `"+m.table+"` WHERE `unit_id` = ?", []any{id}
	if state != "" {
		q += " AND `state` = ?"
		args = append(args, state)
	}
	_, err := m.exec(ctx, m.cfg.JournalDB, nil, q, args...)
	return err
}

// exec runs a hot-path statement prepared once on db (one round trip instead of a
// prepare and an execute): in tx when given, which must then be a transaction of db or
// any Execer (then unprepared).
func (m *Mirror) exec(ctx context.Context, db *sql.DB, tx Execer, query string, args ...any) (sql.Result, error) {
	st, err := m.stmt(ctx, db, query)
	switch {
	case err != nil:
	case tx == nil:
		return st.ExecContext(ctx, args...)
	default:
		if t, ok := tx.(*sql.Tx); ok {
			res, err := t.StmtContext(ctx, st).ExecContext(ctx, args...)
			if err == nil || !strings.Contains(err.Error(), "statement from different database") {
				return res, err
			}
		}
	}
	if tx == nil {
		return db.ExecContext(ctx, query, args...)
	}
	return tx.ExecContext(ctx, query, args...)
}

func (m *Mirror) stmt(ctx context.Context, db *sql.DB, query string) (*sql.Stmt, error) {
	m.stmtMu.Lock()
	defer m.stmtMu.Unlock()
	key := fmt.Sprintf("%p %s", db, query)
	if st := m.stmts[key]; st != nil {
		return st, nil
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	m.stmts[key] = st
	return st, nil
}

// Close releases the prepared statements.
func (m *Mirror) Close() error {
	m.stmtMu.Lock()
	defer m.stmtMu.Unlock()
	var errs []error
	for k, st := range m.stmts {
		errs = append(errs, st.Close())
		delete(m.stmts, k)
	}
	return errors.Join(errs...)
}

// backoff is the wait before compensation attempt n+1: doubling from 1 s, capped at 5 min.
func backoff(attempts int) time.Duration {
	d := time.Second << min(attempts, 9)
	return min(d, 5*time.Minute)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
