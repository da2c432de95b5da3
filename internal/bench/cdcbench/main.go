// Command cdcbench is the CDC benchmark behind `make bench-cdc`. On one binlog of a
// million rows it measures (a) go-mysql's raw decode rate, the ceiling on this machine;
// (b) the strangler daemon end to end into the discard and file sinks; (c) the daemon
// into kinesalite, and commit-to-acknowledge latency at a fixed write rate; and the
// daemon's peak RSS, also for a single million-row transaction. It prints a markdown
// report and rewrites the CDC section of docs/BENCHMARKS.md.
//
// It needs the local stack (scripts/devstack.sh up) and bin/strangler (make build).
// The machine is shared and noisy: ratios measured in one run mean more than rates.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	_ "github.com/go-sql-driver/mysql"
)

type options struct {
	out             string
	bin             string
	source          string
	kinesisEndpoint string
	rows, txRows    int
	kinesisRows     int
	rounds          int
	shards          int
	latencyRate     float64
	latencyDuration time.Duration
	profile         string
	profileOut      string
	profileSink     string
	workDir         string
	keep            bool
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func main() {
	var o options
	flag.StringVar(&o.out, "out", "", "markdown file whose CDC section (between <!-- cdc:begin --> and <!-- cdc:end -->) is rewritten; empty: print only")
	flag.StringVar(&o.bin, "bin", "bin/strangler", "the strangler binary (make build)")
	flag.StringVar(&o.source, "source", envOr("STRANGLER_TEST_MYSQL_DSN", "mysql://root@tcp(127.0.0.1:3307)/"), "the stack's MariaDB with binlog (root)")
	flag.StringVar(&o.kinesisEndpoint, "kinesis-endpoint", envOr("STRANGLER_TEST_KINESIS_ENDPOINT", "http://127.0.0.1:4567"), "kinesalite")
	flag.IntVar(&o.rows, "rows", 1_000_000, "rows in the binlog")
	flag.IntVar(&o.txRows, "tx-rows", 10_000, "rows per transaction of the batched load")
	flag.IntVar(&o.kinesisRows, "kinesis-rows", 200_000, "rows streamed into kinesalite for (c), a multiple of -tx-rows (kinesalite holds them all in memory)")
	flag.IntVar(&o.rounds, "rounds", 3, "passes of (a), (b) and the RSS runs, interleaved: the fastest pass is shown, ratios are the median of the rounds'")
	flag.IntVar(&o.shards, "shards", 4, "shards of the kinesalite streams")
	flag.Float64Var(&o.latencyRate, "latency-rate", 200, "single-row transactions per second for the latency run")
	flag.DurationVar(&o.latencyDuration, "latency-duration", 20*time.Second, "how long the latency run writes")
	flag.StringVar(&o.profile, "profile", "always", "CPU profile of the daemon's pipeline run in process, for the report's \"where the time goes\": always, auto (only when (b) discard < 0.5 x (a)), never")
	flag.StringVar(&o.profileSink, "profile-sink", "discard", "sink of the profiled run: discard or file (the batched range), or kinesis (-kinesis-rows rows into a fresh stream)")
	flag.StringVar(&o.profileOut, "profile-out", "", "where to keep the CPU profile (default: in the work directory, removed at the end)")
	flag.StringVar(&o.workDir, "work", "", "directory for checkpoints, logs, the file sink and profiles (default: a new temporary directory)")
	flag.BoolVar(&o.keep, "keep", false, "keep the bench database and work directory")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "cdcbench:", err)
		os.Exit(1)
	}
}

var benchStart = time.Now()

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[cdcbench %6.1fs] %s\n", time.Since(benchStart).Seconds(), fmt.Sprintf(format, args...))
}

func (o *options) validate() error {
	var problems []string
	if strings.Contains(o.source, ":3306)") {
		problems = append(problems, "-source points at port 3306: the bench writes a million-row database and rotates the binlog; use the stack's scratch MariaDB (127.0.0.1:3307)")
	}
	if o.rows < 1 || o.txRows < 1 || o.rows%o.txRows != 0 {
		problems = append(problems, fmt.Sprintf("-rows %d must be a positive multiple of -tx-rows %d", o.rows, o.txRows))
	}
	if o.kinesisRows < o.txRows || o.kinesisRows > o.rows || o.kinesisRows%o.txRows != 0 {
		problems = append(problems, fmt.Sprintf("-kinesis-rows %d must be a multiple of -tx-rows %d, at most -rows %d", o.kinesisRows, o.txRows, o.rows))
	}
	if o.rounds < 1 {
		problems = append(problems, "-rounds must be at least 1")
	}
	if o.latencyRate <= 0 || o.latencyDuration <= 0 {
		problems = append(problems, "-latency-rate and -latency-duration must be positive")
	}
	switch o.profile {
	case "auto", "always", "never":
	default:
		problems = append(problems, fmt.Sprintf("-profile %q: use auto, always or never", o.profile))
	}
	if o.profileSink != "discard" && o.profileSink != "kinesis" && o.profileSink != "file" {
		problems = append(problems, fmt.Sprintf("-profile-sink %q: use discard, file or kinesis", o.profileSink))
	}
	if _, err := os.Stat(o.bin); err != nil {
		problems = append(problems, fmt.Sprintf("-bin %s: %v (run `make build` first)", o.bin, err))
	}
	if len(problems) > 0 {
		return fmt.Errorf("bad options:\n  - %s", strings.Join(problems, "\n  - "))
	}
	return nil
}

func run(ctx context.Context, o options) error {
	if err := o.validate(); err != nil {
		return err
	}
	bin, err := filepath.Abs(o.bin)
	if err != nil {
		return err
	}
	o.bin = bin
	if o.workDir == "" {
		if o.workDir, err = os.MkdirTemp("", "cdcbench-"); err != nil {
			return err
		}
	} else if err := os.MkdirAll(o.workDir, 0o755); err != nil {
		return err
	}
	if !o.keep {
		defer os.RemoveAll(o.workDir)
	}
	progress("work directory %s", o.workDir)

	b := &bench{o: o}
	defer b.cleanup()
	res, err := b.run(ctx)
	if err != nil {
		return err
	}
	var history []string
	if o.out != "" {
		history = previousHistory(o.out)
	}
	report := renderReport(res, history)
	fmt.Println(report)
	if o.out != "" {
		if err := writeSection(o.out, report); err != nil {
			return err
		}
		progress("wrote the CDC section of %s", o.out)
	}
	return nil
}
