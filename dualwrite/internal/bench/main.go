// Command bench measures what dualwrite adds to a legacy write (`make bench-dualwrite`):
// latency p50/p99 and throughput of a single-row insert, plain (in a transaction, as the
// monolith does it) versus the same write through dualwrite in outbox, mirror (to
// kinesalite) and shadow (to kinesalite) modes, at concurrency 1 and 16. Variants run in
// interleaved slices so that a noisy machine hurts them alike. It also measures how fast
// the outbox relay drains what the outbox runs left. It writes a Markdown report.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/strangler/strangler/cdc/metrics"
	"github.com/strangler/strangler/cdc/sink"
	kinesissink "github.com/strangler/strangler/cdc/sink/kinesis"
	"github.com/strangler/strangler/dualwrite"
	"github.com/strangler/strangler/dualwrite/event"
	"github.com/strangler/strangler/dualwrite/outbox"
	"github.com/strangler/strangler/dualwrite/target"
	"github.com/strangler/strangler/internal/dburl"
	"github.com/strangler/strangler/internal/kinesisclient"
	"github.com/strangler/strangler/migrations"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

const insertOrder = "INSERT INTO orders (customer_id, status, total, currency, note, created_at, updated_at) VALUES (?, 'new', ?, 'EUR', ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))"

// Reference variants: the plain write plus the least an outbox adds.
const (
	refStatement = "reference: plain + an empty statement"
	refRow       = "reference: plain + a one-blob-column INSERT"
	refEvent     = "reference: plain + the event as one JSON blob"
)

type variant struct {
	name  string
	write func(ctx context.Context, worker, i int) error
	drain func() // settles background work before the next slice
}

type result struct {
	lat    []time.Duration
	ops    int
	dur    time.Duration
	cpu    [3]time.Duration  // CPU of the slices: this process, MariaDB, kinesalite
	rounds [][]time.Duration // latencies of each round, for the per-round ratios
}

// server is a MariaDB the benchmark measures against.
type server struct {
	name string // for the report
	addr string // mysql://, no database
}

// processes whose CPU a slice is charged with: this one (pid 0), the MariaDB server and
// kinesalite (pids from their pid files; -1 when unknown).
type processes [3]int

func (ps processes) cpu() [3]time.Duration {
	var out [3]time.Duration
	for i, pid := range ps {
		out[i] = processCPU(pid)
	}
	return out
}

// processCPU is a process's user and system CPU so far (pid 0: this process); -1 when
// it cannot be read.
func processCPU(pid int) time.Duration {
	if pid == 0 {
		var ru syscall.Rusage
		if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
			return -1
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if pid < 0 {
		return -1
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// Fields after the command name (which may hold spaces): utime and stime are the
	// 12th and 13th, in clock ticks (100 per second on Linux).
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	if len(f) < 13 {
		return -1
	}
	var utime, stime int64
	fmt.Sscan(f[11], &utime) //nolint:errcheck
	fmt.Sscan(f[12], &stime) //nolint:errcheck
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

func pidFrom(file string) int {
	data, err := os.ReadFile(file)
	if err != nil {
		return -1
	}
	var pid int
	if _, err := fmt.Sscan(string(data), &pid); err != nil {
		return -1
	}
	return pid
}

// measured is one server's results.
type measured struct {
	server         server
	info           string
	results        map[int]map[string]*result
	variants       []string
	shadowFailures int
	relayed        int
	relayDur       time.Duration
	eventBytes     int // the reference event blob's size
}

func run() error {
	var (
		out      = flag.String("out", "", "write the Markdown report here (default: stdout)")
		slice    = flag.Duration("slice", time.Second, "length of one variant's run in a round")
		rounds   = flag.Int("rounds", 6, "rounds of interleaved slices (the order rotates each round; 6 puts each variant once in each place)")
		mysqlURL = flag.String("mysql", envOr("STRANGLER_TEST_MYSQL_DSN", "mysql://root@tcp(127.0.0.1:3307)/"), "the stack's server (mysql://)")
		durable  = flag.Bool("durable", true, "also measure a scratch MariaDB of its own with fsync at every commit (needs mariadbd and mariadb-install-db)")
		endpoint = flag.String("kinesis-endpoint", envOr("STRANGLER_TEST_KINESIS_ENDPOINT", "http://127.0.0.1:4567"), "Kinesis endpoint (kinesalite)")
		kPIDFile = flag.String("kinesalite-pid-file", ".devstack/kinesalite/pid", "kinesalite's pid file, to report its CPU per write")
	)
	flag.Parse()
	for k, v := range map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"} {
		if os.Getenv(k) == "" {
			os.Setenv(k, v)
		}
	}
	ctx := context.Background()
	servers := []server{{name: "the stack's MariaDB (no fsync at commit)", addr: *mysqlURL}}
	if *durable {
		addr, stop, err := startDurableMariaDB(ctx)
		if err != nil {
			return fmt.Errorf("durable scratch MariaDB (run with -durable=false to skip it): %w", err)
		}
		defer stop()
		servers = append(servers, server{name: "a durable MariaDB (fsync at every commit)", addr: addr})
	}
	var all []*measured
	for _, srv := range servers {
		fmt.Fprintf(os.Stderr, "== %s\n", srv.name)
		m, err := measure(ctx, srv, *endpoint, pidFrom(*kPIDFile), *slice, *rounds)
		if err != nil {
			return fmt.Errorf("%s: %w", srv.name, err)
		}
		all = append(all, m)
	}
	report := render(all, *slice, *rounds)
	if *out == "" {
		fmt.Print(report)
		return nil
	}
	return os.WriteFile(*out, []byte(report), 0o644)
}

func measure(ctx context.Context, srv server, endpoint string, kinesalitePID int, slice time.Duration, rounds int) (*measured, error) {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	mysqlURL := &srv.addr

	// A database of its own, with the toolkit's tables and a typical orders table.
	dbName := fmt.Sprintf("bench_dualwrite_%d", time.Now().UnixNano()%1e9)
	root, err := open(*mysqlURL)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	if _, err := root.ExecContext(ctx, "CREATE DATABASE "+dbName); err != nil {
		return nil, err
	}
	defer root.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+dbName) //nolint:errcheck
	addr, err := dburl.WithDatabase(*mysqlURL, dbName)
	if err != nil {
		return nil, err
	}
	db, err := open(addr)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var pidFile string
	_ = db.QueryRowContext(ctx, "SELECT @@pid_file").Scan(&pidFile)
	procs := processes{0, pidFrom(pidFile), kinesalitePID}
	db.SetMaxOpenConns(64)
	db.SetMaxIdleConns(64)
	mg, err := migrations.New(db, migrations.DefaultPrefix)
	if err != nil {
		return nil, err
	}
	if _, err := mg.Up(ctx); err != nil {
		return nil, err
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE orders (
		id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, customer_id BIGINT NOT NULL, status VARCHAR(16) NOT NULL,
		total DECIMAL(12,2) NOT NULL, currency CHAR(3) NOT NULL, note VARCHAR(255) NULL,
		created_at DATETIME(6) NOT NULL, updated_at DATETIME(6) NOT NULL, KEY customer (customer_id)) ENGINE=InnoDB`); err != nil {
		return nil, err
	}

	// A stream on kinesalite for the mirror and shadow targets and the relay.
	kc, err := kinesisclient.New(ctx, kinesisclient.Options{Endpoint: endpoint, Region: "us-east-1", MaxAttempts: 1})
	if err != nil {
		return nil, err
	}
	stream := "bench-dualwrite-" + fmt.Sprint(time.Now().UnixNano()%1e9)
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(stream), ShardCount: aws.Int32(4)}); err != nil {
		return nil, fmt.Errorf("create stream on %s: %w (is kinesalite up? scripts/devstack.sh up)", endpoint, err)
	}
	defer kc.DeleteStream(context.Background(), &kinesis.DeleteStreamInput{StreamName: aws.String(stream)}) //nolint:errcheck
	if err := kinesis.NewStreamExistsWaiter(kc).Wait(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(stream)}, time.Minute); err != nil {
		return nil, err
	}
	newKinesis := func(aggregate bool) (*target.Kinesis, error) {
		return target.NewKinesis(target.KinesisOptions{Client: kc, Stream: stream, Logger: log, Aggregate: aggregate})
	}
	order := func(tx *sql.Tx, ctx context.Context, worker, i int) ([]dualwrite.Event, error) {
		customer := int64(worker*1_000_000 + i%50)
		total := fmt.Sprintf("%d.%02d", 10+i%90, i%100)
		res, err := tx.ExecContext(ctx, insertOrder, customer, total, "bench order")
		if err != nil {
			return nil, err
		}
		id, _ := res.LastInsertId()
		payload, _ := json.Marshal(map[string]any{"order_id": id, "customer_id": customer, "total": total, "currency": "EUR", "status": "new"})
		return []dualwrite.Event{{Type: "OrderPlaced", AggregateType: "order", AggregateID: fmt.Sprint(id), Payload: payload}}, nil
	}
	through := func(w *dualwrite.Writer) func(ctx context.Context, worker, i int) error {
		return func(ctx context.Context, worker, i int) error {
			return w.Do(ctx, func(ctx context.Context, tx *sql.Tx) ([]dualwrite.Event, error) { return order(tx, ctx, worker, i) })
		}
	}
	newWriter := func(cfg dualwrite.Config) (*dualwrite.Writer, error) {
		cfg.Logger = log
		return dualwrite.New(ctx, db, cfg)
	}

	outboxW, err := newWriter(dualwrite.Config{})
	if err != nil {
		return nil, err
	}
	cdcW, err := newWriter(dualwrite.Config{Delivery: outbox.DeliveryCDC})
	if err != nil {
		return nil, err
	}
	mirrorT, err := newKinesis(false)
	if err != nil {
		return nil, err
	}
	mirrorW, err := newWriter(dualwrite.Config{Mode: dualwrite.ModeMirror, Target: mirrorT})
	if err != nil {
		return nil, err
	}
	// shadowWriter is a shadow-mode writer to a Kinesis target, with the registry whose
	// queue depth tells when its deliveries are done.
	shadowWriter := func(aggregate bool) (*dualwrite.Writer, *prometheus.Registry, error) {
		t, err := newKinesis(aggregate)
		if err != nil {
			return nil, nil, err
		}
		reg := prometheus.NewRegistry()
		w, err := newWriter(dualwrite.Config{Mode: dualwrite.ModeShadow, Target: t, Registerer: reg})
		return w, reg, err
	}
	shadowW, shadowReg, err := shadowWriter(false)
	if err != nil {
		return nil, err
	}
	aggW, aggReg, err := shadowWriter(true)
	if err != nil {
		return nil, err
	}
	nopW, err := newWriter(dualwrite.Config{Mode: dualwrite.ModeShadow, Target: nopTarget{}})
	if err != nil {
		return nil, err
	}
	// The reference lines add to the plain write what any outbox must at least add: a
	// statement (an empty one), a row (the smallest: an id and a blob) in a table of its
	// own, and that row holding the event. They are not dualwrite; they show the floor.
	if _, err := db.ExecContext(ctx, "CREATE TABLE minimal_rows (seq BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, b VARBINARY(1024) NOT NULL) ENGINE=InnoDB"); err != nil {
		return nil, err
	}
	minimal, err := db.PrepareContext(ctx, "INSERT INTO minimal_rows (b) VALUES (?)")
	if err != nil {
		return nil, err
	}
	defer minimal.Close()
	minimalPayload := []byte(`{"order_id":123456,"customer_id":1000007,"total":"17.07","currency":"EUR","status":"new"}`)
	// The event as the relay publishes it (id, type, aggregate, time, payload): an outbox
	// of one blob column per event would store this.
	sample := dualwrite.Event{Type: "OrderPlaced", AggregateType: "order", AggregateID: "123456", Payload: minimalPayload}
	if err := sample.Normalize(time.Now()); err != nil {
		return nil, err
	}
	eventBlob, err := event.Marshal(&sample, nil)
	if err != nil {
		return nil, err
	}
	plain := func(extra func(ctx context.Context, tx *sql.Tx) error) func(ctx context.Context, worker, i int) error {
		return func(ctx context.Context, worker, i int) error {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			if _, err := order(tx, ctx, worker, i); err != nil {
				_ = tx.Rollback()
				return err
			}
			if extra != nil {
				if err := extra(ctx, tx); err != nil {
					_ = tx.Rollback()
					return err
				}
			}
			return tx.Commit()
		}
	}
	variants := []variant{
		{name: "plain", write: plain(nil)},
		{name: "outbox", write: through(outboxW)},
		{name: "outbox, CDC delivery", write: through(cdcW)},
		{name: "mirror (kinesalite)", write: through(mirrorW)},
		{name: "shadow (kinesalite)", write: through(shadowW), drain: func() { waitShadow(shadowReg) }},
		{name: "shadow (kinesalite, aggregated records)", write: through(aggW), drain: func() { waitShadow(aggReg) }},
		{name: "shadow (no-op target)", write: through(nopW)},
		{name: refStatement, write: plain(func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "DO 1")
			return err
		})},
		{name: refRow, write: plain(func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.StmtContext(ctx, minimal).ExecContext(ctx, minimalPayload)
			return err
		})},
		{name: refEvent, write: plain(func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.StmtContext(ctx, minimal).ExecContext(ctx, eventBlob)
			return err
		})},
	}

	results := map[int]map[string]*result{}
	for _, conc := range []int{1, 16} {
		results[conc] = map[string]*result{}
		for _, v := range variants {
			results[conc][v.name] = &result{}
			// Warm up: connections, prepared statements, the target's sink.
			if err := runSlice(ctx, v, conc, 300*time.Millisecond, procs, &result{}); err != nil {
				return nil, fmt.Errorf("%s: %w", v.name, err)
			}
		}
		for r := 0; r < rounds; r++ {
			for k := range variants {
				v := variants[(k+r)%len(variants)] // rotate: no variant always follows the same one
				fmt.Fprintf(os.Stderr, "concurrency %d, round %d: %s\n", conc, r+1, v.name)
				if err := runSlice(ctx, v, conc, slice, procs, results[conc][v.name]); err != nil {
					return nil, fmt.Errorf("%s: %w", v.name, err)
				}
			}
		}
	}
	closeCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	_ = shadowW.Close(closeCtx)
	_ = aggW.Close(closeCtx)
	_ = nopW.Close(closeCtx)
	var shadowFailures int
	_ = db.QueryRowContext(ctx, "SELECT COUNT(*) FROM strangler_shadow_failures").Scan(&shadowFailures)

	relayed, relayDur, err := drainRelay(ctx, db, kc, stream, log)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(variants))
	for i, v := range variants {
		names[i] = v.name
	}
	info := fmt.Sprintf("MariaDB %s, innodb_flush_log_at_trx_commit=%s, sync_binlog=%s, log_bin=%s, binlog_format=%s",
		mariadbInfo(db, "version"), mariadbInfo(db, "innodb_flush_log_at_trx_commit"), mariadbInfo(db, "sync_binlog"), mariadbInfo(db, "log_bin"), mariadbInfo(db, "binlog_format"))
	return &measured{eventBytes: len(eventBlob), server: srv, info: info, results: results, variants: names, shadowFailures: shadowFailures, relayed: relayed, relayDur: relayDur}, nil
}

// runSlice runs v with conc workers for d, adding latencies, counts and the processes'
// CPU to res.
func runSlice(ctx context.Context, v variant, conc int, d time.Duration, procs processes, res *result) error {
	cpu0 := procs.cpu()
	var mu sync.Mutex
	var wg sync.WaitGroup
	var firstErr error
	before := len(res.lat)
	start := time.Now()
	deadline := start.Add(d)
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, 4096)
			for i := 0; time.Now().Before(deadline); i++ {
				t0 := time.Now()
				if err := v.write(ctx, w, i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			res.lat = append(res.lat, lat...)
			res.ops += len(lat)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if v.drain != nil {
		v.drain() // the background work the slice queued is charged to it
	}
	for i, c := range procs.cpu() {
		if c < 0 || cpu0[i] < 0 {
			res.cpu[i] = -1
		} else if res.cpu[i] >= 0 {
			res.cpu[i] += c - cpu0[i]
		}
	}
	res.dur += elapsed
	res.rounds = append(res.rounds, slices.Clone(res.lat[before:]))
	return firstErr
}

// waitShadow lets the shadow queue's deliveries finish between slices (they would load
// the next variant's slice otherwise): it waits for the queue depth gauge to reach 0.
func waitShadow(reg *prometheus.Registry) {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		mfs, err := reg.Gather()
		if err != nil {
			return
		}
		depth := -1.0
		for _, mf := range mfs {
			if mf.GetName() == "strangler_shadow_queue_depth" && len(mf.GetMetric()) > 0 {
				depth = mf.GetMetric()[0].GetGauge().GetValue()
			}
		}
		if depth == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// drainRelay publishes what the outbox runs left with the relay and times it.
func drainRelay(ctx context.Context, db *sql.DB, kc *kinesis.Client, stream string, log *slog.Logger) (int, time.Duration, error) {
	var rows int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM strangler_outbox").Scan(&rows); err != nil {
		return 0, 0, err
	}
	fmt.Fprintf(os.Stderr, "relay: draining %d outbox rows\n", rows)
	r, err := outbox.NewRelay(outbox.RelayConfig{DB: db, Logger: log, Batch: 500, PollInterval: 10 * time.Millisecond,
		NewSink: func(a sink.Acker) (sink.Sink, error) {
			return kinesissink.New(kc, kinesissink.Options{Stream: stream, Linger: 10 * time.Millisecond, MaxRetryTime: time.Minute}, a, metrics.Discard(), log)
		}})
	if err != nil {
		return 0, 0, err
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- r.Run(rctx) }()
	for {
		var left int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM strangler_outbox").Scan(&left); err != nil {
			cancel()
			return 0, 0, err
		}
		if left == 0 {
			break
		}
		if time.Since(start) > 10*time.Minute {
			cancel()
			return 0, 0, fmt.Errorf("the relay left %d rows after 10 minutes", left)
		}
		time.Sleep(20 * time.Millisecond)
	}
	took := time.Since(start)
	cancel()
	return rows, took, <-done
}

// ratio is the median over rounds of the variant's p50 over plain's p50 in the same
// round: pairing each slice with the plain slice of its round cancels the machine's
// drift between rounds.
func ratio(v, plain *result) float64 {
	var rs []float64
	for i := range min(len(v.rounds), len(plain.rounds)) {
		a, b := slices.Clone(v.rounds[i]), slices.Clone(plain.rounds[i])
		slices.Sort(a)
		slices.Sort(b)
		if len(a) > 0 && len(b) > 0 {
			rs = append(rs, float64(pct(a, 0.5))/float64(pct(b, 0.5)))
		}
	}
	if len(rs) == 0 {
		return 0
	}
	slices.Sort(rs)
	if len(rs)%2 == 1 {
		return rs[len(rs)/2]
	}
	return (rs[len(rs)/2-1] + rs[len(rs)/2]) / 2
}

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}

func render(all []*measured, slice time.Duration, rounds int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Dual writes: what the writer adds to a legacy write\n\n")
	fmt.Fprintf(&b, "Generated by `make bench-dualwrite` (dualwrite/internal/bench) on %s.\n\n", time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(&b, "Machine: %d CPUs (%s), %s, Go %s. MariaDB and kinesalite run on the same machine, shared with the benchmark.\n\n",
		runtime.NumCPU(), cpuModel(), kernel(), strings.TrimPrefix(runtime.Version(), "go"))
	fmt.Fprintf(&b, "The legacy write is one INSERT of an `orders` row (8 columns, a secondary index) in a transaction: BEGIN, INSERT, COMMIT, through go-sql-driver without `interpolateParams` (an INSERT with arguments is a prepare and an execute). Each dualwrite variant does the same write through `Writer.Do`, returning one `OrderPlaced` event (~90-byte JSON payload): outbox mode (relay delivery: one more INSERT, prepared), outbox with CDC delivery (the INSERT and a DELETE), mirror mode to a kinesalite stream (journal INSERT, mark, PutRecords, COMMIT, journal DELETE), shadow mode to the same stream, the same with the Kinesis target's `Aggregate` option (each batch's events packed into one aggregated record per shard, the KPL format), and shadow mode to a no-op target (its cost on the write path alone: on this 2-core machine kinesalite's CPU for the background sends competes with the writes). Variants run in interleaved slices of %s, %d rounds, the order rotating each round, so that the machine's noise falls on all of them; latencies are per write over all rounds, throughput is writes per second over the slices, and \"p50 vs plain\" is the median over rounds of the variant's p50 divided by plain's p50 in the same round. The relay is not running during the slices; it drains the outbox afterwards (last line). The three reference lines are not dualwrite: they add to the plain write the least any outbox must, an empty statement (`DO 1`), the smallest row (an auto-increment id and a 90-byte blob, prepared) in a table of its own, and the same with the whole event as the relay publishes it (%d bytes of JSON) in the blob, to show where the floor is on this machine. CPU per write (concurrency 16, where the CPUs are saturated) is each process's user and system time during the variant's slices divided by its writes (the shadow queue is drained inside the slice's account, so the background sends are counted).\n\n", slice, rounds, all[0].eventBytes)
	for _, m := range all {
		fmt.Fprintf(&b, "## Against %s\n\n%s.\n\n", m.server.name, m.info)
		for _, conc := range []int{1, 16} {
			fmt.Fprintf(&b, "Concurrency %d:\n\n", conc)
			// CPU per write only where the CPUs are saturated: at concurrency 1 the
			// processes mostly wait, and the time their idle threads spin looking for
			// work would be charged to the writes.
			withCPU := conc > 1
			b.WriteString("| variant | p50 | p99 | writes/s | p50 vs plain |")
			if withCPU {
				b.WriteString(" CPU per write: bench, MariaDB, kinesalite |")
			}
			b.WriteString("\n|---|---:|---:|---:|---:|")
			if withCPU {
				b.WriteString("---:|")
			}
			b.WriteString("\n")
			for _, name := range m.variants {
				r := m.results[conc][name]
				slices.Sort(r.lat)
				fmt.Fprintf(&b, "| %s | %s | %s | %.0f | %.2fx |", name, fmtDur(pct(r.lat, 0.50)), fmtDur(pct(r.lat, 0.99)), float64(r.ops)/r.dur.Seconds(), ratio(r, m.results[conc]["plain"]))
				if withCPU {
					fmt.Fprintf(&b, " %s |", cpuPerWrite(r))
				}
				b.WriteString("\n")
			}
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "Targets (p50 vs plain): ")
		var verdicts []string
		for _, conc := range []int{1, 16} {
			for _, tg := range []struct {
				name  string
				limit float64
			}{{"outbox", 1.3}, {"shadow (kinesalite)", 1.1}, {"shadow (kinesalite, aggregated records)", 1.1}, {"shadow (no-op target)", 1.1}} {
				r := ratio(m.results[conc][tg.name], m.results[conc]["plain"])
				verdict := "met"
				if r > tg.limit {
					verdict = "missed"
				}
				verdicts = append(verdicts, fmt.Sprintf("%s at concurrency %d %.2fx (target %.1fx: %s)", tg.name, conc, r, tg.limit, verdict))
			}
		}
		b.WriteString(strings.Join(verdicts, "; ") + ".\n\n")
		fmt.Fprintf(&b, "Floor (p50 vs plain): ")
		var floors []string
		for _, conc := range []int{1, 16} {
			for _, ref := range []string{refStatement, refRow, refEvent} {
				floors = append(floors, fmt.Sprintf("%s at concurrency %d %.2fx", strings.TrimPrefix(ref, "reference: "), conc, ratio(m.results[conc][ref], m.results[conc]["plain"])))
			}
		}
		b.WriteString(strings.Join(floors, "; ") + ".\n\n")
		fmt.Fprintf(&b, "Shadow failures recorded (queue full, timeouts): %d. ", m.shadowFailures)
		if m.relayDur > 0 {
			fmt.Fprintf(&b, "Outbox relay: the %d rows the outbox slices left were published to kinesalite (4 shards) and deleted in %s, %.0f events/s.", m.relayed, m.relayDur.Round(time.Millisecond), float64(m.relayed)/m.relayDur.Seconds())
		}
		b.WriteString("\n\n")
	}
	b.WriteString(`## Reading the figures

- The outbox adds one statement to the transaction: a prepared INSERT, one round trip. The
  library's own work (ids, validation, encoding) is a few microseconds; what the ratio
  measures is that round trip and the server's work for the row, against a plain write of
  four round trips (BEGIN, prepare and execute, COMMIT). Over loopback, with no network
  latency and a commit that costs little, the extra round trip weighs the most it ever
  can; behind a real network, or with a commit that waits for a disk or a replica, the
  same absolute cost is a smaller share.
- The reference lines are the floor for any outbox that writes a row in the legacy
  transaction: an empty statement, the smallest row in a table of its own, and that row
  holding the whole event. Compare the outbox with them, not with 1.00: its row of
  columns (id, aggregate, type, payload, headers, time: what the relay and the CDC router
  publish from) costs about what the event as one blob does.
- At concurrency 16 the two CPUs are saturated by MariaDB, kinesalite and the benchmark
  itself, so latency follows the queue and the p50 ratio follows the CPU per write (last
  column): whatever an extra statement costs MariaDB and the client shows in full.
- CDC delivery deletes the row in the same transaction: two statements instead of one,
  for a table that never grows.
- Mirror mode pays the journal (insert before, delete after) and a Kinesis round trip
  inside the transaction; the Kinesis sink's one-request-per-key-in-flight and
  kinesalite's speed set its figures.
- Shadow mode adds no statement. Against kinesalite, its background sends compete with
  the writes for the same two CPUs: kinesalite's CPU per event (last column) is of the
  order of MariaDB's per write, work that a real Kinesis does elsewhere; the no-op target
  shows shadow mode's cost on the write path alone. Aggregated records cost kinesalite a
  record per shard and batch instead of one per event.
- The machine is shared with other work: compare variants within one table (they ran
  interleaved), not across runs.
`)
	return b.String()
}

// cpuPerWrite is the CPU each process spent per write during the variant's slices
// (background work included: the shadow queue is drained inside the slice's account).
func cpuPerWrite(r *result) string {
	parts := make([]string, len(r.cpu))
	for i, c := range r.cpu {
		if c < 0 || r.ops == 0 {
			parts[i] = "?"
			continue
		}
		parts[i] = fmt.Sprintf("%.0f", float64(c.Microseconds())/float64(r.ops))
	}
	return strings.Join(parts, " + ") + " µs"
}

func fmtDur(d time.Duration) string {
	if d < time.Millisecond {
		return fmt.Sprintf("%d µs", d.Microseconds())
	}
	return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000)
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "model name") {
			if _, v, ok := strings.Cut(line, ":"); ok {
				return strings.TrimSpace(v)
			}
		}
	}
	return runtime.GOARCH
}

func kernel() string {
	out, err := exec.Command("uname", "-sr").Output()
	if err != nil {
		return runtime.GOOS
	}
	return strings.TrimSpace(string(out))
}

func mariadbInfo(db *sql.DB, variable string) string {
	var v string
	if err := db.QueryRow("SELECT @@" + variable).Scan(&v); err != nil {
		return "?"
	}
	return v
}

func open(addr string) (*sql.DB, error) {
	dsn, err := dburl.MySQLDSN(addr)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return nil, err
	}
	return db, db.Ping()
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// startDurableMariaDB starts a MariaDB of the benchmark's own, with a binlog and fsync at
// every commit (innodb_flush_log_at_trx_commit=1, sync_binlog=1), as production servers
// run; it returns its root address and a function that stops and removes it.
func startDurableMariaDB(ctx context.Context) (string, func(), error) {
	mariadbd, err := exec.LookPath("mariadbd")
	if err != nil {
		mariadbd = "/usr/sbin/mariadbd"
	}
	install, err := exec.LookPath("mariadb-install-db")
	if err != nil {
		return "", nil, fmt.Errorf("mariadb-install-db not found (Debian's mariadb-server): %w", err)
	}
	dir, err := os.MkdirTemp("", "dwbench-") // short: unix socket paths are limited
	if err != nil {
		return "", nil, err
	}
	data := filepath.Join(dir, "data")
	if out, err := exec.CommandContext(ctx, install, "--no-defaults", "--datadir="+data, "--user=root",
		"--auth-root-authentication-method=normal", "--skip-test-db").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("mariadb-install-db: %w\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(mariadbd, "--no-defaults", "--datadir="+data, "--user=root", fmt.Sprintf("--port=%d", port),
		"--bind-address=127.0.0.1", "--socket="+filepath.Join(dir, "sock"), "--pid-file="+filepath.Join(dir, "pid"),
		"--skip-name-resolve", "--log-error="+filepath.Join(dir, "error.log"), "--innodb-buffer-pool-size=256M",
		"--log-bin="+filepath.Join(data, "binlog"), "--binlog-format=ROW", "--server-id=1", "--max-connections=500",
		"--innodb-flush-log-at-trx-commit=1", "--sync-binlog=1")
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("start mariadbd: %w", err)
	}
	stop := func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = os.RemoveAll(dir)
	}
	addr := fmt.Sprintf("mysql://root@tcp(127.0.0.1:%d)/", port)
	for deadline := time.Now().Add(time.Minute); ; {
		db, err := open(addr)
		if err == nil {
			db.Close()
			return addr, stop, nil
		}
		if time.Now().After(deadline) {
			logText, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			stop()
			return "", nil, fmt.Errorf("mariadbd did not start: %w\n%s", err, logText)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// nopTarget accepts everything at once: shadow mode's cost on the write path alone,
// without a Kinesis server competing for the machine's CPUs.
type nopTarget struct{}

func (nopTarget) Name() string                                    { return "nop" }
func (nopTarget) Apply(context.Context, []event.Event) error      { return nil }
func (nopTarget) Compensate(context.Context, []event.Event) error { return nil }
