package compensate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/strangler/strangler/compensate/journal"
)

// drive runs saga id, whose lease owner holds, until the saga ends, has to wait longer
// than MaxInlineWait (it is parked), stop closes, or the lease is lost. It gives the lease
// back in every case but the last.
//
// Attempts run under the engine's own context, not the caller's: a caller going away
// stops the saga between two attempts, never in the middle of one, and never skips a
// compensation (it stays in the journal for the recovery loop).
func (e *Engine) drive(parent context.Context, id, owner string, stop <-chan struct{}) {
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(parent))
	defer cancel(nil)
	hbCtx, hbStop := context.WithCancel(ctx)
	hbDone := make(chan struct{})
	go e.heartbeat(hbCtx, cancel, id, owner, hbDone)
	runIn, err := e.loop(ctx, id, owner, stop)
	hbStop()
	<-hbDone
	// Only the loop's own error counts: a heartbeat racing the saga's end sees the
	// lease gone because the end released it.
	if isLeaseLost(err) {
		e.m.LeasesLost.Inc()
		e.log.Warn("saga lease lost: another instance took the saga over; this one stops driving it", "id", id)
		return
	}
	if err != nil {
		e.log.Error("saga run stopped by an error; it is tried again later", "id", id, "err", err)
		runIn = max(runIn, e.o.Backoff.Initial)
	}
	if err := e.store.Release(context.WithoutCancel(ctx), id, owner, runIn); err != nil {
		e.log.Error("release saga lease (it expires by itself)", "id", id, "err", err)
	}
}

// heartbeat renews the lease every Lease/3 and cancels ctx when another instance took it.
func (e *Engine) heartbeat(ctx context.Context, cancel context.CancelCauseFunc, id, owner string, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(e.o.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := e.store.Renew(ctx, id, owner, e.o.Lease)
		switch {
		case isLeaseLost(err):
			cancel(errLeaseLost)
			return
		case err != nil && ctx.Err() == nil:
			// Fenced writes check the lease anyway; a database hiccup is not a loss.
			e.log.Warn("renew saga lease", "id", id, "err", err)
		}
	}
}

// moveKind is what the driver does next with a saga.
type moveKind int

const (
	mvStart   moveKind = iota // start the next attempt of op on step idx
	mvWait                    // nothing to do for wait
	mvResolve                 // the in-flight attempt is over without an outcome: record outcome
	mvReply                   // take the command reply recorded on step idx
	mvSend                    // (re)send the in-flight command of step idx
	mvSkip                    // step idx has no compensation
	mvRepair                  // a step failed but the saga is still running: compensate
	mvFinish                  // record the end state
)

type move struct {
	kind    moveKind
	idx     int
	op      Op
	wait    time.Duration
	outcome Outcome
	state   State
}

// loop drives the saga; it returns how long until the saga is due again when it parks it.
func (e *Engine) loop(ctx context.Context, id, owner string, stop <-chan struct{}) (time.Duration, error) {
	for {
		select {
		case <-stop:
			return 0, nil
		default:
		}
		if ctx.Err() != nil {
			return 0, context.Cause(ctx)
		}
		g, err := e.store.Load(ctx, id)
		if err != nil {
			return 0, leaseCause(ctx, err)
		}
		if !g.State.Active() {
			return 0, nil // ended (its lease went with it) or stuck
		}
		if g.LeaseOwner != owner {
			return 0, errLeaseLost
		}
		d := e.def(g.Name)
		if err := matches(d, g); err != nil {
			return time.Minute, err
		}
		mv := decide(g, d)
		switch mv.kind {
		case mvWait:
			if mv.wait > e.o.MaxInlineWait {
				return mv.wait, nil // park: the recovery loop (or a reply) brings it back
			}
			// Wake up now and then to see replies recorded by other instances.
			t := time.NewTimer(min(mv.wait, e.o.PollInterval))
			select {
			case <-stop:
				t.Stop()
				return 0, nil
			case <-ctx.Done():
				t.Stop()
				return 0, context.Cause(ctx)
			case <-t.C:
			}
			continue
		case mvFinish:
			err = e.finish(ctx, g, owner, mv.state)
		case mvStart:
			err = e.start(ctx, g, d, owner, mv.idx, mv.op)
		case mvResolve:
			n := attemptOf(g.Steps[mv.idx], mv.op)
			why := "no outcome recorded by the instance that ran it (it stopped or lost its lease)"
			if mv.outcome == journal.OutcomeTimeout {
				why = "no reply within the step's timeout"
			}
			err = e.record(ctx, g, d, owner, mv.idx, mv.op, n, mv.outcome, errors.New(why), nil, false)
		case mvReply:
			err = e.takeReply(ctx, g, d, owner, mv.idx, mv.op)
		case mvSend:
			err = e.send(ctx, g, d, owner, mv.idx, mv.op, attemptOf(g.Steps[mv.idx], mv.op))
		case mvSkip:
			err = e.store.Fenced(ctx, id, owner, e.o.Lease, func(tx *journal.Tx) error {
				if err := tx.SetStep(ctx, mv.idx, journal.StepChange{State: journal.StepSkipped, Error: "no compensation defined"}); err != nil {
					return err
				}
				return tx.SetSaga(ctx, journal.SagaChange{State: Compensating, Step: mv.idx, KeepErr: true})
			})
		case mvRepair:
			err = e.store.Fenced(ctx, id, owner, e.o.Lease, func(tx *journal.Tx) error {
				return tx.SetSaga(ctx, journal.SagaChange{State: Compensating, Step: mv.idx, KeepErr: true})
			})
		}
		if err != nil {
			return 0, leaseCause(ctx, err)
		}
	}
}

// leaseCause returns ErrLeaseLost for an error caused by the heartbeat cancelling ctx.
func leaseCause(ctx context.Context, err error) error {
	if isLeaseLost(context.Cause(ctx)) {
		return errLeaseLost
	}
	return err
}

// matches checks the stored saga has the steps of its registered definition.
func matches(d *Definition, g *Saga) error {
	if d == nil {
		return fmt.Errorf("saga %s %q is not registered with this engine", g.ID, g.Name)
	}
	if len(d.steps) != len(g.Steps) {
		return fmt.Errorf("saga %s %q was started with %d steps and its definition now has %d: give a changed saga a new name, and keep the old definition registered until its sagas end",
			g.ID, g.Name, len(g.Steps), len(d.steps))
	}
	for i, s := range d.steps {
		if s.name != g.Steps[i].Name {
			return fmt.Errorf("saga %s %q: step %d was %q when it started and is %q in its definition now: give a changed saga a new name",
				g.ID, g.Name, i, g.Steps[i].Name, s.name)
		}
	}
	return nil
}

// decide picks the next move from the saga's journal alone, so any instance resumes a
// saga the same way after a crash.
func decide(g *Saga, d *Definition) move {
	if g.State == Running {
		for i := range g.Steps {
			switch g.Steps[i].State {
			case journal.StepDone:
				continue
			case journal.StepPending:
				return move{kind: mvStart, idx: i, op: OpAction}
			case journal.StepRunning:
				return inProgress(g, d, i, OpAction)
			default:
				return move{kind: mvRepair, idx: i}
			}
		}
		return move{kind: mvFinish, state: Completed}
	}
	for i := len(g.Steps) - 1; i >= 0; i-- {
		switch g.Steps[i].State {
		case journal.StepDone, journal.StepUnknown, journal.StepRunning:
			if !d.steps[i].hasCompensation() {
				return move{kind: mvSkip, idx: i}
			}
			return move{kind: mvStart, idx: i, op: OpCompensation}
		case journal.StepCompensating:
			return inProgress(g, d, i, OpCompensation)
		}
	}
	return move{kind: mvFinish, state: Compensated}
}

// inProgress decides about a step with an attempt in flight or a retry scheduled.
func inProgress(g *Saga, d *Definition, i int, op Op) move {
	st := &g.Steps[i]
	if !st.InFlight() {
		if wait := st.NextAttemptAt.Sub(g.DBNow); wait > 0 {
			return move{kind: mvWait, wait: wait}
		}
		return move{kind: mvStart, idx: i, op: op}
	}
	command := d.steps[i].kind == KindCommand
	if command && st.Reply != nil {
		return move{kind: mvReply, idx: i, op: op}
	}
	if command && !st.Sent {
		return move{kind: mvSend, idx: i, op: op}
	}
	// A local attempt in flight belongs to an instance that died or lost its lease: wait
	// for its deadline, by which its function's context has ended, before trying again.
	if wait := st.Deadline.Sub(g.DBNow); wait > 0 {
		return move{kind: mvWait, wait: wait}
	}
	if command {
		return move{kind: mvResolve, idx: i, op: op, outcome: journal.OutcomeTimeout}
	}
	return move{kind: mvResolve, idx: i, op: op, outcome: journal.OutcomeLost}
}

func attemptOf(st journal.Step, op Op) int {
	if op == OpCompensation {
		return st.CompAttempts
	}
	return st.ActionAttempts
}

func (e *Engine) timeout(s StepDef, op Op) time.Duration {
	if op == OpCompensation && s.undoTimeout > 0 {
		return s.undoTimeout
	}
	if s.timeout > 0 {
		return s.timeout
	}
	return e.o.StepTimeout
}

func (e *Engine) newCall(g *Saga, s StepDef, op Op, n int) *Call {
	c := &Call{SagaID: g.ID, Saga: g.Name, Step: s.name, Op: op, Attempt: n, input: g.Input, outputs: map[string][]byte{}}
	for _, st := range g.Steps {
		if len(st.Output) > 0 {
			c.outputs[st.Name] = st.Output
		}
	}
	return c
}

func (e *Engine) event(kind EventKind, g *Saga, step string, op Op, n int) Event {
	return Event{Kind: kind, SagaID: g.ID, Saga: g.Name, Step: step, Op: op, Attempt: n}
}

// start runs the next attempt of op on step i: record it, pass the barrier, run it (or
// send its command), record its outcome.
func (e *Engine) start(ctx context.Context, g *Saga, d *Definition, owner string, i int, op Op) error {
	s := d.steps[i]
	n := attemptOf(g.Steps[i], op) + 1
	if s.kind == KindTx {
		return e.startTx(ctx, g, d, owner, i, op, n)
	}
	var dec journal.Decision
	err := e.store.Fenced(ctx, g.ID, owner, e.o.Lease, func(tx *journal.Tx) error {
		if err := tx.BeginAttempt(ctx, i, s.name, op, n, e.timeout(s, op)); err != nil {
			return err
		}
		if s.kind == KindCommand {
			return nil // the barrier of a command is the service's, in its transaction
		}
		var err error
		// Outside the business transaction an earlier attempt may have done nothing, so
		// the same op may pass again (repeatable); the barrier still tells a compensation
		// whose action never started, and an action whose compensation began.
		dec, err = tx.Barrier(ctx, s.name, op, true)
		return err
	})
	if err != nil {
		return err
	}
	switch dec {
	case journal.SkipNull:
		return e.record(ctx, g, d, owner, i, op, n, journal.OutcomeNoop, nil, nil, false)
	case journal.SkipHanging:
		return e.record(ctx, g, d, owner, i, op, n, journal.OutcomeHanging, errors.New("the barrier refused the action: its compensation already began"), nil, false)
	}
	e.emit(e.event(AttemptStarted, g, s.name, op, n))
	if s.kind == KindCommand {
		return e.send(ctx, g, d, owner, i, op, n)
	}
	fn := s.action
	if op == OpCompensation {
		fn = s.undo
	}
	c := e.newCall(g, s, op, n)
	began := time.Now()
	cause := e.callFunc(ctx, fn, c, e.timeout(s, op))
	if isLeaseLost(context.Cause(ctx)) {
		return errLeaseLost
	}
	e.m.StepSeconds.WithLabelValues(g.Name, s.name, string(op)).Observe(time.Since(began).Seconds())
	e.emit(e.event(AttemptReturned, g, s.name, op, n))
	o := classify(cause)
	if o == journal.OutcomeOK {
		return e.record(ctx, g, d, owner, i, op, n, o, nil, c.output, c.set)
	}
	return e.record(ctx, g, d, owner, i, op, n, o, cause, nil, false)
}

// errTimeout marks an attempt that did not return within its timeout.
var errTimeout = errors.New("attempt timed out")

// callFunc runs fn with the step's timeout. A function that overruns its timeout is given
// up on (it should honour ctx; if it does not it may still finish, unrecorded).
func (e *Engine) callFunc(ctx context.Context, fn Func, c *Call, timeout time.Duration) error {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("panic: %v\n%s", r, debug.Stack())
			}
		}()
		done <- fn(cctx, c)
	}()
	select {
	case err := <-done:
		if err != nil && !IsFailure(err) && cctx.Err() != nil {
			return fmt.Errorf("%w after %s: %w", errTimeout, timeout, err)
		}
		return err
	case <-cctx.Done():
		e.log.Warn("step function did not return within its timeout; its attempt is given up (make it honour its context)",
			"id", c.SagaID, "step", c.Step, "op", c.Op, "attempt", c.Attempt, "timeout", timeout)
		return fmt.Errorf("%w after %s", errTimeout, timeout)
	}
}

func classify(err error) Outcome {
	switch {
	case err == nil:
		return journal.OutcomeOK
	case IsFailure(err):
		return journal.OutcomeFailed
	case errors.Is(err, errTimeout):
		return journal.OutcomeTimeout
	}
	return journal.OutcomeError
}

// startTx runs a TxStep attempt: the function's writes, the barrier row, the attempt's
// outcome and the step's new state commit together.
func (e *Engine) startTx(ctx context.Context, g *Saga, d *Definition, owner string, i int, op Op, n int) error {
	s := d.steps[i]
	timeout := e.timeout(s, op)
	// The attempt is recorded on its own first, so it counts even if its transaction rolls back.
	if err := e.store.Fenced(ctx, g.ID, owner, e.o.Lease, func(tx *journal.Tx) error {
		return tx.BeginAttempt(ctx, i, s.name, op, n, timeout)
	}); err != nil {
		return err
	}
	e.emit(e.event(AttemptStarted, g, s.name, op, n))
	fn := s.txAction
	if op == OpCompensation {
		fn = s.txUndo
	}
	c := e.newCall(g, s, op, n)
	began := time.Now()
	o, state, cause, done := e.txAttempt(ctx, g, d, owner, i, op, n, fn, c, timeout)
	if isLeaseLost(cause) || isLeaseLost(context.Cause(ctx)) {
		return errLeaseLost
	}
	e.m.StepSeconds.WithLabelValues(g.Name, s.name, string(op)).Observe(time.Since(began).Seconds())
	if done {
		if state != "" {
			e.afterRecord(g, s.name, op, n, o, "", state)
		}
		return nil
	}
	return e.record(ctx, g, d, owner, i, op, n, o, cause, nil, false)
}

// txAttempt runs the transaction of a TxStep attempt. done reports that it committed with
// its outcome (state is then the saga's new state, or "" if the outcome was recorded
// before); otherwise the outcome o is for the caller to record.
func (e *Engine) txAttempt(ctx context.Context, g *Saga, d *Definition, owner string, i int, op Op, n int, fn TxFunc, c *Call, timeout time.Duration) (o Outcome, state State, cause error, done bool) {
	s := d.steps[i]
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t, err := e.store.Begin(cctx, g.ID, owner, e.o.Lease)
	if err != nil {
		return journal.OutcomeError, "", err, false
	}
	defer t.Rollback() //nolint:errcheck // a no-op after Commit
	dec, err := t.Barrier(cctx, s.name, op, false)
	if err != nil {
		return journal.OutcomeError, "", err, false
	}
	o = journal.OutcomeOK
	switch dec {
	case journal.Run:
		if err := callTx(cctx, fn, t, c); err != nil {
			_ = t.Rollback()
			if cctx.Err() != nil && !IsFailure(err) {
				err = fmt.Errorf("%w after %s: %w", errTimeout, timeout, err)
			}
			return classify(err), "", err, false
		}
	case journal.SkipNull:
		o = journal.OutcomeNoop // commit the barrier rows: they refuse a late action
	case journal.SkipHanging:
		return journal.OutcomeHanging, "", errors.New("the barrier refused the action: its compensation already began"), false
	}
	e.emit(e.event(AttemptReturned, g, s.name, op, n))
	if err := t.Fence(cctx, e.o.Lease); err != nil {
		return journal.OutcomeError, "", err, false
	}
	state, err = e.apply(cctx, t, g, d, i, op, n, o, "", c.output, c.set)
	if err != nil {
		return journal.OutcomeError, "", err, false
	}
	if err := t.Commit(); err != nil {
		// The commit may or may not have happened: recording an error outcome afterwards
		// is a no-op if it did (the attempt is finished), a retry if it did not.
		return journal.OutcomeError, "", fmt.Errorf("commit: %w", err), false
	}
	return o, state, nil, true
}

func callTx(ctx context.Context, fn TxFunc, t *journal.Tx, c *Call) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	return fn(ctx, t.SQL(), c)
}

// send publishes the command of attempt n of op on step i, and records that it was sent;
// the saga then waits for the reply.
func (e *Engine) send(ctx context.Context, g *Saga, d *Definition, owner string, i int, op Op, n int) error {
	s := d.steps[i]
	typ := s.command
	if op == OpCompensation {
		typ = s.uncmd
	}
	c := e.newCall(g, s, op, n)
	cmd := Command{ID: c.Key(), SagaID: g.ID, Saga: g.Name, Step: s.name, Op: op, Attempt: n, Type: typ, Input: g.Input, SentAt: time.Now().UTC()}
	if len(c.outputs) > 0 {
		cmd.Outputs = map[string]json.RawMessage{}
		for k, v := range c.outputs {
			cmd.Outputs[k] = v
		}
	}
	sctx, cancel := context.WithTimeout(ctx, e.timeout(s, op))
	err := e.o.Commands.Send(sctx, cmd)
	cancel()
	if isLeaseLost(context.Cause(ctx)) {
		return errLeaseLost
	}
	e.emit(e.event(AttemptReturned, g, s.name, op, n))
	if err != nil {
		return e.record(ctx, g, d, owner, i, op, n, journal.OutcomeError, fmt.Errorf("send command %s: %w", typ, err), nil, false)
	}
	return e.store.Fenced(ctx, g.ID, owner, e.o.Lease, func(tx *journal.Tx) error { return tx.MarkSent(ctx, i, op, n) })
}

// takeReply records the outcome a command's reply gives.
func (e *Engine) takeReply(ctx context.Context, g *Saga, d *Definition, owner string, i int, op Op) error {
	st := g.Steps[i]
	r := st.Reply
	n := attemptOf(st, op)
	if !st.StartedAt.IsZero() {
		e.m.StepSeconds.WithLabelValues(g.Name, st.Name, string(op)).Observe(g.DBNow.Sub(st.StartedAt).Seconds())
	}
	switch {
	case r.Status == ReplyOK:
		return e.record(ctx, g, d, owner, i, op, n, journal.OutcomeOK, nil, r.Output, len(r.Output) > 0)
	case op == OpAction:
		return e.record(ctx, g, d, owner, i, op, n, journal.OutcomeFailed, fmt.Errorf("%s", replyError(r)), nil, false)
	}
	// A failed compensation is tried again: undoing must eventually succeed.
	return e.record(ctx, g, d, owner, i, op, n, journal.OutcomeError, fmt.Errorf("%s", replyError(r)), nil, false)
}

func replyError(r *journal.Reply) string {
	if r.Error != "" {
		return "the service replied failed: " + r.Error
	}
	return "the service replied failed"
}

// record writes the outcome of attempt n and what follows from it, in a fenced transaction.
func (e *Engine) record(ctx context.Context, g *Saga, d *Definition, owner string, i int, op Op, n int, o Outcome, cause error, out []byte, setOut bool) error {
	errText := ""
	if cause != nil {
		errText = cause.Error()
	}
	var state State
	err := e.store.Fenced(ctx, g.ID, owner, e.o.Lease, func(tx *journal.Tx) error {
		var err error
		state, err = e.apply(ctx, tx, g, d, i, op, n, o, errText, out, setOut)
		return err
	})
	if err != nil {
		return err
	}
	if state != "" {
		e.afterRecord(g, d.steps[i].name, op, n, o, errText, state)
	}
	return nil
}

// afterRecord counts and reports a recorded outcome.
func (e *Engine) afterRecord(g *Saga, step string, op Op, n int, o Outcome, errText string, state State) {
	if op == OpAction {
		e.m.Attempts.WithLabelValues(g.Name, step, string(o)).Inc()
	} else {
		e.m.Compensations.WithLabelValues(g.Name, step, string(o)).Inc()
	}
	switch {
	case o == journal.OutcomeOK, o == journal.OutcomeNoop:
	case o == journal.OutcomeFailed && op == OpAction:
		// A business answer (out of stock): the saga compensates, nothing is wrong.
		e.log.Info("saga step failed; compensating", "id", g.ID, "saga", g.Name, "step", step, "err", errText)
	default:
		e.log.Warn("saga attempt failed", "id", g.ID, "saga", g.Name, "step", step, "op", op, "attempt", n, "outcome", o, "err", errText)
	}
	ev := e.event(AttemptFinished, g, step, op, n)
	ev.Outcome = o
	e.emit(ev)
	if state == Stuck {
		e.ended(g, Stuck)
	}
}

// apply writes, in tx, the outcome of attempt n of op on step i and the step's and the
// saga's new state, which it returns. It returns "", writing nothing, if the attempt's
// outcome was already recorded.
//
// An action's definitive failure (Fail, a "failed" reply) on its first attempt means it
// changed nothing: the saga compensates the steps before it. Any other failure leaves
// its effect unknown: it is retried, and when its attempts run out it is compensated too.
// A compensation is retried with backoff until it succeeds; after CompensationAttempts
// (or at once for Fail) the saga is stuck.
func (e *Engine) apply(ctx context.Context, tx *journal.Tx, g *Saga, d *Definition, i int, op Op, n int, o Outcome, errText string, out []byte, setOut bool) (State, error) {
	s := d.steps[i]
	if ok, err := tx.FinishAttempt(ctx, i, op, n, o, errText); err != nil || !ok {
		return "", err
	}
	both := func(sc journal.StepChange, gc journal.SagaChange) (State, error) {
		if err := tx.SetStep(ctx, i, sc); err != nil {
			return "", err
		}
		gc.Step = i
		return gc.State, tx.SetSaga(ctx, gc)
	}
	if op == OpAction {
		switch o {
		case journal.OutcomeOK:
			return both(journal.StepChange{State: journal.StepDone, Output: out, SetOutput: setOut}, journal.SagaChange{State: Running})
		case journal.OutcomeFailed, journal.OutcomeHanging:
			state := journal.StepFailed
			if n > 1 {
				state = journal.StepUnknown // an earlier attempt's effect is unknown
			}
			return both(journal.StepChange{State: state, Error: errText},
				journal.SagaChange{State: Compensating, Error: fmt.Sprintf("step %s failed: %s", s.name, errText)})
		}
		limit := s.attempts
		if limit == 0 {
			limit = e.o.ActionAttempts
		}
		if n < limit {
			return both(journal.StepChange{State: journal.StepRunning, Error: errText, Retry: true, RetryIn: e.o.Backoff.Delay(n)},
				journal.SagaChange{State: Running, KeepErr: true})
		}
		return both(journal.StepChange{State: journal.StepUnknown, Error: errText},
			journal.SagaChange{State: Compensating, Error: fmt.Sprintf("step %s: %d attempt(s) failed, its effect is unknown; last: %s", s.name, n, errText)})
	}
	switch o {
	case journal.OutcomeOK:
		return both(journal.StepChange{State: journal.StepCompensated}, journal.SagaChange{State: Compensating, KeepErr: true})
	case journal.OutcomeNoop:
		return both(journal.StepChange{State: journal.StepSkipped, Error: "nothing to compensate: the action never ran"},
			journal.SagaChange{State: Compensating, KeepErr: true})
	case journal.OutcomeFailed:
		return both(journal.StepChange{State: journal.StepCompensating, Error: errText},
			journal.SagaChange{State: Stuck, Error: fmt.Sprintf("compensation of step %s failed for good: %s; fix the cause, then run `strangler compensate retry %s`", s.name, errText, g.ID)})
	}
	used := n - g.Steps[i].CompBase
	if used < e.o.CompensationAttempts {
		return both(journal.StepChange{State: journal.StepCompensating, Error: errText, Retry: true, RetryIn: e.o.Backoff.Delay(used)},
			journal.SagaChange{State: Compensating, KeepErr: true})
	}
	return both(journal.StepChange{State: journal.StepCompensating, Error: errText},
		journal.SagaChange{State: Stuck, Error: fmt.Sprintf("compensation of step %s failed %d time(s), last: %s; fix the cause, then run `strangler compensate retry %s`", s.name, used, errText, g.ID)})
}

// finish records the saga's end state.
func (e *Engine) finish(ctx context.Context, g *Saga, owner string, state State) error {
	// An ended saga points at its last step, or, compensated, at the step that failed.
	step := max(0, len(g.Steps)-1)
	if state == Compensated {
		for i, st := range g.Steps {
			if st.ActionAttempts > 0 { // the steps after the one that failed never ran
				step = i
			}
		}
	}
	if err := e.store.Fenced(ctx, g.ID, owner, e.o.Lease, func(tx *journal.Tx) error {
		return tx.SetSaga(ctx, journal.SagaChange{State: state, Step: step, KeepErr: true, Finished: true})
	}); err != nil {
		return err
	}
	e.ended(g, state)
	return nil
}

func (e *Engine) ended(g *Saga, state State) {
	e.m.Finished.WithLabelValues(g.Name, string(state)).Inc()
	if state == Stuck {
		e.log.Error("saga stuck: a compensation gave up; it waits for `strangler compensate retry`", "id", g.ID, "saga", g.Name)
	} else {
		e.log.Info("saga ended", "id", g.ID, "saga", g.Name, "state", state)
	}
	e.emit(Event{Kind: SagaEnded, SagaID: g.ID, Saga: g.Name, State: state})
}
