// Command crashsaga runs one order saga and freezes at a chosen point of it, so that a
// test can SIGKILL it there and check what the recovery loop of another engine makes of
// the journal. It prints "CRASHPOINT <saga id>" when it reaches the point, and
// "ENDED <saga id> <state>" if the saga ends without reaching it.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/strangler/strangler/compensate"
	"github.com/strangler/strangler/compensate/internal/sagatest"
	"github.com/strangler/strangler/internal/dburl"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "crashsaga:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("db", "", "mysql:// address of the database with the journal and shop tables")
	crash := flag.String("crash", "", "where to freeze: EVENT:STEP:OP, e.g. attempt-returned:process-payment:action")
	fail := flag.String("fail", "", "step whose action fails for good")
	orderID := flag.String("order", "o1", "order id")
	lease := flag.Duration("lease", 500*time.Millisecond, "saga lease")
	timeout := flag.Duration("timeout", 2*time.Second, "step timeout")
	flag.Parse()
	parts := strings.Split(*crash, ":")
	if len(parts) != 3 {
		return fmt.Errorf("-crash %q: give EVENT:STEP:OP", *crash)
	}
	dsn, err := dburl.MySQLDSN(*addr)
	if err != nil {
		return err
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	e, err := compensate.New(db, compensate.Options{
		TablePrefix: sagatest.Prefix, Instance: "crashsaga", Lease: *lease, StepTimeout: *timeout,
		Backoff: compensate.Backoff{Initial: 5 * time.Millisecond, Max: 20 * time.Millisecond},
		Logger:  slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})),
		OnEvent: func(ev compensate.Event) {
			if string(ev.Kind) == parts[0] && ev.Step == parts[1] && string(ev.Op) == parts[2] {
				fmt.Printf("CRASHPOINT %s\n", ev.SagaID)
				select {} // frozen here until the test kills the process
			}
		},
	})
	if err != nil {
		return err
	}
	if err := e.Register(sagatest.OrderSaga("place-order", db, sagatest.CrashFaults(*fail))); err != nil {
		return err
	}
	g, err := e.Start(context.Background(), "place-order", sagatest.Order{ID: *orderID, SKU: "sku", Qty: 1, Amount: 100})
	if err != nil {
		return err
	}
	fmt.Printf("ENDED %s %s\n", g.ID, g.State)
	return nil
}
