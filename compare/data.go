// Package compare proves a new service matches the monolith it replaces: its data
// (RunData: table against table, across MySQL/MariaDB and PostgreSQL, on live data) and its
// behaviour (package experiment for code paths, package shadow for HTTP). Findings are
// stored (package store) and rendered (package report).
//
// A data run, per table: the source is cut into key-ordered chunks sized to a target time
// (chunker); both sides checksum each chunk inside the database in parallel (source); a
// differing chunk is bisected down to rows (differ); rows found different are checked
// again after a delay (rechecker) and count as mismatches only if they still differ.
package compare

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/strangler/strangler/compare/chunker"
	"github.com/strangler/strangler/compare/differ"
	"github.com/strangler/strangler/compare/mapping"
	"github.com/strangler/strangler/compare/rechecker"
	"github.com/strangler/strangler/compare/report"
	"github.com/strangler/strangler/compare/source"
	"github.com/strangler/strangler/internal/version"
)

// DataConfig is what `strangler compare data` runs.
type DataConfig struct {
	Source, Target string // mysql:// or postgres:// addresses
	Tables         []mapping.Table
	Name           string // label of the run in the store

	ChunkTime      time.Duration // target time per chunk (both sides in parallel)
	StartChunkRows int
	MinChunkRows   int
	MaxChunkRows   int
	Workers        int   // chunks compared at once
	Bisect         int   // parts per bisection step
	RowThreshold   int64 // rows per side below which a range is matched row by row

	RecheckAfter time.Duration
	RecheckTimes int
	MaxSamples   int // per table and kind

	FixSQL   io.Writer // statements making the target match; nil: none
	Store    RunStore  // progress and results; nil: none (no resume)
	Resume   bool      // continue the latest unfinished run of the same comparison
	Progress Progress  // nil: none
	Logger   *slog.Logger
}

func (c *DataConfig) defaults() {
	if c.ChunkTime <= 0 {
		c.ChunkTime = 100 * time.Millisecond
	}
	if c.MinChunkRows <= 0 {
		c.MinChunkRows = 200
	}
	if c.MaxChunkRows <= 0 {
		c.MaxChunkRows = 2000
	}
	if c.StartChunkRows <= 0 {
		c.StartChunkRows = 1000
	}
	if c.Workers <= 0 {
		c.Workers = 2
	}
	if c.MaxSamples < 0 {
		c.MaxSamples = 0
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
}

// Progress is told how far each table got.
type Progress interface {
	Start(table string, estimatedRows int64)
	Add(table string, rows int64)
	Finish(table string)
}

// TableProgress is what is kept of a table while a run goes on, to resume it.
type TableProgress struct {
	Source, Target string
	Resume         []string // canonical key of the last chunk completed; nil: from the start
	Done           bool
	Result         report.Table
}

// RunStore keeps runs and their progress (package store implements it on MySQL).
type RunStore interface {
	StartRun(ctx context.Context, r *report.Run, fingerprint string, config []byte) (int64, error)
	ResumableRun(ctx context.Context, kind, fingerprint string) (int64, bool, error)
	LoadTables(ctx context.Context, runID int64) ([]TableProgress, error)
	SaveTable(ctx context.Context, runID int64, tp TableProgress) error
	FinishRun(ctx context.Context, r *report.Run) error
}

// RunData compares every table of cfg and returns the run. An error is returned only when
// the run could not happen at all; a table that fails has verdict "error" and its message.
func RunData(ctx context.Context, cfg DataConfig) (*report.Run, error) {
	cfg.defaults()
	if len(cfg.Tables) == 0 {
		return nil, errors.New("no tables to compare: give --table NAME (or legacy=target) or a mapping with tables:")
	}
	conns := cfg.Workers*4 + 2
	src, err := source.Open(ctx, cfg.Source, conns)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	defer src.Close()
	tgt, err := source.Open(ctx, cfg.Target, conns)
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	defer tgt.Close()

	run := &report.Run{Kind: "data", Name: cfg.Name, Status: "running", StartedAt: time.Now().UTC(), Source: src.Addr, Target: tgt.Addr}
	fp := fingerprint(src.Addr, tgt.Addr, cfg.Tables)
	prior := map[string]TableProgress{}
	if cfg.Store != nil {
		conf, _ := json.Marshal(cfg.Tables)
		if cfg.Resume {
			id, ok, err := cfg.Store.ResumableRun(ctx, "data", fp)
			if err != nil {
				return nil, err
			}
			if ok {
				run.ID = id
				tps, err := cfg.Store.LoadTables(ctx, id)
				if err != nil {
					return nil, err
				}
				for _, tp := range tps {
					prior[tp.Source+"\x00"+tp.Target] = tp
				}
				cfg.Logger.Info("resuming run", "run", id, "tables_with_progress", len(tps))
			}
		}
		if run.ID == 0 {
			if run.ID, err = cfg.Store.StartRun(ctx, run, fp, conf); err != nil {
				return nil, err
			}
		}
	}
	for _, m := range cfg.Tables {
		tr := &tableRun{cfg: &cfg, run: run, src: src, tgt: tgt, m: m}
		if tp, ok := prior[m.Source+"\x00"+m.Target]; ok {
			tr.prior = &tp
		}
		t := tr.compare(ctx)
		if ctx.Err() != nil {
			run.Status = "interrupted"
			run.Error = ctx.Err().Error()
			run.Tables = append(run.Tables, t)
			return run, ctx.Err()
		}
		run.Tables = append(run.Tables, t)
	}
	run.Verdict = report.Verdict(run.Tables)
	run.Status = "done"
	now := time.Now().UTC()
	run.FinishedAt = &now
	if cfg.Store != nil {
		if err := cfg.Store.FinishRun(context.WithoutCancel(ctx), run); err != nil {
			return run, err
		}
	}
	return run, nil
}

func fingerprint(src, tgt string, tables []mapping.Table) string {
	b, _ := json.Marshal(struct {
		S, T   string
		Tables []mapping.Table
		V      string
	}{src, tgt, tables, "1"})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

type tableRun struct {
	cfg   *DataConfig
	run   *report.Run
	src   *source.DB
	tgt   *source.DB
	m     mapping.Table
	prior *TableProgress
	pair  *source.Pair

	mu       sync.Mutex
	result   report.Table
	resume   source.Key
	next     int64
	chunks   map[int64]*chunkState
	lastSave time.Time
	fixErr   error
}

type chunkState struct {
	hi       source.Key
	counted  bool
	src, tgt int64
	done     bool
	final    []differ.Finding
	inFlight int64
}

func (tr *tableRun) compare(ctx context.Context) report.Table {
	start := time.Now()
	tr.result = report.Table{Source: tr.m.Source, Target: tr.m.Target}
	log := tr.cfg.Logger.With("source_table", tr.m.Source, "target_table", tr.m.Target)
	if tr.prior != nil {
		if tr.prior.Done {
			log.Info("table already compared in the resumed run")
			t := tr.prior.Result
			t.Resumed = true
			t.Finish()
			return t
		}
		tr.result = tr.prior.Result
		tr.result.Source, tr.result.Target = tr.m.Source, tr.m.Target
		tr.result.Resumed = true
		tr.result.Error = ""
		tr.resume = tr.prior.Resume
	}
	err := tr.diff(ctx, log)
	tr.result.DurationMS += time.Since(start).Milliseconds()
	if err != nil {
		tr.result.Error = err.Error()
		log.Error("table comparison failed", "err", err)
	}
	tr.result.Finish()
	// A failed table is saved as not done, so that --resume tries it again.
	tr.save(context.WithoutCancel(ctx), true, err == nil)
	log.Info("table compared", "verdict", tr.result.Verdict, "source_rows", tr.result.SourceRows, "target_rows", tr.result.TargetRows,
		"missing", tr.result.Counts.Missing, "extra", tr.result.Counts.Extra, "changed", tr.result.Counts.Changed,
		"in_flight", tr.result.Counts.InFlight, "chunks", tr.result.Chunks, "duration", time.Since(start).Round(time.Millisecond))
	return tr.result
}

func (tr *tableRun) diff(ctx context.Context, log *slog.Logger) error {
	pair, err := source.Plan(ctx, tr.src, tr.tgt, tr.m)
	if err != nil {
		return err
	}
	tr.pair = pair
	tr.result.Key = pair.KeyNames
	tr.result.Columns = nil
	for _, c := range pair.Columns {
		tr.result.Columns = append(tr.result.Columns, c.Name)
	}
	tr.result.NotCompared = pair.NotCompared
	tr.result.Warnings = pair.Warnings
	for _, w := range pair.Warnings {
		log.Warn(w)
	}
	if tr.cfg.FixSQL != nil && !pair.OneToOne() {
		w := "no fix SQL for this table: its columns do not map one to one (renames are fine; expressions, normalisation and unmapped target columns are not)"
		tr.result.Warnings = append(tr.result.Warnings, w)
		log.Warn(w)
	}
	if p := tr.cfg.Progress; p != nil {
		p.Start(tr.m.Source, tr.src.EstimateRows(ctx, pair.Source.Table))
		defer p.Finish(tr.m.Source)
	}
	tr.chunks = map[int64]*chunkState{}
	tr.next = tr.result.Chunks

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d := differ.New(pair, differ.Options{Factor: tr.cfg.Bisect, Threshold: tr.cfg.RowThreshold})
	rc := rechecker.New(rechecker.Options{After: tr.cfg.RecheckAfter, Times: tr.cfg.RecheckTimes},
		func(ctx context.Context, sk, tk []source.Key) ([]differ.Finding, error) {
			return differ.Fetch(ctx, pair, sk, tk)
		},
		tr.finalised)
	sizer := chunker.NewSizer(tr.cfg.ChunkTime, tr.cfg.StartChunkRows, tr.cfg.MinChunkRows, tr.cfg.MaxChunkRows)
	chunks := make(chan chunker.Chunk, tr.cfg.Workers*2)

	g, gctx := errgroup.WithContext(ctx)
	recheckDone := make(chan error, 1)
	// Not gctx: errgroup cancels it as soon as the workers are done, and the rechecks
	// queued by the last chunks still have to run.
	go func() { recheckDone <- rc.Run(ctx) }()
	g.Go(func() error { return chunker.Walk(gctx, pair.Source, tr.resume, sizer, tr.next, chunks) })
	for w := 0; w < tr.cfg.Workers; w++ {
		g.Go(func() error {
			for c := range chunks {
				if err := tr.chunk(gctx, d, rc, sizer, c); err != nil {
					return err
				}
			}
			return nil
		})
	}
	err = g.Wait()
	if err != nil {
		cancel()
	}
	rc.Close()
	if rerr := <-recheckDone; err == nil && rerr != nil && !errors.Is(rerr, context.Canceled) {
		err = rerr
	}
	if err != nil {
		return err
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.chunks) > 0 {
		return fmt.Errorf("internal error: %d chunks left unfinished", len(tr.chunks))
	}
	return tr.fixErr
}

func (tr *tableRun) chunk(ctx context.Context, d *differ.Differ, rc *rechecker.Rechecker, sizer *chunker.Sizer, c chunker.Chunk) error {
	tr.mu.Lock()
	tr.chunks[c.Seq] = &chunkState{hi: c.Range.Hi}
	tr.mu.Unlock()
	var ss, ts []source.Sum
	var se, te time.Duration
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		t0 := time.Now()
		ss, err = tr.pair.Source.Sums(gctx, c.Range, nil)
		se = time.Since(t0)
		return
	})
	g.Go(func() (err error) {
		t0 := time.Now()
		ts, err = tr.pair.Target.Sums(gctx, c.Range, nil)
		te = time.Since(t0)
		return
	})
	if err := g.Wait(); err != nil {
		return err
	}
	s, t := ss[0], ts[0]
	// The slower side sets the pace; the source's rows are what the chunk was sized by.
	sizer.Observe(s.Count, max(se, te))
	if p := tr.cfg.Progress; p != nil {
		p.Add(tr.m.Source, s.Count)
	}
	tr.mu.Lock()
	cs := tr.chunks[c.Seq]
	cs.src, cs.tgt, cs.counted = s.Count, t.Count, true
	tr.mu.Unlock()
	sizer.Compared(s != t)
	var found []differ.Finding
	if s != t {
		err := d.Range(ctx, c.Range, s, t, func(fs []differ.Finding) error {
			found = append(found, fs...)
			return nil
		})
		if err != nil {
			return err
		}
	}
	return rc.Submit(ctx, c.Seq, found)
}

// finalised receives a chunk's outcome and moves the watermark over completed chunks in
// order, so that a resumed run never counts a chunk twice.
func (tr *tableRun) finalised(seq int64, final []differ.Finding, inFlight int64) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	cs := tr.chunks[seq]
	cs.done, cs.final, cs.inFlight = true, final, inFlight
	for {
		cs, ok := tr.chunks[tr.next]
		if !ok || !cs.done || !cs.counted {
			break
		}
		tr.apply(cs)
		tr.resume = cs.hi
		delete(tr.chunks, tr.next)
		tr.next++
		tr.result.Chunks = tr.next
	}
	if time.Since(tr.lastSave) > 2*time.Second {
		tr.saveLocked(context.Background(), false)
	}
}

func (tr *tableRun) apply(cs *chunkState) {
	r := &tr.result
	r.SourceRows += cs.src
	r.TargetRows += cs.tgt
	r.Counts.InFlight += cs.inFlight
	limit := tr.cfg.MaxSamples
	p := tr.pair
	for _, f := range cs.final {
		switch f.Kind {
		case differ.Missing:
			r.Counts.Missing++
			if len(r.Missing) < limit {
				r.Missing = append(r.Missing, tr.key(f))
			} else {
				r.Truncated = true
			}
		case differ.Extra:
			r.Counts.Extra++
			if len(r.Extra) < limit {
				r.Extra = append(r.Extra, tr.key(f))
			} else {
				r.Truncated = true
			}
		case differ.Changed:
			r.Counts.Changed++
			if len(r.Changed) < limit {
				ch := report.Change{Key: tr.key(f), Columns: map[string]report.Values{}}
				for _, i := range f.Columns {
					ch.Columns[p.Columns[i].Name] = report.Values{
						Source: p.SourceValue(i, f.Source.Display[i]),
						Target: p.TargetValue(i, f.Target.Display[i]),
					}
				}
				r.Changed = append(r.Changed, ch)
			} else {
				r.Truncated = true
			}
		}
		if tr.cfg.FixSQL != nil && p.OneToOne() && tr.fixErr == nil {
			if _, err := io.WriteString(tr.cfg.FixSQL, fixStatement(p, f)+"\n"); err != nil {
				tr.fixErr = fmt.Errorf("write fix SQL: %w", err)
			}
		}
	}
}

// key renders a finding's key with the source's key column names and stored values.
func (tr *tableRun) key(f differ.Finding) report.Key {
	p := tr.pair
	k := make(report.Key, len(p.KeyIdx))
	for j, i := range p.KeyIdx {
		var v any
		if f.Source != nil {
			v = p.SourceValue(i, f.Source.Display[i])
		} else {
			v = p.TargetValue(i, f.Target.Display[i])
		}
		k[j] = report.KV{Column: p.KeyNames[j], Value: v}
	}
	return k
}

func (tr *tableRun) save(ctx context.Context, force, done bool) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if force || time.Since(tr.lastSave) > 2*time.Second {
		tr.saveLocked(ctx, done)
	}
}

func (tr *tableRun) saveLocked(ctx context.Context, done bool) {
	tr.lastSave = time.Now()
	if tr.cfg.Store == nil || tr.run.ID == 0 {
		return
	}
	t := tr.result
	t.Finish()
	tp := TableProgress{Source: tr.m.Source, Target: tr.m.Target, Resume: tr.resume, Done: done, Result: t}
	if err := tr.cfg.Store.SaveTable(ctx, tr.run.ID, tp); err != nil {
		tr.cfg.Logger.Warn("could not save progress", "table", tr.m.Source, "err", err)
	}
}

// Version of the tool, recorded with each run.
func Version() string { return version.String() }

func fixStatement(p *source.Pair, f differ.Finding) string {
	switch f.Kind {
	case differ.Missing:
		return p.FixSQL(f.Source, nil, nil)
	case differ.Extra:
		return p.FixSQL(nil, f.Target, nil)
	}
	return p.FixSQL(f.Source, f.Target, f.Columns)
}
