package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Saga is a saga as the journal holds it.
type Saga struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	State      SagaState `json:"state"`
	Input      []byte    `json:"-"`
	Step       int       `json:"step"`                  // index of the step being run or compensated
	StepName   string    `json:"step_name,omitempty"`   // its name
	Error      string    `json:"error,omitempty"`       // why it is compensating, compensated or stuck
	NextRunAt  time.Time `json:"next_run_at"`           // when an engine next looks at it
	LeaseOwner string    `json:"lease_owner,omitempty"` // the instance running it now
	LeaseUntil time.Time `json:"lease_until,omitzero"`
	Retries    int       `json:"retries"` // operator retries
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	DBNow      time.Time `json:"-"` // the database's clock when the saga was read
	Steps      []Step    `json:"steps,omitempty"`
	Attempts   []Attempt `json:"attempts,omitempty"`
}

// Step is one step of a saga.
type Step struct {
	Index          int       `json:"index"`
	Name           string    `json:"name"`
	Kind           string    `json:"kind"`
	State          StepState `json:"state"`
	ActionAttempts int       `json:"action_attempts"`
	CompAttempts   int       `json:"compensation_attempts"`
	CompBase       int       `json:"-"` // CompAttempts when an operator last re-armed the saga
	Output         []byte    `json:"-"`
	Error          string    `json:"error,omitempty"`
	NextAttemptAt  time.Time `json:"next_attempt_at,omitzero"`
	Deadline       time.Time `json:"deadline,omitzero"` // set while an attempt is in flight
	Sent           bool      `json:"-"`                 // the in-flight attempt's command was accepted by the stream
	StartedAt      time.Time `json:"-"`                 // when the latest attempt started
	Reply          *Reply    `json:"-"`                 // a command reply waiting to be taken
}

// InFlight reports whether an attempt was started and its outcome not recorded.
func (s *Step) InFlight() bool { return !s.Deadline.IsZero() }

// Reply is a command's answer as the journal holds it until the runner takes it.
type Reply struct {
	Op      Op
	Attempt int
	Status  string // ok or failed
	Error   string
	Output  []byte
}

// Attempt is one recorded try of an action or compensation.
type Attempt struct {
	Index      int       `json:"step_index"`
	Step       string    `json:"step"`
	Op         Op        `json:"op"`
	Attempt    int       `json:"attempt"`
	Owner      string    `json:"owner"`
	StartedAt  time.Time `json:"started_at"`
	SentAt     time.Time `json:"sent_at,omitzero"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	Outcome    Outcome   `json:"outcome,omitempty"`
	Error      string    `json:"error,omitempty"`
}

// NewSaga is what Create writes.
type NewSaga struct {
	ID    string
	Name  string
	Input []byte
	Steps []NewStep
	// Owner holds the saga's lease from the start, for Lease, so the caller can run it
	// at once; empty leaves it to whichever instance claims it first.
	Owner string
	Lease time.Duration
}

// NewStep names one step of a new saga.
type NewStep struct{ Name, Kind string }

// Create writes a new saga and its steps, all pending.
func (s *Store) Create(ctx context.Context, n NewSaga) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var owner sql.NullString
		if n.Owner != "" {
			owner = sql.NullString{String: n.Owner, Valid: true}
		}
		input := n.Input
		if input == nil {
			input = []byte("null")
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO "+s.sagas+" (id, name, state, input, step, next_run_at, lease_owner, lease_until, created_at, updated_at) "+
			"VALUES (?, ?, ?, ?, 0, "+now+", ?, IF(? IS NULL, NULL, "+later+"), "+now+", "+now+")",
			n.ID, n.Name, Running, input, owner, owner, micros(n.Lease))
		if err != nil {
			return wrap(err, "create saga "+n.ID)
		}
		if len(n.Steps) == 0 {
			return nil
		}
		args := make([]any, 0, 5*len(n.Steps))
		rows := make([]string, 0, len(n.Steps))
		for i, st := range n.Steps {
			rows = append(rows, "(?, ?, ?, ?, ?, "+now+")")
			args = append(args, n.ID, i, st.Name, st.Kind, StepPending)
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO "+s.steps+" (saga_id, idx, name, kind, state, updated_at) VALUES "+strings.Join(rows, ", "), args...)
		return wrap2(err, "create steps of saga "+n.ID)
	})
}

func wrap2(err error, what string) error {
	if err == nil {
		return nil
	}
	return wrap(err, what)
}

const sagaCols = "s.id, s.name, s.state, s.input, s.step, COALESCE(st.name, ''), COALESCE(s.error, ''), %s, COALESCE(s.lease_owner, ''), %s, s.retries, %s, %s, %s, %s"

func sagaSelect(s *Store, withInput bool) string {
	cols := fmt.Sprintf(sagaCols, ts("s.next_run_at"), ts("s.lease_until"), ts("s.created_at"), ts("s.updated_at"), ts("s.finished_at"), ts(now))
	if !withInput {
		cols = strings.Replace(cols, "s.input", "''", 1)
	}
	return "SELECT " + cols + " FROM " + s.sagas + " s LEFT JOIN " + s.steps + " st ON st.saga_id = s.id AND st.idx = s.step"
}

func scanSaga(sc interface{ Scan(...any) error }) (*Saga, error) {
	var g Saga
	var next, lease, created, updated, finished, dbNow sql.NullString
	if err := sc.Scan(&g.ID, &g.Name, &g.State, &g.Input, &g.Step, &g.StepName, &g.Error, &next, &g.LeaseOwner, &lease,
		&g.Retries, &created, &updated, &finished, &dbNow); err != nil {
		return nil, err
	}
	g.NextRunAt, g.LeaseUntil, g.CreatedAt, g.UpdatedAt = parseTS(next), parseTS(lease), parseTS(created), parseTS(updated)
	g.FinishedAt, g.DBNow = parseTS(finished), parseTS(dbNow)
	return &g, nil
}

// Load reads a saga and its steps.
func (s *Store) Load(ctx context.Context, id string) (*Saga, error) {
	g, err := scanSaga(s.db.QueryRowContext(ctx, sagaSelect(s, true)+" WHERE s.id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("journal: saga %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, wrap(err, "load saga "+id)
	}
	g.Steps, err = s.loadSteps(ctx, id)
	return g, err
}

func (s *Store) loadSteps(ctx context.Context, id string) ([]Step, error) {
	// The in-flight attempt's row says whether its command was sent.
	rows, err := s.db.QueryContext(ctx, "SELECT st.idx, st.name, st.kind, st.state, st.action_attempts, st.comp_attempts, st.comp_base, st.output, "+
		"COALESCE(st.error, ''), "+ts("st.next_attempt_at")+", "+ts("st.deadline")+", a.sent_at IS NOT NULL, "+ts("a.started_at")+", "+
		"st.reply_op, COALESCE(st.reply_attempt, 0), st.reply_status, COALESCE(st.reply_error, ''), st.reply_output "+
		"FROM "+s.steps+" st LEFT JOIN "+s.attempts+" a ON a.saga_id = st.saga_id AND a.idx = st.idx "+
		"AND a.op = IF(st.state = 'compensating', 'compensation', 'action') "+
		"AND a.attempt = IF(st.state = 'compensating', st.comp_attempts, st.action_attempts) "+
		"WHERE st.saga_id = ? ORDER BY st.idx", id)
	if err != nil {
		return nil, wrap(err, "load steps of saga "+id)
	}
	defer rows.Close()
	var out []Step
	for rows.Next() {
		var st Step
		var next, deadline, started, replyOp, replyStatus sql.NullString
		var r Reply
		if err := rows.Scan(&st.Index, &st.Name, &st.Kind, &st.State, &st.ActionAttempts, &st.CompAttempts, &st.CompBase, &st.Output,
			&st.Error, &next, &deadline, &st.Sent, &started, &replyOp, &r.Attempt, &replyStatus, &r.Error, &r.Output); err != nil {
			return nil, wrap(err, "read steps of saga "+id)
		}
		st.NextAttemptAt, st.Deadline, st.StartedAt = parseTS(next), parseTS(deadline), parseTS(started)
		if replyStatus.Valid {
			r.Op, r.Status = Op(replyOp.String), replyStatus.String
			st.Reply = &r
		}
		out = append(out, st)
	}
	return out, wrap2(rows.Err(), "read steps of saga "+id)
}

// Attempts reads every attempt of a saga, in the order they started.
func (s *Store) Attempts(ctx context.Context, id string) ([]Attempt, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT idx, step, op, attempt, owner, "+ts("started_at")+", "+ts("sent_at")+", "+ts("finished_at")+
		", COALESCE(outcome, ''), COALESCE(error, '') FROM "+s.attempts+" WHERE saga_id = ? ORDER BY started_at, idx, op, attempt", id)
	if err != nil {
		return nil, wrap(err, "read attempts of saga "+id)
	}
	defer rows.Close()
	var out []Attempt
	for rows.Next() {
		var a Attempt
		var started, sent, finished sql.NullString
		if err := rows.Scan(&a.Index, &a.Step, &a.Op, &a.Attempt, &a.Owner, &started, &sent, &finished, &a.Outcome, &a.Error); err != nil {
			return nil, wrap(err, "read attempts of saga "+id)
		}
		a.StartedAt, a.SentAt, a.FinishedAt = parseTS(started), parseTS(sent), parseTS(finished)
		out = append(out, a)
	}
	return out, wrap2(rows.Err(), "read attempts of saga "+id)
}

// Filter selects sagas for List.
type Filter struct {
	States []SagaState // any of these; none means every state
	Name   string      // saga definition name; empty means any
	Limit  int         // at most this many, newest first; 0 means 100
}

// List returns sagas matching f, newest first, without their input and steps.
func (s *Store) List(ctx context.Context, f Filter) ([]Saga, error) {
	var where []string
	var args []any
	if len(f.States) > 0 {
		where = append(where, "s.state IN ("+placeholders(len(f.States))+")")
		for _, st := range f.States {
			args = append(args, st)
		}
	}
	if f.Name != "" {
		where = append(where, "s.name = ?")
		args = append(args, f.Name)
	}
	q := sagaSelect(s, false)
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q += " ORDER BY s.created_at DESC, s.id LIMIT ?"
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrap(err, "list sagas")
	}
	defer rows.Close()
	var out []Saga
	for rows.Next() {
		g, err := scanSaga(rows)
		if err != nil {
			return nil, wrap(err, "list sagas")
		}
		g.Input = nil
		out = append(out, *g)
	}
	return out, wrap2(rows.Err(), "list sagas")
}

// Count is the number of sagas of one name in one state.
type Count struct {
	Name  string
	State SagaState
	N     int
}

// Counts returns how many sagas there are by name and state.
func (s *Store) Counts(ctx context.Context) ([]Count, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT name, state, COUNT(*) FROM "+s.sagas+" GROUP BY name, state ORDER BY name, state")
	if err != nil {
		return nil, wrap(err, "count sagas")
	}
	defer rows.Close()
	var out []Count
	for rows.Next() {
		var c Count
		if err := rows.Scan(&c.Name, &c.State, &c.N); err != nil {
			return nil, wrap(err, "count sagas")
		}
		out = append(out, c)
	}
	return out, wrap2(rows.Err(), "count sagas")
}

// Retry re-arms a stuck saga: its compensations get a fresh retry budget and any engine
// picks it up at once.
func (s *Store) Retry(ctx context.Context, id string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var state SagaState
		err := tx.QueryRowContext(ctx, "SELECT state FROM "+s.sagas+" WHERE id = ? FOR UPDATE", id).Scan(&state)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("journal: retry saga %q: %w", id, ErrNotFound)
		}
		if err != nil {
			return wrap(err, "retry saga "+id)
		}
		if state != Stuck {
			return fmt.Errorf("journal: retry saga %s: it is %s; only stuck sagas are retried (`strangler compensate list --stuck`)", id, state)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE "+s.steps+" SET comp_base = comp_attempts, next_attempt_at = NULL, deadline = NULL, updated_at = "+now+
			" WHERE saga_id = ? AND state = ?", id, StepCompensating); err != nil {
			return wrap(err, "retry saga "+id)
		}
		_, err = tx.ExecContext(ctx, "UPDATE "+s.sagas+" SET state = ?, retries = retries + 1, next_run_at = "+now+", lease_owner = NULL, lease_until = NULL, "+
			"updated_at = "+now+" WHERE id = ?", Compensating, id)
		return wrap2(err, "retry saga "+id)
	})
}

// Purge deletes sagas that ended (completed or compensated; never stuck ones) before
// olderThan ago, with their steps, attempts and barrier rows. It returns how many went.
func (s *Store) Purge(ctx context.Context, olderThan time.Duration) (int, error) {
	total := 0
	for {
		rows, err := s.db.QueryContext(ctx, "SELECT id FROM "+s.sagas+" WHERE state IN (?, ?) AND finished_at < (UTC_TIMESTAMP(6) - INTERVAL ? MICROSECOND) LIMIT 500",
			Completed, Compensated, micros(olderThan))
		if err != nil {
			return total, wrap(err, "purge sagas")
		}
		var ids []any
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return total, wrap(err, "purge sagas")
			}
			ids = append(ids, id)
		}
		rows.Close()
		if len(ids) == 0 {
			return total, nil
		}
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			in := " WHERE saga_id IN (" + placeholders(len(ids)) + ")"
			for _, t := range []string{s.attempts, s.steps, s.barrier} {
				if _, err := tx.ExecContext(ctx, "DELETE FROM "+t+in, ids...); err != nil {
					return err
				}
			}
			_, err := tx.ExecContext(ctx, "DELETE FROM "+s.sagas+" WHERE id IN ("+placeholders(len(ids))+") AND state IN (?, ?)", append(ids, Completed, Compensated)...)
			return err
		})
		if err != nil {
			return total, wrap(err, "purge sagas")
		}
		total += len(ids)
	}
}
