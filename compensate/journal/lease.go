package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Due returns up to limit sagas of the given names that are active, due, and not leased
// (or whose lease expired: their instance died), the longest waiting first.
func (s *Store) Due(ctx context.Context, names []string, limit int) ([]string, error) {
	if len(names) == 0 {
		return nil, nil
	}
	args := []any{Running, Compensating}
	for _, n := range names {
		args = append(args, n)
	}
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, "SELECT id FROM "+s.sagas+" WHERE state IN (?, ?) AND next_run_at <= "+now+
		" AND (lease_owner IS NULL OR lease_until < "+now+") AND name IN ("+placeholders(len(names))+") ORDER BY next_run_at LIMIT ?", args...)
	if err != nil {
		return nil, wrap(err, "find due sagas")
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, wrap(err, "find due sagas")
		}
		out = append(out, id)
	}
	return out, wrap2(rows.Err(), "find due sagas")
}

// Claim takes the lease of a due saga for owner, an id no other claim uses. It reports
// false when the saga is not due, not active, or leased by a live instance.
func (s *Store) Claim(ctx context.Context, id, owner string, lease time.Duration) (bool, error) {
	res, err := s.db.ExecContext(ctx, "UPDATE "+s.sagas+" SET lease_owner = ?, lease_until = "+later+
		" WHERE id = ? AND state IN (?, ?) AND next_run_at <= "+now+" AND (lease_owner IS NULL OR lease_until < "+now+")",
		owner, micros(lease), id, Running, Compensating)
	if err != nil {
		return false, wrap(err, "claim saga "+id)
	}
	n, err := res.RowsAffected()
	return n == 1, wrap2(err, "claim saga "+id)
}

// Renew extends owner's lease. It returns ErrLeaseLost when owner no longer holds it.
func (s *Store) Renew(ctx context.Context, id, owner string, lease time.Duration) error {
	res, err := s.db.ExecContext(ctx, "UPDATE "+s.sagas+" SET lease_until = "+later+" WHERE id = ? AND lease_owner = ?", micros(lease), id, owner)
	if err != nil {
		return wrap(err, "renew lease of saga "+id)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	// Zero rows changed is also what an update to the same value reports: look.
	var cur sql.NullString
	err = s.db.QueryRowContext(ctx, "SELECT lease_owner FROM "+s.sagas+" WHERE id = ?", id).Scan(&cur)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return wrap(err, "renew lease of saga "+id)
	}
	if cur.String != owner {
		return ErrLeaseLost
	}
	return nil
}

// Release gives up owner's lease; the saga is next due in runIn, or at once when a command
// reply is waiting for it (a reply recorded while the runner was parking it).
func (s *Store) Release(ctx context.Context, id, owner string, runIn time.Duration) error {
	_, err := s.db.ExecContext(ctx, "UPDATE "+s.sagas+" s SET s.lease_owner = NULL, s.lease_until = NULL, s.next_run_at = "+
		"IF(EXISTS (SELECT 1 FROM "+s.steps+" st WHERE st.saga_id = s.id AND st.reply_status IS NOT NULL), "+now+", "+later+") "+
		"WHERE s.id = ? AND s.lease_owner = ?", micros(runIn), id, owner)
	return wrap2(err, "release saga "+id)
}

// Tx is a transaction on one saga by the holder of its lease: it was checked when the
// transaction began and it cannot change before the commit (the saga row is locked).
type Tx struct {
	tx    *sql.Tx
	s     *Store
	saga  string
	owner string
}

// SQL returns the underlying transaction, for barrier rows and business writes made in it.
func (t *Tx) SQL() *sql.Tx { return t.tx }

// Fenced runs fn in a transaction on saga id that commits only if owner still holds its
// lease, which it extends by lease. A deadlock victim is run again, so fn must only
// touch the database. It returns ErrLeaseLost when another instance took the saga.
func (s *Store) Fenced(ctx context.Context, id, owner string, lease time.Duration, fn func(*Tx) error) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		t, err := s.fence(ctx, tx, id, owner, lease)
		if err != nil {
			return err
		}
		return fn(t)
	})
}

// Begin starts a fenced transaction the caller commits or rolls back itself (a step that
// runs business writes in the journal's database).
func (s *Store) Begin(ctx context.Context, id, owner string, lease time.Duration) (*Tx, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, wrap(err, "begin transaction on saga "+id)
	}
	return &Tx{tx: tx, s: s, saga: id, owner: owner}, nil
}

// Fence checks, at the end of a transaction from Begin, that owner still holds the lease.
func (t *Tx) Fence(ctx context.Context, lease time.Duration) error {
	_, err := t.s.fence(ctx, t.tx, t.saga, t.owner, lease)
	return err
}

// Commit commits a transaction from Begin.
func (t *Tx) Commit() error { return wrap2(t.tx.Commit(), "commit on saga "+t.saga) }

// Rollback rolls back a transaction from Begin.
func (t *Tx) Rollback() error { return t.tx.Rollback() }

func (s *Store) fence(ctx context.Context, tx *sql.Tx, id, owner string, lease time.Duration) (*Tx, error) {
	// The update both extends the lease and locks the row until the commit.
	res, err := tx.ExecContext(ctx, "UPDATE "+s.sagas+" SET lease_until = "+later+", updated_at = "+now+" WHERE id = ? AND lease_owner = ?", micros(lease), id, owner)
	if err != nil {
		return nil, wrap(err, "lock saga "+id)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return &Tx{tx: tx, s: s, saga: id, owner: owner}, nil
	}
	// Zero rows: not ours, or (rarely) an update to the very same values: look.
	var cur sql.NullString
	err = tx.QueryRowContext(ctx, "SELECT lease_owner FROM "+s.sagas+" WHERE id = ? FOR UPDATE", id).Scan(&cur)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("journal: saga %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, wrap(err, "lock saga "+id)
	}
	if cur.String != owner {
		return nil, ErrLeaseLost
	}
	return &Tx{tx: tx, s: s, saga: id, owner: owner}, nil
}

// BeginAttempt records attempt n of op on step idx before it runs: the attempt row (its
// primary key makes a second record of the same attempt fail), the step's counters, and
// the deadline after which the attempt counts as timed out. Stale replies are dropped.
func (t *Tx) BeginAttempt(ctx context.Context, idx int, step string, op Op, n int, timeout time.Duration) error {
	if _, err := t.tx.ExecContext(ctx, "INSERT INTO "+t.s.attempts+" (saga_id, idx, step, op, attempt, owner, started_at) VALUES (?, ?, ?, ?, ?, ?, "+now+")",
		t.saga, idx, step, op, n, t.owner); err != nil {
		return wrap(err, fmt.Sprintf("record %s attempt %d of step %s of saga %s", op, n, step, t.saga))
	}
	state, counter := StepRunning, "action_attempts"
	if op == OpCompensation {
		state, counter = StepCompensating, "comp_attempts"
	}
	if _, err := t.tx.ExecContext(ctx, "UPDATE "+t.s.steps+" SET state = ?, "+counter+" = ?, deadline = "+later+", next_attempt_at = NULL, "+
		"reply_op = NULL, reply_attempt = NULL, reply_status = NULL, reply_error = NULL, reply_output = NULL, updated_at = "+now+
		" WHERE saga_id = ? AND idx = ?", state, n, micros(timeout), t.saga, idx); err != nil {
		return wrap(err, "update step "+step+" of saga "+t.saga)
	}
	_, err := t.tx.ExecContext(ctx, "UPDATE "+t.s.sagas+" SET step = ? WHERE id = ?", idx, t.saga)
	return wrap2(err, "update saga "+t.saga)
}

// MarkSent records that the command of an attempt was accepted by the stream.
func (t *Tx) MarkSent(ctx context.Context, idx int, op Op, n int) error {
	_, err := t.tx.ExecContext(ctx, "UPDATE "+t.s.attempts+" SET sent_at = "+now+" WHERE saga_id = ? AND idx = ? AND op = ? AND attempt = ?", t.saga, idx, op, n)
	return wrap2(err, "mark command sent for saga "+t.saga)
}

// FinishAttempt records how an attempt ended. It reports false, changing nothing, when
// the attempt's outcome was recorded already.
func (t *Tx) FinishAttempt(ctx context.Context, idx int, op Op, n int, o Outcome, errText string) (bool, error) {
	res, err := t.tx.ExecContext(ctx, "UPDATE "+t.s.attempts+" SET finished_at = "+now+", outcome = ?, error = ? "+
		"WHERE saga_id = ? AND idx = ? AND op = ? AND attempt = ? AND finished_at IS NULL", o, nullString(errText), t.saga, idx, op, n)
	if err != nil {
		return false, wrap(err, "record outcome for saga "+t.saga)
	}
	n2, err := res.RowsAffected()
	return n2 == 1, wrap2(err, "record outcome for saga "+t.saga)
}

// StepChange is a step's new state after an attempt; it also clears the in-flight
// deadline and any reply.
type StepChange struct {
	State     StepState
	Output    []byte // kept unless SetOutput
	SetOutput bool
	Error     string
	RetryIn   time.Duration // with Retry: when the next attempt is due
	Retry     bool
}

// SetStep changes step idx.
func (t *Tx) SetStep(ctx context.Context, idx int, c StepChange) error {
	q := "UPDATE " + t.s.steps + " SET state = ?, error = ?, deadline = NULL, reply_op = NULL, reply_attempt = NULL, reply_status = NULL, " +
		"reply_error = NULL, reply_output = NULL, updated_at = " + now
	args := []any{c.State, nullString(c.Error)}
	if c.SetOutput {
		q += ", output = ?"
		args = append(args, c.Output)
	}
	if c.Retry {
		q += ", next_attempt_at = " + later
		args = append(args, micros(c.RetryIn))
	} else {
		q += ", next_attempt_at = NULL"
	}
	q += " WHERE saga_id = ? AND idx = ?"
	args = append(args, t.saga, idx)
	_, err := t.tx.ExecContext(ctx, q, args...)
	return wrap2(err, fmt.Sprintf("update step %d of saga %s", idx, t.saga))
}

// SagaChange is a saga's new state.
type SagaChange struct {
	State    SagaState
	Step     int
	Error    string
	KeepErr  bool // leave the error as it is
	Finished bool // the saga reached an end state
}

// SetSaga changes the saga.
func (t *Tx) SetSaga(ctx context.Context, c SagaChange) error {
	q := "UPDATE " + t.s.sagas + " SET state = ?, step = ?, updated_at = " + now
	args := []any{c.State, c.Step}
	if !c.KeepErr {
		q += ", error = ?"
		args = append(args, nullString(c.Error))
	}
	if c.Finished {
		q += ", finished_at = " + now + ", lease_owner = NULL, lease_until = NULL"
	}
	q += " WHERE id = ?"
	args = append(args, t.saga)
	_, err := t.tx.ExecContext(ctx, q, args...)
	return wrap2(err, "update saga "+t.saga)
}

// Barrier passes (saga, step, op) through the barrier in this transaction; see Enter.
func (t *Tx) Barrier(ctx context.Context, step string, op Op, repeatable bool) (Decision, error) {
	return t.s.Enter(ctx, t.tx, t.saga, step, op, repeatable)
}
