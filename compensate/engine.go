package compensate

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/strangler/strangler/compensate/journal"
	"github.com/strangler/strangler/compensate/metrics"
)

// Journal types, under the names the engine's users see.
type (
	Saga     = journal.Saga      // a saga as stored
	SagaStep = journal.Step      // one of its steps
	Attempt  = journal.Attempt   // one attempt of an action or compensation
	State    = journal.SagaState // where a saga is
	Op       = journal.Op        // action or compensation
	Outcome  = journal.Outcome   // how an attempt ended
	Filter   = journal.Filter    // which sagas List returns
)

// Saga states.
const (
	Running      = journal.Running
	Compensating = journal.Compensating
	Completed    = journal.Completed
	Compensated  = journal.Compensated
	Stuck        = journal.Stuck
)

// Ops.
const (
	OpAction       = journal.OpAction
	OpCompensation = journal.OpCompensation
)

// Engine runs sagas and keeps them in the journal tables of one MySQL/MariaDB database.
// Several engines (several instances of the application) can share the database: leases
// make sure each saga is driven by one at a time.
type Engine struct {
	db     *sql.DB
	store  *journal.Store
	o      Options
	log    *slog.Logger
	m      *metrics.Metrics
	claims atomic.Uint64
	kick   chan struct{}

	mu   sync.RWMutex
	defs map[string]*Definition
}

// New returns an engine on db, which must hold the journal tables (`strangler migrate up`
// or migrations.New(db, prefix).Up(ctx) creates them).
func New(db *sql.DB, o Options) (*Engine, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	store, err := journal.New(db, o.TablePrefix)
	if err != nil {
		return nil, fmt.Errorf("compensate: %w", err)
	}
	return &Engine{db: db, store: store, o: o, log: o.Logger.With("component", "compensate", "instance", o.Instance),
		m: o.Metrics, kick: make(chan struct{}, 1), defs: map[string]*Definition{}}, nil
}

// Register adds saga definitions. A name can be registered once.
func (e *Engine) Register(defs ...*Definition) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, d := range defs {
		if err := d.validate(); err != nil {
			return fmt.Errorf("compensate: register: %w", err)
		}
		if e.defs[d.name] != nil {
			return fmt.Errorf("compensate: register: saga %s is already registered", d.name)
		}
		if d.usesCommands() && e.o.Commands == nil {
			return fmt.Errorf("compensate: register: saga %s has command steps: set Options.Commands (kinesisbus.New) to carry them", d.name)
		}
		e.defs[d.name] = d
	}
	return nil
}

func (e *Engine) def(name string) *Definition {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.defs[name]
}

func (e *Engine) names() []string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make([]string, 0, len(e.defs))
	for n := range e.defs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// owner returns a lease owner id no other claim uses.
func (e *Engine) owner() string { return fmt.Sprintf("%s#%d", e.o.Instance, e.claims.Add(1)) }

// Start records a new saga of the registered name with input (any value encoding to
// JSON) and runs it in the calling goroutine until it ends or has to wait (a retry
// backoff longer than MaxInlineWait, a command's reply): Run resumes it then. It returns
// the saga as it stands. If ctx ends first, Start stops between two attempts and returns
// ctx's error; the saga is not abandoned: Run picks it up.
func (e *Engine) Start(ctx context.Context, name string, input any) (Saga, error) {
	id, owner, err := e.create(ctx, name, input, true)
	if err != nil {
		return Saga{}, err
	}
	e.drive(ctx, id, owner, ctx.Done())
	g, err := e.store.Load(context.WithoutCancel(ctx), id)
	if err != nil {
		return Saga{ID: id, Name: name}, fmt.Errorf("compensate: saga %s started: %w", id, err)
	}
	if ctx.Err() != nil && g.State.Active() {
		return *g, fmt.Errorf("compensate: saga %s left to the recovery loop: %w", id, ctx.Err())
	}
	return *g, nil
}

// Enqueue records a new saga and leaves it to Run. It returns the saga's id.
func (e *Engine) Enqueue(ctx context.Context, name string, input any) (string, error) {
	id, _, err := e.create(ctx, name, input, false)
	return id, err
}

func (e *Engine) create(ctx context.Context, name string, input any, lease bool) (id, owner string, err error) {
	d := e.def(name)
	if d == nil {
		return "", "", fmt.Errorf("compensate: start saga %q: %w: Register its definition first", name, ErrUnknownSaga)
	}
	in, err := json.Marshal(input)
	if err != nil {
		return "", "", fmt.Errorf("compensate: start saga %s: encode input: %w", name, err)
	}
	u, err := uuid.NewV7()
	if err != nil {
		return "", "", fmt.Errorf("compensate: start saga %s: %w", name, err)
	}
	n := journal.NewSaga{ID: u.String(), Name: name, Input: in}
	for _, s := range d.steps {
		n.Steps = append(n.Steps, journal.NewStep{Name: s.name, Kind: string(s.kind)})
	}
	if lease {
		n.Owner, n.Lease = e.owner(), e.o.Lease
	}
	if err := e.store.Create(ctx, n); err != nil {
		return "", "", fmt.Errorf("compensate: start saga %s: %w", name, err)
	}
	e.m.Started.WithLabelValues(name).Inc()
	e.log.Debug("saga started", "saga", name, "id", n.ID)
	if !lease {
		e.wake()
	}
	return n.ID, n.Owner, nil
}

// Get returns a saga with its steps and attempts.
func (e *Engine) Get(ctx context.Context, id string) (Saga, error) {
	g, err := e.store.Load(ctx, id)
	if err != nil {
		return Saga{}, fmt.Errorf("compensate: %w", err)
	}
	if g.Attempts, err = e.store.Attempts(ctx, id); err != nil {
		return Saga{}, fmt.Errorf("compensate: %w", err)
	}
	return *g, nil
}

// Wait polls a saga until it is no longer running or compensating (it completed, was
// compensated, or is stuck) and returns it.
func (e *Engine) Wait(ctx context.Context, id string) (Saga, error) {
	t := time.NewTicker(e.o.PollInterval)
	defer t.Stop()
	for {
		g, err := e.store.Load(ctx, id)
		if err != nil {
			return Saga{}, fmt.Errorf("compensate: %w", err)
		}
		if !g.State.Active() {
			return *g, nil
		}
		select {
		case <-ctx.Done():
			return *g, fmt.Errorf("compensate: wait for saga %s (%s): %w", id, g.State, ctx.Err())
		case <-t.C:
		}
	}
}

// Retry re-arms a stuck saga: its compensations are tried again with a fresh budget.
func (e *Engine) Retry(ctx context.Context, id string) error {
	if err := e.store.Retry(ctx, id); err != nil {
		return fmt.Errorf("compensate: %w", err)
	}
	e.wake()
	return nil
}

// List returns sagas matching f, newest first.
func (e *Engine) List(ctx context.Context, f Filter) ([]Saga, error) {
	out, err := e.store.List(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("compensate: %w", err)
	}
	return out, nil
}

// wake makes Run look for due sagas now.
func (e *Engine) wake() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

func (e *Engine) emit(ev Event) {
	if e.o.OnEvent != nil {
		e.o.OnEvent(ev)
	}
}

var errLeaseLost = journal.ErrLeaseLost

func isLeaseLost(err error) bool { return errors.Is(err, errLeaseLost) }
