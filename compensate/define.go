package compensate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Func is an action or a compensation run in the application's process. It gets the
// engine's context (with the step's timeout; cancelled when the attempt is abandoned, not
// when the caller of Start goes away) and the Call it answers. It returns nil on success,
// Fail(err) for a definitive business failure, and any other error for a failure that
// may go away (retried; its effect is then unknown). It must be safe to run again with
// the same Call.Key: after a crash or a timeout it is.
type Func func(ctx context.Context, c *Call) error

// TxFunc is an action or a compensation that writes to the engine's own database, in tx.
// The engine commits tx together with the step's new state and its barrier row, so the
// writes happen exactly once: a crash or an error rolls all of it back, and a
// compensation whose action rolled back is skipped (the action never ran).
type TxFunc func(ctx context.Context, tx *sql.Tx, c *Call) error

// Kind is how a step runs.
type Kind string

const (
	KindFunc    Kind = "func"    // a Func in the process
	KindTx      Kind = "tx"      // a TxFunc in a transaction on the engine's database
	KindCommand Kind = "command" // a command published to a stream; the saga waits for the reply
)

// StepDef is one step of a saga definition: an action and how to undo it.
type StepDef struct {
	name           string
	kind           Kind
	action, undo   Func
	txAction       TxFunc
	txUndo         TxFunc
	command, uncmd string
	timeout        time.Duration
	undoTimeout    time.Duration
	attempts       int
}

// Name returns the step's name.
func (s StepDef) Name() string { return s.name }

// StepOption tunes one step.
type StepOption func(*StepDef)

// Timeout bounds each attempt of the step's action and compensation (for a command: the
// wait for its reply). The default is Options.StepTimeout.
func Timeout(d time.Duration) StepOption { return func(s *StepDef) { s.timeout = d } }

// CompensationTimeout bounds each attempt of the step's compensation when it should
// differ from Timeout (undoing is often slower, or faster, than doing).
func CompensationTimeout(d time.Duration) StepOption { return func(s *StepDef) { s.undoTimeout = d } }

// Attempts is how many times the action is tried when it fails with an error that may go
// away, or times out, before the saga gives up and compensates (this step included: its
// effect is unknown). The default is Options.ActionAttempts.
func Attempts(n int) StepOption { return func(s *StepDef) { s.attempts = n } }

// Step is a step whose action and compensation are Funcs. A nil compensation means the
// step has nothing to undo (typically the last one).
func Step(name string, action, compensation Func, opts ...StepOption) StepDef {
	s := StepDef{name: name, kind: KindFunc, action: action, undo: compensation}
	for _, o := range opts {
		o(&s)
	}
	return s
}

// TxStep is a step whose action and compensation write to the engine's database in the
// engine's transaction (see TxFunc). A nil compensation means nothing to undo.
func TxStep(name string, action, compensation TxFunc, opts ...StepOption) StepDef {
	s := StepDef{name: name, kind: KindTx, txAction: action, txUndo: compensation}
	for _, o := range opts {
		o(&s)
	}
	return s
}

// CommandStep is a step carried out by another service: the action publishes a command
// of type command to the engine's command stream and the saga waits, durably, for the
// service's reply; the compensation publishes compensation the same way ("" means
// nothing to undo). Options.Commands must be set.
func CommandStep(name, command, compensation string, opts ...StepOption) StepDef {
	s := StepDef{name: name, kind: KindCommand, command: command, uncmd: compensation}
	for _, o := range opts {
		o(&s)
	}
	return s
}

func (s StepDef) hasCompensation() bool {
	switch s.kind {
	case KindFunc:
		return s.undo != nil
	case KindTx:
		return s.txUndo != nil
	}
	return s.uncmd != ""
}

// Definition is a named saga: steps run in order, compensated in reverse order.
type Definition struct {
	name  string
	steps []StepDef
}

// Define names a saga and its steps. Register checks it.
func Define(name string, steps ...StepDef) *Definition {
	return &Definition{name: name, steps: steps}
}

// Name returns the saga's name.
func (d *Definition) Name() string { return d.name }

// Steps returns the saga's steps.
func (d *Definition) Steps() []StepDef { return d.steps }

func (d *Definition) validate() error {
	if d == nil {
		return errors.New("nil saga definition: build one with compensate.Define")
	}
	if d.name == "" || len(d.name) > 191 {
		return fmt.Errorf("saga name %q: give a name of 1 to 191 bytes", d.name)
	}
	if len(d.steps) == 0 {
		return fmt.Errorf("saga %s has no steps: pass compensate.Step(...) values to Define", d.name)
	}
	seen := map[string]bool{}
	for i, s := range d.steps {
		where := fmt.Sprintf("saga %s, step %d (%q)", d.name, i, s.name)
		switch {
		case s.name == "" || len(s.name) > 191:
			return fmt.Errorf("%s: give the step a name of 1 to 191 bytes", where)
		case seen[s.name]:
			return fmt.Errorf("%s: another step has that name; step names key idempotency and barrier rows, so they must differ", where)
		case s.kind == KindFunc && s.action == nil, s.kind == KindTx && s.txAction == nil:
			return fmt.Errorf("%s: the action is nil", where)
		case s.kind == KindCommand && s.command == "":
			return fmt.Errorf("%s: the command type is empty", where)
		case s.kind != KindFunc && s.kind != KindTx && s.kind != KindCommand:
			return fmt.Errorf("%s: make steps with compensate.Step, TxStep or CommandStep", where)
		case s.timeout < 0 || s.undoTimeout < 0:
			return fmt.Errorf("%s: negative timeout", where)
		case s.attempts < 0:
			return fmt.Errorf("%s: negative attempts %d", where, s.attempts)
		}
		seen[s.name] = true
	}
	return nil
}

func (d *Definition) usesCommands() bool {
	for _, s := range d.steps {
		if s.kind == KindCommand {
			return true
		}
	}
	return false
}
