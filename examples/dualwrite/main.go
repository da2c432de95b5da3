// Command dualwrite is a small monolith write path wrapped with dualwrite: placing an
// order inserts the order row and, in the same transaction, its OrderPlaced event into
// the outbox; the outbox relay then publishes the event (to stdout here, or to a
// Kinesis stream with --stream) and deletes it from the outbox.
//
// Against the local stack (scripts/devstack.sh up):
//
//	mariadb -uroot -h127.0.0.1 -P3307 -e 'CREATE DATABASE IF NOT EXISTS shop_example'
//	go run ./examples/dualwrite --dsn 'root@tcp(127.0.0.1:3307)/shop_example'
//
// With Kinesis: `strangler stream create --name shop-events ...`, then add
// --stream shop-events --kinesis-endpoint http://127.0.0.1:4567 (AWS_REGION and
// credentials from the environment; any value works with kinesalite).
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	_ "github.com/go-sql-driver/mysql"

	"github.com/strangler/strangler/cdc/metrics"
	"github.com/strangler/strangler/cdc/sink"
	kinesissink "github.com/strangler/strangler/cdc/sink/kinesis"
	"github.com/strangler/strangler/dualwrite"
	"github.com/strangler/strangler/dualwrite/outbox"
	"github.com/strangler/strangler/migrations"
)

func main() {
	dsn := flag.String("dsn", "root@tcp(127.0.0.1:3307)/shop_example", "the legacy database, a go-sql-driver DSN (the database must exist)")
	stream := flag.String("stream", "", "publish to this Kinesis stream instead of stdout")
	endpoint := flag.String("kinesis-endpoint", "", "Kinesis endpoint (kinesalite: http://127.0.0.1:4567)")
	orders := flag.Int("orders", 3, "orders to place")
	flag.Parse()
	if err := run(context.Background(), *dsn, *stream, *endpoint, *orders); err != nil {
		fmt.Fprintln(os.Stderr, "example:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dsn, stream, endpoint string, orders int) error {
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return err
	}
	defer db.Close()

	// The toolkit's tables (outbox, journal...), as `strangler migrate up` creates them,
	// and the monolith's own table.
	m, err := migrations.New(db, migrations.DefaultPrefix)
	if err != nil {
		return err
	}
	if _, err := m.Up(ctx); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS orders (
		id BIGINT AUTO_INCREMENT PRIMARY KEY, customer VARCHAR(64) NOT NULL, total DECIMAL(10,2) NOT NULL)`); err != nil {
		return err
	}

	// 1. Wrap the write path. Outbox mode is the default.
	w, err := dualwrite.New(ctx, db, dualwrite.Config{})
	if err != nil {
		return err
	}
	defer w.Close(ctx) //nolint:errcheck

	for i := 1; i <= orders; i++ {
		customer, total := fmt.Sprintf("customer-%d", i), fmt.Sprintf("%d.99", 10*i)
		// 2. The legacy write runs in tx; the events it returns are written with it.
		err := w.Do(ctx, func(ctx context.Context, tx *sql.Tx) ([]dualwrite.Event, error) {
			res, err := tx.ExecContext(ctx, "INSERT INTO orders (customer, total) VALUES (?, ?)", customer, total)
			if err != nil {
				return nil, err
			}
			id, _ := res.LastInsertId()
			payload, _ := json.Marshal(map[string]any{"order_id": id, "customer": customer, "total": total})
			return []dualwrite.Event{{
				Type: "OrderPlaced", AggregateType: "order", AggregateID: fmt.Sprint(id),
				Payload: payload, Headers: map[string]string{"source": "example"},
			}}, nil
		})
		if err != nil {
			return fmt.Errorf("place order: %w", err)
		}
	}
	fmt.Fprintf(os.Stderr, "placed %d orders; relaying the outbox:\n", orders)

	// 3. Publish the outbox (what `strangler outbox relay` runs), until it is empty.
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	newSink := func(a sink.Acker) (sink.Sink, error) {
		return sink.NewWriterSink("stdout", os.Stdout, a, metrics.Discard(), 10*time.Millisecond), nil
	}
	if stream != "" {
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return err
		}
		client := kinesis.NewFromConfig(cfg, func(o *kinesis.Options) {
			if endpoint != "" {
				o.BaseEndpoint = aws.String(endpoint)
			}
			o.RetryMaxAttempts = 1 // the sink retries itself
		})
		newSink = func(a sink.Acker) (sink.Sink, error) {
			return kinesissink.New(client, kinesissink.Options{Stream: stream, MaxRetryTime: time.Minute}, a, metrics.Discard(), log)
		}
	}
	relay, err := outbox.NewRelay(outbox.RelayConfig{DB: db, NewSink: newSink, PollInterval: 50 * time.Millisecond, Logger: log})
	if err != nil {
		return err
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- relay.Run(rctx) }()
	for deadline := time.Now().Add(time.Minute); ; {
		var left int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+outbox.Table(migrations.DefaultPrefix)).Scan(&left); err != nil {
			cancel()
			return err
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			return fmt.Errorf("%d events still in the outbox after a minute", left)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	return <-done
}
