package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/strangler/strangler/cdc/binlog"
)

// Names of the measurements, as the report shows them.
const (
	mRawBatched   = "(a) go-mysql decode (ceiling)"
	mLayout       = "(a') go-mysql + Layout.Row"
	mEncode       = "(a'') go-mysql + Layout.Row + JSON encode"
	mDiscard      = "(b) daemon → discard"
	mFile         = "(b) daemon → file"
	mRawOneTx     = "(a) go-mysql decode, one 1M-row tx"
	mDiscardOneTx = "daemon → discard, one 1M-row tx"
)

// results is everything the report shows.
type results struct {
	o       options
	machine machine
	ds      *dataset
	// Per measurement name, one entry per round.
	rounds map[string][]measurement
	order  []string

	fileBytes int64 // size of the file sink's output (one round)

	kinesis         measurement
	kinesisRows     int
	kinesisRead     int // records read back from the stream
	kinesisReadTime time.Duration
	kinesisHist     histogram
	kinesisHasHist  bool

	latency latencyResult

	profileRan   bool
	profileRate  measurement
	profileTop   string
	profilePath  string
	profileCum   map[string]float64 // function → cumulative % of the samples
	profileTotal time.Duration      // CPU time the samples cover
}

func (r *results) add(m measurement) {
	if r.rounds == nil {
		r.rounds = map[string][]measurement{}
	}
	if _, ok := r.rounds[m.Name]; !ok {
		r.order = append(r.order, m.Name)
	}
	r.rounds[m.Name] = append(r.rounds[m.Name], m)
}

// best is the fastest pass of a measurement, with the highest peak RSS of all its passes
// (the conservative memory figure).
func (r *results) best(name string) (measurement, bool) {
	ms := r.rounds[name]
	if len(ms) == 0 {
		return measurement{}, false
	}
	b := ms[0]
	var rss int64
	for _, m := range ms {
		if m.rate() > b.rate() {
			b = m
		}
		rss = max(rss, m.MaxRSSKiB)
	}
	b.MaxRSSKiB = rss
	return b, true
}

// ratioInRound is num/den of the same round, per round.
func (r *results) ratiosInRound(num, den string) []float64 {
	var out []float64
	n, d := r.rounds[num], r.rounds[den]
	for i := range min(len(n), len(d)) {
		if d[i].rate() > 0 {
			out = append(out, n[i].rate()/d[i].rate())
		}
	}
	return out
}

type bench struct {
	o       options
	root    *sql.DB // no current database
	db      *sql.DB // bench_cdc
	kc      *kinesis.Client
	streams []string
	dbMade  bool
}

func (b *bench) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, s := range b.streams {
		if err := deleteStream(ctx, b.kc, s); err != nil {
			progress("cleanup: %v", err)
		}
	}
	if b.dbMade && !b.o.keep && b.root != nil {
		if _, err := b.root.ExecContext(ctx, "DROP DATABASE IF EXISTS "+benchDB); err != nil {
			progress("cleanup: drop database %s: %v", benchDB, err)
		} else {
			progress("dropped database %s (its rows stay in the binlog)", benchDB)
		}
	}
	if b.db != nil {
		_ = b.db.Close()
	}
	if b.root != nil {
		_ = b.root.Close()
	}
}

func (b *bench) run(ctx context.Context) (*results, error) {
	o := b.o
	res := &results{o: o}
	var err error
	if b.root, err = openDB(o.source, ""); err != nil {
		return nil, err
	}
	if err := b.root.PingContext(ctx); err != nil {
		return nil, fmt.Errorf("connect to MariaDB (is the stack up? scripts/devstack.sh up): %w", err)
	}
	if b.kc, err = newKinesisClient(ctx, o.kinesisEndpoint); err != nil {
		return nil, err
	}
	res.machine = probeMachine(ctx, b.root, o.bin)
	progress("machine: %d CPU (%s), %.1f GiB, load %s; MariaDB %s, kinesalite %s, %s",
		res.machine.NProc, res.machine.CPUModel, res.machine.RAMGiB, res.machine.LoadAvg, res.machine.MariaDB, res.machine.Kinesalite, res.machine.Go)

	// The data set.
	if err := createSchema(ctx, b.root); err != nil {
		return nil, err
	}
	b.dbMade = true
	if b.db, err = openDB(o.source, benchDB); err != nil {
		return nil, err
	}
	if res.ds, err = b.load(ctx); err != nil {
		return nil, err
	}
	ds := res.ds
	progress("batched: %s to %s (%.1f MiB, %.1f MiB of it others', loaded in %s); one tx: %s to %s (%.1f MiB, %.1f MiB others', loaded in %s)",
		ds.BatchedStart, ds.BatchedEnd, mib(ds.BatchedBytes), mib(ds.BatchedForeignBytes), ds.BatchedLoad.Round(time.Millisecond),
		ds.OneTxStart, ds.OneTxEnd, mib(ds.OneTxBytes), mib(ds.OneTxForeignBytes), ds.OneTxLoad.Round(time.Millisecond))

	// (a), (b) and the RSS runs, interleaved round by round so that the ratios of one
	// round compare passes made under the same load.
	for round := 1; round <= o.rounds; round++ {
		progress("round %d of %d", round, o.rounds)
		steps := []func(context.Context) (measurement, error){
			func(ctx context.Context) (measurement, error) {
				return b.raw(ctx, mRawBatched, ds.BatchedStart, ds.BatchedEnd, tableBatched, depthGoMySQL)
			},
			func(ctx context.Context) (measurement, error) {
				return b.daemonRange(ctx, mDiscard, "discard", ds.BatchedStart, ds.BatchedEnd, tableBatched, int64(o.rows))
			},
			func(ctx context.Context) (measurement, error) {
				return b.raw(ctx, mLayout, ds.BatchedStart, ds.BatchedEnd, tableBatched, depthLayout)
			},
			func(ctx context.Context) (measurement, error) {
				return b.raw(ctx, mEncode, ds.BatchedStart, ds.BatchedEnd, tableBatched, depthEncode)
			},
			func(ctx context.Context) (measurement, error) {
				m, size, err := b.fileRun(ctx, ds)
				res.fileBytes = size
				return m, err
			},
			func(ctx context.Context) (measurement, error) {
				return b.raw(ctx, mRawOneTx, ds.OneTxStart, ds.OneTxEnd, tableOneTx, depthGoMySQL)
			},
			func(ctx context.Context) (measurement, error) {
				return b.daemonRange(ctx, mDiscardOneTx, "discard", ds.OneTxStart, ds.OneTxEnd, tableOneTx, int64(o.rows))
			},
		}
		for _, step := range steps {
			m, err := step(ctx)
			if err != nil {
				return nil, err
			}
			res.add(m)
			progress("  %-45s %9d rows %7.2fs %9.0f rows/s  cpu %6.2fs  rss %s", m.Name, m.Rows, m.Wall.Seconds(), m.rate(), m.CPU.Seconds(), rssText(m.MaxRSSKiB))
		}
	}

	// (c) into kinesalite.
	if err := b.kinesisRun(ctx, res); err != nil {
		return nil, err
	}
	// Latency at a fixed write rate.
	if err := b.latencyRun(ctx, res); err != nil {
		return nil, err
	}

	// Where the time goes, when the daemon is below its target.
	ratio := median(res.ratiosInRound(mDiscard, mRawBatched))
	if o.profile == "always" || (o.profile == "auto" && ratio < 0.5) {
		if err := b.profileRun(ctx, res); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// maxForeign is the share of a range (in bytes or in rows events) that other users of
// the stack may have written into it before the range is loaded again: the passes should
// measure the bench's rows, not the neighbours' transactions.
const (
	maxForeign   = 0.05
	loadAttempts = 3
)

// load writes the data set, each part again (up to loadAttempts times) while other
// users' transactions make up more than maxForeign of its binlog range.
func (b *bench) load(ctx context.Context) (*dataset, error) {
	o := b.o
	ds := &dataset{Rows: o.rows, TxRows: o.txRows}
	parts := []struct {
		name         string
		table        string
		load         func() error
		start, end   *binlog.Position
		bytes        *int64
		foreign, fgB *int64
	}{
		{fmt.Sprintf("%d rows in transactions of %d", o.rows, o.txRows), tableBatched,
			func() error { return loadBatched(ctx, b.root, b.db, ds, progress) },
			&ds.BatchedStart, &ds.BatchedEnd, &ds.BatchedBytes, &ds.BatchedForeign, &ds.BatchedForeignBytes},
		{fmt.Sprintf("%d rows in one transaction", o.rows), tableOneTx,
			func() error { return loadOneTx(ctx, b.root, b.db, ds) },
			&ds.OneTxStart, &ds.OneTxEnd, &ds.OneTxBytes, &ds.OneTxForeign, &ds.OneTxForeignBytes},
	}
	for _, p := range parts {
		for attempt := 1; ; attempt++ {
			progress("loading %s", p.name)
			ds.Loads++
			if err := p.load(); err != nil {
				return nil, err
			}
			scan, err := rawDecode(ctx, o.source, newServerID(), *p.start, *p.end, p.table, depthGoMySQL)
			if err != nil {
				return nil, fmt.Errorf("check the range of %s: %w", p.name, err)
			}
			if scan.Rows != int64(o.rows) {
				return nil, fmt.Errorf("check the range of %s: %d rows of %s.%s between %s and %s, want %d", p.name, scan.Rows, benchDB, p.table, *p.start, *p.end, o.rows)
			}
			*p.foreign, *p.fgB = scan.Foreign, scan.ForeignB
			// By bytes, and by events: many tiny transactions of others weigh little in
			// bytes but change what the daemon's event queue holds, and so its memory.
			share := max(float64(scan.ForeignB)/float64(max(*p.bytes, 1)), float64(scan.Foreign)/float64(max(scan.Events, 1)))
			if share <= maxForeign || attempt == loadAttempts {
				if share > maxForeign {
					progress("  other users' transactions still make up %.0f%% of the range after %d attempts: going on, the report says so", 100*share, attempt)
				}
				break
			}
			progress("  other users' transactions make up %.0f%% of the range (%d rows events, %.1f MiB, against the bench's %d): loading again", 100*share, scan.Foreign, mib(scan.ForeignB), scan.Events)
		}
	}
	return ds, nil
}

func bestRatio(res *results, num, den string) float64 {
	n, ok1 := res.best(num)
	d, ok2 := res.best(den)
	if !ok1 || !ok2 || d.rate() == 0 {
		return 0
	}
	return n.rate() / d.rate()
}

func (b *bench) raw(ctx context.Context, name string, from, to binlog.Position, table string, depth decodeDepth) (measurement, error) {
	m, err := rawDecode(ctx, b.o.source, newServerID(), from, to, table, depth)
	m.Name = name
	if err != nil {
		return m, fmt.Errorf("%s: %w", name, err)
	}
	if m.Rows != int64(b.o.rows) {
		return m, fmt.Errorf("%s: read %d rows of %s.%s between %s and %s, want %d", name, m.Rows, benchDB, table, from, to, b.o.rows)
	}
	return m, nil
}

// daemonRange runs the daemon over [from, to) of one table into sink and times it.
func (b *bench) daemonRange(ctx context.Context, name, sink string, from, to binlog.Position, table string, rows int64, extra ...string) (measurement, error) {
	args := append([]string{"--source", b.o.source, "--include", benchDB + "." + table, "--sink", sink,
		"--start", fmt.Sprintf("file:%s:%d", from.File, from.Pos), "--stop-at", fmt.Sprintf("file:%s:%d", to.File, to.Pos)}, extra...)
	d, err := startDaemon(ctx, safeName(name), b.o.bin, b.o.workDir, args...)
	if err != nil {
		return measurement{}, err
	}
	m, err := d.wait(ctx, 30*time.Minute)
	m.Name, m.Rows = name, rows
	if err != nil {
		return m, fmt.Errorf("%s: %w", name, err)
	}
	return m, nil
}

// fileRun is (b) into the file sink; the file must hold one line per row.
func (b *bench) fileRun(ctx context.Context, ds *dataset) (measurement, int64, error) {
	path := filepath.Join(b.o.workDir, "events.jsonl")
	_ = os.Remove(path)
	defer os.Remove(path)
	m, err := b.daemonRange(ctx, mFile, "file:"+path, ds.BatchedStart, ds.BatchedEnd, tableBatched, int64(b.o.rows))
	if err != nil {
		return m, 0, err
	}
	lines, size, err := countLines(path)
	if err != nil {
		return m, 0, fmt.Errorf("%s: %w", mFile, err)
	}
	if lines != int64(b.o.rows) {
		return m, size, fmt.Errorf("%s: the file sink wrote %d events, want %d", mFile, lines, b.o.rows)
	}
	return m, size, nil
}

func countLines(path string) (lines, size int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	buf := make([]byte, 1<<20)
	for {
		n, err := r.Read(buf)
		lines += int64(bytes.Count(buf[:n], []byte{'\n'}))
		size += int64(n)
		if err == io.EOF {
			return lines, size, nil
		}
		if err != nil {
			return lines, size, err
		}
	}
}

// kinesisRun is (c): the first kinesisRows rows of the batched range into a fresh stream.
func (b *bench) kinesisRun(ctx context.Context, res *results) error {
	o := b.o
	stream, err := createStream(ctx, b.kc, "bench-cdc", o.shards)
	if err != nil {
		return err
	}
	b.streams = append(b.streams, stream)
	res.kinesisRows = o.kinesisRows
	to := res.ds.TxEnds[o.kinesisRows/o.txRows-1]
	progress("(c) daemon → kinesalite: %d rows into %s (%d shards)", o.kinesisRows, stream, o.shards)
	name := "(c) daemon → kinesalite"
	args := []string{"--source", o.source, "--include", benchDB + "." + tableBatched, "--sink", "kinesis",
		"--stream", stream, "--kinesis-endpoint", o.kinesisEndpoint, "--region", benchRegion,
		"--start", fmt.Sprintf("file:%s:%d", res.ds.BatchedStart.File, res.ds.BatchedStart.Pos), "--stop-at", fmt.Sprintf("file:%s:%d", to.File, to.Pos)}
	d, err := startDaemon(ctx, "kinesis", o.bin, o.workDir, args...)
	if err != nil {
		return err
	}
	m, err := d.wait(ctx, 30*time.Minute)
	m.Name, m.Rows = name, int64(o.kinesisRows)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	res.kinesis = m
	res.kinesisHist, res.kinesisHasHist = parseHistogram(d.lastScrape(), "strangler_cdc_sink_request_seconds")
	progress("  %-45s %9d rows %7.2fs %9.0f rows/s  cpu %6.2fs  rss %s", m.Name, m.Rows, m.Wall.Seconds(), m.rate(), m.CPU.Seconds(), rssText(m.MaxRSSKiB))

	progress("  reading the stream back to count its records")
	started := time.Now()
	n, err := countStream(ctx, b.kc, stream, o.kinesisRows, 10*time.Minute)
	res.kinesisRead, res.kinesisReadTime = n, time.Since(started)
	if err != nil {
		return fmt.Errorf("read %s back: %w", stream, err)
	}
	if n != o.kinesisRows {
		return fmt.Errorf("%s: the stream holds %d records, want %d", name, n, o.kinesisRows)
	}
	progress("  %d records in the stream (read back in %s)", n, res.kinesisReadTime.Round(time.Millisecond))
	if err := deleteStream(ctx, b.kc, stream); err == nil {
		b.streams = b.streams[:len(b.streams)-1]
	}
	return nil
}

// latencyRun writes single-row transactions at a fixed rate while the daemon streams
// them into kinesalite, and measures each row from its commit to its arrival.
func (b *bench) latencyRun(ctx context.Context, res *results) error {
	o := b.o
	stream, err := createStream(ctx, b.kc, "bench-cdc-latency", o.shards)
	if err != nil {
		return err
	}
	b.streams = append(b.streams, stream)
	progress("latency: %.0f single-row transactions/s for %s into %s", o.latencyRate, o.latencyDuration, stream)
	d, err := startDaemon(ctx, "latency", o.bin, o.workDir, "--source", o.source, "--include", benchDB+"."+tableLatency,
		"--sink", "kinesis", "--stream", stream, "--kinesis-endpoint", o.kinesisEndpoint, "--region", benchRegion, "--start", "latest")
	if err != nil {
		return err
	}
	stopped := false
	defer func() {
		if !stopped {
			_, _ = d.terminate(time.Minute)
		}
	}()
	if err := d.waitReady(ctx, time.Minute); err != nil {
		return err
	}
	commits, took, err := writeAtRate(ctx, b.db, o.latencyRate, o.latencyDuration)
	if err != nil {
		return err
	}
	lr := latencyResult{Rate: o.latencyRate, Writes: len(commits), Duration: took, Achieved: float64(len(commits)) / took.Seconds(), Shards: o.shards}
	arrive, fromSent, produce, err := readLatencies(ctx, b.kc, stream, commits, 2*time.Minute)
	if err != nil {
		return fmt.Errorf("latency: read %s back: %w", stream, err)
	}
	lr.Received = len(arrive)
	if text, err := d.scrapeNow(ctx); err == nil {
		lr.SinkHist, lr.HasHist = parseHistogram(text, "strangler_cdc_sink_request_seconds")
	}
	stopped = true
	if _, err := d.terminate(time.Minute); err != nil {
		return fmt.Errorf("latency: %w", err)
	}
	if lr.Received != lr.Writes {
		return fmt.Errorf("latency: %d records in %s, %d rows written", lr.Received, stream, lr.Writes)
	}
	s := sortedCopy(arrive)
	lr.P50, lr.P99, lr.Min, lr.Max = percentile(s, 0.50), percentile(s, 0.99), s[0], s[len(s)-1]
	fs := sortedCopy(fromSent)
	lr.SentP50, lr.SentP99 = percentile(fs, 0.50), percentile(fs, 0.99)
	rtt := make([]time.Duration, 0, len(commits))
	for _, c := range commits {
		rtt = append(rtt, c.done.Sub(c.sent))
	}
	rtt = sortedCopy(rtt)
	lr.RTTP50, lr.RTTP99 = percentile(rtt, 0.50), percentile(rtt, 0.99)
	if len(produce) > 0 {
		p := sortedCopy(produce)
		lr.ProdP50, lr.ProdP99 = percentile(p, 0.50), percentile(p, 0.99)
	}
	res.latency = lr
	progress("  %d writes at %.1f/s: commit→arrival p50 %s p99 %s max %s", lr.Writes, lr.Achieved, lr.P50, lr.P99, lr.Max)
	if err := deleteStream(ctx, b.kc, stream); err == nil {
		b.streams = b.streams[:len(b.streams)-1]
	}
	return nil
}

func safeName(s string) string {
	out := make([]byte, 0, len(s))
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			out = append(out, c)
		default:
			if len(out) > 0 && out[len(out)-1] != '-' {
				out = append(out, '-')
			}
		}
	}
	return string(bytes.Trim(out, "-"))
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func rssText(kib int64) string {
	if kib == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f MiB", float64(kib)/1024)
}
