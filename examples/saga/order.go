package main

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/strangler/strangler/compensate"
)

// Order is the saga's input.
type Order struct {
	ID      string `json:"id"`
	SKU     string `json:"sku"`
	Qty     int    `json:"qty"`
	Amount  int64  `json:"amount"` // cents
	Address string `json:"address"`
}

// placeOrder is the article's OrderSaga: reserve inventory, process payment, ship; when
// a step fails, the steps before it are undone in reverse order (refund the payment,
// release the inventory). The inventory is still the monolith's, in its database; the
// payment and the shipping are services reached over Kinesis.
func placeOrder() *compensate.Definition {
	return compensate.Define("place-order",
		compensate.TxStep("reserve-inventory", reserveInventory, releaseInventory),
		compensate.CommandStep("process-payment", "PROCESS_PAYMENT", "REFUND_PAYMENT"),
		compensate.CommandStep("ship", "SHIP_ORDER", ""),
	)
}

// reserveInventory runs in the engine's transaction: the stock update, the step's state
// and the barrier row commit together, so a reservation happens exactly once.
func reserveInventory(ctx context.Context, tx *sql.Tx, c *compensate.Call) error {
	var o Order
	if err := c.Input(&o); err != nil {
		return compensate.Fail(err)
	}
	res, err := tx.ExecContext(ctx, "UPDATE inventory SET stock = stock - ? WHERE sku = ? AND stock >= ?", o.Qty, o.SKU, o.Qty)
	if err != nil {
		return err // the database had a problem: tried again
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return compensate.Failf("out of stock: %d × %s", o.Qty, o.SKU) // a business answer: not retried
	}
	return nil
}

func releaseInventory(ctx context.Context, tx *sql.Tx, c *compensate.Call) error {
	var o Order
	if err := c.Input(&o); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, "UPDATE inventory SET stock = stock + ? WHERE sku = ?", o.Qty, o.SKU)
	return err
}

// paymentLimit is the payment service's rule: larger payments are declined.
const paymentLimit = 100000

// payments is the payment service: it handles PROCESS_PAYMENT and REFUND_PAYMENT in its
// own tables, behind the barrier, so a command arriving twice is applied once, a refund
// of a payment it never received does nothing, and a payment arriving after its refund
// is refused.
func payments(db *sql.DB, barrier *compensate.Barrier) func(ctx context.Context, cmd compensate.Command) (compensate.Reply, error) {
	return func(ctx context.Context, cmd compensate.Command) (compensate.Reply, error) {
		var o Order
		if err := cmd.DecodeInput(&o); err != nil {
			return cmd.Failed(err.Error()), nil
		}
		if cmd.Type == "PROCESS_PAYMENT" && o.Amount > paymentLimit {
			return cmd.Failed(fmt.Sprintf("payment declined: %d over the limit of %d", o.Amount, paymentLimit)), nil
		}
		return inTx(ctx, db, barrier, cmd, func(tx *sql.Tx) error {
			if cmd.Type == "PROCESS_PAYMENT" {
				_, err := tx.ExecContext(ctx, "INSERT INTO payments (order_id, amount) VALUES (?, ?)", o.ID, o.Amount)
				return err
			}
			_, err := tx.ExecContext(ctx, "UPDATE payments SET refunded = 1 WHERE order_id = ?", o.ID)
			return err
		}, map[string]string{"payment_id": "pay-" + o.ID})
	}
}

// shipping is the shipping service: it handles SHIP_ORDER.
func shipping(db *sql.DB, barrier *compensate.Barrier) func(ctx context.Context, cmd compensate.Command) (compensate.Reply, error) {
	return func(ctx context.Context, cmd compensate.Command) (compensate.Reply, error) {
		var o Order
		if err := cmd.DecodeInput(&o); err != nil {
			return cmd.Failed(err.Error()), nil
		}
		if o.Address == "" {
			return cmd.Failed("no shipping address"), nil
		}
		return inTx(ctx, db, barrier, cmd, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO shipments (order_id, address) VALUES (?, ?)", o.ID, o.Address)
			return err
		}, nil)
	}
}

// inTx applies a command's writes behind the barrier, in one transaction, and replies.
func inTx(ctx context.Context, db *sql.DB, barrier *compensate.Barrier, cmd compensate.Command, apply func(*sql.Tx) error, output any) (compensate.Reply, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return compensate.Reply{}, err // not handled: the command is read again
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	d, err := barrier.Enter(ctx, tx, cmd)
	if err != nil {
		return compensate.Reply{}, err
	}
	switch d {
	case compensate.Run:
		if err := apply(tx); err != nil {
			return compensate.Reply{}, err
		}
	case compensate.SkipHanging:
		return cmd.Failed("arrived after its compensation"), tx.Commit()
	}
	if err := tx.Commit(); err != nil {
		return compensate.Reply{}, err
	}
	return cmd.OK(output)
}
