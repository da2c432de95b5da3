package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime/debug"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/strangler/strangler/cdc"
)

func newCDCCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cdc",
		Short: "Stream the binlog of MySQL/MariaDB into Kinesis",
	}
	cmd.AddCommand(newCDCRunCommand(g), newCDCStatusCommand())
	return cmd
}

func newCDCRunCommand(g *globals) *cobra.Command {
	c := cdc.Defaults()
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the CDC daemon: tail the binlog and stream every row change",
		Long: `Run the CDC daemon: tail the source's binlog as a replica and stream every row change,
as one JSON event (docs/events.md), into a Kinesis stream (or stdout, a file, nowhere).

It never loses a change: the checkpoint only moves past events the sink acknowledged, and
a change that cannot be delivered stops the daemon with an error and a non-zero exit. It
never reorders a row's changes, even when Kinesis throttles or fails part of a request.
Each row is decoded with the columns of its time, across DDL and restarts.

The source must be set up for CDC: log_bin on, binlog_format=ROW, binlog_row_image=FULL,
and the daemon's user needs REPLICATION SLAVE and REPLICATION CLIENT (BINLOG MONITOR on
MariaDB) and SELECT on the tables. binlog_row_metadata=FULL is recommended.

SIGTERM or SIGINT stop it cleanly: what was read is delivered and checkpointed, exit 0.`,
		Example: `  strangler cdc run --source 'mysql://cdc:secret@tcp(db:3306)/' --server-id 4242 \
    --include 'shop.*' --stream shop-changes --region eu-west-1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			log, err := g.logger(os.Stderr)
			if err != nil {
				return err
			}
			c.Logger = log
			c.Stdout = cmd.OutOrStdout()
			if os.Getenv("GOGC") == "" {
				// Every row event allocates (go-mysql boxes each value): with the default 100
				// the collector takes a fifth of the daemon's CPU. 200 halves that for about
				// a third more heap; GOGC set in the environment wins.
				debug.SetGCPercent(200)
			}
			return cdc.Run(cmd.Context(), c)
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.Source, "source", "", "source database: mysql://user:pass@tcp(host:port)/ or a bare go-sql-driver DSN (required)")
	f.StringVar(&c.Flavor, "flavor", c.Flavor, "source flavor: auto, mysql or mariadb")
	f.Uint32Var(&c.ServerID, "server-id", 0, "replica id of the daemon, unique among the source's replicas (required)")
	f.StringArrayVar(&c.Include, "include", nil, "stream only tables matching db.table or db.* (repeatable; wildcards * and ?)")
	f.StringArrayVar(&c.Exclude, "exclude", nil, "do not stream tables matching db.table or db.* (repeatable; wins over --include)")
	f.StringVar(&c.Sink, "sink", c.Sink, "where events go: kinesis, stdout, file:PATH (one JSON event per line) or discard")
	f.StringVar(&c.Stream, "stream", "", "Kinesis stream name or ARN (with --sink kinesis)")
	f.StringVar(&c.Region, "region", "", "AWS region (default: AWS_REGION or the profile's region)")
	f.StringVar(&c.KinesisEndpoint, "kinesis-endpoint", "", "Kinesis endpoint URL (default: AWS_ENDPOINT_URL_KINESIS, AWS_ENDPOINT_URL, or AWS)")
	f.IntVar(&c.MaxRecordBytes, "kinesis-max-record-bytes", c.MaxRecordBytes, "largest record the stream takes (data plus partition key); up to 10485760 on streams raised to 10 MiB")
	f.DurationVar(&c.Linger, "linger", c.Linger, "how long a batch waits to fill before it is sent")
	f.IntVar(&c.MaxInFlight, "kinesis-max-in-flight", c.MaxInFlight, "PutRecords requests in flight at once")
	f.Float64Var(&c.MinRate, "kinesis-min-rate", c.MinRate, "floor, in records/s, of the send rate the sink lowers when Kinesis throttles")
	f.DurationVar(&c.SinkRetryTime, "sink-retry-timeout", c.SinkRetryTime, "give up (exit non-zero, checkpoint kept) after retrying a record this long; 0 retries forever")
	f.StringVar(&c.Oversize, "oversize", c.Oversize, "a record over the size limit: fail (stop with an error naming it) or skip (write it to --dead-letter-file and go on)")
	f.StringVar(&c.DeadLetterPath, "dead-letter-file", c.DeadLetterPath, "where --oversize skip writes records (JSON lines)")
	f.StringVar(&c.Checkpoint, "checkpoint", c.Checkpoint, "where the position is kept: file:PATH or mysql://user:pass@tcp(host:port)/db (a table in that database, created if missing)")
	f.DurationVar(&c.CheckpointInterval, "checkpoint-interval", c.CheckpointInterval, "how often the checkpoint is saved; 0 saves after every delivery")
	f.StringVar(&c.Name, "name", c.Name, "pipeline name: the checkpoint's key when several daemons share a checkpoint table")
	f.StringVar(&c.TablePrefix, "table-prefix", c.TablePrefix, "prefix of the toolkit's tables (checkpoint table)")
	f.StringVar(&c.Start, "start", c.Start, "where to start when there is no checkpoint: earliest, latest, gtid:SET or file:NAME:POS")
	f.BoolVar(&c.ResetCheckpoint, "reset-checkpoint", false, "delete the saved checkpoint first and start from --start (changes in between are not streamed)")
	f.StringVar(&c.StopAt, "stop-at", "", "stop cleanly once everything before file:NAME:POS is delivered (replays, benchmarks)")
	f.DurationVar(&c.SourceRetryTimeout, "source-retry-timeout", 0, "give up reconnecting to the source after this long; 0 retries forever")
	f.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "on SIGTERM, how long to wait for the sink to deliver what was read")
	f.StringVar(&c.MetricsAddr, "metrics-addr", "", "serve Prometheus /metrics, /healthz and /readyz on this address, e.g. :9090")
	var outboxTables []string
	f.StringArrayVar(&outboxTables, "outbox", nil, outboxFlagHelp)
	run := cmd.RunE
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := addOutboxRouters(&c, outboxTables); err != nil {
			return err
		}
		return run(cmd, args)
	}
	return cmd
}

func newCDCStatusCommand() *cobra.Command {
	var source, checkpointAddr, name, prefix, output string
	d := cdc.Defaults()
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show a pipeline's checkpoint, the source's head and the lag between them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if source == "" {
				return fmt.Errorf("--source is required: the MySQL/MariaDB the daemon reads")
			}
			st, err := cdc.GetStatus(cmd.Context(), source, checkpointAddr, name, prefix)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if output == "json" {
				view := *st
				if view.Checkpoint != nil {
					cp := *view.Checkpoint
					cp.Schema = nil // the schema history is long and not status
					view.Checkpoint = &cp
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(view)
			}
			w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintf(w, "source head\t%s\n", st.Head)
			if st.Checkpoint == nil {
				fmt.Fprintf(w, "checkpoint\tnone (%s): the daemon has not run yet, or its checkpoint was reset\n", checkpointAddr)
				return w.Flush()
			}
			cp := st.Checkpoint
			fmt.Fprintf(w, "checkpoint\t%s\n", cp.Resume)
			fmt.Fprintf(w, "saved\t%s (%s ago) by %s\n", cp.SavedAt.Format(time.RFC3339), time.Duration(st.CheckpointAgeSeconds*float64(time.Second)).Round(time.Second), cp.Version)
			if st.Purged {
				fmt.Fprintf(w, "lag\tthe checkpoint's binlog file %s is no longer on the source: the daemon cannot resume (see `cdc run --help`, --reset-checkpoint)\n", cp.Resume.File)
			} else {
				if st.LagBytes >= 0 {
					fmt.Fprintf(w, "lag bytes\t%d\n", st.LagBytes)
				}
				fmt.Fprintf(w, "lag seconds\t%.1f\n", st.LagSeconds)
			}
			return w.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&source, "source", "", "source database, as for cdc run (required)")
	f.StringVar(&checkpointAddr, "checkpoint", d.Checkpoint, "the daemon's --checkpoint")
	f.StringVar(&name, "name", d.Name, "the daemon's --name")
	f.StringVar(&prefix, "table-prefix", d.TablePrefix, "the daemon's --table-prefix")
	f.StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}
