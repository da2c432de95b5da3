package journal

import (
	"context"
	"database/sql"
	"fmt"
)

// Decision is what the barrier says about an action or compensation.
type Decision int

const (
	// Run: go ahead.
	Run Decision = iota
	// SkipDuplicate: this op already went through in a committed transaction.
	SkipDuplicate
	// SkipNull: a compensation whose action never ran ("null compensation"); the barrier
	// now refuses that action if it arrives late.
	SkipNull
	// SkipHanging: an action arriving after its compensation ("hanging"); it must not run.
	SkipHanging
)

func (d Decision) String() string {
	switch d {
	case Run:
		return "run"
	case SkipDuplicate:
		return "duplicate"
	case SkipNull:
		return "null compensation"
	case SkipHanging:
		return "hanging action"
	}
	return fmt.Sprintf("Decision(%d)", int(d))
}

// Execer is a transaction or a database.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Enter passes (saga, step, op) through the barrier table within q, which should be the
// transaction that makes the op's business writes: then the barrier row and the writes
// commit or vanish together, and the decision is exact.
//
// An action inserts its row; a compensation first inserts the action's row itself, with
// origin "compensation": if that insert succeeds the action never ran, and the
// compensation has nothing to undo (SkipNull), while the row makes a late action
// SkipHanging. With repeatable, an op whose row already exists runs again (SkipDuplicate
// is never returned): that is for callers outside the business transaction, whose earlier
// attempt may not have done anything.
func (s *Store) Enter(ctx context.Context, q Execer, sagaID, step string, op Op, repeatable bool) (Decision, error) {
	insert := func(rowOp Op) (bool, error) {
		// ON DUPLICATE KEY with a no-op update: 1 row affected when inserted, 0 when it
		// existed, and unlike INSERT IGNORE other errors still fail.
		res, err := q.ExecContext(ctx, "INSERT INTO "+s.barrier+" (saga_id, step, op, origin, created_at) VALUES (?, ?, ?, ?, "+now+
			") ON DUPLICATE KEY UPDATE saga_id = saga_id", sagaID, step, rowOp, op)
		if err != nil {
			return false, wrap(err, fmt.Sprintf("barrier %s/%s/%s", sagaID, step, op))
		}
		n, err := res.RowsAffected()
		return n == 1, err
	}
	switch op {
	case OpAction:
		inserted, err := insert(OpAction)
		if err != nil || inserted {
			return Run, err
		}
		origin, err := s.origin(ctx, q, sagaID, step)
		if err != nil {
			return Run, err
		}
		if origin == OpCompensation {
			return SkipHanging, nil
		}
		if repeatable {
			return Run, nil
		}
		return SkipDuplicate, nil
	case OpCompensation:
		tombstone, err := insert(OpAction)
		if err != nil {
			return Run, err
		}
		inserted, err := insert(OpCompensation)
		if err != nil {
			return Run, err
		}
		if tombstone {
			return SkipNull, nil
		}
		origin, err := s.origin(ctx, q, sagaID, step)
		switch {
		case err != nil:
			return Run, err
		case origin == OpCompensation:
			return SkipNull, nil // a repeat of a null compensation
		case inserted || repeatable:
			return Run, nil
		}
		return SkipDuplicate, nil
	}
	return Run, fmt.Errorf("journal: barrier: op %q: use %q or %q", op, OpAction, OpCompensation)
}

// origin reads which op inserted the action row of (saga, step).
func (s *Store) origin(ctx context.Context, q Execer, sagaID, step string) (Op, error) {
	var origin string
	err := q.QueryRowContext(ctx, "SELECT origin FROM "+s.barrier+" WHERE saga_id = ? AND step = ? AND op = ?", sagaID, step, OpAction).Scan(&origin)
	if err != nil {
		return "", wrap(err, fmt.Sprintf("barrier %s/%s", sagaID, step))
	}
	return Op(origin), nil
}
