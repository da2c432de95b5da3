package mirror

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/strangler/strangler/dualwrite/event"
	"github.com/strangler/strangler/migrations"
)

// RecoveryConfig configures a Recoverer.
type RecoveryConfig struct {
	DB          *sql.DB // the legacy database holding the journal
	TablePrefix string
	Target      Target
	// Grace leaves entries younger than this to the units that wrote them; default 30 s.
	// A unit still running past it is safe (its transaction's lock keeps recovery off,
	// and a unit whose entry recovery claimed first refuses to commit) but fails.
	Grace time.Duration
	// Interval between passes of Run; default 5 s.
	Interval time.Duration
	// Batch is the number of entries looked at per pass; default 100.
	Batch int
	// Retention keeps compensated entries (for reconciliation) this long; default 7 days.
	Retention time.Duration
	// CompensationTimeout bounds one compensation; default 30 s.
	CompensationTimeout time.Duration
	Hook                Hook
	Logger              *slog.Logger
	Metrics             *Metrics
}

// Recoverer resolves the journal entries that units left behind (a crash, a failed
// compensation, an unknown commit outcome): a unit whose legacy transaction committed is
// finished (the target was applied before the commit, so only the entry is deleted); any
// other is compensated, with retries spaced by a doubling backoff.
type Recoverer struct {
	cfg   RecoveryConfig
	mir   *Mirror
	log   *slog.Logger
	m     *Metrics
	table string

	mu     sync.Mutex // one pass at a time
	warned map[string]bool
}

// Report counts what one pass did.
type Report struct {
	Finished    int // committed units whose entries were settled
	Compensated int // units compensated
	Failed      int // compensations that failed (retried later)
	Skipped     int // entries locked by a running transaction, or of another target
}

// NewRecoverer checks the configuration and the journal table.
func NewRecoverer(ctx context.Context, cfg RecoveryConfig) (*Recoverer, error) {
	if cfg.TablePrefix == "" {
		cfg.TablePrefix = migrations.DefaultPrefix
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 30 * time.Second
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 5 * time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 100
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 7 * 24 * time.Hour
	}
	if cfg.CompensationTimeout <= 0 {
		cfg.CompensationTimeout = 30 * time.Second
	}
	mir, err := New(ctx, Config{DB: cfg.DB, TablePrefix: cfg.TablePrefix, Target: cfg.Target, CompensationTimeout: cfg.CompensationTimeout,
		Hook: cfg.Hook, Logger: cfg.Logger, Metrics: cfg.Metrics})
	if err != nil {
		return nil, err
	}
	return &Recoverer{cfg: cfg, mir: mir, log: mir.log.With("component", "mirror-recovery"), m: mir.m, table: mir.table, warned: map[string]bool{}}, nil
}

// Run passes over the journal every Interval until ctx ends. Failed passes are logged
// and retried.
func (r *Recoverer) Run(ctx context.Context) error {
	for {
		rep, err := r.RecoverOnce(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			r.m.RecoveryErrors.Inc()
			r.log.Warn("recovery pass failed; retrying", "error", err, "in", r.cfg.Interval)
		case rep.Finished+rep.Compensated+rep.Failed > 0:
			r.log.Info("recovery pass", "finished", rep.Finished, "compensated", rep.Compensated, "failed", rep.Failed, "skipped", rep.Skipped)
		}
		if !sleep(ctx, r.cfg.Interval) {
			return nil
		}
	}
}

// RecoverOnce resolves the entries due now, purges old compensated ones and updates the
// pending gauges.
func (r *Recoverer) RecoverOnce(ctx context.Context) (Report, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var rep Report
	rows, err := r.cfg.DB.QueryContext(ctx, "SELECT `unit_id`, `target` FROM `"+r.table+"` WHERE `state` IN (?, ?) AND `next_attempt_at` <= NOW(6) AND `created_at` <= NOW(6) - INTERVAL ? MICROSECOND ORDER BY `created_at` LIMIT ?",
		statePending, stateCompensating, r.cfg.Grace.Microseconds(), r.cfg.Batch)
	if err != nil {
		return rep, fmt.Errorf("mirror recovery: read %s: %w", r.table, err)
	}
	type due struct{ id, target string }
	var dues []due
	for rows.Next() {
		var d due
		if err := rows.Scan(&d.id, &d.target); err != nil {
			rows.Close()
			return rep, fmt.Errorf("mirror recovery: read %s: %w", r.table, err)
		}
		dues = append(dues, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return rep, fmt.Errorf("mirror recovery: read %s: %w", r.table, err)
	}
	var errs []error
	for _, d := range dues {
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		if d.target != r.cfg.Target.Name() {
			rep.Skipped++
			if !r.warned[d.target] {
				r.warned[d.target] = true
				r.log.Warn("journal entries of another target are left alone: run a recovery with that target", "entry_target", d.target)
			}
			continue
		}
		if err := r.resolve(ctx, d.id, &rep); err != nil {
			r.m.RecoveryErrors.Inc()
			errs = append(errs, err)
		}
	}
	if _, err := r.cfg.DB.ExecContext(ctx, "DELETE FROM `"+r.table+"` WHERE `state` = ? AND `updated_at` < NOW(6) - INTERVAL ? MICROSECOND LIMIT 1000",
		stateCompensated, r.cfg.Retention.Microseconds()); err != nil {
		errs = append(errs, fmt.Errorf("mirror recovery: purge compensated entries: %w", err))
	}
	var n int
	var oldest sql.NullFloat64
	if err := r.cfg.DB.QueryRowContext(ctx, "SELECT COUNT(*), TIMESTAMPDIFF(MICROSECOND, MIN(`created_at`), NOW(6)) / 1e6 FROM `"+r.table+"` WHERE `state` IN (?, ?)",
		statePending, stateCompensating).Scan(&n, &oldest); err == nil {
		r.m.Pending.Set(float64(n))
		r.m.OldestPendingAt.Set(oldest.Float64)
	}
	return rep, errors.Join(errs...)
}

// resolve settles one entry under its row lock; an entry locked by a running legacy
// transaction is skipped (SKIP LOCKED): that transaction is alive and will settle it.
func (r *Recoverer) resolve(ctx context.Context, id string, rep *Report) error {
	tx, err := r.cfg.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("mirror recovery: unit %s: %w", id, err)
	}
	defer tx.Rollback() //nolint:errcheck
	var (
		state     string
		committed bool
		list      string
		attempts  int
	)
	err = tx.QueryRowContext(ctx, "SELECT `state`, `legacy_committed`, `events`, `attempts` FROM `"+r.table+"` WHERE `unit_id` = ? FOR UPDATE SKIP LOCKED", id).
		Scan(&state, &committed, &list, &attempts)
	if errors.Is(err, sql.ErrNoRows) {
		rep.Skipped++
		return nil
	}
	if err != nil {
		return fmt.Errorf("mirror recovery: lock unit %s: %w", id, err)
	}
	switch {
	case state == statePending && committed:
		if _, err := tx.ExecContext(ctx, "DELETE FROM `"+r.table+"` WHERE `unit_id` = ?", id); err != nil {
			return fmt.Errorf("mirror recovery: finish unit %s: %w", id, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("mirror recovery: finish unit %s: %w", id, err)
		}
		rep.Finished++
		r.m.Recovered.WithLabelValues("finished").Inc()
		return nil
	case state == statePending:
		if _, err := tx.ExecContext(ctx, "UPDATE `"+r.table+"` SET `state` = ?, `updated_at` = NOW(6) WHERE `unit_id` = ?", stateCompensating, id); err != nil {
			return fmt.Errorf("mirror recovery: claim unit %s: %w", id, err)
		}
	case state != stateCompensating:
		return nil
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("mirror recovery: claim unit %s: %w", id, err)
	}
	evs, err := event.UnmarshalList([]byte(list))
	if err != nil {
		return fmt.Errorf("mirror recovery: unit %s: %w", id, err)
	}
	if err := r.mir.compensate(ctx, id, evs, attempts); err != nil {
		rep.Failed++
		return err
	}
	rep.Compensated++
	r.m.Recovered.WithLabelValues("compensated").Inc()
	return nil
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
