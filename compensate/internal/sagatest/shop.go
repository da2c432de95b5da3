// Package sagatest is the saga engine's test fixture: the article's order saga (reserve
// inventory, process payment, ship; release inventory, refund payment) on real tables,
// with faults injected per step, and the checks every saga test makes. The engine's
// tests and the crash test program (testdata/crashsaga) share it.
package sagatest

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/compensate"
	"github.com/strangler/strangler/internal/testenv"
	"github.com/strangler/strangler/migrations"
)

// Prefix is the journal's table prefix in the tests: not the default, to prove it is honoured.
const Prefix = "saga_t_"

// Step names of the order saga.
const (
	Reserve = "reserve-inventory"
	Pay     = "process-payment"
	Ship    = "ship"
)

// Order is the order saga's input.
type Order struct {
	ID     string `json:"id"`
	SKU    string `json:"sku"`
	Qty    int    `json:"qty"`
	Amount int64  `json:"amount"`
}

// Payment is the output of the payment step: what its compensation refunds.
type Payment struct {
	ID string `json:"id"`
}

// Database returns a fresh database with the journal tables (Prefix) and the shop's tables.
func Database(t testing.TB) *testenv.MySQLDatabase {
	t.Helper()
	db := testenv.NewMySQLDatabase(t)
	m, err := migrations.New(db.DB, Prefix)
	require.NoError(t, err)
	_, err = m.Up(context.Background())
	require.NoError(t, err)
	require.NoError(t, CreateShop(context.Background(), db.DB))
	return db
}

// CreateShop creates the shop's tables: what the steps change, and a log of every call.
func CreateShop(ctx context.Context, db *sql.DB) error {
	for _, s := range []string{
		`CREATE TABLE IF NOT EXISTS shop_reservations (order_id VARCHAR(64) PRIMARY KEY, sku VARCHAR(64) NOT NULL, qty INT NOT NULL, released TINYINT NOT NULL DEFAULT 0)`,
		`CREATE TABLE IF NOT EXISTS shop_payments (order_id VARCHAR(64) PRIMARY KEY, payment_id VARCHAR(80) NOT NULL, amount BIGINT NOT NULL, refunded TINYINT NOT NULL DEFAULT 0)`,
		`CREATE TABLE IF NOT EXISTS shop_shipments (order_id VARCHAR(64) PRIMARY KEY)`,
		// One row per function call: the tests check no attempt ran twice.
		`CREATE TABLE IF NOT EXISTS shop_calls (id BIGINT AUTO_INCREMENT PRIMARY KEY, saga_id CHAR(36) NOT NULL, step VARCHAR(64) NOT NULL, op VARCHAR(16) NOT NULL, attempt INT NOT NULL, KEY (saga_id))`,
	} {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("create shop tables: %w", err)
		}
	}
	return nil
}

// Fault runs before a step's effect; an error it returns is the step's result (and the
// effect is not made). Key faults by FaultKey.
type Fault func(ctx context.Context, c *compensate.Call) error

// FaultKey names the action or compensation of a step in Faults.
func FaultKey(step string, op compensate.Op) string { return step + "/" + string(op) }

// Faults are the faults of one saga definition.
type Faults map[string]Fault

// Shop holds the order saga's step functions, writing to db.
type Shop struct {
	db     *sql.DB
	faults Faults
}

// OrderSaga defines the article's order saga under name, with local steps on db.
func OrderSaga(name string, db *sql.DB, faults Faults, opts ...compensate.StepOption) *compensate.Definition {
	s := &Shop{db: db, faults: faults}
	return compensate.Define(name,
		compensate.Step(Reserve, s.wrap(s.reserve), s.wrap(s.release), opts...),
		compensate.Step(Pay, s.wrap(s.charge), s.wrap(s.refund), opts...),
		compensate.Step(Ship, s.wrap(s.ship), nil, opts...),
	)
}

// wrap logs the call, then runs the step's fault, then (if the fault let it) the effect.
func (s *Shop) wrap(effect compensate.Func) compensate.Func {
	return func(ctx context.Context, c *compensate.Call) error {
		if _, err := s.db.ExecContext(ctx, "INSERT INTO shop_calls (saga_id, step, op, attempt) VALUES (?, ?, ?, ?)", c.SagaID, c.Step, c.Op, c.Attempt); err != nil {
			return err
		}
		if f := s.faults[FaultKey(c.Step, c.Op)]; f != nil {
			if err := f(ctx, c); err != nil {
				return err
			}
		}
		return effect(ctx, c)
	}
}

// Every effect is idempotent: keyed by the order, so a repeated call changes nothing.
func (s *Shop) reserve(ctx context.Context, c *compensate.Call) error {
	var o Order
	if err := c.Input(&o); err != nil {
		return compensate.Fail(err)
	}
	_, err := s.db.ExecContext(ctx, "INSERT IGNORE INTO shop_reservations (order_id, sku, qty) VALUES (?, ?, ?)", o.ID, o.SKU, o.Qty)
	return err
}

func (s *Shop) release(ctx context.Context, c *compensate.Call) error {
	var o Order
	if err := c.Input(&o); err != nil {
		return err
	}
	// Safe when the reservation never happened (its outcome was unknown): no row, no change.
	_, err := s.db.ExecContext(ctx, "UPDATE shop_reservations SET released = 1 WHERE order_id = ?", o.ID)
	return err
}

func (s *Shop) charge(ctx context.Context, c *compensate.Call) error {
	var o Order
	if err := c.Input(&o); err != nil {
		return compensate.Fail(err)
	}
	p := Payment{ID: "pay-" + o.ID}
	if _, err := s.db.ExecContext(ctx, "INSERT IGNORE INTO shop_payments (order_id, payment_id, amount) VALUES (?, ?, ?)", o.ID, p.ID, o.Amount); err != nil {
		return err
	}
	return c.SetOutput(p)
}

func (s *Shop) refund(ctx context.Context, c *compensate.Call) error {
	var o Order
	if err := c.Input(&o); err != nil {
		return err
	}
	// The payment id comes from the action's output when it succeeded; when its outcome
	// is unknown there is none, and the refund goes by order.
	var p Payment
	if ok, err := c.Output(Pay, &p); err != nil {
		return err
	} else if ok {
		_, err := s.db.ExecContext(ctx, "UPDATE shop_payments SET refunded = 1 WHERE payment_id = ?", p.ID)
		return err
	}
	_, err := s.db.ExecContext(ctx, "UPDATE shop_payments SET refunded = 1 WHERE order_id = ?", o.ID)
	return err
}

func (s *Shop) ship(ctx context.Context, c *compensate.Call) error {
	var o Order
	if err := c.Input(&o); err != nil {
		return compensate.Fail(err)
	}
	_, err := s.db.ExecContext(ctx, "INSERT IGNORE INTO shop_shipments (order_id) VALUES (?)", o.ID)
	return err
}

// Effects is what the shop holds for one order.
type Effects struct {
	Reserved, Released bool
	Charged, Refunded  bool
	Shipped            bool
}

// ReadEffects reads the shop's state for an order.
func ReadEffects(t testing.TB, db *sql.DB, orderID string) Effects {
	t.Helper()
	var e Effects
	var released, refunded int
	err := db.QueryRow("SELECT released FROM shop_reservations WHERE order_id = ?", orderID).Scan(&released)
	if err != sql.ErrNoRows {
		require.NoError(t, err)
		e.Reserved, e.Released = true, released == 1
	}
	err = db.QueryRow("SELECT refunded FROM shop_payments WHERE order_id = ?", orderID).Scan(&refunded)
	if err != sql.ErrNoRows {
		require.NoError(t, err)
		e.Charged, e.Refunded = true, refunded == 1
	}
	var n int
	require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM shop_shipments WHERE order_id = ?", orderID).Scan(&n))
	e.Shipped = n == 1
	return e
}

// RequireCompleted checks a completed order: reserved, charged, shipped, nothing undone.
func RequireCompleted(t testing.TB, db *sql.DB, orderID string) {
	t.Helper()
	require.Equal(t, Effects{Reserved: true, Charged: true, Shipped: true}, ReadEffects(t, db, orderID), "order %s", orderID)
}

// RequireUndone checks a compensated order: whatever was reserved is released, whatever
// was charged is refunded, nothing shipped.
func RequireUndone(t testing.TB, db *sql.DB, orderID string) {
	t.Helper()
	e := ReadEffects(t, db, orderID)
	require.Equal(t, e.Reserved, e.Released, "order %s: a reservation must be released: %+v", orderID, e)
	require.Equal(t, e.Charged, e.Refunded, "order %s: a payment must be refunded: %+v", orderID, e)
	require.False(t, e.Shipped, "order %s: nothing may ship", orderID)
}

// Call is one row of shop_calls.
type Call struct {
	Step    string
	Op      compensate.Op
	Attempt int
}

// Calls returns every function call made for a saga, in order.
func Calls(t testing.TB, db *sql.DB, sagaID string) []Call {
	t.Helper()
	rows, err := db.Query("SELECT step, op, attempt FROM shop_calls WHERE saga_id = ? ORDER BY id", sagaID)
	require.NoError(t, err)
	defer rows.Close()
	var out []Call
	for rows.Next() {
		var c Call
		require.NoError(t, rows.Scan(&c.Step, &c.Op, &c.Attempt))
		out = append(out, c)
	}
	require.NoError(t, rows.Err())
	return out
}

// RequireNoDoubleExecution checks that no attempt of the saga was called twice and that
// every call matches an attempt recorded in the journal.
func RequireNoDoubleExecution(t testing.TB, db *sql.DB, g compensate.Saga) {
	t.Helper()
	recorded := map[Call]bool{}
	for _, a := range g.Attempts {
		recorded[Call{Step: a.Step, Op: a.Op, Attempt: a.Attempt}] = true
	}
	seen := map[Call]bool{}
	for _, c := range Calls(t, db, g.ID) {
		require.False(t, seen[c], "saga %s: %s %s attempt %d was called twice", g.ID, c.Step, c.Op, c.Attempt)
		seen[c] = true
		require.True(t, recorded[c], "saga %s: %s %s attempt %d was called but not recorded", g.ID, c.Step, c.Op, c.Attempt)
	}
}

// CrashFaults are the faults of the crash tests: the action of step fail (if any) fails
// for good. The crashing program and the recovering test use the same.
func CrashFaults(fail string) Faults {
	if fail == "" {
		return nil
	}
	return Faults{FaultKey(fail, compensate.OpAction): func(context.Context, *compensate.Call) error {
		return compensate.Failf("%s refused", fail)
	}}
}
