package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/strangler/strangler/compare"
	"github.com/strangler/strangler/compare/mapping"
	"github.com/strangler/strangler/compare/report"
	"github.com/strangler/strangler/compare/shadow"
	"github.com/strangler/strangler/compare/store"
	"github.com/strangler/strangler/compare/tally"
	"github.com/strangler/strangler/internal/cliconfig"
	"github.com/strangler/strangler/internal/metricsserver"
	"github.com/strangler/strangler/migrations"
)

// Exit codes of compare: usable as a gate in CI and cut-over runbooks.
const (
	exitMismatch = 1
	exitFailed   = 2
)

func newCompareCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "compare",
		Short: "Prove the new service matches the monolith: data, behaviour, and parity reports",
		Long: `Prove the new service matches the monolith before cutting over.

  compare data     table against table, MySQL/MariaDB or PostgreSQL on either side, on live data
  compare shadow   an HTTP proxy in front of the monolith mirroring requests to the new service
  compare report   runs and their history as JSON, Markdown and HTML, with a per-table
                   "ready to cut over" verdict

Exit codes: 0 everything matches, 1 differences found, 2 error. See docs/compare.md.`,
		// Errors before a command runs (bad flags, configuration) are errors: exit 2.
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if err := cliconfig.Apply(cmd, g.config); err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			return nil
		},
	}
	cmd.AddCommand(newCompareDataCommand(g), newCompareReportCommand(g), newCompareShadowCommand(g))
	for _, c := range cmd.Commands() {
		c.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
			return &exitError{code: exitFailed, err: fmt.Errorf("%w (see strangler %s --help)", err, c.CommandPath()[len("strangler "):])}
		})
	}
	return cmd
}

type reportFlags struct {
	json, md, html string
	threshold      float64
	window         int
}

func (r *reportFlags) add(cmd *cobra.Command, prefix string) {
	f := cmd.Flags()
	f.StringVar(&r.json, prefix+"json", "", "write the JSON report (docs/compare-report.schema.json) to FILE ('-': stdout)")
	f.StringVar(&r.md, prefix+"md", "", "write the Markdown report to FILE ('-': stdout)")
	f.StringVar(&r.html, prefix+"html", "", "write the self-contained HTML report to FILE")
	f.Float64Var(&r.threshold, "threshold", 99.99, "parity (percent) a table needs in each of the last --window runs to be ready to cut over")
	f.IntVar(&r.window, "window", 3, "how many recent runs the readiness verdict looks at")
}

func (r *reportFlags) write(cmd *cobra.Command, d *report.Document) error {
	for _, out := range []struct {
		path  string
		write func(io.Writer) error
	}{{r.json, d.WriteJSON}, {r.md, d.WriteMarkdown}, {r.html, d.WriteHTML}} {
		if out.path == "" {
			continue
		}
		if out.path == "-" {
			if err := out.write(cmd.OutOrStdout()); err != nil {
				return err
			}
			continue
		}
		f, err := os.Create(out.path)
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
		if err := out.write(f); err != nil {
			f.Close()
			return fmt.Errorf("report %s: %w", out.path, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("report %s: %w", out.path, err)
		}
	}
	return nil
}

func newCompareDataCommand(g *globals) *cobra.Command {
	var (
		cfg          compare.DataConfig
		tables       []string
		mappingPath  string
		storeAddr    string
		prefix       string
		fixPath      string
		progressMode string
		rep          reportFlags
	)
	cmd := &cobra.Command{
		Use:   "data",
		Short: "Compare tables of the legacy database with the new service's, across engines, on live data",
		Long: `Compare tables of the legacy database (--source) with the new service's (--target). Either side
is MySQL/MariaDB (mysql://user:pass@tcp(host:port)/db) or PostgreSQL (postgres://user:pass@host:port/db).

Each table is cut into key-ordered chunks sized to --chunk-time; both sides checksum each
chunk inside the database, in parallel, over canonical forms of the values (so DECIMAL(14,4)
and NUMERIC(12,2), or VARCHAR and TEXT, holding the same values are equal). A differing chunk
is bisected down to small ranges whose rows are matched one by one. Memory stays bounded
whatever the table size.

On live data the target lags by the replication delay: a row found different is checked
again --recheck-after later, up to --recheck-times times, and counts as a mismatch only if it
still differs; rows that converge are counted as in flight.

Simple cases: --table orders (same name both sides) or --table orders=orders_v2. Real ones:
a mapping file (--mapping FILE, or tables: in the --config file) with key columns, renames,
ignored columns, normalisation (scale, cents, trim, case, time_zone, json, map, expressions)
and a row filter per side. See docs/compare.md.

Exit code 0: every table matches; 1: differences found; 2: error.`,
		Example: `  strangler compare data --source 'mysql://ro:pw@tcp(legacy:3306)/shop' \
    --target 'postgres://ro:pw@orders-db:5432/orders' --table orders --table customers=clients \
    --store 'mysql://strangler:pw@tcp(ops:3306)/strangler' --report-html parity.html`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			err := runCompareData(cmd, g, &cfg, tables, mappingPath, storeAddr, prefix, fixPath, progressMode, &rep)
			var ee *exitError
			if err != nil && !errors.As(err, &ee) {
				err = &exitError{code: exitFailed, err: err}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Source, "source", "", "legacy database: mysql://... or postgres://... (required)")
	f.StringVar(&cfg.Target, "target", "", "new service's database: mysql://... or postgres://... (required)")
	f.StringArrayVar(&tables, "table", nil, "table to compare: NAME, or legacy_name=target_name (repeatable)")
	f.StringVar(&mappingPath, "mapping", "", "YAML file whose tables: section maps tables and columns (docs/compare.md)")
	// The --config file may carry tables: (mappings), read by runCompareData itself.
	cmd.Annotations = map[string]string{cliconfig.SectionsAnnotation: "tables"}
	f.StringVar(&storeAddr, "store", "", "parity store: mysql://... database for the toolkit's tables (runs, progress, history)")
	f.StringVar(&prefix, "table-prefix", migrations.DefaultPrefix, "prefix of the toolkit's table names in --store")
	f.StringVar(&cfg.Name, "name", "", "label of the run in the store and reports")
	f.BoolVar(&cfg.Resume, "resume", false, "continue the latest unfinished run of the same comparison (needs --store)")
	f.DurationVar(&cfg.ChunkTime, "chunk-time", 500*time.Millisecond, "target time to checksum one chunk on the slower side (pt-table-checksum's half-second)")
	f.IntVar(&cfg.MinChunkRows, "chunk-rows-min", 200, "smallest chunk, rows")
	f.IntVar(&cfg.MaxChunkRows, "chunk-rows-max", 1000000, "largest chunk, rows: chunks grow toward it while they match and halve after one differs")
	f.IntVar(&cfg.Workers, "workers", 2, "chunks compared at once (each runs one query per side)")
	f.IntVar(&cfg.Bisect, "bisect-factor", 16, "parts a differing range is cut into at each step")
	f.Int64Var(&cfg.RowThreshold, "row-threshold", 2048, "ranges with at most this many rows per side are matched row by row")
	f.DurationVar(&cfg.RecheckAfter, "recheck-after", 5*time.Second, "wait before checking a differing row again (set above the replication delay)")
	f.IntVar(&cfg.RecheckTimes, "recheck-times", 3, "checks again before a difference counts (0: report at once)")
	f.IntVar(&cfg.MaxSamples, "max-samples", 1000, "differing rows listed per table and kind (counts are never capped)")
	f.StringVar(&fixPath, "fix-sql", "", "write to FILE the statements that would make the target match (tables whose columns map one to one)")
	f.StringVar(&progressMode, "progress", "auto", "progress bar on stderr: auto (on a terminal), always or never")
	rep.add(cmd, "report-")
	return cmd
}

func runCompareData(cmd *cobra.Command, g *globals, cfg *compare.DataConfig, tableFlags []string, mappingPath, storeAddr, prefix, fixPath, progressMode string, rep *reportFlags) error {
	ctx := cmd.Context()
	if cfg.Source == "" || cfg.Target == "" {
		return &exitError{code: exitFailed, err: errors.New("--source and --target are required: the legacy and the new database, e.g. --source 'mysql://user:pw@tcp(host:3306)/db' --target 'postgres://user:pw@host:5432/db'")}
	}
	logger, err := g.logger(cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	cfg.Logger = logger
	var flagTables, fileTables []mapping.Table
	for _, v := range tableFlags {
		t, err := mapping.ParseTableFlag(v)
		if err != nil {
			return err
		}
		flagTables = append(flagTables, t)
	}
	for _, p := range []string{g.config, mappingPath} {
		if p == "" {
			continue
		}
		ts, err := mapping.Load(p)
		if err != nil {
			return err
		}
		fileTables = append(fileTables, ts...)
	}
	cfg.Tables = mapping.Merge(flagTables, fileTables)
	if len(cfg.Tables) == 0 {
		return errors.New("no tables to compare: give --table NAME (or legacy=target), or tables: in --mapping FILE")
	}
	if cfg.Resume && storeAddr == "" {
		return errors.New("--resume needs --store: progress is kept in the parity store")
	}
	var st *store.Store
	if storeAddr != "" {
		if st, err = store.Open(ctx, storeAddr, prefix); err != nil {
			return err
		}
		defer st.Close()
		cfg.Store = st
	}
	if fixPath != "" {
		fx, err := os.Create(fixPath)
		if err != nil {
			return fmt.Errorf("--fix-sql: %w", err)
		}
		defer fx.Close()
		fmt.Fprintf(fx, "-- strangler compare data: statements that make the target match the source (%s)\n", time.Now().UTC().Format(time.RFC3339))
		cfg.FixSQL = fx
	}
	if progressMode == "always" || (progressMode == "auto" && isTerminal(cmd.ErrOrStderr())) {
		cfg.Progress = newBarProgress(cmd.ErrOrStderr())
	}
	run, err := compare.RunData(ctx, *cfg)
	if err != nil && run == nil {
		return err
	}
	runs := []report.Run{*run}
	if st != nil {
		if hist, herr := st.Runs(context.WithoutCancel(ctx), store.Query{Limit: 50}); herr == nil && len(hist) > 0 {
			runs = hist
			if run.ID != 0 && hist[0].ID == run.ID {
				runs[0] = *run // the run as it ends, samples included
			}
		} else if herr != nil {
			logger.Warn("could not read run history", "err", herr)
		}
	}
	doc := report.Build(runs, report.Policy{Threshold: rep.threshold, Window: rep.window}, time.Now())
	if werr := rep.write(cmd, doc); werr != nil {
		return werr
	}
	printSummary(cmd.OutOrStdout(), run)
	if err != nil {
		return err
	}
	switch run.Verdict {
	case report.Match:
		return nil
	case report.Mismatch:
		return &exitError{code: exitMismatch, err: errors.New("differences found")}
	}
	var failed []string
	for _, t := range run.Tables {
		if t.Verdict == report.Error {
			failed = append(failed, t.Source+": "+t.Error)
		}
	}
	return &exitError{code: exitFailed, err: fmt.Errorf("could not compare %s", strings.Join(failed, "; "))}
}

func printSummary(w io.Writer, run *report.Run) {
	for _, t := range run.Tables {
		name := t.Source
		if t.Target != t.Source {
			name += " → " + t.Target
		}
		switch t.Verdict {
		case report.Error:
			fmt.Fprintf(w, "%-40s error: %s\n", name, t.Error)
		default:
			fmt.Fprintf(w, "%-40s %-8s source %d rows, target %d rows, missing %d, extra %d, changed %d, in flight %d, parity %.4f%%\n",
				name, t.Verdict, t.SourceRows, t.TargetRows, t.Counts.Missing, t.Counts.Extra, t.Counts.Changed, t.Counts.InFlight, t.Parity)
		}
	}
	if run.ID != 0 {
		fmt.Fprintf(w, "run #%d: %s\n", run.ID, run.Verdict)
	} else {
		fmt.Fprintf(w, "verdict: %s\n", run.Verdict)
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// barProgress draws one progress bar per table on a terminal.
type barProgress struct {
	w   io.Writer
	mu  sync.Mutex
	bar *progressbar.ProgressBar
}

func newBarProgress(w io.Writer) *barProgress { return &barProgress{w: w} }

func (p *barProgress) Start(table string, estimate int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if estimate <= 0 {
		estimate = -1
	}
	p.bar = progressbar.NewOptions64(estimate,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(table),
		progressbar.OptionShowCount(),
		progressbar.OptionSetItsString("rows"),
		progressbar.OptionShowIts(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(p.w) }),
	)
}

func (p *barProgress) Add(_ string, rows int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		// Row estimates are approximate: grow the bar rather than overflow it.
		if max := p.bar.GetMax64(); max > 0 && p.bar.State().CurrentNum+rows > max {
			p.bar.ChangeMax64(p.bar.State().CurrentNum + rows)
		}
		_ = p.bar.Add64(rows)
	}
}

func (p *barProgress) Finish(string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
}

func newCompareReportCommand(g *globals) *cobra.Command {
	var (
		storeAddr, prefix string
		limit             int
		failUnready       bool
		rep               reportFlags
	)
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Render stored parity runs and their history: JSON, Markdown, self-contained HTML",
		Long: `Render the runs kept in the parity store (--store) and their history: the latest data run's
tables with their differing rows (both values side by side), parity per table over time,
the latest shadow run's mismatches by endpoint and field, and per table a "ready to cut
over" verdict: parity at least --threshold in each of the last --window runs and no
difference in the latest.

With no --json/--md/--html, the Markdown goes to stdout. --fail-unready exits 1 unless
every table is ready (a cut-over gate).`,
		Example: `  strangler compare report --store 'mysql://strangler:pw@tcp(ops:3306)/strangler' \
    --html parity.html --md parity.md --threshold 99.99 --window 5`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if storeAddr == "" {
				return &exitError{code: exitFailed, err: errors.New("--store is required: the parity store the runs were kept in (mysql://...)")}
			}
			st, err := store.Open(cmd.Context(), storeAddr, prefix)
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			defer st.Close()
			runs, err := st.Runs(cmd.Context(), store.Query{Limit: limit})
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			if len(runs) == 0 {
				return &exitError{code: exitFailed, err: errors.New("the parity store holds no run yet: run strangler compare data (or shadow) with --store first")}
			}
			doc := report.Build(runs, report.Policy{Threshold: rep.threshold, Window: rep.window}, time.Now())
			if rep.json == "" && rep.md == "" && rep.html == "" {
				rep.md = "-"
			}
			if err := rep.write(cmd, doc); err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			if ready, total := doc.Ready(); failUnready && ready < total {
				return &exitError{code: exitMismatch, err: fmt.Errorf("%d of %d tables are not ready to cut over", total-ready, total)}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&storeAddr, "store", "", "parity store: mysql://... (required)")
	f.StringVar(&prefix, "table-prefix", migrations.DefaultPrefix, "prefix of the toolkit's table names in --store")
	f.IntVar(&limit, "runs", 50, "how many recent runs to read")
	f.BoolVar(&failUnready, "fail-unready", false, "exit 1 unless every table is ready to cut over")
	rep.add(cmd, "")
	return cmd
}

func newCompareShadowCommand(g *globals) *cobra.Command {
	var (
		listen, legacy, candidate, secondary string
		storeAddr, prefix, name, metricsAddr string
		cfg                                  shadow.Config
		flushEvery                           time.Duration
		maxSamples                           int
	)
	cmd := &cobra.Command{
		Use:   "shadow",
		Short: "Proxy in front of the monolith that mirrors requests to the new service and compares the answers",
		Long: `An HTTP proxy in front of the monolith (--legacy). Every request goes to the legacy service and
its response goes back unchanged. A sampled share of requests (--sample percent; only --methods,
safe ones by default) is mirrored afterwards, off the request path, to the new service
(--candidate); status, the --headers chosen and JSON bodies are compared, with --ignore paths
and numeric tolerance.

Noise is learnt as Diffy does: each mirrored request is also sent to the legacy service a
second time (or to --legacy-secondary), and fields that differ between two legacy answers
(timestamps, generated ids) are not reported. --no-noise turns this off (and the second call).

The legacy path pays only for buffering bodies up to --max-body; a slow or failing candidate
never fails or slows a request: mirrors beyond --queue are dropped and counted.

Results are kept per endpoint (method and route, ids folded) in the parity store (--store),
flushed every --flush-every, and exposed as Prometheus metrics on --metrics-addr.
SIGTERM/SIGINT: stop accepting, finish the queued comparisons, save the run, exit 0.`,
		Example: `  strangler compare shadow --listen :8080 --legacy http://monolith:8080 --candidate http://orders:8080 \
    --sample 10 --ignore '$.meta.requestId' --store 'mysql://strangler:pw@tcp(ops:3306)/strangler' --metrics-addr :9102`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			err := runCompareShadow(cmd, g, &cfg, listen, legacy, candidate, secondary, storeAddr, prefix, name, metricsAddr, flushEvery, maxSamples)
			var ee *exitError
			if err != nil && !errors.As(err, &ee) {
				err = &exitError{code: exitFailed, err: err}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:8080", "address the proxy listens on")
	f.StringVar(&legacy, "legacy", "", "URL of the monolith: every request goes there (required)")
	f.StringVar(&candidate, "candidate", "", "URL of the new service: sampled requests are mirrored to it (required)")
	f.StringVar(&secondary, "legacy-secondary", "", "URL of a second legacy instance for learning noise (default: call --legacy twice)")
	f.BoolVar(&cfg.NoNoise, "no-noise", false, "do not learn noise (no second legacy call)")
	f.Float64Var(&cfg.Sample, "sample", 100, "percent of eligible requests mirrored")
	f.StringSliceVar(&cfg.Methods, "methods", []string{"GET", "HEAD", "OPTIONS"}, "methods mirrored (others are only proxied)")
	f.StringSliceVar(&cfg.Rules.Headers, "headers", []string{"Content-Type"}, "response headers compared")
	f.StringSliceVar(&cfg.Rules.Ignore, "ignore", nil, "JSON paths not compared: $.meta.requestId, $.items[*].updatedAt, $..etag")
	f.Float64Var(&cfg.Rules.ToleranceAbs, "tolerance", 0, "numbers differing by at most this are equal")
	f.Float64Var(&cfg.Rules.ToleranceRel, "tolerance-rel", 0, "numbers differing by at most this fraction of the larger are equal")
	f.DurationVar(&cfg.Timeout, "timeout", 5*time.Second, "candidate timeout")
	f.Int64Var(&cfg.MaxBody, "max-body", 1<<20, "bodies larger than this many bytes are proxied but not mirrored")
	f.IntVar(&cfg.Queue, "queue", 256, "mirrors waiting at most; more are dropped (counted)")
	f.IntVar(&cfg.Workers, "workers", 8, "mirrors compared at once")
	f.IntVar(&maxSamples, "max-samples", 100, "mismatch samples kept per endpoint")
	f.StringVar(&storeAddr, "store", "", "parity store: mysql://... (results per endpoint, for compare report)")
	f.StringVar(&prefix, "table-prefix", migrations.DefaultPrefix, "prefix of the toolkit's table names in --store")
	f.StringVar(&name, "name", "", "label of the run in the store and reports")
	f.DurationVar(&flushEvery, "flush-every", 10*time.Second, "how often results are saved to --store")
	f.StringVar(&metricsAddr, "metrics-addr", "", "serve Prometheus metrics on this address (/metrics)")
	return cmd
}

func runCompareShadow(cmd *cobra.Command, g *globals, cfg *shadow.Config, listen, legacy, candidate, secondary, storeAddr, prefix, name, metricsAddr string, flushEvery time.Duration, maxSamples int) error {
	ctx := cmd.Context()
	logger, err := g.logger(cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	parse := func(flag, v string, required bool) (*url.URL, error) {
		if v == "" {
			if required {
				return nil, fmt.Errorf("--%s is required, e.g. --%s http://host:8080", flag, flag)
			}
			return nil, nil
		}
		u, err := url.Parse(v)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("--%s %q: give an http(s)://host:port URL", flag, v)
		}
		return u, nil
	}
	if cfg.Legacy, err = parse("legacy", legacy, true); err != nil {
		return err
	}
	if cfg.Candidate, err = parse("candidate", candidate, true); err != nil {
		return err
	}
	if cfg.LegacySecondary, err = parse("legacy-secondary", secondary, false); err != nil {
		return err
	}
	cfg.Logger = logger
	cfg.Tally = tally.New(maxSamples)
	reg := prometheus.NewRegistry()
	cfg.Metrics = shadow.NewMetrics(reg)
	proxy, err := shadow.New(*cfg)
	if err != nil {
		return err
	}
	run := &report.Run{Kind: "shadow", Name: name, Status: "running", StartedAt: time.Now().UTC(), Source: cfg.Legacy.Redacted(), Target: cfg.Candidate.Redacted()}
	var st *store.Store
	if storeAddr != "" {
		if st, err = store.Open(ctx, storeAddr, prefix); err != nil {
			return err
		}
		defer st.Close()
		if run.ID, err = st.StartRun(ctx, run, "shadow:"+run.Source+">"+run.Target, nil); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", listen, err)
	}
	srv := &http.Server{Handler: proxy, ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	var msrv *http.Server
	if metricsAddr != "" {
		var err error
		if msrv, err = metricsserver.Serve(metricsAddr, reg, nil, logger); err != nil {
			srv.Close()
			return err
		}
	}
	logger.Info("shadow proxy listening", "listen", ln.Addr().String(), "legacy", run.Source, "candidate", run.Target, "sample", cfg.Sample, "run", run.ID)
	fmt.Fprintf(cmd.OutOrStdout(), "listening on %s\n", ln.Addr())
	if flushEvery <= 0 {
		flushEvery = 10 * time.Second
	}
	tick := time.NewTicker(flushEvery)
	defer tick.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
			if st != nil {
				if err := st.SaveEndpoints(ctx, run.ID, cfg.Tally.Snapshot()); err != nil {
					logger.Warn("could not save shadow results", "err", err)
				}
			}
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	if msrv != nil {
		_ = msrv.Shutdown(sctx)
	}
	proxy.Close()
	run.Endpoints = cfg.Tally.Snapshot()
	run.Status = "done"
	run.Verdict = report.Match
	for _, e := range run.Endpoints {
		if e.Mismatches > 0 {
			run.Verdict = report.Mismatch
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%-40s requests %d, compared %d, matches %d, mismatches %d, candidate errors %d\n",
			e.Endpoint, e.Requests, e.Compared, e.Matches, e.Mismatches, e.CandidateErrors)
	}
	now := time.Now().UTC()
	run.FinishedAt = &now
	if st != nil {
		if err := st.FinishRun(sctx, run); err != nil {
			return err
		}
	}
	logger.Info("shadow proxy stopped", "verdict", run.Verdict)
	return nil
}
