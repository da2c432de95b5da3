// Package journal persists sagas in MySQL/MariaDB: the saga, its steps, every attempt of
// an action or compensation, the barrier, and the leases that let several engine
// instances share the work without running anything twice.
//
// Every time is UTC and every comparison uses the database's clock (UTC_TIMESTAMP(6)),
// so instances whose clocks disagree still agree on who holds a lease and what is due.
// Times are read back as text, so the connection's parseTime setting does not matter.
package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/strangler/strangler/migrations"
)

// SagaState is where a saga is.
type SagaState string

const (
	Running      SagaState = "running"      // actions are being run
	Compensating SagaState = "compensating" // an action failed; completed steps are being undone, last first
	Completed    SagaState = "completed"    // every action succeeded
	Compensated  SagaState = "compensated"  // an action failed and every completed step was undone
	Stuck        SagaState = "stuck"        // a compensation gave up; waits for an operator (`strangler compensate retry`)
)

// States lists every saga state, in lifecycle order.
var States = []SagaState{Running, Compensating, Completed, Compensated, Stuck}

// Active reports whether engines still work on a saga in this state.
func (s SagaState) Active() bool { return s == Running || s == Compensating }

// Valid reports whether s is a known state.
func (s SagaState) Valid() bool {
	for _, v := range States {
		if s == v {
			return true
		}
	}
	return false
}

// StepState is where one step is.
type StepState string

const (
	StepPending      StepState = "pending"      // its action never started
	StepRunning      StepState = "running"      // an action attempt is in flight or a retry is scheduled
	StepDone         StepState = "done"         // its action succeeded
	StepFailed       StepState = "failed"       // its action failed for good: nothing to undo
	StepUnknown      StepState = "unknown"      // its attempts ran out with an unknown outcome: it is compensated too
	StepCompensating StepState = "compensating" // a compensation attempt is in flight or a retry is scheduled
	StepCompensated  StepState = "compensated"  // its compensation succeeded
	StepSkipped      StepState = "skipped"      // nothing to compensate: no compensation defined, or the action never ran
)

// Op is the half of a step an attempt runs.
type Op string

const (
	OpAction       Op = "action"
	OpCompensation Op = "compensation"
)

// Outcome is how an attempt ended.
type Outcome string

const (
	OutcomeOK      Outcome = "ok"      // succeeded
	OutcomeFailed  Outcome = "failed"  // failed for good (business failure)
	OutcomeError   Outcome = "error"   // failed, may succeed if tried again; its effect is unknown
	OutcomeTimeout Outcome = "timeout" // no answer within the step's timeout; its effect is unknown
	OutcomeLost    Outcome = "lost"    // the instance running it died or lost its lease; its effect is unknown
	OutcomeNoop    Outcome = "noop"    // a compensation of an action that never ran: nothing done
	OutcomeHanging Outcome = "hanging" // an action refused because its compensation already went through
)

// ErrLeaseLost is returned by fenced writes when another instance took the saga over.
var ErrLeaseLost = errors.New("saga lease lost: another instance took the saga over")

// ErrNotFound is wrapped by errors about a saga id that is not in the journal.
var ErrNotFound = errors.New("saga not found")

// Store reads and writes the journal tables of one database.
type Store struct {
	db                                       *sql.DB
	sagas, steps, attempts, barrier, cursors string
}

// New returns the store of db, whose tables are named with prefix (see migrations).
func New(db *sql.DB, prefix string) (*Store, error) {
	if db == nil {
		return nil, errors.New("journal: nil *sql.DB: open the database holding the saga tables first")
	}
	if err := migrations.ValidatePrefix(prefix); err != nil {
		return nil, err
	}
	q := func(n string) string { return "`" + prefix + n + "`" }
	return &Store{db: db, sagas: q("sagas"), steps: q("saga_steps"), attempts: q("saga_attempts"),
		barrier: q("saga_barrier"), cursors: q("saga_cursors")}, nil
}

// DB returns the database the store writes to.
func (s *Store) DB() *sql.DB { return s.db }

// Check verifies the tables exist, with an error that says how to create them.
func (s *Store) Check(ctx context.Context) error {
	for _, t := range []string{s.sagas, s.steps, s.attempts, s.barrier, s.cursors} {
		if _, err := s.db.ExecContext(ctx, "SELECT 1 FROM "+t+" LIMIT 0"); err != nil {
			return wrap(err, "check table "+t)
		}
	}
	return nil
}

// wrap adds what was being done, and for a missing table how to create it.
func wrap(err error, what string) error {
	var me *mysql.MySQLError
	if errors.As(err, &me) && me.Number == 1146 {
		return fmt.Errorf("journal: %s: %w (create the saga tables with `strangler migrate up --db mysql://...` or migrations.New(db, prefix).Up(ctx))", what, err)
	}
	return fmt.Errorf("journal: %s: %w", what, err)
}

// retryable reports a deadlock or lock wait timeout: the transaction can be run again.
func retryable(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && (me.Number == 1213 || me.Number == 1205)
}

// inTx runs fn in a transaction, again (up to 5 times) when the database picked it as a
// deadlock victim. fn must only touch the database.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	var err error
	for try := 0; try < 5; try++ {
		err = s.tx1(ctx, fn)
		if !retryable(err) {
			return err
		}
		time.Sleep(time.Duration(try+1) * 10 * time.Millisecond)
	}
	return err
}

func (s *Store) tx1(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// now is the database's clock in the journal's columns.
const now = "UTC_TIMESTAMP(6)"

// later is the database's clock plus a number of microseconds given as an argument.
const later = "(UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND)"

// ts reads a DATETIME(6) column as text, whatever the connection's parseTime.
func ts(col string) string { return "DATE_FORMAT(" + col + ", '%Y-%m-%d %H:%i:%s.%f')" }

const tsLayout = "2006-01-02 15:04:05.000000"

func parseTS(v sql.NullString) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	t, err := time.ParseInLocation(tsLayout, v.String, time.UTC)
	if err != nil {
		return time.Time{}
	}
	return t
}

func micros(d time.Duration) int64 {
	if d < 0 {
		return 0
	}
	return d.Microseconds()
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}
