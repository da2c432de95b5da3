package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/strangler/strangler/cdc"
	"github.com/strangler/strangler/cdc/metrics"
	cdcoutbox "github.com/strangler/strangler/cdc/outbox"
	"github.com/strangler/strangler/cdc/sink"
	kinesissink "github.com/strangler/strangler/cdc/sink/kinesis"
	"github.com/strangler/strangler/dualwrite/mirror"
	"github.com/strangler/strangler/dualwrite/outbox"
	"github.com/strangler/strangler/dualwrite/shadow"
	"github.com/strangler/strangler/dualwrite/target"
	"github.com/strangler/strangler/internal/dburl"
	"github.com/strangler/strangler/internal/kinesisclient"
	"github.com/strangler/strangler/internal/metricsserver"
	"github.com/strangler/strangler/migrations"
)

// outboxFlagHelp documents `cdc run --outbox`.
const outboxFlagHelp = "route this outbox table (db.table, repeatable) like Debezium's outbox router: each inserted row is emitted as its event (dualwrite's event JSON), keyed by aggregate; its delete emits nothing"

// addOutboxRouters routes the `cdc run --outbox` tables through the outbox router.
func addOutboxRouters(c *cdc.Config, tables []string) error {
	if len(tables) == 0 {
		return nil
	}
	r, err := cdcoutbox.New(tables, cdcoutbox.Columns{})
	if err != nil {
		return err
	}
	c.Routers = append(c.Routers, r)
	if len(c.Include) > 0 {
		c.Include = append(c.Include, r.Tables()...) // an --include list must not filter the outbox out
	}
	return nil
}

// newOutboxCommand is `strangler outbox`: the outbox relay.
func newOutboxCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "outbox",
		Short: "Publish dualwrite's transactional outbox (for sources without binlog access)",
	}
	cmd.AddCommand(newOutboxRelayCommand(g))
	return cmd
}

type relayFlags struct {
	db, sinkSpec, stream, region, endpoint, prefix, metricsAddr string
	poll, shutdown, retry                                       time.Duration
	batch                                                       int
}

func newOutboxRelayCommand(g *globals) *cobra.Command {
	f := relayFlags{sinkSpec: "kinesis", prefix: migrations.DefaultPrefix, poll: 200 * time.Millisecond, batch: 500,
		shutdown: 30 * time.Second, retry: 10 * time.Minute}
	cmd := &cobra.Command{
		Use:   "relay",
		Short: "Publish the outbox table's events in order and delete what was published",
		Long: `Publish the events dualwrite wrote into the outbox table (outbox mode, delivery relay):
read from the head of the table in commit order per aggregate, put each event on the
stream (partition key: aggregate type and id) and delete the rows the stream acknowledged.

Use it when the CDC daemon cannot read the source's binlog; otherwise prefer
` + "`strangler cdc run --outbox db.table`" + ` with the writer's CDC delivery.

It never skips a row that commits late (it keeps no "last id seen"), never reorders an
aggregate's events, and delivers at least once: a relay killed after publishing and before
deleting publishes those rows again, with the same event ids. Run several for availability:
they share a lock per outbox table, one publishes and the others stand by.

SIGTERM or SIGINT stop it cleanly: what was handed to the stream is delivered and deleted.`,
		Example: `  strangler outbox relay --db 'mysql://relay:secret@tcp(db:3306)/shop' --stream shop-events --region eu-west-1`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			log, err := g.logger(os.Stderr)
			if err != nil {
				return err
			}
			return runRelay(cmd.Context(), f, cmd, log)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.db, "db", "", "the legacy database holding the outbox: mysql://user:pass@tcp(host:port)/db (required)")
	fl.StringVar(&f.sinkSpec, "sink", f.sinkSpec, "where events go: kinesis, stdout, or file:PATH (one JSON event per line)")
	fl.StringVar(&f.stream, "stream", "", "Kinesis stream name or ARN (with --sink kinesis)")
	fl.StringVar(&f.region, "region", "", "AWS region (default: AWS_REGION or the profile's region)")
	fl.StringVar(&f.endpoint, "kinesis-endpoint", "", "Kinesis endpoint URL (default: AWS_ENDPOINT_URL_KINESIS, AWS_ENDPOINT_URL, or AWS)")
	fl.StringVar(&f.prefix, "table-prefix", f.prefix, "prefix of the toolkit's tables (the outbox is <prefix>outbox)")
	fl.DurationVar(&f.poll, "poll-interval", f.poll, "pause between reads when the outbox is drained")
	fl.IntVar(&f.batch, "batch", f.batch, "rows read at a time")
	fl.DurationVar(&f.shutdown, "shutdown-timeout", f.shutdown, "on SIGTERM, how long to wait for the stream to take what was handed over")
	fl.DurationVar(&f.retry, "sink-retry-timeout", f.retry, "give up (exit non-zero; rows stay in the outbox) after retrying an event this long; 0 retries forever")
	fl.StringVar(&f.metricsAddr, "metrics-addr", "", "serve Prometheus /metrics and /healthz on this address, e.g. :9091")
	return cmd
}

func runRelay(ctx context.Context, f relayFlags, cmd *cobra.Command, log *slog.Logger) error {
	var problems []string
	if f.db == "" {
		problems = append(problems, "--db is required: the legacy database holding the outbox, e.g. mysql://relay:secret@tcp(db:3306)/shop")
	}
	switch {
	case f.sinkSpec == "kinesis":
		if f.stream == "" {
			problems = append(problems, "--stream is required with --sink kinesis: the Kinesis stream to write")
		}
	case f.sinkSpec == "stdout", strings.HasPrefix(f.sinkSpec, "file:") && len(f.sinkSpec) > len("file:"):
	default:
		problems = append(problems, fmt.Sprintf("--sink %q: use kinesis, stdout or file:PATH", f.sinkSpec))
	}
	if f.batch <= 0 || f.poll <= 0 {
		problems = append(problems, "--batch and --poll-interval must be positive")
	}
	if err := migrations.ValidatePrefix(f.prefix); err != nil {
		problems = append(problems, "--table-prefix: "+err.Error())
	}
	if len(problems) > 0 {
		return fmt.Errorf("invalid configuration:\n  - %s", strings.Join(problems, "\n  - "))
	}
	db, err := openDualwriteDB(f.db)
	if err != nil {
		return err
	}
	defer db.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	m := outbox.NewRelayMetrics(reg)
	newSink, err := relaySink(ctx, f, cmd, log)
	if err != nil {
		return err
	}
	r, err := outbox.NewRelay(outbox.RelayConfig{DB: db, TablePrefix: f.prefix, NewSink: newSink, PollInterval: f.poll, Batch: f.batch,
		ShutdownTimeout: f.shutdown, Logger: log, Metrics: m})
	if err != nil {
		return err
	}
	if f.metricsAddr != "" {
		srv, err := metricsserver.Serve(f.metricsAddr, reg, nil, log)
		if err != nil {
			return err
		}
		defer srv.Close()
	}
	return r.Run(ctx)
}

// relaySink makes the relay's sink factory from the flags.
func relaySink(ctx context.Context, f relayFlags, cmd *cobra.Command, log *slog.Logger) (func(sink.Acker) (sink.Sink, error), error) {
	m := metrics.Discard()
	switch {
	case f.sinkSpec == "stdout":
		out := cmd.OutOrStdout()
		return func(a sink.Acker) (sink.Sink, error) {
			return sink.NewWriterSink("stdout", out, a, m, 10*time.Millisecond), nil
		}, nil
	case strings.HasPrefix(f.sinkSpec, "file:"):
		path := strings.TrimPrefix(f.sinkSpec, "file:")
		return func(a sink.Acker) (sink.Sink, error) { return sink.NewFileSink(path, a, m, 10*time.Millisecond) }, nil
	}
	client, err := kinesisclient.New(ctx, kinesisclient.Options{Region: f.region, Endpoint: f.endpoint, MaxAttempts: 1})
	if err != nil {
		return nil, err
	}
	opts := kinesissink.Options{Stream: f.stream, Linger: 10 * time.Millisecond, MaxRetryTime: f.retry}
	if _, err := kinesissink.New(client, opts, relayNoAck{}, m, nil); err != nil {
		return nil, err
	}
	return func(a sink.Acker) (sink.Sink, error) { return kinesissink.New(client, opts, a, m, log) }, nil
}

type relayNoAck struct{}

func (relayNoAck) Ack(uint64) {}

// newDualwriteCommand is `strangler dualwrite`: recovery and status of dual writes.
func newDualwriteCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dualwrite",
		Short: "Recover and inspect dualwrite's mirror journal, outbox and shadow failures",
	}
	cmd.AddCommand(newDualwriteRecoverCommand(g), newDualwriteStatusCommand())
	return cmd
}

type recoverFlags struct {
	db, stream, region, endpoint, httpURL, undoURL, prefix, metricsAddr string
	grace, interval                                                     time.Duration
	loop                                                                bool
}

func newDualwriteRecoverCommand(g *globals) *cobra.Command {
	f := recoverFlags{prefix: migrations.DefaultPrefix, grace: 30 * time.Second, interval: 5 * time.Second}
	cmd := &cobra.Command{
		Use:   "recover",
		Short: "Resolve mirror-mode units left pending by crashes, failed compensations or unknown commits",
		Long: `Resolve the mirror journal's pending entries: a unit whose legacy transaction committed is
finished (its events reached the target before the commit); any other is compensated on
the target (a compensating event on the stream, or the HTTP undo call), with retries
spaced by a doubling backoff. Entries locked by a transaction still running are left to
it; entries younger than --grace are left to the writer that is handling them.

Give the target the writer uses: --stream (Kinesis) or --http-url (and --http-undo-url).
One pass by default; --loop keeps passing every --interval until SIGTERM.`,
		Example: `  strangler dualwrite recover --db 'mysql://app:secret@tcp(db:3306)/shop' --stream shop-events --loop`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			log, err := g.logger(os.Stderr)
			if err != nil {
				return err
			}
			return runRecover(cmd.Context(), f, cmd, log)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.db, "db", "", "the legacy database holding the journal: mysql://user:pass@tcp(host:port)/db (required)")
	fl.StringVar(&f.stream, "stream", "", "the Kinesis stream the writer mirrors to")
	fl.StringVar(&f.region, "region", "", "AWS region (default: AWS_REGION or the profile's region)")
	fl.StringVar(&f.endpoint, "kinesis-endpoint", "", "Kinesis endpoint URL (default: AWS_ENDPOINT_URL_KINESIS, AWS_ENDPOINT_URL, or AWS)")
	fl.StringVar(&f.httpURL, "http-url", "", "the new service's endpoint the writer mirrors to")
	fl.StringVar(&f.undoURL, "http-undo-url", "", "the new service's undo endpoint (default: DELETE <http-url>/<event id>)")
	fl.StringVar(&f.prefix, "table-prefix", f.prefix, "prefix of the toolkit's tables (the journal is <prefix>mirror_journal)")
	fl.DurationVar(&f.grace, "grace", f.grace, "leave entries younger than this to their writers")
	fl.BoolVar(&f.loop, "loop", false, "keep resolving every --interval until stopped")
	fl.DurationVar(&f.interval, "interval", f.interval, "pause between passes with --loop")
	fl.StringVar(&f.metricsAddr, "metrics-addr", "", "serve Prometheus /metrics and /healthz on this address (with --loop)")
	return cmd
}

func runRecover(ctx context.Context, f recoverFlags, cmd *cobra.Command, log *slog.Logger) error {
	if f.db == "" {
		return errors.New("--db is required: the legacy database holding the mirror journal")
	}
	if (f.stream == "") == (f.httpURL == "") {
		return errors.New("give the writer's target: --stream (Kinesis) or --http-url (HTTP), one of them")
	}
	db, err := openDualwriteDB(f.db)
	if err != nil {
		return err
	}
	defer db.Close()
	var tgt mirror.Target
	if f.stream != "" {
		client, err := kinesisclient.New(ctx, kinesisclient.Options{Region: f.region, Endpoint: f.endpoint, MaxAttempts: 1})
		if err != nil {
			return err
		}
		k, err := target.NewKinesis(target.KinesisOptions{Client: client, Stream: f.stream, Logger: log})
		if err != nil {
			return err
		}
		defer func() {
			cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_ = k.Close(cctx)
		}()
		tgt = k
	} else {
		h, err := target.NewHTTP(target.HTTPOptions{URL: f.httpURL, UndoURL: f.undoURL})
		if err != nil {
			return err
		}
		tgt = h
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	r, err := mirror.NewRecoverer(ctx, mirror.RecoveryConfig{DB: db, TablePrefix: f.prefix, Target: tgt, Grace: f.grace, Interval: f.interval,
		Logger: log, Metrics: mirror.NewMetrics(reg)})
	if err != nil {
		return err
	}
	if f.loop {
		if f.metricsAddr != "" {
			srv, err := metricsserver.Serve(f.metricsAddr, reg, nil, log)
			if err != nil {
				return err
			}
			defer srv.Close()
		}
		return r.Run(ctx)
	}
	rep, err := r.RecoverOnce(ctx)
	fmt.Fprintf(cmd.OutOrStdout(), "finished %d, compensated %d, failed %d, skipped %d\n", rep.Finished, rep.Compensated, rep.Failed, rep.Skipped)
	if err != nil {
		return err
	}
	if rep.Failed > 0 {
		return &exitError{code: 2, err: fmt.Errorf("%d compensation(s) failed; they stay pending and are retried at the next pass", rep.Failed)}
	}
	return nil
}

func newDualwriteStatusCommand() *cobra.Command {
	var addr, prefix string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the outbox backlog, pending mirror units and unresolved shadow failures",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if addr == "" {
				return errors.New("--db is required: the legacy database holding the toolkit's tables")
			}
			db, err := openDualwriteDB(addr)
			if err != nil {
				return err
			}
			defer db.Close()
			ctx := cmd.Context()
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			count := func(label, q string) {
				var n int64
				var age sql.NullFloat64
				if err := db.QueryRowContext(ctx, q).Scan(&n, &age); err != nil {
					fmt.Fprintf(w, "%s\tunavailable (%v)\n", label, err)
					return
				}
				if n == 0 {
					fmt.Fprintf(w, "%s\t0\n", label)
					return
				}
				fmt.Fprintf(w, "%s\t%d (oldest %s ago)\n", label, n, (time.Duration(age.Float64 * float64(time.Second))).Round(time.Second))
			}
			count("outbox backlog", "SELECT COUNT(*), TIMESTAMPDIFF(MICROSECOND, MIN(`occurred_at`), UTC_TIMESTAMP(6)) / 1e6 FROM `"+outbox.Table(prefix)+"`")
			count("mirror units pending", "SELECT COUNT(*), TIMESTAMPDIFF(MICROSECOND, MIN(`created_at`), NOW(6)) / 1e6 FROM `"+mirror.JournalTable(prefix)+"` WHERE `state` IN ('pending', 'compensating')")
			count("mirror units compensated", "SELECT COUNT(*), TIMESTAMPDIFF(MICROSECOND, MIN(`created_at`), NOW(6)) / 1e6 FROM `"+mirror.JournalTable(prefix)+"` WHERE `state` = 'compensated'")
			count("shadow failures unresolved", "SELECT COUNT(*), TIMESTAMPDIFF(MICROSECOND, MIN(`failed_at`), UTC_TIMESTAMP(6)) / 1e6 FROM `"+shadow.FailuresTable(prefix)+"` WHERE `resolved_at` IS NULL")
			return w.Flush()
		},
	}
	cmd.Flags().StringVar(&addr, "db", "", "the legacy database: mysql://user:pass@tcp(host:port)/db (required)")
	cmd.Flags().StringVar(&prefix, "table-prefix", migrations.DefaultPrefix, "prefix of the toolkit's tables")
	return cmd
}

func openDualwriteDB(addr string) (*sql.DB, error) {
	dsn, err := dburl.MySQLDSN(addr)
	if err != nil {
		return nil, fmt.Errorf("--db: %w", err)
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return nil, fmt.Errorf("--db: %w", err)
	}
	return db, nil
}
