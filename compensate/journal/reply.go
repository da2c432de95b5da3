package journal

import (
	"context"
	"database/sql"
	"errors"
)

// IncomingReply is a command reply read from a stream.
type IncomingReply struct {
	SagaID  string
	Step    string
	Op      Op
	Attempt int
	Status  string // ok or failed
	Error   string
	Output  []byte
}

// RecordReply stores a reply on its step, if the step is waiting for one of that op, and
// makes the saga due at once. Any instance can record it; the lease holder takes it. A
// success answers every attempt of the op (they are the same idempotent operation), a
// failure only the attempt in flight. It reports whether the reply was recorded; stale
// and duplicate replies, and replies to sagas of another database, are not.
func (s *Store) RecordReply(ctx context.Context, r IncomingReply) (bool, error) {
	recorded := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		recorded = false
		var state SagaState
		// The saga row first, as every journal transaction does, so they queue instead of deadlocking.
		err := tx.QueryRowContext(ctx, "SELECT state FROM "+s.sagas+" WHERE id = ? FOR UPDATE", r.SagaID).Scan(&state)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return wrap(err, "record reply for saga "+r.SagaID)
		}
		if !state.Active() {
			return nil
		}
		stepState := StepRunning
		if r.Op == OpCompensation {
			stepState = StepCompensating
		}
		res, err := tx.ExecContext(ctx, "UPDATE "+s.steps+" SET reply_op = ?, reply_attempt = ?, reply_status = ?, reply_error = ?, reply_output = ?, updated_at = "+now+
			" WHERE saga_id = ? AND name = ? AND state = ? AND deadline IS NOT NULL AND reply_status IS NULL"+
			" AND (? = 'ok' OR ? = IF(state = 'compensating', comp_attempts, action_attempts))",
			r.Op, r.Attempt, r.Status, nullString(r.Error), r.Output, r.SagaID, r.Step, stepState, r.Status, r.Attempt)
		if err != nil {
			return wrap(err, "record reply for saga "+r.SagaID)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, "UPDATE "+s.sagas+" SET next_run_at = "+now+" WHERE id = ?", r.SagaID); err != nil {
			return wrap(err, "wake saga "+r.SagaID)
		}
		recorded = true
		return nil
	})
	return recorded, err
}
