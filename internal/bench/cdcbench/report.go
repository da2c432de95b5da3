package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"time"
)

const (
	sectionBegin = "<!-- cdc:begin -->"
	sectionEnd   = "<!-- cdc:end -->"
)

const benchmarksIntro = `# Benchmarks

Figures measured by the ` + "`make bench-*`" + ` targets: benchmarks, not timed tests. The
machines they run on are shared and noisy, so each section says which machine its
figures come from, and ratios measured in one run mean more than absolute rates.
Each area rewrites only its own section, between its markers.
`

// flatLimit is how much more peak RSS one big transaction may take than the same rows in
// small transactions and still count as flat.
const flatLimit = 1.25

// The run history inside the section: one row per run, newest first, so that a reader
// sees how much the figures move between runs on this machine.
const (
	historyBegin = "<!-- cdc:history:begin -->"
	historyEnd   = "<!-- cdc:history:end -->"
	historyKeep  = 12
)

// previousHistory returns the history rows of the section in the file at path, if any.
func previousHistory(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	text := string(b)
	i := strings.Index(text, historyBegin)
	j := strings.Index(text, historyEnd)
	if i < 0 || j < i {
		return nil
	}
	var rows []string
	for _, line := range strings.Split(text[i+len(historyBegin):j], "\n") {
		if strings.HasPrefix(line, "| ") && !strings.HasPrefix(line, "| date") {
			rows = append(rows, line)
		}
	}
	return rows
}

func historyRow(r *results) string {
	a, _ := r.best(mRawBatched)
	d, _ := r.best(mDiscard)
	batched, oneTx := d.MaxRSSKiB, int64(0)
	if m, ok := r.best(mDiscardOneTx); ok {
		oneTx = m.MaxRSSKiB
	}
	var cpu []float64
	for i, m := range r.rounds[mDiscard] {
		if x := r.rounds[mRawBatched]; i < len(x) && x[i].CPU > 0 {
			cpu = append(cpu, float64(m.CPU)/float64(x[i].CPU))
		}
	}
	rss := "–"
	if batched > 0 {
		rss = fmt.Sprintf("%.2f×", float64(oneTx)/float64(batched))
	}
	lat := "–"
	if l := r.latency; l.Writes > 0 {
		lat = fmt.Sprintf("%s / %s", ms(l.P50), ms(l.P99))
	}
	return fmt.Sprintf("| %s | %s | %d | %s | %s | %.2f | %.2f | %.1f× | %s | %s | %s |",
		r.machine.Date.Format("2006-01-02 15:04"), r.machine.LoadAvg, r.o.rounds, num(int(a.rate())), num(int(d.rate())),
		median(r.ratiosInRound(mDiscard, mRawBatched)), median(r.ratiosInRound(mFile, mRawBatched)), median(cpu), rss,
		num(int(r.kinesis.rate())), lat)
}

func renderReport(r *results, history []string) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	o, ds, mc := r.o, r.ds, r.machine

	w("## CDC daemon (`make bench-cdc`)\n\n")
	w("Measured %s on %d × %s, %.1f GiB RAM, Linux %s (load average at start: %s); MariaDB %s, kinesalite %s, %s, go-mysql %s, strangler %s.\n\n",
		mc.Date.Format("2006-01-02 15:04 MST"), mc.NProc, mc.CPUModel, mc.RAMGiB, mc.Kernel, mc.LoadAvg, mc.MariaDB, mc.Kinesalite, mc.Go, mc.GoMySQL, mc.Strangler)
	w("**Data.** `%s.%s`, 8 columns (BIGINT PK, INT, VARCHAR(64), DECIMAL(10,2), DATETIME(3), TEXT of 100 bytes, TINYINT, ENUM): %s rows written with INSERT … SELECT from the sequence engine in %d transactions of %s rows, %.1f MiB of binlog (ROW, FULL image, FULL metadata, GTIDs; loaded in %s); and the same %s rows in **one** transaction (`%s`, %.1f MiB, loaded in %s). Events are about %d bytes of JSON each. Other users of the stack wrote %.1f MiB and %.1f MiB of those ranges (%s and %s rows events, read but not decoded)%s.\n\n",
		benchDB, tableBatched, num(o.rows), o.rows/o.txRows, num(o.txRows), mib(ds.BatchedBytes), ds.BatchedLoad.Round(100*time.Millisecond),
		num(o.rows), tableOneTx, mib(ds.OneTxBytes), ds.OneTxLoad.Round(100*time.Millisecond), r.fileBytes/int64(max(o.rows, 1)),
		mib(ds.BatchedForeignBytes), mib(ds.OneTxForeignBytes), num(int(ds.BatchedForeign)), num(int(ds.OneTxForeign)), reloads(ds))

	// Throughput.
	w("### Throughput (%s rows; fastest of %d interleaved rounds)\n\n", num(o.rows), o.rounds)
	w("| measurement | rows/s | × fastest (a) | wall s | first row s | CPU s | CPU µs/row | peak RSS | each round, rows/s |\n")
	w("|---|--:|--:|--:|--:|--:|--:|--:|---|\n")
	ceiling, _ := r.best(mRawBatched)
	ceilingOneTx, _ := r.best(mRawOneTx)
	row := func(m measurement, base measurement, each string) {
		ratio := "–"
		if base.rate() > 0 {
			ratio = fmt.Sprintf("%.2f", m.rate()/base.rate())
		}
		first := "–"
		if m.FirstRow > 0 {
			first = fmt.Sprintf("%.2f", m.FirstRow.Seconds())
		}
		cpuPerRow := "–"
		if m.CPU > 0 && m.Rows > 0 {
			cpuPerRow = fmt.Sprintf("%.1f", float64(m.CPU.Microseconds())/float64(m.Rows))
		}
		w("| %s | **%s** | %s | %.2f | %s | %.2f | %s | %s | %s |\n", m.Name, num(int(m.rate())), ratio, m.Wall.Seconds(), first, m.CPU.Seconds(), cpuPerRow, rssText(m.MaxRSSKiB), each)
	}
	for _, name := range r.order {
		m, _ := r.best(name)
		base := ceiling
		if name == mRawOneTx || name == mDiscardOneTx {
			base = ceilingOneTx
		}
		var each []string
		for _, x := range r.rounds[name] {
			each = append(each, num(int(x.rate())))
		}
		row(m, base, strings.Join(each, ", "))
	}
	if r.kinesis.Rows > 0 {
		row(r.kinesis, ceiling, fmt.Sprintf("%s rows, one round", num(r.kinesisRows)))
	}
	w("\n")

	// Targets.
	w("### Targets\n\n")
	w("| target | measured | verdict |\n|---|---|---|\n")
	for _, name := range []string{mDiscard, mFile} {
		inRound := r.ratiosInRound(name, mRawBatched)
		ratio := median(inRound)
		var rounds []string
		for _, x := range inRound {
			rounds = append(rounds, fmt.Sprintf("%.2f", x))
		}
		var cpu []float64
		for i, m := range r.rounds[name] {
			if a := r.rounds[mRawBatched]; i < len(a) && a[i].CPU > 0 {
				cpu = append(cpu, float64(m.CPU)/float64(a[i].CPU))
			}
		}
		w("| %s ≥ 0.5 × (a) | **%.2f** × (a): median of the rounds' ratios (%s); fastest vs fastest %.2f; CPU per row %.1f × (a)'s | %s |\n",
			name, ratio, strings.Join(rounds, ", "), bestRatio(r, name, mRawBatched), median(cpu), verdict(ratio >= 0.5))
	}
	batched, ok1 := r.best(mDiscard)
	oneTx, ok2 := r.best(mDiscardOneTx)
	if ok1 && ok2 && batched.MaxRSSKiB > 0 {
		rr := float64(oneTx.MaxRSSKiB) / float64(batched.MaxRSSKiB)
		w("| peak RSS flat in transaction size (1 tx of %s rows vs %d × %s, into discard) | %s vs %s: %.2f× | %s (flat: ≤ %.2f×) |\n",
			num(o.rows), o.rows/o.txRows, num(o.txRows), rssText(oneTx.MaxRSSKiB), rssText(batched.MaxRSSKiB), rr, verdict(rr <= flatLimit), flatLimit)
	}
	w("\n")

	// History.
	w("### Runs of this bench\n\n")
	w("Newest first (the figures above are the first row's). Rates are the fastest round's; ratios are medians of the rounds' ratios.\n\n")
	w("%s\n", historyBegin)
	w("| date | load avg | rounds | (a) rows/s | (b) discard rows/s | (b) discard / (a) | (b) file / (a) | CPU/row (b) discard / (a) | RSS 1 tx / 100 tx | (c) rows/s | latency p50 / p99 |\n")
	w("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|\n")
	w("%s\n", historyRow(r))
	for i, h := range history {
		if i == historyKeep-1 {
			break
		}
		w("%s\n", h)
	}
	w("%s\n\n", historyEnd)

	// Kinesis and latency.
	if r.kinesis.Rows > 0 {
		w("### Into kinesalite\n\n")
		w("(c) streamed %s rows of the batched range into a fresh %d-shard stream: **%s rows/s**, %.2f × (a), peak RSS %s, CPU %.1f µs/row. All %s records were read back from the stream (in %s, not counted in the rate).",
			num(r.kinesisRows), o.shards, num(int(r.kinesis.rate())), r.kinesis.rate()/math.Max(ceiling.rate(), 1), rssText(r.kinesis.MaxRSSKiB),
			float64(r.kinesis.CPU.Microseconds())/float64(max(r.kinesis.Rows, 1)), num(r.kinesisRead), r.kinesisReadTime.Round(100*time.Millisecond))
		if r.kinesisHasHist {
			h := r.kinesisHist
			w(" PutRecords calls (the daemon's `strangler_cdc_sink_request_seconds`, scraped up to a second before the end): %s calls, mean %s, p50 ≈ %s, p99 ≈ %s.",
				num(int(h.Count)), secs(h.mean()), secs(h.quantile(0.5)), secs(h.quantile(0.99)))
		}
		w("\n\n")
	}
	if l := r.latency; l.Writes > 0 {
		w("### Commit-to-acknowledge latency\n\n")
		w("The daemon at `--start latest` into a fresh %d-shard kinesalite stream (default `--linger` 50ms), while one client commits single-row transactions at a fixed rate.\n\n", l.Shards)
		w("| writes | rate asked / done | p50 | p99 | max | min | from INSERT sent, p50 / p99 | INSERT round trip, p50 / p99 | commit → event encoded, p50 / p99 | sink request (daemon's histogram) mean / p50 / p99 |\n")
		w("|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
		hist := "–"
		if l.HasHist {
			hist = fmt.Sprintf("%s / ≈%s / ≈%s (%s calls)", secs(l.SinkHist.mean()), secs(l.SinkHist.quantile(0.5)), secs(l.SinkHist.quantile(0.99)), num(int(l.SinkHist.Count)))
		}
		w("| %s | %.0f/s / %.1f/s | **%s** | **%s** | %s | %s | %s / %s | %s / %s | %s / %s | %s |\n\n",
			num(l.Writes), l.Rate, l.Achieved, ms(l.P50), ms(l.P99), ms(l.Max), ms(l.Min), ms(l.SentP50), ms(l.SentP99), ms(l.RTTP50), ms(l.RTTP99), ms(l.ProdP50), ms(l.ProdP99), hist)
		w("p50, p99, max and min run from when `COMMIT` returned to the client (a lower bound of the latency); \"from INSERT sent\" runs from before the statement was sent (an upper bound).\n\n")
	}

	// How.
	w("### How it was measured\n\n")
	w("- **(a)** go-mysql %s's `BinlogSyncer` in the bench process, with the daemon's syncer settings (`decoder.ConfigureSyncer`, checksum verification, rows of other tables left undecoded by `decoder.SkipUnstreamed`), from the start position to the end position of the range, counting the rows of the rows events. (a') adds the decoder's `Layout.Row` conversion of every row, (a'') also builds the change and its JSON, key and partition key as the relay does (into one reused buffer, as the relay does for the file and discard sinks; for Kinesis it allocates one per record, which the sink keeps until acknowledged). Wall time from connecting to the last event; CPU is the bench process's.\n", mc.GoMySQL)
	w("- **(b)** the real binary, `%s cdc run --include %s.%s --sink discard|file:PATH --start file:… --stop-at file:…`, a fresh file checkpoint each run; it exits by itself once everything before `--stop-at` is delivered. Wall time from process start to exit (connecting, loading the schema and replaying the binlog file's head to learn the GTID set included); \"first row\" is when `/metrics` (polled every 5 ms) first showed an acknowledged record. CPU and peak RSS are the child's own (`wait4` rusage, `ru_maxrss`). The file sink's output was checked to hold one line per row.\n", o.bin[strings.LastIndex(o.bin, "/")+1:], benchDB, tableBatched)
	w("- **(c)** the same into kinesalite (`--sink kinesis`), then the stream was read back and its records counted.\n")
	w("- **Latency**: commit time is the client's clock right after the autocommitted INSERT returned (Go's clock, ns); arrival is kinesalite's `ApproximateArrivalTimestamp` (its `Date.now()` when it took the PutRecords request, ms resolution, truncated); both clocks are this machine's. The event's `ts_ms` (ms) splits it into commit → encoded and encoded → stored. The histogram quantiles are interpolated within exponential buckets (1 ms × 2ⁿ), so they are coarse.\n")
	w("- Ranges start after `FLUSH BINARY LOGS` (so the daemon's replay of the file's head is short) and end at `SHOW MASTER STATUS` after the last commit; when that commit rotated the binlog, a one-row transaction of another table ends the range instead, so that `--stop-at` falls on a transaction's end. The loads hold the lock the tests take while they switch `binlog_row_metadata` (`strangler_binlog_metadata`), so the bench's table maps carry FULL metadata.\n")
	w("- **RSS flatness**: the daemon's peak RSS over the %s rows in %d transactions and over the %s rows in one transaction, both into discard.\n", num(o.rows), o.rows/o.txRows, num(o.rows))
	w("- Rounds run (a), (b) discard, (a'), (a''), (b) file, (a) on the one-transaction range, then the daemon on it, in that order, %d times; ratios are also given within each round, whose passes ran under the same load.\n\n", o.rounds)

	w("### Caveats\n\n")
	w("- The machine is shared (%d cores) with other work, including MariaDB and kinesalite themselves: rates vary between runs by tens of percent; compare the ratios. MariaDB's binlog dump thread competes with the reader for the same cores.\n", mc.NProc)
	w("- Other users of the stack write into the binlog while the bench loads its rows; both (a) and (b) read their events and skip their rows undecoded. A part is loaded again (up to %d times) while they make up more than %.0f%% of its range, in bytes or in rows events: the daemon's memory is go-mysql's queue of up to 1024 decoded events (`EventCacheCount`), so many tiny foreign transactions in the range lower the peak RSS of (b) (to about half in a run where they were about as many rows events as the bench's own).\n", loadAttempts, 100*maxForeign)
	w("- (b)'s wall time includes the daemon's start-up (connecting, `SHOW` queries, schema load, checkpoint file) and its clean stop; (a) has none of it.\n")
	if r.kinesisRows < o.rows {
		w("- (c) covers %s rows, not the whole %s: kinesalite keeps every record in its Node.js heap (a run of a million took it to about 3 GB of RSS, near its 4 GB heap limit, on a stack other work shares), slows down as it fills (about 4,700 rows/s over a million), and reading a million back for the check takes minutes. `go run ./internal/bench/cdcbench -kinesis-rows %d` streams them all.\n", num(r.kinesisRows), num(o.rows), o.rows)
	}
	w("- kinesalite is a single-threaded Node.js server: its rate, not the daemon's, bounds (c), and it says nothing about AWS's latency. The daemon's CPU per row is higher there than into discard: a profile of (c) (`-profile-sink kinesis`) puts about a fifth of it in the AWS SDK's PutRecords path (mostly its JSON and base64 serialization) and another fifth in the GC, with records held in memory while kinesalite answers slowly.\n")
	w("- Latency: the commit time is taken when the client sees `COMMIT` return, after the row is in the binlog (MariaDB writes the binlog before it answers, and the dump thread may send the event first); on a loaded machine the client can also be scheduled late, and arrival times are truncated to the millisecond, so the smallest latencies can come out negative. The figures include the sink's `--linger` (50 ms: a batch waits that long to fill), which dominates the median at this rate.\n")
	w("\n")

	writeWhereTimeGoes(w, r)
	return strings.TrimRight(b.String(), "\n") + "\n"
}

// writeWhereTimeGoes attributes the daemon's CPU: by difference between the in-process
// passes, and from the CPU profile when one was taken.
func writeWhereTimeGoes(w func(string, ...any), r *results) {
	a, okA := r.best(mRawBatched)
	a1, ok1 := r.best(mLayout)
	a2, ok2 := r.best(mEncode)
	bd, okB := r.best(mDiscard)
	bf, okF := r.best(mFile)
	if !okA || !ok1 || !ok2 || !okB || !okF {
		return
	}
	// CPU time varies less with the machine's load than wall time: the least of the
	// rounds is the closest to the work's own cost.
	perRow := func(m measurement) float64 {
		least := m.CPU
		for _, x := range r.rounds[m.Name] {
			if x.CPU > 0 && x.CPU < least {
				least = x.CPU
			}
		}
		return float64(least.Nanoseconds()) / 1000 / float64(max(m.Rows, 1))
	}
	w("### Where the daemon's time goes\n\n")
	w("CPU per row, from the passes above (the least of the rounds; in-process passes include the bench's own GC):\n\n")
	w("| step | CPU µs/row | added |\n|---|--:|--:|\n")
	w("| (a) go-mysql parses the rows events | %.2f | |\n", perRow(a))
	w("| (a') + `Layout.Row` value conversion | %.2f | %+.2f |\n", perRow(a1), perRow(a1)-perRow(a))
	w("| (a'') + change, JSON, partition key | %.2f | %+.2f |\n", perRow(a2), perRow(a2)-perRow(a1))
	w("| (b) the daemon → discard (reader, decoder, relay, checkpointer, metrics, start-up) | %.2f | %+.2f |\n", perRow(bd), perRow(bd)-perRow(a2))
	w("| (b) the daemon → file (write; fsync per 8 MiB written or per linger) | %.2f | %+.2f |\n\n", perRow(bf), perRow(bf)-perRow(bd))
	w("Into discard the daemon spends %.1f× the CPU per row of go-mysql's decoding alone: of the %.2f µs more, %.2f µs are the value conversion and JSON encoding any pipeline of this shape needs ((a'') − (a)) and %.2f µs the rest of the daemon. With both cores shared (by the daemon's goroutines, MariaDB's dump thread and whatever else runs), its rate follows its CPU per row.\n\n",
		perRow(bd)/perRow(a), perRow(bd)-perRow(a), perRow(a2)-perRow(a), perRow(bd)-perRow(a2))
	if !r.profileRan || len(r.profileCum) == 0 {
		return
	}
	share := func(names ...string) float64 {
		var t float64
		for _, n := range names {
			t += r.profileCum[n]
		}
		return t
	}
	const (
		readLoop = "github.com/strangler/strangler/cdc.(*Daemon).read"
		onStream = "github.com/go-mysql-org/go-mysql/replication.(*BinlogSyncer).onStream"
	)
	rows := []struct {
		what  string
		names []string
	}{
		{"go-mysql parsing events, in its own goroutine (`BinlogSyncer.onStream`)", []string{onStream}},
		{"… of which DATETIME formatting with `fmt.Sprintf` (go-mysql's `formatDatetime`)", []string{"github.com/go-mysql-org/go-mysql/replication.formatDatetime"}},
		{"the daemon's read loop, one goroutine (`Daemon.read`: reader → decoder → relay → `sink.Put`)", []string{readLoop}},
		{"… `Layout.Row` value conversion", []string{"github.com/strangler/strangler/cdc/decoder.(*Layout).Row"}},
		{"… JSON encoding (`Change.AppendJSON`)", []string{"github.com/strangler/strangler/cdc/event.(*Change).AppendJSON"}},
		{"… partition key and key (`PartitionKey`, `AppendKey`)", []string{"github.com/strangler/strangler/cdc/event.(*Change).PartitionKey", "github.com/strangler/strangler/cdc/event.(*Change).AppendKey"}},
		{"… checkpoint tracking (`Checkpointer.Track`, `Ack`)", []string{"github.com/strangler/strangler/cdc/checkpoint.(*Checkpointer).Track", "github.com/strangler/strangler/cdc/checkpoint.(*Checkpointer).Ack"}},
		{"the Kinesis sink's PutRecords calls (`kinesis.(*Sink).send`)", []string{"github.com/strangler/strangler/cdc/sink/kinesis.(*Sink).send.func1"}},
		{"… of which the SDK's request serialization (JSON, base64)", []string{"github.com/aws/smithy-go/transport/http/protocol/awsjson.(*Protocol).SerializeRequest"}},
		{"garbage collector, background marking (`gcBgMarkWorker`)", []string{"runtime.gcBgMarkWorker"}},
		{"memory allocation, GC assists included (`mallocgc`, spread over the rows above)", []string{"runtime.mallocgc"}},
	}
	p := r.profileRate
	w("CPU profile of the same pipeline run in the bench process (`cdc.Run` into %s over %s rows of the batched range: %s of CPU samples in %.1fs; profiled runs are slower, the shares are what counts). Shares are cumulative and overlap (a part includes what it calls):\n\n",
		r.o.profileSink, num(int(p.Rows)), r.profileTotal, p.Wall.Seconds())
	w("| part | share of CPU |\n|---|--:|\n")
	for _, x := range rows {
		if v := share(x.names...); v > 0 {
			w("| %s | %.0f%% |\n", x.what, v)
		}
	}
	loop := share(readLoop) / 100 * r.profileTotal.Seconds()
	if loop > 0 {
		w("\nThe read loop is serial: at %.2f µs of CPU per row it alone caps the daemon at about %s rows/s with a core to itself, and it shares this machine's %d cores with go-mysql's parser, the GC and MariaDB's binlog dump thread.\n",
			loop*1e6/float64(max(p.Rows, 1)), num(int(float64(p.Rows)/loop)), r.machine.NProc)
	}
	w("\n<details><summary>pprof -top</summary>\n\n```\n%s\n```\n</details>\n\n", trimPprof(r.profileTop))
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func reloads(ds *dataset) string {
	if ds.Loads <= 2 {
		return ""
	}
	return fmt.Sprintf("; %d loads were made, the others' writes having filled too much of the earlier ranges", ds.Loads)
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}

// trimPprof keeps pprof's table and drops its file header lines.
func trimPprof(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "Showing") || strings.Contains(l, "flat%") {
			return strings.Join(lines[i:], "\n")
		}
	}
	return s
}

func num(n int) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

func secs(s float64) string {
	if math.IsNaN(s) {
		return "–"
	}
	return ms(time.Duration(s * float64(time.Second)))
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
}

// writeSection replaces the CDC section of path, creating the file (with an intro) or the
// markers when missing; the rest of the file is left as it is.
func writeSection(path, section string) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	text := string(old)
	if text == "" {
		text = benchmarksIntro
	}
	block := sectionBegin + "\n" + section + sectionEnd
	i := strings.Index(text, sectionBegin)
	j := strings.Index(text, sectionEnd)
	switch {
	case i >= 0 && j > i:
		text = text[:i] + block + text[j+len(sectionEnd):]
	case i < 0 && j < 0:
		text = strings.TrimRight(text, "\n") + "\n\n" + block + "\n"
	default:
		return fmt.Errorf("%s: the markers %s and %s are not both there in order: fix them by hand", path, sectionBegin, sectionEnd)
	}
	return os.WriteFile(path, []byte(text), 0o644)
}
