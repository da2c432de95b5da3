// Command saga runs the article's order saga against a MySQL/MariaDB database and
// Kinesis (kinesalite locally): the monolith reserves inventory in its own database, a
// payment service and a shipping service (here in the same process, reading the command
// stream) do their parts, and failed orders are compensated. See README.md.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	_ "github.com/go-sql-driver/mysql"

	"github.com/strangler/strangler/compensate"
	"github.com/strangler/strangler/compensate/kinesisbus"
	"github.com/strangler/strangler/migrations"
)

type settings struct {
	dsn      string // go-sql-driver DSN
	endpoint string // Kinesis endpoint; empty for AWS
	commands string
	replies  string
	log      *slog.Logger
}

func main() {
	var s settings
	flag.StringVar(&s.dsn, "dsn", "root@tcp(127.0.0.1:3307)/saga_example", "go-sql-driver DSN of the database (created if missing)")
	flag.StringVar(&s.endpoint, "kinesis-endpoint", "http://127.0.0.1:4567", "Kinesis endpoint (empty: AWS)")
	flag.StringVar(&s.commands, "commands", "orders-commands", "command stream (created if missing)")
	flag.StringVar(&s.replies, "replies", "orders-replies", "reply stream (created if missing)")
	verbose := flag.Bool("v", false, "log what the engine does")
	flag.Parse()
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	s.log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if _, err := run(ctx, s, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "saga example:", err)
		os.Exit(1)
	}
}

// orders are the demo's orders: one goes through, three fail at each step in turn.
var orders = []Order{
	{ID: "o-100", SKU: "book", Qty: 2, Amount: 3000, Address: "1 rue de la Paix, Paris"},
	{ID: "o-101", SKU: "lamp", Qty: 50, Amount: 90000, Address: "2 rue de Rivoli, Paris"}, // out of stock
	{ID: "o-102", SKU: "book", Qty: 1, Amount: 250000, Address: "3 quai d'Orsay, Paris"},  // payment declined
	{ID: "o-103", SKU: "book", Qty: 1, Amount: 1500, Address: ""},                         // cannot ship
}

// run sets everything up, places the orders, and returns how their sagas ended.
func run(ctx context.Context, s settings, out io.Writer) ([]compensate.Saga, error) {
	db, err := openDB(ctx, s.dsn)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	// The saga tables; in production `strangler migrate up --db ...` does this.
	if m, err := migrations.New(db, migrations.DefaultPrefix); err != nil {
		return nil, err
	} else if _, err := m.Up(ctx); err != nil {
		return nil, err
	}
	if err := createShop(ctx, db); err != nil {
		return nil, err
	}
	kc, err := kinesisClient(ctx, s.endpoint)
	if err != nil {
		return nil, err
	}
	for _, name := range []string{s.commands, s.replies} {
		if err := ensureStream(ctx, kc, name); err != nil {
			return nil, err
		}
	}

	// The engine, with the bus carrying commands to the services and their replies back.
	bus, err := kinesisbus.New(kc, db, kinesisbus.Options{CommandStream: s.commands, ReplyStream: s.replies, PollInterval: 100 * time.Millisecond, Logger: s.log})
	if err != nil {
		return nil, err
	}
	engine, err := compensate.New(db, compensate.Options{Commands: bus, StepTimeout: 10 * time.Second, PollInterval: 100 * time.Millisecond, Logger: s.log})
	if err != nil {
		return nil, err
	}
	if err := engine.Register(placeOrder()); err != nil {
		return nil, err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 3)
	go func() { done <- engine.Run(runCtx) }() // recovery loop and reply reader: run it on every instance

	// The services, each reading the command stream for its own command types.
	barrier, err := compensate.NewBarrier(db, "")
	if err != nil {
		return nil, err
	}
	serve := func(consumer string, types []string, h kinesisbus.Handler) {
		done <- kinesisbus.Serve(runCtx, kc, db, kinesisbus.ServeOptions{CommandStream: s.commands, Consumer: consumer, Types: types,
			PollInterval: 100 * time.Millisecond, Logger: s.log}, h)
	}
	go serve("payment-service", []string{"PROCESS_PAYMENT", "REFUND_PAYMENT"}, payments(db, barrier))
	go serve("shipping-service", []string{"SHIP_ORDER"}, shipping(db, barrier))

	var results []compensate.Saga
	for _, o := range orders {
		g, err := engine.Start(ctx, "place-order", o)
		if err != nil {
			return results, err
		}
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		g, err = engine.Wait(wctx, g.ID) // the saga parks while it waits for a reply
		cancel()
		if err != nil {
			return results, err
		}
		results = append(results, g)
		printSaga(out, o, g)
	}
	stop()
	var errs []error
	for range 3 {
		errs = append(errs, <-done)
	}
	return results, errors.Join(errs...)
}

func printSaga(out io.Writer, o Order, g compensate.Saga) {
	var steps []string
	for _, st := range g.Steps {
		steps = append(steps, st.Name+"="+string(st.State))
	}
	fmt.Fprintf(out, "%s  %-11s  %s\n", o.ID, g.State, strings.Join(steps, "  "))
	if g.Error != "" {
		fmt.Fprintf(out, "       why: %s\n", g.Error)
	}
}

func openDB(ctx context.Context, dsn string) (*sql.DB, error) {
	i := strings.LastIndex(dsn, "/")
	if i < 0 {
		return nil, fmt.Errorf("-dsn %q: end it with /database", dsn)
	}
	name := strings.SplitN(dsn[i+1:], "?", 2)[0]
	admin, err := sql.Open("mysql", dsn[:i+1])
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS `"+name+"`"); err != nil {
		return nil, fmt.Errorf("create database %s: %w", name, err)
	}
	return sql.Open("mysql", dsn)
}

// createShop creates the monolith's inventory and the services' tables, and stocks the shelves.
func createShop(ctx context.Context, db *sql.DB) error {
	for _, q := range []string{
		"CREATE TABLE IF NOT EXISTS inventory (sku VARCHAR(32) PRIMARY KEY, stock INT NOT NULL)",
		"CREATE TABLE IF NOT EXISTS payments (order_id VARCHAR(32) PRIMARY KEY, amount BIGINT NOT NULL, refunded TINYINT NOT NULL DEFAULT 0)",
		"CREATE TABLE IF NOT EXISTS shipments (order_id VARCHAR(32) PRIMARY KEY, address VARCHAR(200) NOT NULL)",
		// A fresh start at every run of the demo.
		"DELETE FROM payments", "DELETE FROM shipments",
		"REPLACE INTO inventory VALUES ('book', 10), ('lamp', 3)",
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("create the shop's tables: %w", err)
		}
	}
	return nil
}

func kinesisClient(ctx context.Context, endpoint string) (*kinesis.Client, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return kinesis.NewFromConfig(cfg, func(o *kinesis.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}), nil
}

func ensureStream(ctx context.Context, kc *kinesis.Client, name string) error {
	_, err := kc.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
	if err == nil {
		return nil
	}
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(1)}); err != nil {
		return fmt.Errorf("create stream %s: %w", name, err)
	}
	return kinesis.NewStreamExistsWaiter(kc).Wait(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(name)}, time.Minute)
}
