// Command crashtest is a test-only monolith: it runs numbered legacy writes through a
// dualwrite.Writer and, at a chosen point of a chosen unit, stops and says so on stdout
// ("PAUSED <point> <unit>") so that the test kills it with SIGKILL right there; or it
// injects a failure at a point. The tests in package dualwrite build and run it.
//
// Unit i inserts the row (id, aggregate, n) into the table items, where id is the event
// id "<run>-<i>", aggregate cycles over --aggregates values and n = i; its event is
// ItemAdded of aggregate ("item", aggregate) with payload {"n": i}. After each unit it
// prints "committed <id>" or "failed <id>: <error>".
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/strangler/strangler/dualwrite"
	"github.com/strangler/strangler/dualwrite/outbox"
	"github.com/strangler/strangler/dualwrite/target"
	"github.com/strangler/strangler/internal/dburl"
	"github.com/strangler/strangler/internal/kinesisclient"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "crashtest:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		addr       = flag.String("db", "", "legacy database, mysql://...")
		prefix     = flag.String("table-prefix", "strangler_", "toolkit table prefix")
		mode       = flag.String("mode", "mirror", "outbox, mirror or shadow")
		delivery   = flag.String("delivery", "relay", "outbox delivery: relay or cdc")
		stream     = flag.String("stream", "", "Kinesis stream (target kinesis)")
		endpoint   = flag.String("kinesis-endpoint", "", "Kinesis endpoint")
		httpURL    = flag.String("http-url", "", "HTTP target URL (instead of Kinesis)")
		run        = flag.String("run", "r", "prefix of the event ids")
		first      = flag.Int("first", 0, "number of the first unit")
		units      = flag.Int("units", 4, "units to run")
		aggregates = flag.Int("aggregates", 2, "aggregates the units cycle over")
		pauseAt    = flag.String("pause-at", "", "point to stop at")
		pauseUnit  = flag.Int("pause-unit", -1, "unit to stop in")
		failAt     = flag.String("fail-at", "", "point to inject a failure at")
		failUnit   = flag.Int("fail-unit", -1, "unit to inject the failure in")
	)
	flag.Parse()
	ctx := context.Background()
	dsn, err := dburl.MySQLDSN(*addr)
	if err != nil {
		return err
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return err
	}
	defer db.Close()

	var current atomic.Int64
	hook := func(ctx context.Context, point string) error {
		u := int(current.Load())
		if point == *failAt && u == *failUnit {
			return fmt.Errorf("injected failure at %s", point)
		}
		if point == *pauseAt && u == *pauseUnit {
			fmt.Printf("PAUSED %s %d\n", point, u)
			_ = os.Stdout.Sync()
			select {} // until killed
		}
		return nil
	}
	cfg := dualwrite.Config{Mode: dualwrite.Mode(*mode), TablePrefix: *prefix, Delivery: outbox.Delivery(*delivery), TestHook: hook,
		MirrorTimeout: 30 * time.Second, ShadowTimeout: 30 * time.Second,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if cfg.Mode != dualwrite.ModeOutbox {
		if *httpURL != "" {
			if cfg.Target, err = target.NewHTTP(target.HTTPOptions{URL: *httpURL}); err != nil {
				return err
			}
		} else {
			client, err := kinesisclient.New(ctx, kinesisclient.Options{Endpoint: *endpoint, MaxAttempts: 1})
			if err != nil {
				return err
			}
			k, err := target.NewKinesis(target.KinesisOptions{Client: client, Stream: *stream, MaxRetryTime: 20 * time.Second})
			if err != nil {
				return err
			}
			defer k.Close(context.Background()) //nolint:errcheck
			cfg.Target = k
		}
	}
	w, err := dualwrite.New(ctx, db, cfg)
	if err != nil {
		return err
	}
	defer w.Close(context.Background()) //nolint:errcheck
	for i := *first; i < *first+*units; i++ {
		current.Store(int64(i))
		id := fmt.Sprintf("%s-%d", *run, i)
		agg := fmt.Sprintf("a%d", i%*aggregates)
		err := w.Do(ctx, func(ctx context.Context, tx *sql.Tx) ([]dualwrite.Event, error) {
			if _, err := tx.ExecContext(ctx, "INSERT INTO items (id, aggregate, n) VALUES (?, ?, ?)", id, agg, i); err != nil {
				return nil, err
			}
			payload, _ := json.Marshal(map[string]int{"n": i})
			return []dualwrite.Event{{ID: id, Type: "ItemAdded", AggregateType: "item", AggregateID: agg, Payload: payload}}, nil
		})
		if err != nil {
			fmt.Printf("failed %s: %v\n", id, err)
			continue
		}
		fmt.Printf("committed %s\n", id)
	}
	fmt.Println("DONE")
	return nil
}
